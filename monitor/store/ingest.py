"""Writing new articles, grouping them into incidents and queueing alerts, in ONE transaction.

Insert-if-new by fingerprint (ON CONFLICT DO NOTHING ... RETURNING) means two instances that fetch the
same story never both process it. Incidents touched by a batch get one revision each, and the alerts of
that revision are written to the outbox before the transaction commits: an alert exists iff its revision does.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import case, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from monitor.alerts import TargetHistory
from monitor.ceasefires import active_ceasefire
from monitor.geo import geo_bucket
from monitor.group import (
    COPIES_CAP,
    DAY_WINDOW,
    ArticleDraft,
    IncidentState,
    best_incident_match,
    best_match,
    canonical_order,
    merge,
    merge_incidents,
    new_incident,
)
from monitor.materiality import score_thresholds, severity
from monitor.models import ArticleRef, IncidentView
from monitor.settings import AlertSettings, CeasefireSettings
from monitor.similarity import Idf, decode_counts, encode_counts
from monitor.store import alerting, merging, queries
from monitor.store.alerting import Renderer, queue_incident_alerts
from monitor.store.locks import BucketLocks
from monitor.store.queries import MAX_ARTICLES_PER_VIEW
from monitor.store.schema import articles, incident_articles, incident_revisions, incidents

_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"  # no 0/O, 1/I/L: ids are read aloud and typed
CANDIDATE_LIMIT = 200  # incidents of one country within a day either side: more would be a war, not a day


@dataclass
class SaveReport:
    read: int = 0
    new: int = 0
    duplicates: int = 0
    relevant: int = 0
    incidents_created: int = 0
    incidents_updated: int = 0
    alerts_queued: int = 0
    incident_ids: list[str] = field(default_factory=list)
    late_locks: int = 0  # PostgreSQL: grouping buckets locked out of order (locks.py); 0 unless rules changed

    def add(self, other: SaveReport) -> None:
        for name in ("read", "new", "duplicates", "relevant", "incidents_created", "incidents_updated",
                     "alerts_queued", "late_locks"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.incident_ids.extend(other.incident_ids)


# A renderer turns (incident, kind, reasons, target url) into (title, body, body_format).


@dataclass
class _Touched:
    state: IncidentState
    created: bool
    reasons: list[str]
    links: list[tuple[int, float]]  # (article id, similarity)
    absorbed: list[int] = field(default_factory=list)  # incidents merged into this one in this batch


def new_public_id() -> str:
    return "INC-" + "".join(secrets.choice(_ALPHABET) for _ in range(6))


LOOKUP_CHUNK = 1000


def _insert_if_new(conn: Connection, rows: list[dict[str, Any]]) -> dict[str, int]:
    """Insert rows whose fingerprint is unseen; returns {fingerprint: id} of the rows inserted."""
    if not rows:
        return {}
    prints = [r["fingerprint"] for r in rows]
    known: set[str] = set()
    for lo in range(0, len(prints), LOOKUP_CHUNK):  # bound parameters per statement stay under driver limits
        known.update(r.fingerprint for r in conn.execute(
            select(articles.c.fingerprint).where(articles.c.fingerprint.in_(prints[lo:lo + LOOKUP_CHUNK]))))
    fresh = [r for r in rows if r["fingerprint"] not in known]
    if not fresh:
        return {}
    if conn.dialect.name == "postgresql":
        # Two saves inserting the same stories (one outlet's article in two of its feeds) wait for each other's
        # uncommitted rows; in one order they cannot deadlock. (SQLite: one writer at a time; feed order kept.)
        fresh.sort(key=lambda r: str(r["fingerprint"]))
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(articles).on_conflict_do_nothing(index_elements=["fingerprint"])
    result = conn.execute(stmt.returning(articles.c.id, articles.c.fingerprint), fresh)
    return {r.fingerprint: r.id for r in result}


def _article_row(draft: ArticleDraft, feed_id: int | None) -> dict[str, Any]:
    c = draft.classification
    extraction = c.to_json(draft.item.external_id)
    for key in ("id", "relevant", "labels", "score"):
        extraction.pop(key)
    return {
        "fingerprint": draft.fingerprint, "feed_id": feed_id, "external_id": draft.item.external_id,
        "source": draft.item.source[:200], "url": draft.item.url, "guid": draft.item.guid,
        "title": draft.item.title, "summary": draft.item.text, "lang": draft.item.lang,
        "published_at": draft.published_at, "first_seen_at": draft.first_seen_at, "relevant": c.relevant,
        "score": c.score, "labels": [hit.to_json() for hit in c.labels], "extraction": extraction,
        "incident_id": None, "simhash": draft.simhash if c.relevant else None,
    }


def _state_from_row(conn: Connection, row: Any) -> IncidentState:
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
        signature=decode_counts(m["signature"]), copies=copies, last_date=m["last_event_date"],
    )


def _candidate_ids(conn: Connection, countries: Sequence[str], day: date) -> list[int]:
    """Live (not merged-away) incidents in these countries dated within a day: indexed (country,
    event_date) range scans, so the cost per article stays flat however large the store grows."""
    cond = incidents.c.country.in_(countries) if countries else incidents.c.country.is_(None)
    return list(conn.execute(select(incidents.c.id).where(
        cond, incidents.c.event_date.between(day - timedelta(days=DAY_WINDOW), day + timedelta(days=DAY_WINDOW)),
        incidents.c.merged_into.is_(None)).order_by(incidents.c.id).limit(CANDIDATE_LIMIT)).scalars())


class _Batch:
    """What one save_drafts call shares across its drafts: incidents touched so far, states already read
    (rows do not change under us within the transaction, except those we touch: on PostgreSQL because the
    transaction holds the grouping buckets it reads, see locks.py), and document frequencies (they are
    bumped only after grouping)."""

    thresholds: Sequence[float] = ()  # the rules' min_score values: a score rising across one is news

    def __init__(self, conn: Connection, now: datetime, ceasefires: Sequence[CeasefireSettings]) -> None:
        self.conn, self.now, self.ceasefires = conn, now, ceasefires
        self.locks = BucketLocks(conn)
        self.touched: dict[int, _Touched] = {}
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
        self._lookups.clear()

    def candidates(self, countries: Sequence[str], day: date) -> list[IncidentState]:
        """Candidate incidents as states: the batch's own state for those it touched; rows not read yet in
        this batch are read in one query."""
        key = (tuple(countries), day)
        if key not in self._lookups:
            self.locks.cover(countries, day - timedelta(days=DAY_WINDOW), day + timedelta(days=DAY_WINDOW))
            self._lookups[key] = _candidate_ids(self.conn, countries, day)
        ids = self._lookups[key]
        missing = [i for i in ids if i not in self.touched and i not in self._states]
        if missing:
            scores = alerting._scores(self.conn, missing)  # the score rules' min_score reads (group.merge)
            for row in self.conn.execute(select(incidents).where(incidents.c.id.in_(missing))):
                self._states[row.id] = replace(_state_from_row(self.conn, row), score=scores.get(row.id, 0.0))
                self._keys[row.id] = (row.country, row.event_date)
        return [self.state(i) for i in ids]

    def created(self, incident_id: int, state: IncidentState, article_id: int) -> None:
        """Record an incident this batch inserted (its row holds `state`)."""
        self.touched[incident_id] = _Touched(state=replace(state, id=incident_id), created=True, reasons=[],
                                             links=[(article_id, 1.0)])
        self._keys[incident_id] = (state.country, state.event_date)
        self._lookups.clear()

    def save(self, incident_id: int) -> None:
        """Write a touched incident's state to its row. What candidate lookups read (country, event date) is
        written at once when it changed; the rest when the batch ends (`flush`)."""
        state = self.touched[incident_id].state
        key = (state.country, state.event_date)
        if self._keys.get(incident_id) != key:
            self.locks.cover((key[0],), key[1], key[1])
            self.conn.execute(update(incidents).where(incidents.c.id == incident_id)
                              .values(country=key[0], event_date=key[1]))
            self._keys[incident_id] = key
            self._lookups.clear()
        self._dirty.add(incident_id)

    def flush(self) -> None:
        """Write every touched incident's final state (one UPDATE each)."""
        for incident_id in sorted(self._dirty):
            if incident_id in self.touched:
                self.conn.execute(update(incidents).where(incidents.c.id == incident_id)
                                  .values(**_incident_values(self.touched[incident_id].state)))
        self._dirty.clear()

    def first_published(self, incident_id: int, also: datetime) -> datetime:
        """The earliest published time of an incident's articles (stored, or linked in this batch) and `also`:
        what decides on the day a ceasefire starts or ends at a given time (ceasefires.in_period)."""
        linked = [a for a, _ in self.touched[incident_id].links] if incident_id in self.touched else []
        cond = articles.c.incident_id == incident_id
        if linked:
            cond = or_(cond, articles.c.id.in_(linked))
        first: datetime | None = self.conn.execute(select(func.min(articles.c.published_at)).where(cond)).scalar()
        return min(also, first) if first is not None else also

    def idf(self, terms: Iterable[str]) -> Idf:
        """Document frequencies of `terms` (each read once per batch); other terms weigh as unseen."""
        wanted = set(terms)
        missing = [t for t in wanted if t not in self._df]
        if missing or self._docs is None:
            got = alerting.load_idf(self.conn, missing)
            self._docs = got.docs
            self._df.update({t: got.df.get(t, 0) for t in missing})
        return Idf(docs=self._docs, df={t: n for t in wanted if (n := self._df[t])})


def _incident_values(state: IncidentState) -> dict[str, Any]:
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


def save_drafts(conn: Connection, drafts: Sequence[ArticleDraft], *, feed_id: int | None, now: datetime,
                alerts: AlertSettings, ceasefires: Sequence[CeasefireSettings], render: Renderer) -> SaveReport:
    """Store new articles, group the relevant ones, revise incidents and queue alerts. Caller commits.

    Drafts are grouped in `group.canonical_order` (precise places first, then by date), so a batch gives
    the same incidents whatever order the feed listed its items in. An incident a draft joined is then
    checked against its own candidates: two incidents that now match are merged (see merging.py).
    """
    report = SaveReport(read=len(drafts))
    unique = list({d.fingerprint: d for d in drafts}.values())
    inserted = _insert_if_new(conn, [_article_row(d, feed_id) for d in unique])
    report.new = len(inserted)
    report.duplicates = report.read - report.new
    batch = _Batch(conn, now, ceasefires)
    batch.thresholds = score_thresholds(alerts)
    fresh = canonical_order(d for d in unique if d.fingerprint in inserted and d.classification.relevant)
    batch.locks.lock_for(fresh)  # PostgreSQL: before any candidate is read, in one ordered statement
    for draft in fresh:
        report.relevant += 1
        joined = _group_one(batch, draft, inserted[draft.fingerprint])
        if joined is not None:
            _merge_matches(batch, joined)
    batch.flush()
    histories: dict[str, TargetHistory] = {}
    if any(t.created or t.reasons for t in batch.touched.values()):  # PostgreSQL: before any target's alert
        batch.locks.lock_targets(alerts)  # history is read (cooldowns, caps; see locks.py)
    for incident_id, t in batch.touched.items():
        _write_revision(conn, incident_id, t, now, alerts, render, report, histories)
    # Last: every save updates the document count row and the common terms' rows, whose row locks are then
    # held until COMMIT; taken last, two saves queue on them only for the time of a commit.
    alerting.bump_df(conn, [d.terms for d in fresh])
    report.late_locks = batch.locks.late
    return report


def _group_one(batch: _Batch, draft: ArticleDraft, article_id: int) -> int | None:
    """Put one relevant article into an incident (a new one or the best match). Returns the id of the
    incident it joined, or None when it started one."""
    conn, touched, now = batch.conn, batch.touched, batch.now
    states = batch.candidates(draft.countries, draft.event_date)
    match = best_match(draft, states, batch.idf(draft.terms))
    place = draft.classification.place
    if match is None:
        state = new_incident(draft, None)
        state = replace(state, ceasefire=active_ceasefire(batch.ceasefires, country=state.country,
                                                          admin1=state.admin1, event_date=state.event_date,
                                                          reported_at=draft.published_at, place=state.place))
        batch.locks.cover((state.country,), state.event_date, state.event_date)
        incident_id: int = conn.execute(insert(incidents).values(
            public_id=new_public_id(), revision=0, first_seen_at=now, updated_at=now,
            **_incident_values(state)).returning(incidents.c.id)).scalar_one()
        batch.created(incident_id, state, article_id)
        return None
    old, sim = match
    assert old.id is not None
    cf = old.ceasefire
    if batch.ceasefires and not old.ceasefire:  # a ceasefire once found stays; else check the merged incident
        cf = active_ceasefire(batch.ceasefires, country=old.country,
                              admin1=(place.admin1 if place else None) or old.admin1,
                              event_date=min(old.event_date, draft.event_date),
                              reported_at=batch.first_published(old.id, draft.published_at),
                              place=(place.name if place else None) or old.place)
    state, reasons = merge(old, draft, cf, thresholds=batch.thresholds)
    t = touched.setdefault(old.id, _Touched(state=old, created=False, reasons=[], links=[]))
    t.state = replace(state, id=old.id)
    t.reasons.extend(r for r in reasons if r not in t.reasons)
    t.links.append((article_id, sim))
    batch.save(old.id)
    return old.id


def _merge_matches(batch: _Batch, incident_id: int) -> None:
    """Merge the incident a draft just changed with every other live incident it now matches (by the
    joining rules, over its own indexed candidates), until none does. The older incident survives."""
    while True:
        state = batch.touched[incident_id].state
        others = [s for s in batch.candidates((state.country,) if state.country else (), state.event_date)
                  if s.id != incident_id]
        if not others:
            return
        idf = batch.idf(set(state.signature).union(*(o.signature for o in others)))
        other = best_incident_match(state, others, idf)
        if other is None:
            return
        assert other.id is not None
        keep, gone = (incident_id, other.id) if incident_id < other.id else (other.id, incident_id)
        _absorb(batch, keep, gone)
        incident_id = keep


def _absorb(batch: _Batch, keep: int, gone: int) -> None:
    """Fold incident `gone` into `keep` in the batch's state and in the tables (its articles, links and
    aliases move now; its outbox rows move with the survivor's revision, see merging.settle_outbox)."""
    touched = batch.touched
    reported_at = min(batch.first_published(keep, batch.now), batch.first_published(gone, batch.now))
    survivor = touched.get(keep) or _Touched(state=batch.state(keep), created=False, reasons=[], links=[])
    absorbed = touched.pop(gone, None) or _Touched(state=batch.state(gone), created=False, reasons=[], links=[])
    state, reasons = merge_incidents(survivor.state, absorbed.state, ceasefires=batch.ceasefires,
                                     reported_at=reported_at, thresholds=batch.thresholds)
    survivor.state = replace(state, id=keep)
    survivor.reasons[:] = ["merged", *(r for r in survivor.reasons + reasons if r != "merged")]
    survivor.reasons[:] = list(dict.fromkeys(survivor.reasons))
    survivor.links.extend(absorbed.links)
    survivor.absorbed.extend([gone, *absorbed.absorbed])
    touched[keep] = survivor
    batch.forget(gone)
    merging.move_members(batch.conn, keep, gone, batch.now)
    batch.save(keep)


def _write_revision(conn: Connection, incident_id: int, t: _Touched, now: datetime, alerts: AlertSettings,
                    render: Renderer, report: SaveReport, histories: dict[str, TargetHistory]) -> None:
    if t.links:
        conn.execute(update(articles).where(articles.c.id.in_([a for a, _ in t.links]))
                     .values(incident_id=incident_id))
        conn.execute(insert(incident_articles), [
            {"incident_id": incident_id, "article_id": a, "joined_at": now, "similarity": round(sim, 3)}
            for a, sim in t.links])
    if not t.created and not t.reasons:
        return  # another copy or item of an outlet already counted: nothing new to say
    # After a merge the survivor's revision passes every absorbed incident's, so each outbox row that moves
    # to it shows an older revision than the next one (delivery coalesces by revision).
    floor = merging.highest_revision(conn, t.absorbed)
    row = conn.execute(
        update(incidents).where(incidents.c.id == incident_id)
        .values(revision=case((incidents.c.revision < floor, floor), else_=incidents.c.revision) + 1,
                updated_at=now).returning(*incidents.c)).one()
    revision: int = row.revision
    view = _revision_view(conn, row)
    reasons = ["new incident"] if t.created else t.reasons
    conn.execute(insert(incident_revisions).values(incident_id=incident_id, revision=revision, created_at=now,
                                                   reasons=reasons, snapshot=view.to_json()))
    if t.created:
        report.incidents_created += 1
    else:
        report.incidents_updated += 1
    report.incident_ids.append(view.id)
    overrides = merging.settle_outbox(conn, incident_id, t.absorbed, t.state, view, now, alerts, render) \
        if t.absorbed and not t.created else None
    report.alerts_queued += queue_incident_alerts(conn, view, incident_id, reasons, now, alerts, render, histories,
                                                  overrides=overrides)


def _revision_view(conn: Connection, row: Any) -> IncidentView:
    """`queries.incident_view` of a row just revised, with the article list cut in SQL (a large incident's
    revision reads at most MAX_ARTICLES_PER_VIEW article rows, the ones the view shows)."""
    incident_id = row.id
    refs = [ArticleRef(external_id=r.external_id, url=r.url, source=r.source, title=r.title, published=r.published_at)
            for r in conn.execute(select(articles.c.external_id, articles.c.url, articles.c.source, articles.c.title,
                                         articles.c.published_at).where(articles.c.incident_id == incident_id)
                                  .order_by(articles.c.published_at, articles.c.id).limit(MAX_ARTICLES_PER_VIEW))]
    return queries._view(row._mapping, refs)  # the one row-to-view mapping, shared with the read side


def count_articles(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(articles)).scalar_one())
