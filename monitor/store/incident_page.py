"""Reads for the analyst's desk: incidents in event-date order (newest event first) and one incident's
articles with their text and evidence, for the incident page.

The event-date order is keyset-paginated on (event_date, id), incidents without an event date last. The
filters are monitor.store.filtering's, so a listing here holds exactly what the updated-at order holds.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from monitor.models import IncidentView
from monitor.store.filtering import IncidentFilter, conditions, inside
from monitor.store.queries import _refs, _view
from monitor.store.schema import articles, incidents

MAX_TEXT_CHARS = 20_000  # an article's text on the incident page is cut here
MAX_ARTICLES = 200


@dataclass(frozen=True)
class EventPage:
    """One page in event-date order; `next_after` is the (event_date, id) cursor of the next page."""

    items: list[IncidentView]
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


def _after_event(after: tuple[date | None, int]) -> ColumnElement[bool]:
    c = incidents.c
    day, last_id = after
    if day is None:  # already among the undated, which come last
        return and_(c.event_date.is_(None), c.id < last_id)
    return or_(c.event_date < day, and_(c.event_date == day, c.id < last_id), c.event_date.is_(None))


def page_by_event(conn: Connection, f: IncidentFilter, after: tuple[date | None, int] | None = None) -> EventPage:
    """At most f.limit incidents (required) matching `f`, newest event date first, after the cursor `after`."""
    assert f.limit is not None
    conds = conditions(conn, replace(f, after=None))
    if after is not None:
        conds.append(_after_event(after))
    q = select(incidents).where(*conds).order_by(incidents.c.event_date.desc().nulls_last(), incidents.c.id.desc())
    if f.near is None:  # with `near`, rows outside the circle are dropped below
        q = q.limit(f.limit + 1)
    rows: list[Any] = []
    for r in conn.execution_options(stream_results=True, yield_per=500).execute(q):
        if inside(f.near, r._mapping):
            rows.append(r._mapping)
            if len(rows) > f.limit:
                break
    more = len(rows) > f.limit
    rows = rows[:f.limit]
    refs, _ = _refs(conn, [m["id"] for m in rows])
    next_after = (rows[-1]["event_date"], int(rows[-1]["id"])) if more else None
    return EventPage([_view(m, refs[m["id"]]) for m in rows], next_after)


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
