"""Writing new articles, grouping them into incidents and queueing alerts, in ONE transaction.

Insert-if-new by fingerprint (ON CONFLICT DO NOTHING ... RETURNING) means two instances that fetch the
same story never both process it. Incidents touched by a batch get one revision each, and the alerts of
that revision are written to the outbox before the transaction commits: an alert exists iff its revision does.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, case, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from monitor.alerts.routing import TargetHistory
from monitor.incidents.ceasefires import ceasefire_of_new, ceasefire_on_join
from monitor.incidents.group import (
    ArticleDraft,
    best_match,
    canonical_order,
    merge,
    merge_incidents,
    merged_reasons,
    new_incident,
    next_merge,
)
from monitor.incidents.materiality import score_thresholds
from monitor.models import ArticleRef
from monitor.settings import AlertSettings, CeasefireSettings
from monitor.store import merging, queries, terms
from monitor.store.alerting import Renderer, alert_states, insert_alerts, queue_incident_alerts, scores_of
from monitor.store.batch import Batch, Touched, incident_values
from monitor.store.queries import MAX_ARTICLES_PER_VIEW
from monitor.store.schema import articles, incident_articles, incident_revisions, incidents

_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"  # no 0/O, 1/I/L: ids are read aloud and typed


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


def new_public_id() -> str:
    return "INC-" + "".join(secrets.choice(_ALPHABET) for _ in range(6))


LOOKUP_CHUNK = 1000


# Hot statements are built once: building one (and its cache key) per call cost more than running it.
_KNOWN_PRINTS = select(articles.c.fingerprint).where(articles.c.fingerprint.in_(bindparam("prints", expanding=True)))


def stored_fingerprints(conn: Connection, prints: Sequence[str]) -> set[str]:
    """Those of these fingerprints that an article has already."""
    known: set[str] = set()
    for lo in range(0, len(prints), LOOKUP_CHUNK):  # bound parameters per statement stay under driver limits
        known.update(conn.execute(_KNOWN_PRINTS, {"prints": list(prints[lo:lo + LOOKUP_CHUNK])}).scalars())
    return known


def _insert_if_new(conn: Connection, drafts: Sequence[ArticleDraft], feed_id: int | None) -> dict[str, int]:
    """Insert the drafts whose fingerprint is unseen; returns {fingerprint: id} of the rows inserted. Rows
    are built for those only (a feed repeats its recent items at every poll)."""
    if not drafts:
        return {}
    known = stored_fingerprints(conn, [d.fingerprint for d in drafts])
    fresh = [_article_row(d, feed_id) for d in drafts if d.fingerprint not in known]
    if not fresh:
        return {}
    if conn.dialect.name == "postgresql":
        # Two saves inserting the same stories (one outlet's article in two of its feeds) wait for each other's
        # uncommitted rows; in one order they cannot deadlock. (SQLite: one writer at a time; feed order kept.)
        fresh.sort(key=lambda r: str(r["fingerprint"]))
    result = conn.execute(_INSERT_ARTICLES[conn.dialect.name == "postgresql"], fresh)
    return {r.fingerprint: r.id for r in result}


# [SQLite, PostgreSQL]
_INSERT_ARTICLES = [dialect.insert(articles).on_conflict_do_nothing(index_elements=["fingerprint"])
                    .returning(articles.c.id, articles.c.fingerprint) for dialect in (sqlite, postgresql)]


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


def save_drafts(conn: Connection, drafts: Sequence[ArticleDraft], *, feed_id: int | None, now: datetime,
                alerts: AlertSettings, ceasefires: Sequence[CeasefireSettings], render: Renderer) -> SaveReport:
    """Store new articles, group the relevant ones, revise incidents and queue alerts. Caller commits.

    Drafts are grouped in `group.canonical_order` (precise places first, then by date), so a batch gives
    the same incidents whatever order the feed listed its items in. An incident a draft joined is then
    checked against its own candidates: two incidents that now match are merged (see merging.py).
    """
    report = SaveReport(read=len(drafts))
    unique = list({d.fingerprint: d for d in drafts}.values())
    inserted = _insert_if_new(conn, unique, feed_id)
    report.new = len(inserted)
    report.duplicates = report.read - report.new
    batch = Batch(conn, now, ceasefires)
    batch.thresholds = score_thresholds(alerts)
    fresh = canonical_order(d for d in unique if d.fingerprint in inserted and d.classification.relevant)
    if fresh:  # else nothing to group (a poll of known or irrelevant items): not even the document count
        batch.locks.lock_for(fresh)  # PostgreSQL: before any candidate is read, in one ordered statement
        batch.idf(set().union(*(d.terms for d in fresh)))  # every draft's document frequencies in one read
        batch.prefetch((d.countries, d.event_date) for d in fresh)
    for draft in fresh:
        report.relevant += 1
        joined = _group_one(batch, draft, inserted[draft.fingerprint])
        if joined is not None:
            _merge_matches(batch, joined)
    batch.flush()
    histories: dict[str, TargetHistory] = {}
    if any(t.created or t.reasons for t in batch.touched.values()):  # PostgreSQL: before any target's alert
        batch.locks.lock_targets(alerts)  # history is read (cooldowns, caps; see locks.py)
    _write_revisions(conn, batch.touched, now, alerts, render, report, histories)
    # Last: every save updates the document count row and the common terms' rows, whose row locks are then
    # held until COMMIT; taken last, two saves queue on them only for the time of a commit.
    terms.bump_df(conn, [d.terms for d in fresh])
    report.late_locks = batch.locks.late
    return report


def _group_one(batch: Batch, draft: ArticleDraft, article_id: int) -> int | None:
    """Put one relevant article into an incident (a new one or the best match). Returns the id of the
    incident it joined, or None when it started one."""
    conn, touched, now = batch.conn, batch.touched, batch.now
    states = batch.candidates(draft.countries, draft.event_date)
    match = best_match(draft, states, batch.idf(draft.terms))
    if match is None:
        state = new_incident(draft, None)
        state = replace(state, ceasefire=ceasefire_of_new(batch.ceasefires, state, draft.published_at))
        batch.locks.cover((state.country,), state.event_date, state.event_date)
        incident_id: int = conn.execute(_NEW_INCIDENT, {
            "public_id": new_public_id(), "revision": 0, "first_seen_at": now, "updated_at": now,
            **incident_values(state)}).scalar_one()
        batch.created(incident_id, state, article_id)
        return None
    old, sim = match
    assert old.id is not None
    old_id = old.id
    cf = ceasefire_on_join(batch.ceasefires, old, draft, lambda: batch.first_published(old_id, draft.published_at))
    state, reasons = merge(old, draft, cf, thresholds=batch.thresholds)
    t = touched.setdefault(old.id, Touched(state=old, created=False, reasons=[], links=[]))
    t.state = replace(state, id=old.id)
    t.reasons.extend(r for r in reasons if r not in t.reasons)
    t.links.append((article_id, sim))
    batch.save(old.id)
    return old.id


def _merge_matches(batch: Batch, incident_id: int) -> None:
    """Merge the incident a draft just changed with every other live incident it now matches (by the
    joining rules, over its own indexed candidates), until none does (group.next_merge: the older survives)."""
    while True:
        state = batch.touched[incident_id].state
        others = [s for s in batch.candidates((state.country,) if state.country else (), state.event_date)
                  if s.id != incident_id]
        if not others:
            return
        idf = batch.idf(set(state.signature).union(*(o.signature for o in others)))
        pair = next_merge(state, others, idf)
        if pair is None:
            return
        survivor, absorbed = pair
        assert survivor.id is not None and absorbed.id is not None
        _absorb(batch, survivor.id, absorbed.id)
        incident_id = survivor.id


def _absorb(batch: Batch, keep: int, gone: int) -> None:
    """Fold incident `gone` into `keep` in the batch's state and in the tables (its articles, links and
    aliases move now; its outbox rows move with the survivor's revision, see merging.settle_outbox)."""
    touched = batch.touched
    reported_at = min(batch.first_published(keep, batch.now), batch.first_published(gone, batch.now))
    survivor = touched.get(keep) or Touched(state=batch.state(keep), created=False, reasons=[], links=[])
    absorbed = touched.pop(gone, None) or Touched(state=batch.state(gone), created=False, reasons=[], links=[])
    state, reasons = merge_incidents(survivor.state, absorbed.state, ceasefires=batch.ceasefires,
                                     reported_at=reported_at, thresholds=batch.thresholds)
    survivor.state = replace(state, id=keep)
    survivor.reasons[:] = merged_reasons(survivor.reasons, reasons)
    survivor.links.extend(absorbed.links)
    survivor.absorbed.extend([gone, *absorbed.absorbed])
    touched[keep] = survivor
    batch.forget(gone)
    merging.move_members(batch.conn, keep, gone, batch.now)
    batch.save(keep)


_NEW_INCIDENT = insert(incidents).returning(incidents.c.id)
# The next revision number: past `_floor` (the highest revision of incidents it absorbed), plus one.
_REVISE = update(incidents).where(incidents.c.id == bindparam("_id")).values(
    revision=case((incidents.c.revision < bindparam("_floor"), bindparam("_floor")), else_=incidents.c.revision) + 1,
    updated_at=bindparam("_now", type_=incidents.c.updated_at.type)).returning(*incidents.c)
# The same for every incident that absorbed none (floor 0) in one statement; RETURNING gives their rows.
_REVISE_MANY = update(incidents).where(incidents.c.id.in_(bindparam("_ids", expanding=True))).values(
    revision=incidents.c.revision + 1, updated_at=bindparam("_now", type_=incidents.c.updated_at.type)
).returning(*incidents.c)
# Link each new member article to its incident: one executemany (parameter names differ from the columns).
_LINK_ARTICLE = update(articles).where(articles.c.id == bindparam("_article")).values(
    incident_id=bindparam("_incident"))
_INSERT_LINKS = insert(incident_articles)
_INSERT_REVISIONS = insert(incident_revisions)


def _write_revisions(conn: Connection, touched: dict[int, Touched], now: datetime, alerts: AlertSettings,
                     render: Renderer, report: SaveReport, histories: dict[str, TargetHistory]) -> None:
    """Link the batch's articles, then give each incident with news one revision and its alerts. Links,
    revision rows, article lists, scores and outbox states are read and written in bulk; an incident
    that absorbed others settles their outbox rows first, so its outbox state is read after that."""
    links = [(incident_id, a, sim) for incident_id, t in touched.items() for a, sim in t.links]
    if links:
        conn.execute(_LINK_ARTICLE, [{"_article": a, "_incident": i} for i, a, _ in links])
        conn.execute(_INSERT_LINKS, [
            {"incident_id": i, "article_id": a, "joined_at": now, "similarity": round(sim, 3)}
            for i, a, sim in links])
    # Without news: another copy or item of an outlet already counted, nothing new to say.
    revising = [i for i, t in touched.items() if t.created or t.reasons]
    if not revising:
        return
    refs = _revision_refs(conn, revising)
    scores = scores_of(conn, revising)
    settled = [i for i in revising if touched[i].absorbed and not touched[i].created]
    # A new incident has no outbox rows yet; one that absorbed others is read after settle_outbox.
    known = alert_states(conn, [i for i in revising if not touched[i].created and i not in settled], now)
    revised = _revise_plain(conn, [i for i in revising if not touched[i].absorbed], now)
    revisions: list[dict[str, Any]] = []
    later: list[dict[str, Any]] = []  # outbox rows written together at the end (queue_incident_alerts)
    for incident_id in revising:
        t = touched[incident_id]
        row = revised.get(incident_id)
        if row is None:
            # After a merge the survivor's revision passes every absorbed incident's, so each outbox row that
            # moves to it shows an older revision than the next one (delivery coalesces by revision).
            floor = merging.highest_revision(conn, t.absorbed)
            row = conn.execute(_REVISE, {"_id": incident_id, "_floor": floor, "_now": now}).one()
        view = queries._view(row._mapping, refs[incident_id])  # the one row-to-view mapping of the read side
        reasons = ["new incident"] if t.created else t.reasons
        revisions.append({"incident_id": incident_id, "revision": row.revision, "created_at": now,
                          "reasons": reasons, "snapshot": view.to_json()})
        if t.created:
            report.incidents_created += 1
        else:
            report.incidents_updated += 1
        report.incident_ids.append(view.id)
        overrides = None
        if incident_id in settled:
            _insert_revisions(conn, revisions)  # settle_outbox reads revision snapshots
            overrides = merging.settle_outbox(conn, incident_id, t.absorbed, t.state, view, now, alerts, render)
        state = (frozenset(), {}) if t.created else known.get(incident_id)
        report.alerts_queued += queue_incident_alerts(conn, view, incident_id, reasons, now, alerts, render,
                                                      histories, overrides=overrides, known=state,
                                                      score=scores.get(incident_id, 0.0), later=later)
    _insert_revisions(conn, revisions)
    report.alerts_queued += insert_alerts(conn, later)


def _revise_plain(conn: Connection, incident_ids: list[int], now: datetime) -> dict[int, Any]:
    """Give each of these incidents (none absorbed another in this batch) its next revision: their updated
    rows by id, a chunk of ids per statement."""
    out: dict[int, Any] = {}
    for lo in range(0, len(incident_ids), LOOKUP_CHUNK):
        out.update((r.id, r) for r in conn.execute(_REVISE_MANY, {"_ids": incident_ids[lo:lo + LOOKUP_CHUNK],
                                                                   "_now": now}))
    return out


def _insert_revisions(conn: Connection, revisions: list[dict[str, Any]]) -> None:
    if revisions:
        conn.execute(_INSERT_REVISIONS, revisions)
        revisions.clear()


def _revision_refs(conn: Connection, incident_ids: list[int]) -> dict[int, list[ArticleRef]]:
    """The article list of each incident's view (`queries.incident_view`), for all of them in one query that
    reads at most MAX_ARTICLES_PER_VIEW rows per incident (the ones the view shows)."""
    out: dict[int, list[ArticleRef]] = {i: [] for i in incident_ids}
    for lo in range(0, len(incident_ids), LOOKUP_CHUNK):
        for r in conn.execute(_RANKED_REFS, {"ids": incident_ids[lo:lo + LOOKUP_CHUNK]}):
            out[r.incident_id].append(ArticleRef(external_id=r.external_id, url=r.url, source=r.source,
                                                 title=r.title, published=r.published_at))
    return out


def _ranked_refs() -> Any:
    rank = func.row_number().over(partition_by=articles.c.incident_id,
                                  order_by=(articles.c.published_at, articles.c.id)).label("rank")
    ranked = select(articles.c.incident_id, articles.c.external_id, articles.c.url, articles.c.source,
                    articles.c.title, articles.c.published_at, articles.c.id, rank).where(
        articles.c.incident_id.in_(bindparam("ids", expanding=True))).subquery()
    return select(ranked).where(ranked.c.rank <= MAX_ARTICLES_PER_VIEW).order_by(
        ranked.c.incident_id, ranked.c.published_at, ranked.c.id)


_RANKED_REFS = _ranked_refs()


def count_articles(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(articles)).scalar_one())
