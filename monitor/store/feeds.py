"""Feed rows: configuration sync, leases, fetch outcomes. Functions take an open write connection."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, text, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from monitor.alerts.health import health_change
from monitor.alerts.render import Message, render_feed_health
from monitor.alerts.routing import health_targets
from monitor.redact import redact_url
from monitor.settings import AlertSettings, FeedSettings
from monitor.store.alerting import queue_feed_health
from monitor.store.schema import feeds

SYNC_FEEDS_LOCK_KEY = 0x6366736663  # any constant: serialises feed sync between instances


@dataclass(frozen=True)
class FeedRow:
    id: int
    url: str
    name: str
    tags: tuple[str, ...]
    language: str | None
    interval_s: float | None
    enabled: bool
    etag: str | None
    last_modified: str | None
    body_hash: str | None
    last_fetch_at: datetime | None
    last_success_at: datetime | None
    last_status: int | None
    last_error: str | None
    last_error_kind: str | None
    consecutive_failures: int
    down_since: datetime | None
    next_fetch_at: datetime
    retired_at: datetime | None
    items_seen: int

    @classmethod
    def from_row(cls, row: Any) -> FeedRow:
        m = row._mapping
        return cls(**{f: m[f] for f in cls.__dataclass_fields__ if f != "tags"}, tags=tuple(m["tags"] or ()))


@dataclass(frozen=True)
class FetchOutcome:
    """What one poll of a feed ended with; written by `record_outcome`."""

    ok: bool
    now: datetime
    next_fetch_at: datetime
    status: int | None = None
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    error: str | None = None
    error_kind: str | None = None
    new_url: str | None = None  # a 301/308 moved the feed
    retired: bool = False  # 410 Gone
    items: int = 0


def sync_feeds(conn: Connection, configured: Sequence[FeedSettings], now: datetime) -> None:
    """Insert configured feeds that are new, update name/tags/interval of known ones, and disable the feeds
    no longer configured (kept, with their history). Fetch state is never reset here.

    Instances starting together each sync: on PostgreSQL they take turns under a transaction advisory lock
    (SQLite's write lock already serialises them), so none inserts a feed another has just inserted."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": SYNC_FEEDS_LOCK_KEY})
    rows = {r.config_url: r for r in conn.execute(select(feeds.c.id, feeds.c.config_url, feeds.c.url))}
    wanted = {f.url for f in configured}
    for feed in configured:
        values = {"name": feed.name, "tags": list(feed.tags), "language": feed.language,
                  "interval_s": feed.interval_s, "enabled": feed.enabled}
        known = rows.get(feed.url)
        if known is None:
            conn.execute(feeds.insert().values(url=feed.url, config_url=feed.url, next_fetch_at=now,
                                               created_at=now, consecutive_failures=0, items_seen=0, **values))
        else:
            conn.execute(update(feeds).where(feeds.c.id == known.id).values(**values))
    gone = [r.id for url, r in rows.items() if url not in wanted]
    if gone:
        conn.execute(update(feeds).where(feeds.c.id.in_(gone)).values(enabled=False))


def claim_due(conn: Connection, owner: str, now: datetime, lease_s: float, limit: int) -> list[FeedRow]:
    """Lease up to `limit` due feeds to `owner`. A feed leased by another live owner is skipped; an expired
    lease is taken over. PostgreSQL: FOR UPDATE SKIP LOCKED; SQLite: the write lock makes it atomic."""
    due = (
        select(feeds.c.id)
        .where(feeds.c.enabled.is_(True), feeds.c.retired_at.is_(None), feeds.c.next_fetch_at <= now,
               or_(feeds.c.lease_until.is_(None), feeds.c.lease_until < now))
        .order_by(feeds.c.next_fetch_at)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    ids = [r.id for r in conn.execute(due)]
    if not ids:
        return []
    until = now + timedelta(seconds=lease_s)
    claimed = conn.execute(
        update(feeds)
        .where(feeds.c.id.in_(ids), or_(feeds.c.lease_until.is_(None), feeds.c.lease_until < now))
        .values(lease_owner=owner, lease_until=until)
        .returning(*feeds.c)
    ).all()
    return sorted((FeedRow.from_row(r) for r in claimed), key=lambda f: f.next_fetch_at)


def record_outcome(conn: Connection, feed: FeedRow, owner: str, outcome: FetchOutcome,
                   alerts: AlertSettings | None = None) -> dict[str, Any]:
    """Write the poll's outcome and release the lease. A failure never touches etag/body_hash, so what was
    seen is never reset. With `alerts`, queue feed health alerts in the same transaction (see
    `_health_alerts`). Returns the values written (for logging)."""
    values: dict[str, Any] = {"last_fetch_at": outcome.now, "next_fetch_at": outcome.next_fetch_at,
                              "last_status": outcome.status, "lease_owner": None, "lease_until": None}
    if outcome.ok:
        values.update(last_success_at=outcome.now, consecutive_failures=0, last_error=None,
                      last_error_kind=None, down_since=None, items_seen=feeds.c.items_seen + outcome.items)
        if outcome.etag is not None or outcome.last_modified is not None or outcome.body_hash is not None:
            values.update(etag=outcome.etag, last_modified=outcome.last_modified)
        if outcome.body_hash is not None:
            values["body_hash"] = outcome.body_hash
    else:
        values.update(last_error=outcome.error, last_error_kind=outcome.error_kind,
                      consecutive_failures=feeds.c.consecutive_failures + 1)
        if feed.down_since is None:
            values["down_since"] = outcome.now
    if outcome.retired:
        values["retired_at"] = outcome.now
    conn.execute(update(feeds).where(and_(feeds.c.id == feed.id)).values(**values))
    if outcome.new_url and outcome.new_url != feed.url and _move(conn, feed.id, outcome.new_url):
        values["url"] = outcome.new_url
    if alerts is not None:
        _health_alerts(conn, feed, outcome, alerts)
    return values


def _move(conn: Connection, feed_id: int, url: str) -> bool:
    """Give a feed the URL a 301/308 moved it to, unless another feed has it. Under a savepoint: two
    feeds moved to one URL at the same moment by two instances both find it free, and the second's
    UPDATE then violates the unique URL; it keeps its old URL instead of failing the whole save."""
    if conn.execute(select(feeds.c.id).where(feeds.c.url == url)).first() is not None:
        return False
    try:
        with conn.begin_nested():
            conn.execute(update(feeds).where(feeds.c.id == feed_id).values(url=url))
    except IntegrityError:
        return False
    return True


def _health_alerts(conn: Connection, feed: FeedRow, outcome: FetchOutcome, alerts: AlertSettings) -> None:
    """Queue the feed_down/feed_up alerts the poll's outcome owes (alerts.health decides which)."""
    change = health_change(failures_before=feed.consecutive_failures, down_since=feed.down_since,
                           last_error=feed.last_error, ok=outcome.ok, now=outcome.now,
                           down_after=alerts.feed_down_after, retired=outcome.retired,
                           error_kind=outcome.error_kind, error=outcome.error)
    if change is None:
        return

    def render(body_format: str) -> Message:
        return render_feed_health(feed.name, redact_url(feed.url), down=change.down, reason=change.reason,
                                  since=change.since, body_format=body_format)

    queue_feed_health(conn, feed_id=feed.id, down=change.down, episode_start=change.episode_start,
                      targets=health_targets(alerts), now=outcome.now, render=render)


def lease_owners(conn: Connection) -> set[str]:
    """The names that hold feed leases now (live or not)."""
    return {r[0] for r in conn.execute(select(feeds.c.lease_owner).where(feeds.c.lease_owner.is_not(None))
                                       .distinct())}


def expire_leases_of(conn: Connection, owners: Collection[str]) -> int:
    """At start-up: free the feeds that earlier lives of this instance (`owners`, known to be gone) leased and
    never finished."""
    if not owners:
        return 0
    result = conn.execute(update(feeds).where(feeds.c.lease_owner.in_(sorted(owners)))
                          .values(lease_owner=None, lease_until=None))
    return int(result.rowcount)


def list_feeds(conn: Connection) -> list[FeedRow]:
    return [FeedRow.from_row(r) for r in conn.execute(select(feeds).order_by(feeds.c.name))]
