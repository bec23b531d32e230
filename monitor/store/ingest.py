"""Writing new articles, grouping them into incidents and queueing alerts, in ONE transaction.

Insert-if-new by fingerprint (ON CONFLICT DO NOTHING ... RETURNING) means two instances that fetch the
same story never both process it. Incidents touched by a batch get one revision each, and the alerts of
that revision are written to the outbox before the transaction commits: an alert exists iff its revision does.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from monitor.alerts import CAP_WINDOW, TargetHistory, plan_alerts
from monitor.ceasefires import active_ceasefire
from monitor.group import (
    COPIES_CAP,
    ArticleDraft,
    IncidentState,
    best_match,
    canonical_order,
    geo_bucket,
    merge,
    new_incident,
    severity,
)
from monitor.models import IncidentView
from monitor.render import Message
from monitor.settings import AlertSettings, CeasefireSettings
from monitor.similarity import decode_counts, encode_counts
from monitor.store import alerting
from monitor.store.queries import incident_view
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

    def add(self, other: SaveReport) -> None:
        for name in ("read", "new", "duplicates", "relevant", "incidents_created", "incidents_updated",
                     "alerts_queued"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.incident_ids.extend(other.incident_ids)


# A renderer turns (incident, kind, reasons, target url) into (title, body, body_format).
Renderer = Callable[[IncidentView, str, Sequence[str], str], tuple[str, str, str]]


@dataclass
class _Touched:
    state: IncidentState
    created: bool
    reasons: list[str]
    links: list[tuple[int, float]]  # (article id, similarity)


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
    # One short indexed range per candidate (LIMIT COPIES_CAP), whatever the incident's size.
    members = conn.execute(select(articles.c.source, articles.c.simhash).where(articles.c.incident_id == m["id"])
                           .order_by(articles.c.id).limit(COPIES_CAP)).all()
    return IncidentState(
        id=m["id"], event_date=m["event_date"], country=m["country"], admin1=m["admin1"], place=m["place"],
        geonameid=m["geonameid"], lat=m["lat"], lon=m["lon"], geo_precision=m["geo_precision"],
        labels=tuple(m["labels"]), killed=m["killed"], injured=m["injured"],
        killed_civilian=m["killed_civilian"], killed_military=m["killed_military"],
        injured_civilian=m["injured_civilian"], injured_military=m["injured_military"],
        sources=frozenset(str(r.source) for r in members), ceasefire=m["ceasefire"], title=m["title"],
        evidence=tuple(m["evidence"]), signature=decode_counts(m["signature"]),
        copies=tuple((str(r.source), int(r.simhash)) for r in members if r.simhash is not None),
    )


def _candidates(conn: Connection, draft: ArticleDraft) -> list[Any]:
    """Incidents in the draft's countries dated within a day: indexed (country, event_date) range scans,
    so the cost per article stays flat however large the store grows."""
    countries = draft.countries
    day = draft.event_date
    cond = incidents.c.country.in_(countries) if countries else incidents.c.country.is_(None)
    return list(conn.execute(select(incidents).where(
        cond, incidents.c.event_date.between(day - timedelta(days=1), day + timedelta(days=1)))
        .order_by(incidents.c.id).limit(CANDIDATE_LIMIT)))


def _incident_values(state: IncidentState) -> dict[str, Any]:
    return {
        "event_date": state.event_date, "country": state.country, "admin1": state.admin1, "place": state.place,
        "geonameid": state.geonameid, "lat": state.lat, "lon": state.lon, "geo_precision": state.geo_precision,
        "geo_bucket": geo_bucket(state.lat, state.lon), "labels": list(state.labels), "killed": state.killed,
        "injured": state.injured, "killed_civilian": state.killed_civilian,
        "killed_military": state.killed_military, "injured_civilian": state.injured_civilian,
        "injured_military": state.injured_military, "severity": severity(state),
        "source_count": state.source_count, "ceasefire": state.ceasefire, "title": state.title[:1000],
        "evidence": list(state.evidence), "signature": encode_counts(state.signature),
    }


def save_drafts(conn: Connection, drafts: Sequence[ArticleDraft], *, feed_id: int | None, now: datetime,
                alerts: AlertSettings, ceasefires: Sequence[CeasefireSettings], render: Renderer) -> SaveReport:
    """Store new articles, group the relevant ones, revise incidents and queue alerts. Caller commits.

    Drafts are grouped in `group.canonical_order` (precise places first, then by date), so a batch gives
    the same incidents whatever order the feed listed its items in.
    """
    report = SaveReport(read=len(drafts))
    unique = list({d.fingerprint: d for d in drafts}.values())
    inserted = _insert_if_new(conn, [_article_row(d, feed_id) for d in unique])
    report.new = len(inserted)
    report.duplicates = report.read - report.new
    touched: dict[int, _Touched] = {}
    fresh = canonical_order(d for d in unique if d.fingerprint in inserted and d.classification.relevant)
    for draft in fresh:
        report.relevant += 1
        _group_one(conn, draft, inserted[draft.fingerprint], touched, ceasefires, now)
    alerting.bump_df(conn, [d.terms for d in fresh])
    histories: dict[str, TargetHistory] = {}
    for incident_id, t in touched.items():
        _write_revision(conn, incident_id, t, now, alerts, render, report, histories)
    return report


def _group_one(conn: Connection, draft: ArticleDraft, article_id: int, touched: dict[int, _Touched],
               ceasefires: Sequence[CeasefireSettings], now: datetime) -> None:
    rows = _candidates(conn, draft)
    states = [touched[r.id].state if r.id in touched else _state_from_row(conn, r) for r in rows]
    match = best_match(draft, states, alerting.load_idf(conn, draft.terms))
    place = draft.classification.place
    if match is None:
        state = new_incident(draft, None)
        state = replace(state, ceasefire=active_ceasefire(ceasefires, country=state.country, admin1=state.admin1,
                                                          event_date=state.event_date, place=state.place))
        incident_id: int = conn.execute(insert(incidents).values(
            public_id=new_public_id(), revision=0, first_seen_at=now, updated_at=now,
            **_incident_values(state)).returning(incidents.c.id)).scalar_one()
        touched[incident_id] = _Touched(state=replace(state, id=incident_id), created=True, reasons=[],
                                        links=[(article_id, 1.0)])
        return
    old, sim = match
    assert old.id is not None
    cf = active_ceasefire(ceasefires, country=old.country, admin1=(place.admin1 if place else None) or old.admin1,
                          event_date=min(old.event_date, draft.event_date),
                          place=(place.name if place else None) or old.place)
    state, reasons = merge(old, draft, cf)
    t = touched.setdefault(old.id, _Touched(state=old, created=False, reasons=[], links=[]))
    t.state = replace(state, id=old.id)
    t.reasons.extend(r for r in reasons if r not in t.reasons)
    t.links.append((article_id, sim))
    conn.execute(update(incidents).where(incidents.c.id == old.id).values(**_incident_values(t.state)))


def _write_revision(conn: Connection, incident_id: int, t: _Touched, now: datetime, alerts: AlertSettings,
                    render: Renderer, report: SaveReport, histories: dict[str, TargetHistory]) -> None:
    conn.execute(update(articles).where(articles.c.id.in_([a for a, _ in t.links])).values(incident_id=incident_id))
    conn.execute(insert(incident_articles), [
        {"incident_id": incident_id, "article_id": a, "joined_at": now, "similarity": round(sim, 3)}
        for a, sim in t.links])
    if not t.created and not t.reasons:
        return  # another copy or item of an outlet already counted: nothing new to say
    revision: int = conn.execute(
        update(incidents).where(incidents.c.id == incident_id)
        .values(revision=incidents.c.revision + 1, updated_at=now).returning(incidents.c.revision)).scalar_one()
    view = incident_view(conn, incident_id)
    reasons = ["new incident"] if t.created else t.reasons
    conn.execute(insert(incident_revisions).values(incident_id=incident_id, revision=revision, created_at=now,
                                                   reasons=reasons, snapshot=view.to_json()))
    if t.created:
        report.incidents_created += 1
    else:
        report.incidents_updated += 1
    report.incident_ids.append(view.id)
    report.alerts_queued += queue_incident_alerts(conn, view, incident_id, reasons, now, alerts, render, histories)


def queue_incident_alerts(conn: Connection, view: IncidentView, incident_id: int, reasons: Sequence[str],
                          now: datetime, alerts: AlertSettings, render: Renderer,
                          histories: dict[str, TargetHistory]) -> int:
    """Plan and write the alerts of one revision (see alerts.plan_alerts). Returns the number of rows
    written to be sent on their own (capped rows go into a burst digest instead).

    A target whose first alert about the incident is still unsent (sink down, quiet hours, or simply not
    delivered yet) gets that alert re-rendered with this revision, so the first message it receives is
    current; the update row is still written, and delivery skips it as covered.
    """
    unsent = alerting.unsent_first_alerts(conn, incident_id, now)
    alerted = alerting.alerted_targets(conn, incident_id)
    for target in {t.name for t in alerts.targets} | {"log"}:
        if target not in histories:
            histories[target] = alerting.history(conn, target, now, alerts)
    queued = 0
    for plan in plan_alerts(view, reasons, alerts, alerted, now=now, history=histories):
        url = plan.target.url
        if plan.kind == "update" and plan.target.name in unsent:
            alerting.refresh(conn, unsent[plan.target.name], Message(*render(view, "incident", (), url)),
                             view.revision)
        title, body, body_format = render(view, plan.kind, reasons, url)
        send_at = plan.send_at or now
        if not alerting.insert_alert(conn, kind=plan.kind, target=plan.target.name, key=plan.idempotency_key,
                                     message=Message(title, body, body_format), now=now, send_at=send_at,
                                     status="capped" if plan.capped else "pending", incident_id=incident_id,
                                     revision=view.revision, detail={"held": plan.held} if plan.held else None):
            continue
        hist = histories[plan.target.name]
        if plan.capped:
            window = [x for x in hist.times if send_at - CAP_WINDOW < x <= send_at]
            due = (min(window) if window else send_at) + CAP_WINDOW
            alerting.queue_burst_digest(conn, plan.target, now, due)
            continue
        histories[plan.target.name] = hist.with_alert(send_at)
        queued += 1
    return queued


def count_articles(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(articles)).scalar_one())
