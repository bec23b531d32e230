"""The alert lifecycle's writes and reads, inside the caller's transaction: timing history, replacing
unsent first alerts, capped alerts and their burst digest, scheduled digests, feed health alerts and
once-only locks. (Document frequencies are in terms.py.)

Every row goes through the outbox with a unique idempotency key (DESIGN §6), inserted with ON CONFLICT DO
NOTHING, so a repeated call (another instance, a retry after a crash) writes nothing twice.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, func, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from monitor.alerts.digest import digest_key, render_digest
from monitor.alerts.render import Message, body_format_for
from monitor.alerts.routing import CAP_WINDOW, TargetHistory, burst_timing, plan_revision_alerts
from monitor.models import IncidentView
from monitor.settings import AlertSettings, RuleSettings, TargetSettings
from monitor.store.locks import advisory_key, timed_targets
from monitor.store.queries import LIVE, incident_view
from monitor.store.schema import articles, incidents, locks, outbox

# A renderer turns (incident, kind, reasons, target url) into (title, body, body_format).
Renderer = Callable[[IncidentView, str, Sequence[str], str], tuple[str, str, str]]

ALERT_KINDS = ("incident", "update")


def _insert(conn: Connection) -> Any:
    return postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert


def insert_alert(conn: Connection, *, kind: str, target: str, key: str, message: Message, now: datetime,
                 send_at: datetime | None = None, status: str = "pending", incident_id: int | None = None,
                 revision: int | None = None, detail: Mapping[str, Any] | None = None) -> bool:
    """Write one outbox row unless its idempotency key exists. True if written."""
    params = alert_row(kind=kind, target=target, key=key, message=message, now=now, send_at=send_at,
                       status=status, incident_id=incident_id, revision=revision, detail=detail)
    return bool(conn.execute(_INSERT_ALERT[conn.dialect.name == "postgresql"], params).rowcount)


def alert_row(*, kind: str, target: str, key: str, message: Message, now: datetime, send_at: datetime | None = None,
              status: str = "pending", incident_id: int | None = None, revision: int | None = None,
              detail: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The outbox row `insert_alert` writes."""
    return {"kind": kind, "incident_id": incident_id, "revision": revision, "target": target,
            "idempotency_key": key, "title": message.title, "body": message.body,
            "body_format": message.body_format, "status": status, "attempts": 0,
            "next_attempt_at": send_at or now, "created_at": now, "detail": dict(detail) if detail else None}


def insert_alerts(conn: Connection, rows: list[dict[str, Any]]) -> int:
    """Write `alert_row`s in one statement, in their order, each unless its idempotency key exists. Returns
    how many were written."""
    if not rows:
        return 0
    return len(conn.execute(_INSERT_ALERTS[conn.dialect.name == "postgresql"], rows).all())


# Built once (statement building costs more than SQLite's insert): [SQLite, PostgreSQL].
_INSERT_ALERT = [dialect.insert(outbox).on_conflict_do_nothing(index_elements=["idempotency_key"])
                 for dialect in (sqlite, postgresql)]
_INSERT_ALERTS = [stmt.returning(outbox.c.id) for stmt in _INSERT_ALERT]


# -- incident alerts -----------------------------------------------------------------------------------


def history(conn: Connection, target: str, now: datetime, settings: AlertSettings) -> TargetHistory:
    """Scheduled times of the target's recent incident/update alerts (cooldown and cap windows)."""
    longest = max((r.cooldown_s for r in settings.rules), default=0.0)
    since = now - CAP_WINDOW - timedelta(seconds=longest) - timedelta(days=1)  # held rows: up to a day
    return TargetHistory(tuple(conn.execute(_HISTORY, {"target": target, "since": since}).scalars()))


def _history_query() -> Any:
    at = func.coalesce(outbox.c.sent_at, outbox.c.next_attempt_at)
    return select(at.label("at")).where(
        outbox.c.target == bindparam("target"), outbox.c.created_at >= bindparam("since"),
        outbox.c.kind.in_(ALERT_KINDS), outbox.c.status.in_(("pending", "sent"))).order_by(at)


# Built once, as the hot statements of a save are (building one and its cache key costs more than running it).
_HISTORY = _history_query()


def alerted_targets(conn: Connection, incident_id: int) -> frozenset[str]:
    """Targets that had (or have queued) an incident/update alert about this incident."""
    return frozenset(r.target for r in conn.execute(
        select(outbox.c.target).where(outbox.c.incident_id == incident_id, outbox.c.kind.in_(ALERT_KINDS))
        .distinct()))


def unsent_first_alerts(conn: Connection, incident_id: int, now: datetime) -> dict[str, int]:
    """Row ids, by target, of this incident's first alerts that are still unsent and unleased, locked for
    this transaction (FOR UPDATE SKIP LOCKED on PostgreSQL; SQLite's write lock does the same)."""
    q = select(outbox.c.id, outbox.c.target).where(
        outbox.c.incident_id == incident_id, outbox.c.status == "pending", outbox.c.kind == "incident",
        or_(outbox.c.lease_until.is_(None), outbox.c.lease_until < now)).order_by(outbox.c.id)
    if conn.dialect.name == "postgresql":
        q = q.with_for_update(skip_locked=True)
    return {r.target: r.id for r in conn.execute(q)}


def alert_state(conn: Connection, incident_id: int, now: datetime) -> tuple[frozenset[str], dict[str, int]]:
    """`alerted_targets` and `unsent_first_alerts` of one incident (one indexed query on SQLite, whose
    write lock already keeps other writers out)."""
    if conn.dialect.name == "postgresql":  # the unsent rows are taken FOR UPDATE SKIP LOCKED: two queries
        return alerted_targets(conn, incident_id), unsent_first_alerts(conn, incident_id, now)
    rows = conn.execute(select(outbox.c.id, outbox.c.target, outbox.c.kind, outbox.c.status, outbox.c.lease_until)
                        .where(outbox.c.incident_id == incident_id, outbox.c.kind.in_(ALERT_KINDS))
                        .order_by(outbox.c.id)).all()
    unsent = {r.target: r.id for r in rows if r.kind == "incident" and r.status == "pending"
              and (r.lease_until is None or r.lease_until < now)}
    return frozenset(r.target for r in rows), unsent


AlertState = tuple[frozenset[str], dict[str, int]]  # (alerted targets, unsent first alert ids by target)


def alert_states(conn: Connection, incident_ids: Sequence[int], now: datetime) -> dict[int, AlertState]:
    """`alert_state` of several incidents in one query (two on PostgreSQL), for a batch's revisions."""
    out: dict[int, AlertState] = {}
    alerted: dict[int, set[str]] = {i: set() for i in incident_ids}
    unsent: dict[int, dict[str, int]] = {i: {} for i in incident_ids}
    pg = conn.dialect.name == "postgresql"
    for lo in range(0, len(incident_ids), _CHUNK):
        chunk = list(incident_ids[lo:lo + _CHUNK])
        rows = conn.execute(_ALERT_ROWS, {"ids": chunk}).all()
        for r in rows:
            alerted[r.incident_id].add(r.target)
        if pg:  # the unsent rows are taken FOR UPDATE SKIP LOCKED, as unsent_first_alerts does
            rows = conn.execute(_UNSENT_FIRST_LOCKED, {"ids": chunk, "now": now}).all()
            for r in rows:
                unsent[r.incident_id][r.target] = r.id
        else:
            for r in rows:
                if r.kind == "incident" and r.status == "pending" and (r.lease_until is None or r.lease_until < now):
                    unsent[r.incident_id][r.target] = r.id
    for i in incident_ids:
        out[i] = (frozenset(alerted[i]), unsent[i])
    return out


_ALERT_ROWS = select(outbox.c.id, outbox.c.incident_id, outbox.c.target, outbox.c.kind, outbox.c.status,
                     outbox.c.lease_until).where(outbox.c.incident_id.in_(bindparam("ids", expanding=True)),
                                                 outbox.c.kind.in_(ALERT_KINDS)).order_by(outbox.c.id)
_UNSENT_FIRST_LOCKED = select(outbox.c.id, outbox.c.incident_id, outbox.c.target).where(
    outbox.c.incident_id.in_(bindparam("ids", expanding=True)), outbox.c.status == "pending",
    outbox.c.kind == "incident",
    or_(outbox.c.lease_until.is_(None), outbox.c.lease_until < bindparam("now", type_=outbox.c.lease_until.type))
).order_by(outbox.c.id).with_for_update(skip_locked=True)


def refresh(conn: Connection, row_id: int, message: Message, revision: int) -> None:
    """Re-render an unsent first alert with a newer revision's content. Its key stays (it is still the
    first alert); `detail.content_revision` lets delivery skip the updates it already covers."""
    conn.execute(update(outbox).where(outbox.c.id == row_id, outbox.c.status == "pending").values(
        title=message.title, body=message.body, body_format=message.body_format,
        detail={"content_revision": revision}))


def queue_burst_digest(conn: Connection, target: TargetSettings, now: datetime, history: TargetHistory,
                       capped_at: datetime) -> None:
    """Summarise the target's capped alerts in one pending burst digest: re-rendered while it waits, a
    new one once it was sent (routing.burst_timing says when, for an alert capped at `capped_at`)."""
    waiting = [r for r in conn.execute(select(outbox).where(
        outbox.c.target == target.name, outbox.c.kind == "digest", outbox.c.status == "pending",
        or_(outbox.c.lease_until.is_(None), outbox.c.lease_until < now)))
        if (r.detail or {}).get("burst")]
    timing = burst_timing(history, capped_at, now,
                          datetime.fromisoformat(waiting[0].detail["period_start"]) if waiting else None)
    start = timing.period_start
    ids = [r.incident_id for r in conn.execute(select(outbox.c.incident_id).where(
        outbox.c.target == target.name, outbox.c.status == "capped", outbox.c.created_at >= start).distinct())
        if r.incident_id is not None]
    views = [incident_view(conn, i) for i in sorted(ids)]
    msg = render_digest(views, period_start=start, period_end=now, body_format=body_format_for(target.url),
                        burst=True)
    detail = {"burst": True, "period_start": start.isoformat(), "period_end": now.isoformat(),
              "incidents": [v.id for v in views]}
    if waiting:
        conn.execute(update(outbox).where(outbox.c.id == waiting[0].id).values(
            title=msg.title, body=msg.body, detail=detail))
        return
    insert_alert(conn, kind="digest", target=target.name, key=digest_key(target.name, start), message=msg,
                 now=now, send_at=timing.send_at, detail=detail)


# -- scheduled digests ---------------------------------------------------------------------------------


def try_lock(conn: Connection, name: str, owner: str, now: datetime, ttl: timedelta) -> bool:
    """Take a once-only lock for the rest of this transaction: a PostgreSQL advisory lock, or a `locks`
    row elsewhere (an expired row may be taken over)."""
    if conn.dialect.name == "postgresql":
        key = advisory_key(name)
        return bool(conn.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": key}).scalar_one())
    stmt = sqlite.insert(locks).values(name=name, owner=owner, until=now + ttl)
    conn.execute(stmt.on_conflict_do_update(index_elements=["name"],
                                            set_={"owner": owner, "until": now + ttl},
                                            where=locks.c.until < now))
    return conn.execute(select(locks.c.owner).where(locks.c.name == name)).scalar_one() == owner


def digest_exists(conn: Connection, key: str) -> bool:
    return conn.execute(select(outbox.c.id).where(outbox.c.idempotency_key == key)).first() is not None


def incidents_updated(conn: Connection, start: datetime, end: datetime,
                      limit: int = 5000) -> list[tuple[IncidentView, float]]:
    """Incidents created or revised in [start, end), by the indexed updated_at, with their scores."""
    ids = [r.id for r in conn.execute(select(incidents.c.id).where(
        incidents.c.updated_at >= start, incidents.c.updated_at < end, LIVE)
        .order_by(incidents.c.id).limit(limit))]
    scores = scores_of(conn, ids)
    return [(incident_view(conn, i), scores.get(i, 0.0)) for i in ids]


# -- scores --------------------------------------------------------------------------------------------
# An incident's score is the best label score of its articles (an article's `score`), for the rules'
# min_score. Read, not stored: articles join incidents and move with merges, and the score follows them.
# ix_articles_incident_id_score makes it one index seek per incident.

_CHUNK = 1000  # bound parameters per statement stay under driver limits


def incident_score(conn: Connection, incident_id: int) -> float:
    """The best label score (0-1) of an incident's articles; 0 for one without articles."""
    best = conn.execute(select(func.max(articles.c.score)).where(articles.c.incident_id == incident_id)).scalar()
    return float(best or 0.0)


def scores_of(conn: Connection, incident_ids: Sequence[int]) -> dict[int, float]:
    """`incident_score` of several incidents, by row id (those without articles are left out)."""
    out: dict[int, float] = {}
    for lo in range(0, len(incident_ids), _CHUNK):
        out.update((r.incident_id, float(r.score)) for r in conn.execute(
            _SCORES, {"ids": list(incident_ids[lo:lo + _CHUNK])}))
    return out


_SCORES = select(articles.c.incident_id, func.max(articles.c.score).label("score")).where(
    articles.c.incident_id.in_(bindparam("ids", expanding=True))).group_by(articles.c.incident_id)


def incident_scores(conn: Connection, public_ids: Sequence[str]) -> dict[str, float]:
    """`incident_score` of incidents by public id (0 for those without articles; unknown ids left out)."""
    rows: list[Any] = []
    for lo in range(0, len(public_ids), _CHUNK):
        rows += conn.execute(select(incidents.c.id, incidents.c.public_id)
                             .where(incidents.c.public_id.in_(public_ids[lo:lo + _CHUNK]))).all()
    scores = scores_of(conn, [r.id for r in rows])
    return {r.public_id: scores.get(r.id, 0.0) for r in rows}


# -- feed health ---------------------------------------------------------------------------------------


def queue_feed_health(conn: Connection, *, feed_id: int, down: bool, episode_start: datetime,
                      targets: Sequence[TargetSettings], now: datetime, render: Any) -> int:
    """Queue a feed_down/feed_up alert per target for one failure episode (once each, by key).
    `render(body_format) -> Message`. Returns the number of rows written."""
    kind = "feed_down" if down else "feed_up"
    stamp = episode_start.strftime("%Y-%m-%dT%H:%M:%SZ")
    written = 0
    for t in targets:
        written += insert_alert(conn, kind=kind, target=t.name, key=f"{kind}:{feed_id}:{stamp}:{t.name}",
                                message=render(body_format_for(t.url)), now=now,
                                detail={"feed": feed_id, "episode_start": episode_start.isoformat()})
    return written


def violation_counts(conn: Connection, since: Any, until: Any = None) -> dict[str, int]:
    """Incidents per ceasefire with event_date in [since, until] (dates), by the event_date index."""
    cond = [incidents.c.ceasefire.is_not(None), incidents.c.event_date >= since, LIVE]
    if until is not None:
        cond.append(incidents.c.event_date <= until)
    return {r.ceasefire: int(r.n) for r in conn.execute(
        select(incidents.c.ceasefire, func.count().label("n")).where(and_(*cond)).group_by(incidents.c.ceasefire))}


def queue_scheduled_digest(conn: Connection, rule: RuleSettings, target: TargetSettings, start: datetime,
                           end: datetime, owner: str, now: datetime, public_url: str | None = None) -> bool:
    """Write the digest of [start, end) for one (rule, target), once: the key `digest:{target}:{start}`
    and a once-only lock keep several instances from both writing it. An empty period sends nothing.
    True if a digest row was written."""
    from monitor.alerts.routing import rule_matches  # here: the pure router, only needed for digests

    key = digest_key(target.name, start)
    if digest_exists(conn, key) or not try_lock(conn, key, owner, now, timedelta(minutes=10)):
        return False
    if digest_exists(conn, key):  # written by the instance that held the lock before us
        return False
    views = [v for v, score in incidents_updated(conn, start, end) if rule_matches(rule, v, score)]
    if not views:
        return False
    msg = render_digest(views, period_start=start, period_end=end, body_format=body_format_for(target.url),
                        public_url=public_url)
    return insert_alert(conn, kind="digest", target=target.name, key=key, message=msg, now=now,
                        detail={"rule": rule.name, "period_start": start.isoformat(),
                                "period_end": end.isoformat(), "incidents": [v.id for v in views]})


def queue_incident_alerts(conn: Connection, view: IncidentView, incident_id: int, reasons: Sequence[str],
                          now: datetime, alerts: AlertSettings, render: Renderer,
                          histories: dict[str, TargetHistory],
                          overrides: Mapping[str, Sequence[str] | None] | None = None,
                          known: AlertState | None = None, score: float | None = None,
                          later: list[dict[str, Any]] | None = None) -> int:
    """Plan and write the alerts of one revision (see alerts.routing.plan_alerts), once its articles are linked to
    it (its score is theirs). Returns the number of rows written to be sent on their own (capped rows go
    into a burst digest instead).

    A target whose first alert about the incident is still unsent (sink down, quiet hours, or simply not
    delivered yet) gets that alert re-rendered with this revision, so the first message it receives is
    current; the update row is still written, and delivery skips it as covered.

    `overrides` (after a merge, see merging.settle_outbox) is passed to routing.plan_revision_alerts.
    `known` and `score`: the incident's `alert_state` and `incident_score` when the caller read them in bulk.
    `later`: where the rows of targets whose timing reads no history go, for the caller to write with the
    batch's others (`insert_alerts`, which counts them); nothing here reads them back. Without it, or for a
    target under a cooldown or a cap, each row is written at once (the next plan reads it in `histories`).
    """
    alerted, unsent = known if known is not None else alert_state(conn, incident_id, now)
    if score is None:
        score = incident_score(conn, incident_id)
    # Only a target under a rule with a cooldown or a per-hour cap has its timing decided by its earlier
    # alerts (routing._timing); the others' history is never read, nor is any of their rows capped.
    timed = set(timed_targets(alerts))
    missing = ({t.name for t in alerts.targets} | {"log"}) - histories.keys()
    if missing:
        for target in missing:
            histories[target] = history(conn, target, now, alerts) if target in timed else TargetHistory()
    queued = 0
    for plan, plan_reasons in plan_revision_alerts(view, reasons, alerts, alerted, score=score, now=now,
                                                   history=histories, overrides=overrides):
        url = plan.target.url
        if plan.kind == "update" and plan.target.name in unsent:
            refresh(conn, unsent[plan.target.name], Message(*render(view, "incident", (), url)),
                             view.revision)
        title, body, body_format = render(view, plan.kind, plan_reasons, url)
        send_at = plan.send_at or now
        row = alert_row(kind=plan.kind, target=plan.target.name, key=plan.idempotency_key,
                        message=Message(title, body, body_format), now=now, send_at=send_at,
                        status="capped" if plan.capped else "pending", incident_id=incident_id,
                        revision=view.revision, detail={"held": plan.held} if plan.held else None)
        if later is not None and plan.target.name not in timed and not plan.capped:
            later.append(row)
            continue
        if not conn.execute(_INSERT_ALERT[conn.dialect.name == "postgresql"], row).rowcount:
            continue
        hist = histories[plan.target.name]
        if plan.capped:
            queue_burst_digest(conn, plan.target, now, hist, send_at)
            continue
        histories[plan.target.name] = hist.with_alert(send_at)
        queued += 1
    return queued
