"""The read side: incidents and their sources as IncidentView, for alerts, the CLI, the API and metrics.

Which incidents match is decided by monitor.store.filtering (IncidentFilter). Results are newest first by
(updated_at, id) and streamed in batches, so an export of a million incidents holds one batch (plus its
articles) in memory at a time.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Select, String, Text, and_, cast, func, select, type_coerce
from sqlalchemy import text as sql_text
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from monitor.models import ArticleRef, IncidentView
from monitor.store.filtering import LIVE as LIVE  # re-exported: monitor.store.alerting imports it from here
from monitor.store.filtering import IncidentFilter, Near, conditions, filtered, inside
from monitor.store.schema import articles, feeds, incident_revisions, incidents, outbox

MAX_ARTICLES_PER_VIEW = 200
ESTIMATED_FROM = 200_000  # PostgreSQL: a table estimated to hold this many rows is not counted (store_stats)


@dataclass(frozen=True)
class Page:
    """One page of a listing; `next_after` is the cursor of the next page, or None on the last."""

    items: list[IncidentView]
    next_after: tuple[datetime, int] | None


@dataclass(frozen=True)
class ExportRecord:
    """An incident with what only an export needs: the actors its articles name, most named first."""

    view: IncidentView
    actors: tuple[str, ...]


@dataclass(frozen=True)
class StoreStats:
    """Counts for /metrics, computed at scrape time."""

    articles: int
    incidents: int
    outbox: dict[str, int]
    oldest_pending_at: datetime | None
    feeds_enabled: int
    feeds_failing: int


# -- listing -----------------------------------------------------------------------------------------------
def _utc(value: Any) -> Any:
    """An aware UTC datetime from a time column read as stored text (SQLite, see listed_columns) or read by
    the driver (naive UTC); an aware one or None is returned as it is."""
    if isinstance(value, str):
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _day(value: Any) -> Any:
    return date.fromisoformat(value) if isinstance(value, str) else value


def _ref(r: Any) -> ArticleRef:
    return ArticleRef(external_id=r[1], url=r[2], source=r[3], title=r[4], published=_utc(r[5]))


def _refs(conn: Connection, incident_ids: list[int], *, actors: bool = False
          ) -> tuple[dict[int, list[ArticleRef]], dict[int, Counter[str]]]:
    """The articles of each incident (oldest published first, at most MAX_ARTICLES_PER_VIEW), by one query
    for all of them, and with `actors` the actors their extractions name. An export batch reads ~5,000
    articles here, so the rows are the driver's own tuples (no column here needs a result processor: times
    go through _utc, JSON text is decoded below) and the loop is lean."""
    refs: dict[int, list[ArticleRef]] = {i: [] for i in incident_ids}
    named: dict[int, Counter[str]] = {i: Counter() for i in incident_ids} if actors else {}
    if not incident_ids:
        return refs, named
    published: ColumnElement[Any] = articles.c.published_at
    if conn.dialect.name == "sqlite":  # the stored text, read by fromisoformat (_utc)
        published = type_coerce(articles.c.published_at, String)
    cols = [articles.c.incident_id, articles.c.external_id, articles.c.url, articles.c.source,
            articles.c.title, published] + ([articles.c.extraction] if actors else [])
    result = conn.execute(select(*cols).where(articles.c.incident_id.in_(incident_ids))
                          .order_by(articles.c.published_at, articles.c.id))
    rows = result.cursor.fetchall() if result.cursor is not None else []
    result.close()
    for r in rows:
        out = refs[r[0]]
        if len(out) < MAX_ARTICLES_PER_VIEW:
            out.append(_ref(r))
        if actors:
            extraction = json.loads(r[6]) if isinstance(r[6], str) else r[6]
            if isinstance(extraction, dict):
                named[r[0]].update(a for a in extraction.get("actors") or () if isinstance(a, str))
    return refs, named


def _view(m: Any, refs: Iterable[ArticleRef]) -> IncidentView:
    return IncidentView(
        id=m["public_id"], revision=m["revision"], title=m["title"], event_date=_day(m["event_date"]),
        first_seen_at=_utc(m["first_seen_at"]), updated_at=_utc(m["updated_at"]), country=m["country"],
        admin1=m["admin1"], place=m["place"], lat=m["lat"], lon=m["lon"], geo_precision=m["geo_precision"],
        labels=tuple(m["labels"]), killed=m["killed"], injured=m["injured"],
        killed_civilian=m["killed_civilian"], killed_military=m["killed_military"],
        injured_civilian=m["injured_civilian"], injured_military=m["injured_military"],
        severity=m["severity"], source_count=m["source_count"], ceasefire=m["ceasefire"],
        evidence=tuple(m["evidence"]), articles=tuple(refs))


def incident_view(conn: Connection, incident_id: int) -> IncidentView:
    row = conn.execute(select(incidents).where(incidents.c.id == incident_id)).one()
    return _view(row._mapping, _refs(conn, [incident_id])[0][incident_id])


def take(conn: Connection, q: Select[Any], near: Near | None, want: int) -> list[Any]:
    """Up to `want` rows (mappings) of `q`, in its order, inside `near`; without `near`, q holds the limit.

    With `near` the SQL narrows to the circle's cells and box, and the circle is checked here: on (id, lat,
    lon) alone, in q's order, before the rows kept are read whole. Sorting whole rows and decoding each
    candidate of the cells cost more than the page (about half of a 30 km query at 100,000 incidents)."""
    if near is None:
        return [r._mapping for r in conn.execute(q)]
    c = incidents.c
    keep: list[int] = []
    spots = q.with_only_columns(c.id, c.lat, c.lon)
    for r in conn.execute(spots, execution_options={"stream_results": True, "yield_per": 500}):
        if inside(near, r._mapping):
            keep.append(r.id)
            if len(keep) >= want:
                break
    if not keep:
        return []
    found = {r.id: r._mapping for r in conn.execute(select(*q.selected_columns).where(c.id.in_(keep)))}
    return [found[i] for i in keep]


def _stream(conn: Connection, f: IncidentFilter, batch: int, *, actors: bool = False
            ) -> Iterator[tuple[Any, IncidentView, tuple[str, ...]]]:
    """(row, view, actors) of each matching incident in list order, at most f.limit of them."""
    # options of this statement: Connection.execution_options would set them for the whole transaction
    result = conn.execute(filtered(conn, f), execution_options={"stream_results": True, "yield_per": batch})
    emitted = 0
    for part in result.partitions(batch):
        rows = [r._mapping for r in part if inside(f.near, r._mapping)]
        refs, named = _refs(conn, [m["id"] for m in rows], actors=actors)
        for m in rows:
            if f.limit is not None and emitted >= f.limit:
                result.close()
                return
            emitted += 1
            counted = named.get(m["id"])
            yield m, _view(m, refs[m["id"]]), tuple(a for a, _ in counted.most_common()) if counted else ()


def list_incidents(conn: Connection, f: IncidentFilter, batch: int = 500) -> Iterator[IncidentView]:
    """Incidents newest first (by updated_at), streamed in batches of `batch` rows."""
    for _, view, _ in _stream(conn, f, batch):
        yield view


def export_incidents(conn: Connection, f: IncidentFilter, batch: int = 500) -> Iterator[ExportRecord]:
    """Like list_incidents, with the actors named by each incident's articles (for ACLED-like exports)."""
    for _, view, actors in _stream(conn, f, batch, actors=True):
        yield ExportRecord(view, actors)


def page_rows(conn: Connection, f: IncidentFilter, columns: list[ColumnElement[Any]] | None = None
              ) -> tuple[list[Any], tuple[datetime, int] | None]:
    """The rows of one page (at most f.limit, required) and the cursor of the next page. `columns` (default
    filtering.listed_columns) must hold `id` and `updated_at` (stored text on SQLite)."""
    assert f.limit is not None
    rows = take(conn, filtered(conn, replace(f, limit=f.limit + 1), columns), f.near, f.limit + 1)
    more = len(rows) > f.limit
    rows = rows[:f.limit]
    return rows, (_utc(rows[-1]["updated_at"]), int(rows[-1]["id"])) if more else None


def page_incidents(conn: Connection, f: IncidentFilter) -> Page:
    """One page of at most f.limit incidents (required) and the cursor of the next page."""
    rows, after = page_rows(conn, f)
    refs, _ = _refs(conn, [m["id"] for m in rows])  # the page's articles in one query
    return Page([_view(m, refs[m["id"]]) for m in rows], after)


def count_incidents(conn: Connection, f: IncidentFilter) -> int:
    """How many incidents match, ignoring the limit (with `near`: those in the bounding cells)."""
    q = select(func.count()).select_from(incidents).where(*conditions(conn, replace(f, limit=None)))
    return int(conn.execute(q).scalar_one())


def timeline(conn: Connection, f: IncidentFilter) -> dict[str, dict[str, int]]:
    """{day: {label: incidents}} over every incident matching `f` (its limit ignored), by event date
    (first-seen date when the event date is unknown); an incident with two labels counts under both."""
    days: dict[str, dict[str, int]] = {}
    decoded: dict[str, list[str]] = {}  # a few label sets recur on thousands of days: each is decoded once

    def add(day: str, labels: list[str], n: int) -> None:
        counts = days.setdefault(day, {})
        for label in labels:
            counts[label] = counts.get(label, 0) + n

    conds = conditions(conn, f)
    c = incidents.c
    if f.near is None:  # counted by the database: one row per (day, label set), not per incident
        sqlite = conn.dialect.name == "sqlite"
        day: ColumnElement[Any] = type_coerce(c.event_date, String) if sqlite else c.event_date  # SQLite: ISO
        as_text: ColumnElement[Any] = cast(c.labels, Text)  # PostgreSQL groups json as text
        order: tuple[ColumnElement[Any], ...]
        if sqlite and _event_dates_only(f):
            # the bare columns, in the order of ix_incidents_event_date_labels (migration 0006), which holds
            # every column read here: SQLite walks that index alone and sorts nothing
            as_text = type_coerce(c.labels, String)
            order = (c.event_date, as_text)
        else:
            # labels first, as a CAST, and no `event_date IS NOT NULL`: else SQLite walks a whole event_date
            # index (to group in its order) instead of searching the filter's index (e.g. updated_at)
            order = (as_text, c.event_date)
        grouped = select(day.label("day"), as_text.label("labels"), func.count().label("n")).where(
            *conds).group_by(*order)
        undated = False
        when: Any
        text: Any
        n: Any
        for when, text, n in conn.execute(grouped):
            if when is None:
                undated = True
                continue
            labels = decoded.get(text)
            if labels is None:
                labels = decoded[text] = json.loads(text)
            add(when if isinstance(when, str) else when.isoformat(), labels, int(n))
        if not undated:
            return dict(sorted(days.items()))
        conds.append(c.event_date.is_(None))
    rows = select(c.event_date, c.first_seen_at, c.labels, c.lat, c.lon).where(*conds)
    for r in conn.execute(rows, execution_options={"stream_results": True, "yield_per": 2000}):
        if inside(f.near, r._mapping):
            add((r.event_date or r.first_seen_at.date()).isoformat(), r.labels, 1)
    return dict(sorted(days.items()))


def _event_dates_only(f: IncidentFilter) -> bool:
    """Whether nothing but event dates (and a label, read from the same index) narrows `f`."""
    return all(v is None for v in (f.since, f.until, f.seen_since, f.country, f.ceasefire, f.min_severity,
                                   f.min_sources, f.text, f.near, f.after))


def ceasefire_counts(conn: Connection, since: datetime | None = None) -> dict[str, int]:
    """{ceasefire name: incidents recorded as its violation}, updated since `since` when given."""
    q = select(incidents.c.ceasefire, func.count().label("n")).where(incidents.c.ceasefire.is_not(None), LIVE)
    if since is not None:
        q = q.where(incidents.c.updated_at >= since)
    return {r.ceasefire: int(r.n) for r in conn.execute(q.group_by(incidents.c.ceasefire))}


def _table_rows(conn: Connection, table: Any) -> int:
    """COUNT(*) of a whole table. PostgreSQL reads every row to count them (~200-300 ms for a million
    articles, at each scrape; SQLite counts from b-tree pages): from ESTIMATED_FROM rows on, it gives its
    planner's estimate instead (pg_class.reltuples, which autovacuum and ANALYZE keep; -1 before either)."""
    if conn.dialect.name == "postgresql":
        estimate = conn.execute(sql_text("SELECT reltuples FROM pg_class WHERE oid = to_regclass(:name)"),
                                {"name": table.name}).scalar()
        if estimate is not None and estimate >= ESTIMATED_FROM:
            return int(estimate)
    return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def store_stats(conn: Connection) -> StoreStats:
    """Row counts for /metrics: a handful of aggregate queries, no row is loaded. On PostgreSQL the counts
    of the articles and incidents tables are estimates once they are large (_table_rows)."""
    def count(table: Any, *where: ColumnElement[bool]) -> int:
        if not where:
            return _table_rows(conn, table)
        return int(conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one())

    by_status = {r.status: int(r.n) for r in conn.execute(
        select(outbox.c.status, func.count().label("n")).group_by(outbox.c.status))}
    oldest: datetime | None = conn.execute(  # min() keeps the column type: an aware UTC datetime
        select(func.min(outbox.c.created_at)).where(outbox.c.status == "pending")).scalar()
    enabled = and_(feeds.c.enabled.is_(True), feeds.c.retired_at.is_(None))
    # live = all - merged away: a bare COUNT(*) is answered from the b-tree's page counts and the merged are
    # an index seek, where counting the LIVE condition read every entry (6 ms -> 0.03 ms at 100,000, SQLite)
    merged = count(incidents, incidents.c.merged_into.is_not(None), incidents.c.merged_into != 0)
    return StoreStats(articles=count(articles), incidents=count(incidents) - merged,
                      outbox=by_status,
                      oldest_pending_at=oldest, feeds_enabled=count(feeds, enabled),
                      feeds_failing=count(feeds, enabled, feeds.c.consecutive_failures > 0))


def ping(conn: Connection) -> None:
    """A round trip to the database (liveness); raises like any query when it is unreachable."""
    conn.execute(select(1)).scalar_one()


def find_incident(conn: Connection, public_id: str) -> tuple[IncidentView, list[dict[str, Any]],
                                                             list[dict[str, Any]]] | None:
    """(view, revisions, alerts) of one incident by public id (case-insensitive), or None. The id of an
    incident merged into another resolves to that survivor."""
    row = conn.execute(select(incidents).where(incidents.c.public_id == public_id.strip().upper())).first()
    if row is not None and row.merged_into is not None:
        row = conn.execute(select(incidents).where(incidents.c.id == row.merged_into)).first()
    if row is None:
        return None
    view = _view(row._mapping, _refs(conn, [row.id])[0][row.id])
    revisions = [
        {"revision": r.revision, "created_at": _iso(r.created_at), "reasons": r.reasons}
        for r in conn.execute(select(incident_revisions).where(incident_revisions.c.incident_id == row.id)
                              .order_by(incident_revisions.c.revision))]
    alerts = [
        {"kind": r.kind, "revision": r.revision, "target": r.target, "status": r.status, "attempts": r.attempts,
         "created_at": _iso(r.created_at), "sent_at": _iso(r.sent_at), "last_error": r.last_error}
        for r in conn.execute(select(outbox).where(outbox.c.incident_id == row.id).order_by(outbox.c.id))]
    return view, revisions, alerts


def _iso(value: datetime | date | None) -> str | None:
    if value is None:
        return None
    return value.isoformat().replace("+00:00", "Z")
