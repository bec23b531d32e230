"""The pipeline: fetch -> parse -> classify -> group/store/outbox, and outbox -> deliver.

`run --once`, `ingest` and the daemon all go through `process_items` (and the daemon and `run --once`
through `run_cycle`). Blocking work (parsing, classifying, SQL) runs in worker threads so the event loop
stays free for fetches and the API.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial

from monitor import metrics
from monitor.alerts.deliver import send_async
from monitor.alerts.digest import cron_period
from monitor.alerts.render import Message, body_format_for, render_incident
from monitor.alerts.routing import LOG_TARGET, digest_targets
from monitor.errors import DatabaseError, DeliveryError, FeedError
from monitor.feeds.fetch import Fetcher
from monitor.feeds.parse import fingerprint
from monitor.feeds.repeats import RepeatIndex, parse_unseen
from monitor.feeds.retry import next_fetch_delay
from monitor.incidents.group import ArticleDraft
from monitor.logs import event
from monitor.models import FeedItem, IncidentView
from monitor.reading.classify import Classifier
from monitor.reading.classify_memo import ClassificationMemo
from monitor.settings import Settings
from monitor.store import FeedRow, FetchOutcome, OutboxRow, SaveReport, Store

log = logging.getLogger("monitor.pipeline")


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Deps:
    """What the stages need, built once by the CLI or the service."""

    settings: Settings
    store: Store
    classifier: Classifier
    owner: str  # lease owner: this instance's name
    clock: Callable[[], datetime] = utcnow
    rng: random.Random = field(default_factory=random.Random)
    # Items met again (another poll, another outlet's copy) are classified once (classify_memo.py).
    memo: ClassificationMemo = field(default_factory=ClassificationMemo)
    # Entries parsed before whose articles are stored are not parsed again (feeds/repeats.py).
    repeats: RepeatIndex = field(default_factory=RepeatIndex)


@dataclass
class CycleReport:
    feeds: int = 0
    fetched: int = 0
    unchanged: int = 0
    failed: int = 0
    saved: SaveReport = field(default_factory=SaveReport)


def render_alert(view: IncidentView, kind: str, reasons: Sequence[str], target_url: str, *,
                 public_url: str | None = None) -> tuple[str, str, str]:
    fmt = body_format_for(target_url)
    msg = render_incident(view, kind=kind, reasons=reasons, body_format=fmt, public_url=public_url)
    return msg.title, msg.body, msg.body_format


def classify_items(items: Sequence[FeedItem], deps: Deps, now: datetime,
                   prints: Sequence[str] | None = None) -> list[ArticleDraft]:
    """Drafts of `items`; `prints` are their fingerprints when the caller has worked them out already."""
    drafts = []
    for item, key in zip(items, prints if prints is not None else [fingerprint(i) for i in items], strict=True):
        published = item.published_at or now
        classification = deps.memo.classify(item if item.published_at else
                                            FeedItem(**{**item.__dict__, "published_at": published}),
                                            deps.classifier.classify)
        drafts.append(ArticleDraft(item=item, fingerprint=key, classification=classification,
                                   published_at=published, first_seen_at=now))
    return drafts


def process_items(items: Sequence[FeedItem], deps: Deps, *, feed: FeedRow | None = None,
                  outcome: FetchOutcome | None = None, dry_run: bool = False, stored: int = 0) -> SaveReport:
    """Classify items and store them with their incidents and alerts (one transaction; rolled back
    when `dry_run`, so the report says what would have happened). `stored`: entries of the poll left out
    by the parser as stored already (counted as read duplicates)."""
    now = deps.clock()
    # Items stored already (a feed lists its recent items at every poll) are counted as duplicates without
    # being classified; the save still inserts only unseen fingerprints, so a race changes nothing.
    prints = [fingerprint(item) for item in items]
    known = deps.store.stored_fingerprints(prints) if items else set()
    todo = [(item, key) for item, key in zip(items, prints, strict=True) if key not in known]
    drafts = classify_items([item for item, _ in todo], deps, now, [key for _, key in todo])
    if not dry_run:
        event(log, "save_started", logging.DEBUG, feed=feed.id if feed else None, items=len(drafts))
    report = deps.store.save_feed_items(feed, deps.owner, drafts, outcome, alerts=deps.settings.alerts,
                                        ceasefires=deps.settings.ceasefires, now=now,
                                        render=partial(render_alert, public_url=deps.settings.api.public_url),
                                        dry_run=dry_run)
    skipped = len(items) - len(todo) + stored
    report.read += skipped
    report.duplicates += skipped
    if dry_run:
        return report
    for incident_id in report.incident_ids:
        event(log, "incident_saved", incident=incident_id, feed=feed.id if feed else None)
    return report


def crashed_owners(owners: Collection[str], *, me: str, host: str, single: bool,
                   alive: Callable[[int], bool]) -> set[str]:
    """The lease holders that are earlier lives of this instance, gone now (called at start-up, before it
    claims anything). Its own name always: a lease under it is a previous life's (a stable `instance`, or a
    container whose process gets the same pid each time). For a single instance (SQLite, or no `instance`
    set) also this host's `hostname:pid` names whose process no longer exists. Named instances sharing a
    PostgreSQL database keep plain lease semantics for every other name."""
    gone = {me} & set(owners)
    if single:
        for owner in owners:
            name, sep, pid = owner.rpartition(":")
            if sep and name == host and pid.isdigit() and int(pid) > 0 and not alive(int(pid)):
                gone.add(owner)
    return gone


def _interval(feed: FeedRow, deps: Deps) -> float:
    return feed.interval_s or deps.settings.fetch.default_interval_s


def _failure_outcome(feed: FeedRow, deps: Deps, err: FeedError, now: datetime) -> FetchOutcome:
    f = deps.settings.fetch
    delay = next_fetch_delay(feed.consecutive_failures + 1, interval_s=_interval(feed, deps),
                             base_s=f.backoff_base_s, max_s=f.backoff_max_s, retry_after_s=err.retry_after,
                             rng=deps.rng)
    return FetchOutcome(ok=False, now=now, next_fetch_at=now + timedelta(seconds=delay), status=err.status,
                        error=err.message[:500], error_kind=err.kind, retired=err.kind == "gone")


async def poll_feed(feed: FeedRow, fetcher: Fetcher, deps: Deps, report: CycleReport) -> None:
    """Fetch one leased feed and process it. Never raises for a feed problem: it is recorded on the feed."""
    now = deps.clock()
    event(log, "poll_started", logging.DEBUG, feed=feed.id)
    try:
        result = await fetcher.fetch(feed.url, etag=feed.etag, last_modified=feed.last_modified)
        body_hash = None if result.not_modified else hashlib.sha256(result.body).hexdigest()
        ok = FetchOutcome(ok=True, now=now, status=result.status,
                          next_fetch_at=now + timedelta(seconds=_interval(feed, deps)),
                          etag=result.etag, last_modified=result.last_modified, body_hash=body_hash,
                          new_url=result.permanent_url)
        if result.not_modified or body_hash == feed.body_hash:
            report.unchanged += 1
            await asyncio.to_thread(deps.store.record_fetch, feed, deps.owner, ok, deps.settings.alerts)
            metrics.record_poll(None)
            event(log, "feed_unchanged", feed=feed.id, status=result.status)
            return
        try:
            items, stored = await asyncio.to_thread(parse_unseen, result.body, result.headers, source=feed.name,
                                                    lang=feed.language, url=feed.url, index=deps.repeats,
                                                    stored=deps.store.stored_fingerprints)
            outcome = FetchOutcome(**{**ok.__dict__, "items": len(items) + stored})
            saved = await asyncio.to_thread(process_items, items, deps, feed=feed, outcome=outcome, stored=stored)
        except DatabaseError as exc:
            # Stored nothing (one transaction). Back off like a failing fetch, so a batch the database keeps
            # refusing is not retried every lease period; if the database is down this write fails too and
            # the lease simply expires.
            raise FeedError("store_error", exc.message) from exc
        metrics.record_poll(None)
        report.fetched += 1
        report.saved.add(saved)
        event(log, "feed_polled", feed=feed.id, status=result.status, items=saved.read, new=saved.new,
              relevant=saved.relevant, incidents_created=saved.incidents_created,
              incidents_updated=saved.incidents_updated, alerts_queued=saved.alerts_queued)
    except FeedError as err:
        metrics.record_poll(err.kind)
        report.failed += 1
        outcome = _failure_outcome(feed, deps, err, now)
        await asyncio.to_thread(deps.store.record_fetch, feed, deps.owner, outcome, deps.settings.alerts)
        event(log, "feed_failed", logging.WARNING, feed=feed.id, kind=err.kind, status=err.status,
              error=err.message[:200], failures=feed.consecutive_failures + 1,
              next_fetch_at=outcome.next_fetch_at.isoformat())


async def run_cycle(deps: Deps, fetcher: Fetcher, *, limit: int = 500) -> CycleReport:
    """Claim the due feeds and poll them concurrently; one bad feed never blocks the others."""
    report = CycleReport()
    f = deps.settings.fetch
    feeds = await asyncio.to_thread(deps.store.claim_due_feeds, deps.owner, deps.clock(), f.lease_s, limit)
    report.feeds = len(feeds)
    results = await asyncio.gather(*(poll_feed(feed, fetcher, deps, report) for feed in feeds),
                                   return_exceptions=True)
    for feed, result in zip(feeds, results, strict=True):
        if isinstance(result, DatabaseError):
            event(log, "feed_store_failed", logging.ERROR, feed=feed.id, error=result.message)
        elif isinstance(result, BaseException):
            # A bug, not a feed problem: log it; the lease expires and the feed is retried.
            log.error("feed_crashed feed=%s", feed.id, exc_info=result)
    # `run --once` from cron has no scheduler: queue any digest whose period has ended (idempotent).
    await asyncio.to_thread(queue_digests, deps)
    return report


def queue_digests(deps: Deps, now: datetime | None = None) -> int:
    """Write the digest of the latest completed period of every (rule, target) with a `digest_cron`,
    unless written already (by key and once-only lock). Returns how many were written."""
    now = now or deps.clock()
    written = 0
    for rule, target in digest_targets(deps.settings.alerts):
        assert rule.digest_cron is not None
        period = cron_period(rule.digest_cron, now, rule.digest_timezone)
        if period is None:
            continue
        if deps.store.queue_digest(rule, target, period[0], period[1], deps.owner, now,
                                   public_url=deps.settings.api.public_url):
            written += 1
            event(log, "digest_queued", target=target.name, rule=rule.name, period_start=period[0].isoformat())
    return written


# -- delivery -----------------------------------------------------------------------------------------


@dataclass
class DeliveryReport:
    sent: int = 0
    failed: int = 0
    given_up: int = 0


def retry_delay(attempts: int, deps: Deps) -> float:
    a = deps.settings.alerts
    cap = min(a.retry_max_s, a.retry_base_s * (2 ** min(attempts, 20)))
    return float(cap / 2 + deps.rng.uniform(0, cap / 2))


# Prefixed to an alert whose previous send was cut short by a crash: the target may have it already.
REPEAT_MARK = "[possible repeat] "


async def _deliver_row(row: OutboxRow, deps: Deps, report: DeliveryReport) -> bool:
    """Send one alert and record the outcome; False when it failed (to be retried or given up)."""
    targets = {t.name: t for t in deps.settings.alerts.targets}
    try:
        if row.target == LOG_TARGET.name and not targets:
            event(log, "alert", kind=row.kind, alert=row.idempotency_key, title=row.title)
        elif row.target not in targets:
            raise DeliveryError(f"target {row.target!r} is no longer configured", permanent=True)
        else:
            title = f"{REPEAT_MARK}{row.title}" if row.interrupted else row.title
            if not await asyncio.to_thread(deps.store.mark_alert_sending, row, deps.owner, deps.clock()):
                return False  # the lease was lost: another instance has this row now
            event(log, "send_started", logging.DEBUG, alert=row.idempotency_key, target=row.target)
            await send_async(targets[row.target], Message(title, row.body, row.body_format),
                             timeout_s=deps.settings.alerts.send_timeout_s)
    except DeliveryError as err:
        final = err.permanent or row.attempts + 1 >= deps.settings.alerts.max_attempts
        now = deps.clock()
        nxt = now + timedelta(seconds=retry_delay(row.attempts, deps))
        await asyncio.to_thread(deps.store.mark_alert_failed, row.id, deps.owner, error=err.message,
                                next_attempt_at=nxt, final=final, row=row)
        report.given_up += final
        report.failed += not final
        event(log, "alert_failed", logging.WARNING, alert=row.idempotency_key, target=row.target,
              attempts=row.attempts + 1, final=final, error=err.message[:200],
              next_attempt_at=None if final else nxt.isoformat())
        return False
    await asyncio.to_thread(deps.store.mark_alert_sent, row.id, deps.owner, deps.clock())
    report.sent += 1
    event(log, "alert_sent", alert=row.idempotency_key, target=row.target, kind=row.kind)
    return True


def _covered(rows: list[OutboxRow]) -> set[int]:
    """Ids of update rows that need no message of their own: a later update about the same incident, or
    an unsent first alert refreshed with at least their revision, is in the same batch and says it all."""
    latest: dict[int, int] = {}  # incident id -> newest revision shown by a row in the batch
    for row in rows:
        if row.incident_id is not None and row.kind in ("incident", "update"):
            shown = row.content_revision or 0
            latest[row.incident_id] = max(latest.get(row.incident_id, 0), shown)
    covered = set()
    for row in rows:
        if row.kind == "update" and row.incident_id is not None and (row.revision or 0) < latest[row.incident_id]:
            covered.add(row.id)
        elif row.kind == "update" and row.incident_id is not None and any(
                r.kind == "incident" and r.incident_id == row.incident_id and (r.content_revision or 0) >= (
                    row.revision or 0) for r in rows):
            covered.add(row.id)
    return covered


async def deliver_due(deps: Deps, *, limit: int = 200) -> DeliveryReport:
    """Send due outbox rows: targets in parallel, each target's alerts in order. Updates covered by a
    newer message about the same incident in the same batch are recorded as sent without a message of
    their own (a sink that was down gets one current message per incident, not the whole history)."""
    report = DeliveryReport()
    lease = deps.settings.alerts.send_timeout_s * 4 + 60
    rows = await asyncio.to_thread(deps.store.claim_due_alerts, deps.owner, deps.clock(), lease, limit)
    by_target: dict[str, list[OutboxRow]] = {}
    for row in rows:
        by_target.setdefault(row.target, []).append(row)

    async def drain(target_rows: list[OutboxRow]) -> None:
        covered = _covered(target_rows)
        for i, row in enumerate(target_rows):
            if row.id in covered:
                await asyncio.to_thread(deps.store.mark_alert_sent, row.id, deps.owner, deps.clock())
                event(log, "alert_coalesced", alert=row.idempotency_key, target=row.target)
                continue
            if not await _deliver_row(row, deps, report):
                # The target is failing: keep its later alerts queued, in order, for the next round.
                rest = [r.id for r in target_rows[i + 1:]]
                if rest:
                    await asyncio.to_thread(deps.store.release_alerts, rest, deps.owner)
                return

    await asyncio.gather(*(drain(r) for r in by_target.values()))
    return report
