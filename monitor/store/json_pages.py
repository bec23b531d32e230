"""The API's pages of incidents: each incident's view, and its articles as JSON text written by the database.

A page of 1,000 incidents carries ~10,000 articles. Reading each into an ArticleRef with its datetime, then
formatting and encoding it again, was most of such a page's time. Here the database writes each article's
JSON object (the one ArticleRef.to_json gives, published time included) and monitor.web.desk.listed_page
splices those texts into the page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import String, Text, case, cast, func, literal_column, select, type_coerce
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from monitor.models import IncidentView
from monitor.store.filtering import IncidentFilter
from monitor.store.queries import MAX_ARTICLES_PER_VIEW, _view, page_rows
from monitor.store.schema import articles

FIELDS = ("external_id", "url", "source", "title")


@dataclass(frozen=True)
class Listed:
    """An incident for JSON: its view (without articles) and its articles, a JSON array of ArticleRef.to_json
    objects as text, oldest published first, at most MAX_ARTICLES_PER_VIEW."""

    view: IncidentView
    articles: str


@dataclass(frozen=True)
class ListedPage:
    """One page in list order (see Listed); `next_after` is the cursor of the next page, or None."""

    items: list[Listed]
    next_after: tuple[datetime, int] | None


def _s(text: str) -> ColumnElement[Any]:
    """A constant string in the SQL itself (PostgreSQL cannot type a bound one given to json_build_object)."""
    return literal_column("'" + text.replace("'", "''") + "'", String)


def _published(conn: Connection) -> ColumnElement[Any]:
    """The published time as ArticleRef.to_json writes it: `2022-09-13T06:00:00Z`, with `.ffffff` before the Z
    when there are microseconds (datetime.isoformat)."""
    if conn.dialect.name == "sqlite":  # the stored text is always `2022-09-13 06:00:00.000000` (SQLAlchemy's)
        stored = type_coerce(articles.c.published_at, String)
        fraction = func.substr(stored, 20, type_=String)
        return (func.replace(func.substr(stored, 1, 19, type_=String), _s(" "), _s("T"), type_=String)
                + case((fraction == _s(".000000"), _s("")), else_=fraction) + _s("Z"))
    p = articles.c.published_at
    whole = func.to_char(p, _s('YYYY-MM-DD"T"HH24:MI:SS'), type_=Text)
    return whole + case((func.date_trunc(_s("second"), p) == p, _s("")), else_=func.to_char(p, _s(".US"))) + _s("Z")


def _article_object(conn: Connection) -> ColumnElement[Any]:
    pairs: list[ColumnElement[Any]] = []
    for name in FIELDS:
        pairs += [_s(name), articles.c[name]]
    pairs += [_s("published"), _published(conn)]
    build = func.json_object if conn.dialect.name == "sqlite" else func.json_build_object
    return cast(build(*pairs), Text)


def articles_json(conn: Connection, incident_ids: list[int]) -> dict[int, str]:
    """{incident id: JSON array text of its articles} by one query for all of them."""
    found: dict[int, list[str]] = {i: [] for i in incident_ids}
    if incident_ids:
        result = conn.execute(select(articles.c.incident_id, _article_object(conn))
                              .where(articles.c.incident_id.in_(incident_ids))
                              .order_by(articles.c.published_at, articles.c.id))
        rows = result.cursor.fetchall() if result.cursor is not None else []  # plain tuples: nothing to process
        result.close()
        for incident_id, text in rows:
            out = found[incident_id]
            if len(out) < MAX_ARTICLES_PER_VIEW:
                out.append(text)
    return {i: "[" + ",".join(texts) + "]" for i, texts in found.items()}


def listed(conn: Connection, rows: list[Any]) -> list[Listed]:
    """The incidents of `rows` (mappings of filtering.listed_columns), their articles read in one query."""
    texts = articles_json(conn, [m["id"] for m in rows])
    return [Listed(_view(m, ()), texts[m["id"]]) for m in rows]


def page_listed(conn: Connection, f: IncidentFilter) -> ListedPage:
    """queries.page_incidents for the API: the same incidents and cursor, articles as JSON text."""
    rows, after = page_rows(conn, f)
    return ListedPage(listed(conn, rows), after)
