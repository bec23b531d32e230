"""The API's pages of incidents as JSON text, written mostly by the database.

A page of 1,000 incidents carries ~10,000 articles. Building an IncidentView per incident and an ArticleRef
per article, then formatting and encoding them again, was most of such a page's time (Python per row). Here
the database writes each incident's JSON (what monitor.web.desk.incident_json gives, but for the fields
below) and each article's (ArticleRef.to_json's), and Python splices the texts together, keys in the order
the views' JSON has them: the page is the text it was when it was encoded from views.

Python still writes the floats (lat, lon, severity rounded to 2 places): SQLite prints reals with 15
significant digits and rounds halves its own way, where the views' JSON holds the shortest repr of Python's
round. And the country's name, from monitor.alerts.render.country_name.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import String, Text, case, cast, func, literal_column, select, type_coerce
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from monitor.alerts.render import country_name
from monitor.store.filtering import IncidentFilter
from monitor.store.queries import MAX_ARTICLES_PER_VIEW, page_rows
from monitor.store.schema import articles, incidents

ARTICLE_FIELDS = ("external_id", "url", "source", "title")
# monitor.web.desk.incident_json's keys, in its order, in the runs the database writes: Python writes lat and
# lon after the first, severity after the second, then articles, country_name and first_seen_at
HEAD, MIDDLE, TAIL = ("id", "revision", "event_date", "country", "admin1", "place"), \
    ("geo_precision", "labels", "killed", "injured"), ("source_count", "ceasefire", "title")

# the encoding of monitor.web.desk's pages (JSONResponse's)
_ENCODE = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode


@dataclass(frozen=True)
class ListedPage:
    """One page in list order: each incident's JSON object as text (articles included), and `next_after`,
    the cursor of the next page, or None."""

    items: list[str]
    next_after: tuple[datetime, int] | None


def _s(text: str) -> ColumnElement[Any]:
    """A constant string in the SQL itself (PostgreSQL cannot type a bound one given to json_build_object)."""
    return literal_column("'" + text.replace("'", "''") + "'", String)


def _iso_time(conn: Connection, column: Any) -> ColumnElement[Any]:
    """A time column as monitor.web.views.iso writes it: `2022-09-13T06:00:00Z`, with `.ffffff` before the Z
    when there are microseconds (datetime.isoformat)."""
    if conn.dialect.name == "sqlite":  # the stored text is always `2022-09-13 06:00:00.000000` (SQLAlchemy's)
        stored = type_coerce(column, String)
        # two replaces: fewer SQL function calls than cutting the fraction off and testing it (~2 ms a page)
        return func.replace(func.replace(stored, _s(" "), _s("T"), type_=String), _s(".000000"), _s(""),
                            type_=String) + _s("Z")
    whole = func.to_char(column, _s('YYYY-MM-DD"T"HH24:MI:SS'), type_=Text)
    return whole + case((func.date_trunc(_s("second"), column) == column, _s("")),
                        else_=func.to_char(column, _s(".US"))) + _s("Z")


def _object(conn: Connection, pairs: list[tuple[str, Any]], raw: tuple[str, ...] = ()) -> ColumnElement[Any]:
    """The JSON object of `pairs` (name, value) as text with no blanks, as the pages' encoder writes it;
    the values of the names in `raw` are JSON texts already. PostgreSQL's json_build_object writes
    `{"a" : 1, "b" : 2}`: there each value is written by to_json and the text put together here."""
    if conn.dialect.name == "sqlite":
        args: list[Any] = []
        for name, value in pairs:
            args += [_s(name), value]
        return cast(func.json_object(*args), Text)
    out = _s("")
    for n, (name, value) in enumerate(pairs):
        written = value if name in raw else func.coalesce(cast(func.to_json(value), Text), _s("null"))
        out = out + _s(("{" if n == 0 else ",") + json.dumps(name) + ":") + written
    return out + _s("}")


def _article_object(conn: Connection) -> ColumnElement[Any]:
    return _object(conn, [(n, articles.c[n]) for n in ARTICLE_FIELDS]
                   + [("published", _iso_time(conn, articles.c.published_at))])


def _incident_objects(conn: Connection) -> list[ColumnElement[Any]]:
    """The HEAD, MIDDLE and TAIL runs of an incident's JSON, each as an object's text, and its first-seen
    time as monitor.web.views.iso writes it."""
    c = incidents.c
    sqlite = conn.dialect.name == "sqlite"
    # SQLite: the stored texts (an ISO date; the JSON list, which json() marks as JSON and writes without
    # blanks); PostgreSQL's to_json writes a date in ISO form whatever the session's DateStyle
    value = {n: c[n] for n in HEAD + MIDDLE + TAIL} | {
        "id": c.public_id,
        "event_date": type_coerce(c.event_date, String) if sqlite else c.event_date,
        # a list of fixed identifiers: its stored text without blanks is its JSON as the pages write it
        "labels": func.json(type_coerce(c.labels, String)) if sqlite else
        func.regexp_replace(cast(c.labels, Text), _s(r"\s+"), _s(""), _s("g"), type_=Text)}
    return [_object(conn, [(n, value[n]) for n in run], raw=("labels",)).label(name)
            for name, run in (("head", HEAD), ("middle", MIDDLE), ("tail", TAIL))] + [
        _iso_time(conn, c.first_seen_at).label("first_seen")]


_built: dict[tuple[str, str], Any] = {}


def _once(conn: Connection, what: str, build: Any) -> Any:
    """An expression built once per dialect: building (and tracing) the JSON expressions at each query cost
    the client a few ms a page, more on PostgreSQL, whose are longer."""
    key = (conn.dialect.name, what)
    found = _built.get(key)
    if found is None:
        found = _built[key] = build(conn)
    return found


def page_columns(conn: Connection) -> list[ColumnElement[Any]]:
    """_page_columns, built once per dialect."""
    return list(_once(conn, "page", _page_columns))


def _page_columns(conn: Connection) -> list[ColumnElement[Any]]:
    """What a JSON page reads of each incident: the list-order keys (id; updated_at and event_date as
    filtering.listed_columns gives them, for the cursors), lat and lon (for `near`), what else Python
    writes, and the rest as JSON texts (_incident_objects)."""
    c = incidents.c
    sqlite = conn.dialect.name == "sqlite"
    stored = [type_coerce(c[n], String).label(n) if sqlite else c[n] for n in ("updated_at", "event_date")]
    return [c.id, *stored, c.lat, c.lon, c.severity, c.country, *_incident_objects(conn)]


def articles_json(conn: Connection, incident_ids: list[int]) -> dict[int, str]:
    """{incident id: JSON array text of its articles} by one query for all of them."""
    found: dict[int, list[str]] = {i: [] for i in incident_ids}
    if incident_ids:
        # incident first in the order: sorting on an integer key first is cheaper (SQLite, ~2 ms a page)
        result = conn.execute(select(articles.c.incident_id, _once(conn, "article", _article_object))
                              .where(articles.c.incident_id.in_(incident_ids))
                              .order_by(articles.c.incident_id, articles.c.published_at, articles.c.id))
        rows = result.cursor.fetchall() if result.cursor is not None else []  # plain tuples: nothing to process
        result.close()
        for incident_id, text in rows:
            found[incident_id].append(text)
    return {i: "[" + ",".join(texts[:MAX_ARTICLES_PER_VIEW]) + "]" for i, texts in found.items()}


def _number(value: float | None) -> str:
    """A number as the json module writes it (its repr; None is null), a few times faster than encode()."""
    if value is None:
        return "null"
    if not math.isfinite(value):
        raise ValueError(f"out of range float value for JSON: {value!r}")  # as allow_nan=False does
    return repr(value)


_names: dict[str | None, str] = {}


def _country_name_json(code: str | None) -> str:
    found = _names.get(code)
    if found is None:
        found = _names[code] = _ENCODE(country_name(code))
    return found


def listed(conn: Connection, rows: list[Any]) -> list[str]:
    """The JSON objects of the incidents of `rows` (mappings of page_columns), their articles read in one
    query: monitor.web.desk.incident_json's text (its keys, values and order) with `articles`."""
    texts = articles_json(conn, [m["id"] for m in rows])
    return [m["head"][:-1] + ',"lat":' + _number(m["lat"]) + ',"lon":' + _number(m["lon"]) + ","
            + m["middle"][1:-1] + ',"severity":' + _number(round(m["severity"], 2)) + "," + m["tail"][1:-1]
            + ',"articles":' + texts[m["id"]] + ',"country_name":' + _country_name_json(m["country"])
            + ',"first_seen_at":"' + m["first_seen"] + '"}' for m in rows]


def page_listed(conn: Connection, f: IncidentFilter) -> ListedPage:
    """queries.page_incidents for the API: the same incidents and cursor, as JSON text."""
    rows, after = page_rows(conn, f, page_columns(conn))
    return ListedPage(listed(conn, rows), after)
