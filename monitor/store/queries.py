"""The read side: incidents and their sources as IncidentView, for alerts, the CLI, the API and metrics.

Every filter is SQL except the exact distance of `near`: the SQL narrows to the 1-degree `geo_bucket`
cells covering the circle (an indexed IN) and a bounding box, then rows outside the circle are dropped
here. Results are newest first by (updated_at, id) and streamed in batches, so an export of a million
incidents holds one batch (plus its articles) in memory at a time.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, Text, and_, cast, func, literal_column, or_, select
from sqlalchemy import text as sql_text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from monitor.geo import distance_km, geo_bucket
from monitor.models import ArticleRef, IncidentView
from monitor.store.schema import articles, feeds, incident_revisions, incidents, outbox

MAX_ARTICLES_PER_VIEW = 200
MAX_CELLS = 2_000  # beyond this many 1-degree cells, `near` filters on the bounding box alone
KM_PER_DEG_LAT = 111.2


@dataclass(frozen=True)
class Near:
    """A circle: incidents whose coordinates lie within `km` of (lat, lon)."""

    lat: float
    lon: float
    km: float


@dataclass(frozen=True)
class IncidentFilter:
    """What to list. None means "no condition"; `limit` None means every matching incident.

    `after` is a keyset cursor (updated_at, internal id): only incidents strictly older in list order.
    """

    since: datetime | None = None  # updated at or after
    until: datetime | None = None  # updated at or before
    country: str | None = None  # ISO 3166-1 alpha-2, upper case
    label: str | None = None
    limit: int | None = 50
    ceasefire: str | None = None  # name, compared case-insensitively
    near: Near | None = None
    min_severity: float | None = None
    min_sources: int | None = None
    text: str | None = None  # substring of the title or an evidence phrase, case-insensitive
    after: tuple[datetime, int] | None = None


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


# -- near: cells and distance ------------------------------------------------------------------------------
def near_box(near: Near) -> tuple[float, float, float, float]:
    """(lat_min, lat_max, lon_min, lon_max) of a box holding the circle; longitudes may pass ±180."""
    dlat = near.km / KM_PER_DEG_LAT
    widest = abs(near.lat) + dlat  # the circle is widest in longitude at its latitude farthest from the equator
    dlon = 180.0 if widest >= 89.9 else min(180.0, near.km / (KM_PER_DEG_LAT * math.cos(math.radians(widest))))
    return max(-90.0, near.lat - dlat), min(90.0, near.lat + dlat), near.lon - dlon, near.lon + dlon


def near_cells(near: Near) -> list[str] | None:
    """The geo_bucket keys of every 1-degree cell the circle touches, or None when there are too many."""
    lat_min, lat_max, lon_min, lon_max = near_box(near)
    lats = range(math.floor(lat_min), min(89, math.floor(lat_max)) + 1)
    lons = range(math.floor(lon_min), math.floor(lon_max) + 1)
    if len(lats) * len(lons) > MAX_CELLS or len(lons) >= 360:
        return None
    keys = (geo_bucket(la, (lo + 180) % 360 - 180) for la in lats for lo in lons)
    return sorted({k for k in keys if k})


def _near_condition(near: Near) -> list[ColumnElement[bool]]:
    lat_min, lat_max, lon_min, lon_max = near_box(near)
    conds: list[ColumnElement[bool]] = [incidents.c.lat.between(lat_min, lat_max)]
    cells = near_cells(near)
    if cells is not None:
        conds.append(incidents.c.geo_bucket.in_(cells))
    if lon_min >= -180.0 and lon_max <= 180.0:
        conds.append(incidents.c.lon.between(lon_min, lon_max))
    return conds


def _inside(near: Near | None, m: Any) -> bool:
    if near is None:
        return True
    if m["lat"] is None or m["lon"] is None:
        return False
    return distance_km(near.lat, near.lon, m["lat"], m["lon"]) <= near.km


# -- text --------------------------------------------------------------------------------------------------
MIN_INDEXED_TEXT = 3  # trigram indexes answer needles of at least this many characters; shorter ones scan
DENSE_TEXT = 2_000  # SQLite: from this many matching incidents on, walk the list order instead (see below)


def _text_matches(title: str | None, evidence: str | None, needle: str) -> int:
    """SQLite helper: 1 when `needle` (already casefolded) is in the title or an evidence phrase."""
    if title and needle in title.casefold():
        return 1
    try:
        phrases = json.loads(evidence or "[]")
    except ValueError:
        return 0
    return int(any(isinstance(p, str) and needle in p.casefold() for p in phrases))


def fts_phrase(text: str) -> str:
    """`text` as one FTS5 phrase: with the trigram tokenizer, a case-insensitive substring match."""
    return '"' + text.replace('"', '""') + '"'


def _text_condition(conn: Connection, text: str) -> ColumnElement[bool]:
    """Case-insensitive substring of the title or an evidence phrase, from a trigram index (migration 0004)
    when the needle has at least MIN_INDEXED_TEXT characters.

    PostgreSQL: ILIKE on the title and on the evidence rendered as jsonb text (non-ASCII unescaped, `"` and
    `\\` escaped, so the needle is escaped the same way), the very expressions of the pg_trgm GIN indexes; a
    needle with JSON punctuation ([ ] ,) is also checked against each phrase.
    SQLite: a phrase query on the FTS5 trigram table `incidents_fts` (rowid = incidents.id, the evidence
    phrases decoded), the plan chosen by a bounded count of its matches. A shorter needle, which no trigram
    index answers, is looked for by a Python function (evidence is stored as JSON text with non-ASCII
    escaped, and SQLite's LIKE folds ASCII only)."""
    if conn.dialect.name == "postgresql":
        rendered = cast(cast(incidents.c.evidence, JSONB), Text)
        as_json = json.dumps(text, ensure_ascii=False)[1:-1]
        in_evidence: ColumnElement[bool] = rendered.ilike(_like_pattern(as_json), escape="\\")
        if any(ch in text for ch in "[],"):  # could match the JSON around the phrases: ask each phrase too
            phrase = func.json_array_elements_text(incidents.c.evidence).table_valued("value").alias("phrase")
            in_evidence = and_(in_evidence, select(phrase.c.value).where(
                phrase.c.value.ilike(_like_pattern(text), escape="\\")).exists())
        return or_(incidents.c.title.ilike(_like_pattern(text), escape="\\"), in_evidence)
    if len(text) >= MIN_INDEXED_TEXT:
        matching: Select[Any] = select(literal_column("rowid")).select_from(sql_text("incidents_fts")).where(
            sql_text("incidents_fts MATCH :fts_phrase").bindparams(fts_phrase=fts_phrase(text)))
        probe = select(func.count()).select_from(matching.limit(DENSE_TEXT).subquery())
        if conn.execute(probe).scalar_one() < DENSE_TEXT:
            return incidents.c.id.in_(matching)  # few matches: fetch them by id, then sort those
        # many: `id + 0` is no index key, so SQLite walks the list order (or another filter's) index and
        # looks each row up in the matches, stopping at the limit, instead of sorting every match
        return (incidents.c.id + 0).in_(matching)
    conn.connection.driver_connection.create_function(  # type: ignore[union-attr]
        "cfm_text_match", 3, _text_matches, deterministic=True)
    exact = func.cfm_text_match(incidents.c.title, cast(incidents.c.evidence, Text), text.casefold()) == 1
    if text.isascii() and text.isprintable() and '"' not in text and "\\" not in text:  # the same in JSON text
        # LIKE (ASCII case folding) on the title and the JSON text finds a superset; Python checks only those
        pattern = _like_pattern(text)
        return and_(or_(incidents.c.title.like(pattern, escape="\\"),
                        cast(incidents.c.evidence, Text).like(pattern, escape="\\")), exact)
    return exact


def _like_pattern(text: str) -> str:
    """`%text%` with LIKE's wildcards (and its escape character, backslash) taken literally."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


# -- listing -----------------------------------------------------------------------------------------------
# Merged-away incidents live on as aliases only. Written so that no planner picks the merged_into index for
# it (nearly every row is NULL there; SQLite without statistics would scan it instead of the filter's index).
LIVE: ColumnElement[bool] = func.coalesce(incidents.c.merged_into, 0) == 0


def _conditions(conn: Connection, f: IncidentFilter) -> list[ColumnElement[bool]]:
    c = incidents.c
    conds: list[ColumnElement[bool]] = [LIVE]
    if f.since is not None:
        conds.append(c.updated_at >= f.since)
    if f.until is not None:
        conds.append(c.updated_at <= f.until)
    if f.country:
        conds.append(c.country == f.country)
    if f.label:
        # labels is a JSON list of fixed identifiers; its text holds each one in quotes on both engines
        conds.append(cast(c.labels, Text).like(f'%"{f.label}"%'))
    if f.ceasefire:
        conds.append(func.lower(c.ceasefire) == f.ceasefire.lower())
    if f.min_severity is not None:
        conds.append(c.severity >= f.min_severity)
    if f.min_sources is not None:
        conds.append(c.source_count >= f.min_sources)
    if f.text:
        conds.append(_text_condition(conn, f.text))
    if f.near is not None:
        conds.extend(_near_condition(f.near))
    if f.after is not None:
        at, last_id = f.after
        conds.append(or_(c.updated_at < at, and_(c.updated_at == at, c.id < last_id)))
    return conds


def _filtered(conn: Connection, f: IncidentFilter) -> Select[Any]:
    q = select(incidents).where(*_conditions(conn, f))
    q = q.order_by(incidents.c.updated_at.desc(), incidents.c.id.desc())
    if f.limit is not None and f.near is None:  # with `near`, rows outside the circle are dropped later
        q = q.limit(f.limit)
    return q


def _refs(conn: Connection, incident_ids: list[int], *, actors: bool = False
          ) -> tuple[dict[int, list[ArticleRef]], dict[int, Counter[str]]]:
    """The articles of each incident (oldest published first, at most MAX_ARTICLES_PER_VIEW), by one query
    for all of them, and with `actors` the actors their extractions name. A 1000-incident page reads ~10,000
    articles here, so the loop is kept lean (positional rows, no Counter unless asked for)."""
    refs: dict[int, list[ArticleRef]] = {i: [] for i in incident_ids}
    named: dict[int, Counter[str]] = {i: Counter() for i in incident_ids} if actors else {}
    if not incident_ids:
        return refs, named
    cols = [articles.c.incident_id, articles.c.external_id, articles.c.url, articles.c.source,
            articles.c.title, articles.c.published_at] + ([articles.c.extraction] if actors else [])
    rows = conn.execute(select(*cols).where(articles.c.incident_id.in_(incident_ids))
                        .order_by(articles.c.published_at, articles.c.id))
    for r in rows:
        out = refs[r[0]]
        if len(out) < MAX_ARTICLES_PER_VIEW:
            out.append(ArticleRef(external_id=r[1], url=r[2], source=r[3], title=r[4], published=r[5]))
        if actors and isinstance(r[6], dict):
            named[r[0]].update(a for a in r[6].get("actors") or () if isinstance(a, str))
    return refs, named


def _view(m: Any, refs: list[ArticleRef]) -> IncidentView:
    return IncidentView(
        id=m["public_id"], revision=m["revision"], title=m["title"], event_date=m["event_date"],
        first_seen_at=m["first_seen_at"], updated_at=m["updated_at"], country=m["country"],
        admin1=m["admin1"], place=m["place"], lat=m["lat"], lon=m["lon"], geo_precision=m["geo_precision"],
        labels=tuple(m["labels"]), killed=m["killed"], injured=m["injured"],
        killed_civilian=m["killed_civilian"], killed_military=m["killed_military"],
        injured_civilian=m["injured_civilian"], injured_military=m["injured_military"],
        severity=m["severity"], source_count=m["source_count"], ceasefire=m["ceasefire"],
        evidence=tuple(m["evidence"]), articles=tuple(refs))


def incident_view(conn: Connection, incident_id: int) -> IncidentView:
    row = conn.execute(select(incidents).where(incidents.c.id == incident_id)).one()
    return _view(row._mapping, _refs(conn, [incident_id])[0][incident_id])


def _stream(conn: Connection, f: IncidentFilter, batch: int, *, actors: bool = False
            ) -> Iterator[tuple[Any, IncidentView, tuple[str, ...]]]:
    """(row, view, actors) of each matching incident in list order, at most f.limit of them."""
    result = conn.execution_options(stream_results=True, yield_per=batch).execute(_filtered(conn, f))
    emitted = 0
    for part in result.partitions(batch):
        rows = [r._mapping for r in part if _inside(f.near, r._mapping)]
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


def page_incidents(conn: Connection, f: IncidentFilter) -> Page:
    """One page of at most f.limit incidents (required) and the cursor of the next page."""
    assert f.limit is not None
    rows = list(_stream(conn, replace(f, limit=f.limit + 1), min(f.limit + 1, 500)))
    more = len(rows) > f.limit
    rows = rows[:f.limit]
    after = (rows[-1][0]["updated_at"], int(rows[-1][0]["id"])) if more else None
    return Page([view for _, view, _ in rows], after)


def count_incidents(conn: Connection, f: IncidentFilter) -> int:
    """How many incidents match, ignoring the limit (with `near`: those in the bounding cells)."""
    q = select(func.count()).select_from(incidents).where(*_conditions(conn, f))
    return int(conn.execute(q).scalar_one())


def timeline(conn: Connection, f: IncidentFilter) -> dict[str, dict[str, int]]:
    """{day: {label: incidents}} over every incident matching `f` (its limit ignored), by event date
    (first-seen date when the event date is unknown); an incident with two labels counts under both."""
    days: dict[str, dict[str, int]] = {}

    def add(day: date, labels: list[str], n: int) -> None:
        counts = days.setdefault(day.isoformat(), {})
        for label in labels:
            counts[label] = counts.get(label, 0) + n

    conds = _conditions(conn, f)
    c = incidents.c
    if f.near is None:  # counted by the database: one row per (day, label set), not per incident
        as_text = cast(c.labels, Text)
        # labels first in GROUP BY, and no `event_date IS NOT NULL`: either makes SQLite walk the whole
        # event_date index (to group in order) instead of searching the filter's index (e.g. updated_at)
        grouped = select(c.event_date, as_text.label("labels"), func.count().label("n")).where(
            *conds).group_by(as_text, c.event_date)
        undated = False
        for r in conn.execute(grouped):
            if r.event_date is None:
                undated = True
            else:
                add(r.event_date, json.loads(r.labels), int(r.n))
        if not undated:
            return dict(sorted(days.items()))
        conds.append(c.event_date.is_(None))
    rows = select(c.event_date, c.first_seen_at, c.labels, c.lat, c.lon).where(*conds)
    for r in conn.execution_options(stream_results=True, yield_per=2000).execute(rows):
        if _inside(f.near, r._mapping):
            add(r.event_date or r.first_seen_at.date(), r.labels, 1)
    return dict(sorted(days.items()))


def ceasefire_counts(conn: Connection, since: datetime | None = None) -> dict[str, int]:
    """{ceasefire name: incidents recorded as its violation}, updated since `since` when given."""
    q = select(incidents.c.ceasefire, func.count().label("n")).where(incidents.c.ceasefire.is_not(None), LIVE)
    if since is not None:
        q = q.where(incidents.c.updated_at >= since)
    return {r.ceasefire: int(r.n) for r in conn.execute(q.group_by(incidents.c.ceasefire))}


def store_stats(conn: Connection) -> StoreStats:
    """Row counts for /metrics: a handful of aggregate queries, no row is loaded."""
    def count(table: Any, *where: ColumnElement[bool]) -> int:
        return int(conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one())

    by_status = {r.status: int(r.n) for r in conn.execute(
        select(outbox.c.status, func.count().label("n")).group_by(outbox.c.status))}
    oldest: datetime | None = conn.execute(  # min() keeps the column type: an aware UTC datetime
        select(func.min(outbox.c.created_at)).where(outbox.c.status == "pending")).scalar()
    enabled = and_(feeds.c.enabled.is_(True), feeds.c.retired_at.is_(None))
    return StoreStats(articles=count(articles), incidents=count(incidents, LIVE),
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
