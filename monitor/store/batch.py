"""The working state of one save (monitor.store.ingest): the candidate incidents a batch reads, the
incidents it touches, and what it writes back at the end.

Candidates are read once per (country, day) and cached; on PostgreSQL every read first holds its
grouping bucket (locks.py). Document frequencies are read lazily and bumped only after grouping.
"""

from __future__ import annotations

import bisect
import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, or_, select, update
from sqlalchemy.engine import Connection

from monitor.geo import geo_bucket
from monitor.incidents.group import COPIES_CAP, DAY_WINDOW, IncidentState
from monitor.incidents.materiality import severity
from monitor.incidents.similarity import Idf, decode_counts, encode_counts
from monitor.settings import CeasefireSettings
from monitor.store import alerting
from monitor.store.locks import BucketLocks
from monitor.store.schema import articles, incidents
from monitor.store.terms import load_idf

CANDIDATE_LIMIT = 200  # incidents of one country within a day either side: more would be a war, not a day
PREFETCH_KEYS = 50  # (countries, day) keys per prefetch query


@dataclass
class Touched:
    state: IncidentState
    created: bool
    reasons: list[str]
    links: list[tuple[int, float]]  # (article id, similarity)
    absorbed: list[int] = field(default_factory=list)  # incidents merged into this one in this batch


def state_from_row(conn: Connection, row: Any, score: float | None = None) -> IncidentState:
    m = row._mapping
    if m["sources"] is not None and m["copies"] is not None:
        sources = frozenset(str(x) for x in m["sources"])
        copies = tuple((str(src), int(h)) for src, h in m["copies"])
    else:  # a row written before migration 0003: one short indexed range (LIMIT COPIES_CAP) of its members
        members = conn.execute(select(articles.c.source, articles.c.simhash).where(
            articles.c.incident_id == m["id"]).order_by(articles.c.id).limit(COPIES_CAP)).all()
        sources = frozenset(str(r.source) for r in members)
        copies = tuple((str(r.source), int(r.simhash)) for r in members if r.simhash is not None)
    return IncidentState(
        id=m["id"], event_date=m["event_date"], country=m["country"], admin1=m["admin1"], place=m["place"],
        geonameid=m["geonameid"], lat=m["lat"], lon=m["lon"], geo_precision=m["geo_precision"],
        labels=tuple(m["labels"]), killed=m["killed"], injured=m["injured"],
        killed_civilian=m["killed_civilian"], killed_military=m["killed_military"],
        injured_civilian=m["injured_civilian"], injured_military=m["injured_military"],
        sources=sources, ceasefire=m["ceasefire"], title=m["title"], evidence=tuple(m["evidence"]),
        signature=decode_counts(m["signature"]), copies=copies, last_date=m["last_event_date"], score=score,
    )


# Statements of the hot path are built once: building one (and its cache key) per call cost more than
# running it. [0]: incidents of the given countries; [1]: incidents of no country.
def _candidates_query(no_country: bool, columns: Sequence[Any], days: Any, limit: Any) -> Any:
    cond = incidents.c.country.is_(None) if no_country else incidents.c.country.in_(
        bindparam("countries", expanding=True))
    return select(*columns).where(cond, days, incidents.c.merged_into.is_(None)).order_by(incidents.c.id).limit(limit)


_CANDIDATE_IDS = [_candidates_query(
    none, [incidents.c.id], incidents.c.event_date.between(bindparam("first", type_=incidents.c.event_date.type),
                                                           bindparam("last", type_=incidents.c.event_date.type)),
    bindparam("limit")) for none in (False, True)]
_CANDIDATE_ROWS = [_candidates_query(
    none, [incidents.c.id, incidents.c.country, incidents.c.event_date],
    incidents.c.event_date.in_(bindparam("days", expanding=True)), bindparam("limit")) for none in (False, True)]


def candidate_ids(conn: Connection, countries: Sequence[str], day: date) -> list[int]:
    """Live (not merged-away) incidents in these countries dated within a day: indexed (country,
    event_date) range scans, so the cost per article stays flat however large the store grows."""
    window = timedelta(days=DAY_WINDOW)
    return list(conn.execute(_CANDIDATE_IDS[not countries], {
        "countries": list(countries), "first": day - window, "last": day + window, "limit": CANDIDATE_LIMIT}).scalars())


def candidate_lists(conn: Connection, keys: Sequence[tuple[tuple[str, ...], date]]
                    ) -> dict[tuple[tuple[str, ...], date], list[int]] | None:
    """`candidate_ids` of several (countries, day) keys in one query (two when some key has no country):
    every incident of the keys' countries on any day within a day of theirs, sorted out by key here; None
    when they pass CANDIDATE_LIMIT per key (a hot day: the caller reads those key by key, each list cut in
    SQL)."""
    bound = CANDIDATE_LIMIT * len(keys)
    rows: list[Any] = []
    for no_country in (False, True):
        mine = [(c, d) for c, d in keys if bool(c) != no_country]
        if not mine:
            continue
        days = sorted({d + timedelta(days=k) for _, d in mine for k in range(-DAY_WINDOW, DAY_WINDOW + 1)})
        countries = sorted({x for c, _ in mine for x in c})
        rows += conn.execute(_CANDIDATE_ROWS[no_country], {"countries": countries, "days": days,
                                                          "limit": bound + 1 - len(rows)}).all()
        if len(rows) > bound:
            return None
    rows.sort(key=lambda r: r.id)
    return {(c, d): [r.id for r in rows if (r.country in c if c else r.country is None)
                     and abs((r.event_date - d).days) <= DAY_WINDOW][:CANDIDATE_LIMIT] for c, d in keys}


class Batch:
    """What one save_drafts call shares across its drafts: incidents touched so far, states already read
    (rows do not change under us within the transaction, except those we touch: on PostgreSQL because the
    transaction holds the grouping buckets it reads, see locks.py), and document frequencies (they are
    bumped only after grouping)."""

    thresholds: Sequence[float] = ()  # the rules' min_score values: a score rising across one is news

    def __init__(self, conn: Connection, now: datetime, ceasefires: Sequence[CeasefireSettings]) -> None:
        self.conn, self.now, self.ceasefires = conn, now, ceasefires
        self.locks = BucketLocks(conn)
        self.touched: dict[int, Touched] = {}
        self._states: dict[int, IncidentState] = {}  # as read from the tables in this batch
        self._keys: dict[int, tuple[str | None, date]] = {}  # (country, event_date) the rows hold
        self._dirty: set[int] = set()
        # Candidate id lists by (countries, day); valid until an incident is created, moves or is merged.
        self._lookups: dict[tuple[tuple[str, ...], date], list[int]] = {}
        self._df: dict[str, int] = {}
        self._docs: int | None = None

    def state(self, incident_id: int) -> IncidentState:
        """The current state of an incident this batch touched or read as a candidate."""
        if incident_id in self.touched:
            return self.touched[incident_id].state
        return self._states[incident_id]

    def forget(self, incident_id: int) -> None:
        """An incident merged away: never a candidate again."""
        self._states.pop(incident_id, None)
        self._unlist(incident_id)

    # The cached candidate lists follow the batch's own creations, moves and merges (no other transaction
    # changes these buckets: SQLite has one writer, PostgreSQL saves hold the buckets, see locks.py), so a
    # (countries, day) is read once per batch. A full list (CANDIDATE_LIMIT) that would change is read again.

    def _unlist(self, incident_id: int) -> None:
        for key, ids in list(self._lookups.items()):
            if incident_id in ids:
                if len(ids) >= CANDIDATE_LIMIT:
                    del self._lookups[key]
                else:
                    ids.remove(incident_id)

    def _list(self, incident_id: int, country: str | None, day: date | None) -> None:
        if day is None:
            return
        for key, ids in list(self._lookups.items()):
            countries, around = key
            if (country in countries if countries else country is None) and \
                    abs((day - around).days) <= DAY_WINDOW and incident_id not in ids:
                if len(ids) < CANDIDATE_LIMIT:
                    bisect.insort(ids, incident_id)
                elif incident_id < ids[-1]:
                    del self._lookups[key]

    def prefetch(self, keys: Iterable[tuple[Sequence[str], date]]) -> None:
        """Read the candidate lists of these (countries, day) keys and their incidents' states in a few
        queries (a chunk of keys at a time) instead of one or two per key. A chunk whose incidents pass a
        bound is left to `candidates`, key by key (each list is cut at CANDIDATE_LIMIT there)."""
        wanted = list(dict.fromkeys((tuple(c), d) for c, d in keys if (tuple(c), d) not in self._lookups))
        window = timedelta(days=DAY_WINDOW)
        for countries, day in wanted:
            self.locks.cover(countries, day - window, day + window)
        for lo in range(0, len(wanted), PREFETCH_KEYS):
            lists = candidate_lists(self.conn, wanted[lo:lo + PREFETCH_KEYS])
            if lists is not None:
                self._lookups.update(lists)
                self._read_states(sorted(set().union(*lists.values())))

    def _read_states(self, ids: Sequence[int]) -> None:
        missing = [i for i in ids if i not in self.touched and i not in self._states]
        for lo in range(0, len(missing), 1000):  # bound parameters per statement stay under driver limits
            part = missing[lo:lo + 1000]
            scores = alerting.scores_of(self.conn, part)  # the score rules' min_score reads (group.merge)
            for row in self.conn.execute(_STATES, {"ids": part}):
                self._states[row.id] = state_from_row(self.conn, row, scores.get(row.id, 0.0))
                self._keys[row.id] = (row.country, row.event_date)

    def candidates(self, countries: Sequence[str], day: date) -> list[IncidentState]:
        """Candidate incidents as states: the batch's own state for those it touched; rows not read yet in
        this batch are read in one query."""
        key = (tuple(countries), day)
        if key not in self._lookups:
            self.locks.cover(countries, day - timedelta(days=DAY_WINDOW), day + timedelta(days=DAY_WINDOW))
            self._lookups[key] = candidate_ids(self.conn, countries, day)
        ids = self._lookups[key]
        self._read_states(ids)
        return [self.state(i) for i in ids]

    def created(self, incident_id: int, state: IncidentState, article_id: int) -> None:
        """Record an incident this batch inserted (its row holds `state`)."""
        self.touched[incident_id] = Touched(state=replace(state, id=incident_id), created=True, reasons=[],
                                             links=[(article_id, 1.0)])
        self._keys[incident_id] = (state.country, state.event_date)
        self._list(incident_id, state.country, state.event_date)

    def save(self, incident_id: int) -> None:
        """Write a touched incident's state to its row. What candidate lookups read (country, event date) is
        written at once when it changed; the rest when the batch ends (`flush`)."""
        state = self.touched[incident_id].state
        key = (state.country, state.event_date)
        if self._keys.get(incident_id) != key:
            self.locks.cover((key[0],), key[1], key[1])
            self.conn.execute(_MOVE, {"_id": incident_id, "_country": key[0], "_event_date": key[1]})
            self._keys[incident_id] = key
            self._unlist(incident_id)
            self._list(incident_id, key[0], key[1])
        self._dirty.add(incident_id)

    def flush(self) -> None:
        """Write every touched incident's final state (one executemany UPDATE, in id order)."""
        rows = [{"_id": i, **{f"_{k}": v for k, v in incident_values(self.touched[i].state).items()}}
                for i in sorted(self._dirty) if i in self.touched]
        if rows:
            self.conn.execute(_state_update(tuple(k[1:] for k in rows[0] if k != "_id")), rows)
        self._dirty.clear()

    def first_published(self, incident_id: int, also: datetime) -> datetime:
        """The earliest published time of an incident's articles (stored, or linked in this batch) and `also`:
        what decides on the day a ceasefire starts or ends at a given time (ceasefires.in_period)."""
        linked = [a for a, _ in self.touched[incident_id].links] if incident_id in self.touched else []
        first: datetime | None = self.conn.execute(_FIRST_PUBLISHED, {"incident": incident_id,
                                                                      "linked": linked}).scalar()
        return min(also, first) if first is not None else also

    def idf(self, terms: Iterable[str]) -> Idf:
        """Document frequencies of `terms` (each read once per batch); other terms weigh as unseen."""
        wanted = set(terms)
        missing = [t for t in wanted if t not in self._df]
        if missing or self._docs is None:
            got = load_idf(self.conn, missing)
            self._docs = got.docs
            self._df.update({t: got.df.get(t, 0) for t in missing})
        return Idf(docs=self._docs, df={t: n for t in wanted if (n := self._df[t])})


# The columns state_from_row reads: not the bookkeeping ones (timestamps, public id, revision), whose
# conversion on SQLite cost more than the rest of a candidate's row.
_STATE_COLUMNS = ("id", "event_date", "last_event_date", "country", "admin1", "place", "geonameid", "lat", "lon",
                  "geo_precision", "labels", "killed", "injured", "killed_civilian", "killed_military",
                  "injured_civilian", "injured_military", "sources", "copies", "ceasefire", "title", "evidence",
                  "signature")
_STATES = select(*(incidents.c[c] for c in _STATE_COLUMNS)).where(incidents.c.id.in_(bindparam("ids", expanding=True)))
_MOVE = update(incidents).where(incidents.c.id == bindparam("_id")).values(
    country=bindparam("_country", type_=incidents.c.country.type),
    event_date=bindparam("_event_date", type_=incidents.c.event_date.type))
# An empty expanding IN list renders as a false condition: then only the stored members count.
_FIRST_PUBLISHED = select(func.min(articles.c.published_at)).where(or_(
    articles.c.incident_id == bindparam("incident"), articles.c.id.in_(bindparam("linked", expanding=True))))


@functools.cache
def _state_update(columns: tuple[str, ...]) -> Any:
    """UPDATE incidents SET each column = :_column WHERE id = :_id (bind names differ from the columns)."""
    return update(incidents).where(incidents.c.id == bindparam("_id")).values(
        {c: bindparam(f"_{c}", type_=incidents.c[c].type) for c in columns})


def incident_values(state: IncidentState) -> dict[str, Any]:
    return {
        "event_date": state.event_date, "last_event_date": state.last, "country": state.country,
        "admin1": state.admin1, "place": state.place,
        "geonameid": state.geonameid, "lat": state.lat, "lon": state.lon, "geo_precision": state.geo_precision,
        "geo_bucket": geo_bucket(state.lat, state.lon), "labels": list(state.labels), "killed": state.killed,
        "injured": state.injured, "killed_civilian": state.killed_civilian,
        "killed_military": state.killed_military, "injured_civilian": state.injured_civilian,
        "injured_military": state.injured_military, "severity": severity(state),
        "source_count": state.source_count, "ceasefire": state.ceasefire, "title": state.title[:1000],
        "evidence": list(state.evidence), "signature": encode_counts(state.signature),
        "sources": sorted(state.sources), "copies": [[src, h] for src, h in state.copies],
    }
