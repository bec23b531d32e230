"""Which incidents a listing holds: IncidentFilter, and the SQL conditions and ordered query it becomes.

Every filter is SQL except the exact distance of `near`: the SQL narrows to the 1-degree `geo_bucket`
cells covering the circle (an indexed IN) and a bounding box, then the reader (monitor.store.queries) drops
the rows outside the circle with `inside`. The `text` filter is built by monitor.store.text_search.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Integer, Select, String, Text, and_, cast, func, literal_column, or_, select, type_coerce
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from monitor.geo import distance_km, geo_bucket
from monitor.store.schema import incidents
from monitor.store.text_search import text_condition

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
    event_since: date | None = None  # event date on or after (incidents without one are left out)
    event_until: date | None = None  # event date on or before
    seen_since: datetime | None = None  # first seen at or after


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


def inside(near: Near | None, m: Any) -> bool:
    if near is None:
        return True
    if m["lat"] is None or m["lon"] is None:
        return False
    return distance_km(near.lat, near.lon, m["lat"], m["lon"]) <= near.km


# -- conditions --------------------------------------------------------------------------------------------
# Merged-away incidents live on as aliases only. Written so that no planner picks the merged_into index for
# it (nearly every row is NULL there; SQLite without statistics would scan it instead of the filter's index).
LIVE: ColumnElement[bool] = func.coalesce(incidents.c.merged_into, 0) == 0


def conditions(conn: Connection, f: IncidentFilter) -> list[ColumnElement[bool]]:
    c = incidents.c
    postgresql = conn.dialect.name == "postgresql"
    # PostgreSQL has statistics on merged_into (nearly all NULL) and on no expression: it took the COALESCE
    # of LIVE and the label's text search to keep 0.5 % of rows each, and then sorted a sequential scan of
    # every incident rather than walk the list order's index to the limit (ceasefire + min sources, label +
    # min severity at 100,000: 40-50 ms -> 2-7 ms). Here the NULL test is estimated from the statistics and
    # strpos(...) > 0 as an inequality (a third of the rows), near what a label holds.
    conds: list[ColumnElement[bool]] = [or_(c.merged_into.is_(None), c.merged_into == 0) if postgresql else LIVE]
    if f.since is not None:
        conds.append(c.updated_at >= f.since)
    if f.until is not None:
        conds.append(c.updated_at <= f.until)
    if f.event_since is not None:
        conds.append(c.event_date >= f.event_since)
    if f.event_until is not None:
        conds.append(c.event_date <= f.event_until)
    if f.seen_since is not None:
        conds.append(c.first_seen_at >= f.seen_since)
    if f.country:
        conds.append(c.country == f.country)
    if f.label:
        # labels is a JSON list of fixed identifiers; its text holds each one in quotes on both engines
        quoted = f'"{f.label}"'
        conds.append(func.strpos(cast(c.labels, Text), quoted) > 0 if postgresql
                     else cast(c.labels, Text).like(f"%{quoted}%"))
    if f.ceasefire:
        conds.append(func.lower(c.ceasefire) == f.ceasefire.lower())
    if f.min_severity is not None:
        conds.append(c.severity >= f.min_severity)
    if f.min_sources is not None:
        conds.append(c.source_count >= f.min_sources)
    if f.text:
        conds.append(text_condition(conn, f.text, bounded=f.limit is not None))
    if f.near is not None:
        conds.extend(_near_condition(f.near))
    if f.after is not None:
        at, last_id = f.after
        conds.append(or_(c.updated_at < at, and_(c.updated_at == at, c.id < last_id)))
    return conds


_LISTED = ("id", "public_id", "revision", "title", "event_date", "first_seen_at", "updated_at", "country",
           "admin1", "place", "lat", "lon", "geo_precision", "labels", "killed", "injured", "killed_civilian",
           "killed_military", "injured_civilian", "injured_military", "severity", "source_count", "ceasefire",
           "evidence")
_AS_STORED = ("event_date", "first_seen_at", "updated_at")


def listed_columns(conn: Connection) -> list[ColumnElement[Any]]:
    """The columns a listing reads: what an IncidentView shows, not the grouping state (signature, sources,
    copies), which can be long and would be decoded for nothing. On SQLite the dates and times come as the
    stored text, which monitor.store.queries reads by fromisoformat: the types' own regex parsers cost
    several times more on a page of 1,000."""
    sqlite = conn.dialect.name == "sqlite"
    return [type_coerce(incidents.c[n], String).label(n) if sqlite and n in _AS_STORED else incidents.c[n]
            for n in _LISTED]


def filtered(conn: Connection, f: IncidentFilter,
             columns: list[ColumnElement[Any]] | None = None) -> Select[Any]:
    """The matching incidents' `columns` (default listed_columns) in list order, newest update first."""
    q = select(*(columns or listed_columns(conn))).where(*conditions(conn, f))
    q = q.order_by(incidents.c.updated_at.desc(), incidents.c.id.desc())
    if f.limit is not None and f.near is None:  # with `near`, rows outside the circle are dropped later
        q = limited(conn, q, f.limit)
    return q


def limited(conn: Connection, q: Select[Any], n: int) -> Select[Any]:
    """`q` with LIMIT n, the number written into the SQL on PostgreSQL. psycopg prepares a statement run five
    times, and a plan for any LIMIT is made for a tenth of the rows: PostgreSQL then walked the list order's
    index through all 100,000 incidents for a text no row holds (16 ms -> 200 ms, `text=zzzqqq`)."""
    if conn.dialect.name == "postgresql":
        return q.limit(literal_column(str(int(n)), Integer))
    return q.limit(n)
