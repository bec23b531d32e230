"""Reads for the analyst's desk: incidents in event-date order (newest event first) and one incident's
articles with their text and evidence, for the incident page.

The event-date order is keyset-paginated on (event_date, id), incidents without an event date last. The
filters are monitor.store.filtering's, so a listing here holds exactly what the updated-at order holds.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.engine import Connection

from monitor.store.filtering import IncidentFilter, conditions, limited
from monitor.store.json_pages import listed, page_columns
from monitor.store.queries import _day, take
from monitor.store.schema import articles, incidents

MAX_TEXT_CHARS = 20_000  # an article's text on the incident page is cut here
MAX_ARTICLES = 200


@dataclass(frozen=True)
class EventPage:
    """One page in event-date order, each incident's JSON object as text (json_pages.listed); `next_after` is
    the (event_date, id) cursor of the next page."""

    items: list[str]
    next_after: tuple[date | None, int] | None


@dataclass(frozen=True)
class ArticleText:
    """One article of an incident as the incident page shows it: its text and the evidence its labels quote."""

    external_id: str | None
    url: str | None
    source: str
    title: str
    text: str
    lang: str | None
    published: datetime
    labels: tuple[str, ...]
    evidence: tuple[str, ...]


def page_by_event(conn: Connection, f: IncidentFilter, after: tuple[date | None, int] | None = None) -> EventPage:
    """At most f.limit incidents (required) matching `f`, newest event date first, after the cursor `after`.

    Dated and undated incidents are read by two queries rather than one `ORDER BY event_date DESC NULLS LAST`,
    which PostgreSQL cannot serve from the event_date index (its backward scan puts NULLs first)."""
    assert f.limit is not None
    c = incidents.c
    base = select(*page_columns(conn)).where(*conditions(conn, replace(f, after=None)))
    want = f.limit + 1
    rows: list[Any] = []
    if after is None or after[0] is not None:
        dated = base.where(c.event_date.is_not(None))
        if after is not None:
            day, last_id = after
            # the range `event_date <= day` is what lets an index seek to the page (an OR alone does not)
            dated = dated.where(c.event_date <= day, or_(c.event_date < day, c.id < last_id))
        rows = _take(conn, dated.order_by(c.event_date.desc(), c.id.desc()), f, want)
    if len(rows) < want:
        undated = base.where(c.event_date.is_(None))
        if after is not None and after[0] is None:
            undated = undated.where(c.id < after[1])
        rows += _take(conn, undated.order_by(c.id.desc()), f, want - len(rows))
    more = len(rows) > f.limit
    rows = rows[:f.limit]
    next_after = (_day(rows[-1]["event_date"]), int(rows[-1]["id"])) if more else None
    return EventPage(listed(conn, rows), next_after)


def _take(conn: Connection, q: Any, f: IncidentFilter, want: int) -> list[Any]:
    return take(conn, q if f.near is not None else limited(conn, q, want), f.near, want)


def incident_articles(conn: Connection, public_id: str) -> list[ArticleText] | None:
    """The articles of one incident (by public id; a merged-away id resolves to its survivor), oldest
    published first, with their text and evidence phrases; None when there is no such incident."""
    row = conn.execute(select(incidents.c.id, incidents.c.merged_into)
                       .where(incidents.c.public_id == public_id.strip().upper())).first()
    if row is None:
        return None
    incident_id = row.merged_into if row.merged_into is not None else row.id
    a = articles.c
    q = (select(a.external_id, a.url, a.source, a.title, a.summary, a.lang, a.published_at, a.labels)
         .where(a.incident_id == incident_id).order_by(a.published_at, a.id).limit(MAX_ARTICLES))
    out = []
    for r in conn.execute(q):
        found = [x for x in r.labels or () if isinstance(x, dict)]
        evidence = [p for x in found for p in x.get("evidence") or () if isinstance(p, str)]
        out.append(ArticleText(
            external_id=r.external_id, url=r.url, source=r.source, title=r.title,
            text=(r.summary or "")[:MAX_TEXT_CHARS], lang=r.lang, published=r.published_at,
            labels=tuple(str(x.get("label")) for x in found if x.get("label")),
            evidence=tuple(dict.fromkeys(evidence))))
    return out
