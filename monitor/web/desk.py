"""The analyst's desk: the dashboard and incident pages (HTML from monitor/web/static) with their
Content-Security-Policy, and the JSON the pages read beyond the plain incident (country name, first seen,
each article's text with its evidence marked).

Everything the pages load comes from this origin (Leaflet and the country outlines are vendored); the
policy lets the map reach one more origin only when `[api] tiles` names a tile server.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from starlette.responses import HTMLResponse, Response

from monitor.alerts.render import country_name
from monitor.models import IncidentView
from monitor.reading.evidence_marks import mark_spans
from monitor.store.incident_page import ArticleText
from monitor.web.views import iso

STATIC = Path(__file__).resolve().parent / "static"
TILES_META = '<meta name="cfm-tiles" content="">'
CREDIT_META = '<meta name="cfm-tiles-attribution" content="">'


def tile_origin(template: str) -> str:
    """The CSP source of a tile URL template: scheme://host[:port], a `{s}` subdomain as a wildcard."""
    parts = urlsplit(template)
    host = parts.netloc.rpartition("@")[2].replace("{s}", "*")
    return f"{parts.scheme.lower()}://{host.lower()}"


def content_policy(tiles: str | None) -> str:
    images = "'self' data:" + (f" {tile_origin(tiles)}" if tiles else "")
    return (f"default-src 'self'; script-src 'self'; style-src 'self'; img-src {images}; connect-src 'self'; "
            "font-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")


def page(name: str, tiles: str | None, credit: str | None = None) -> HTMLResponse:
    """A page of monitor/web/static, the tile template and its credit (if any) given to its script in
    meta tags."""
    text = (STATIC / name).read_text(encoding="utf-8")
    if tiles:
        text = text.replace(TILES_META, f'<meta name="cfm-tiles" content="{html.escape(tiles, quote=True)}">')
        text = text.replace(CREDIT_META, '<meta name="cfm-tiles-attribution" '
                                         f'content="{html.escape(credit or "", quote=True)}">')
    return HTMLResponse(text, headers={"Content-Security-Policy": content_policy(tiles),
                                       "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"})


def incident_json(view: IncidentView) -> dict[str, Any]:
    """The incident as the CLI's JSON prints it, plus what the desk shows: country name and first seen."""
    return {**view.to_json(), "country_name": country_name(view.country), "first_seen_at": iso(view.first_seen_at)}


def listed_page(items: list[str], next_url: str | None) -> Response:
    """The API's page `{"ok", "count", "incidents", "next"}`: each incident the JSON object text the store
    wrote (monitor.store.json_pages: incident_json's keys with `articles`), spliced in as it is."""
    head = '{"ok":true,"count":' + str(len(items)) + ',"incidents":['
    tail = '],"next":' + json.dumps(next_url, ensure_ascii=False) + "}"
    return Response(head + ",".join(items) + tail, media_type="application/json")


def js_marks(text: str, phrases: tuple[str, ...]) -> list[list[int]]:
    """mark_spans as [start, end) offsets in UTF-16 code units, the way JavaScript indexes a string (a
    character outside the Basic Multilingual Plane, such as an emoji, counts twice there)."""
    def units(upto: int) -> int:
        return len(text[:upto].encode("utf-16-le")) // 2
    return [[units(start), units(end)] for start, end in mark_spans(text, phrases)]


def article_json(a: ArticleText) -> dict[str, Any]:
    """One article with its text, evidence phrases and where those stand in title and text (js_marks)."""
    return {"external_id": a.external_id, "url": a.url, "source": a.source, "title": a.title, "text": a.text,
            "lang": a.lang, "published": iso(a.published), "labels": list(a.labels), "evidence": list(a.evidence),
            "title_marks": js_marks(a.title, a.evidence), "text_marks": js_marks(a.text, a.evidence)}
