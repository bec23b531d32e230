"""Store: what the stages decided goes in (drafts, fetch outcomes, alert plans); rows, views and outbox rows come out.

The only owner of engines and connections: SQL and transactions only, each decision made by a pure function
of a stage (incidents, alerts) called inside the transaction. Methods are named by intent, not by SQL.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any, TypeVar

from sqlalchemy import Engine, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError

from monitor.errors import DatabaseError
from monitor.incidents.group import ArticleDraft
from monitor.logs import event
from monitor.models import IncidentView
from monitor.settings import (
    AlertSettings,
    CeasefireSettings,
    DatabaseSettings,
    FeedSettings,
    RuleSettings,
    TargetSettings,
)
from monitor.store import alerting
from monitor.store import feeds as feed_rows
from monitor.store import outbox as outbox_rows
from monitor.store.alerting import Renderer
from monitor.store.engine import (
    create_store_engine,
    current_revision,
    describe_db_error,
    head_revision,
    refresh_statistics,
    upgrade,
)
from monitor.store.feeds import FeedRow, FetchOutcome
from monitor.store.filtering import IncidentFilter
from monitor.store.ingest import SaveReport, count_articles, save_drafts, stored_fingerprints
from monitor.store.outbox import OutboxRow
from monitor.store.queries import find_incident, list_incidents

__all__ = ["FeedRow", "FetchOutcome", "IncidentFilter", "OutboxRow", "SaveReport", "Store"]

log = logging.getLogger("monitor.store")
T = TypeVar("T")
DISCONNECT_RETRIES = 1
SAVE_LOCK_KEY = 0x63666D73617665  # any constant: the advisory lock of `Store.serialise_saves`
DEADLOCK_RETRIES = 3
# SQLSTATEs of a transaction PostgreSQL rolled back because of concurrent transactions, not because of it.
_CONFLICT_STATES = {"40P01": "deadlock", "40001": "serialization"}


def _retry_reason(cause: BaseException | None) -> str | None:
    """Why a failed transaction may simply be run again ("disconnect", "deadlock", …), or None."""
    if not isinstance(cause, DBAPIError):
        return None
    if cause.connection_invalidated:
        return "disconnect"
    return _CONFLICT_STATES.get(str(getattr(cause.orig, "sqlstate", "") or ""))


class Store:
    # Saves on PostgreSQL (save_feed_items) lock only the grouping buckets - (country, day) - their reports may
    # group into, and the alert timing of targets with cooldowns or caps (store/locks.py): reports of one event
    # queue behind each other, so they never make two incidents of it, lose a merge or deadlock on its rows
    # (without any lock: 68 entries/s and 117 of 1,000 feeds failed on deadlocks in bench.poll_cycle), while
    # saves of other events run side by side. With serialise_saves, every save first takes one global advisory
    # lock instead (one save at a time across threads and instances, as SQLite's BEGIN IMMEDIATE gives): the
    # behaviour before bucket locks, kept to compare them (bench.poll_cycle / bench.instances
    # --serialise-saves). Measured on 2 CPUs: no gain when nearly every batch reports on the same few countries
    # and days (bench.pipeline's feeds: 98% of 20-item batches share a bucket), +30-50% entries/s with three
    # instances when feeds report on one of 24 countries each (bench.instances --regional); no deadlock in any.
    serialise_saves = False

    def __init__(self, engine: Engine, busy_timeout_s: float = 30.0) -> None:
        self.engine = engine
        # SQLite takes one writer at a time, and a writer that finds the file locked polls it with sleeps of
        # up to 100 ms (the busy handler): this process's writers queue here instead, and the next one starts
        # as soon as the last commits (other processes still meet the busy timeout).
        self._sqlite_writer = threading.RLock() if engine.dialect.name == "sqlite" else None
        self._busy_timeout_s = busy_timeout_s
        # Transactions run again by `_transact`, by reason ("deadlock", "serialization", "disconnect"): for
        # benchmarks and tests (each retry is also logged as db_retry).
        self.retries: Counter[str] = Counter()
        self._retries_lock = threading.Lock()

    @classmethod
    def open(cls, settings: DatabaseSettings) -> Store:
        return cls(create_store_engine(settings.url, busy_timeout_s=settings.busy_timeout_s), settings.busy_timeout_s)

    def close(self) -> None:
        self.engine.dispose()

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    # -- transactions ------------------------------------------------------------------------------------
    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction (BEGIN IMMEDIATE on SQLite). Database failures become DatabaseError.

        Not retried (the body is the caller's); the Store's own methods go through `_transact`, which is."""
        with self._transaction(write=True) as conn:
            yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read transaction. Database failures become DatabaseError."""
        with self._transaction(write=False) as conn:
            yield conn

    @contextmanager
    def _transaction(self, *, write: bool) -> Iterator[Connection]:
        if write and self._sqlite_writer is not None:
            if not self._sqlite_writer.acquire(timeout=self._busy_timeout_s):
                raise DatabaseError("database unavailable: database is locked (another writer of this process)")
            try:
                with self._open(write=True) as conn:
                    yield conn
            finally:
                self._sqlite_writer.release()
            return
        with self._open(write=write) as conn:
            yield conn

    @contextmanager
    def _open(self, *, write: bool) -> Iterator[Connection]:
        try:
            with self.engine.connect().execution_options(write=write) as conn, conn.begin():
                yield conn
        except OperationalError as exc:
            raise DatabaseError(f"database unavailable: {describe_db_error(exc)}") from exc
        except DBAPIError as exc:
            if exc.connection_invalidated:
                raise DatabaseError(f"database connection lost: {describe_db_error(exc)}") from exc
            raise

    def _transact(self, work: Callable[[Connection], T], *, write: bool = True) -> T:
        """Run `work(conn)` in one transaction, again when the database rolled it back for a passing reason.

        - The connection was cut (a server restart, pg_terminate_backend): pool pre-ping only vets a
          connection at checkout, so a cut during the transaction still fails it, with the connection (and
          the pool) invalidated. Retried once, on a fresh connection; a second failure means the server is
          really down and is a DatabaseError.
        - PostgreSQL chose this transaction as a deadlock victim or a serialization failure (concurrent
          writers revising the same incidents): retried up to DEADLOCK_RETRIES times after a short random
          pause, as PostgreSQL's documentation recommends.

        Safe because nothing of a failed attempt was committed - or, when a cut hit the COMMIT itself,
        everything was - and every `work` here may run twice: inserts are insert-if-new by key, leases and
        outcomes are conditional updates.
        """
        transaction = self.write if write else self.read
        attempt = 0
        while True:
            attempt += 1
            try:
                with transaction() as conn:
                    return work(conn)
            except DatabaseError as exc:
                reason = _retry_reason(exc.__cause__)
                if reason is None or attempt > (DISCONNECT_RETRIES if reason == "disconnect" else DEADLOCK_RETRIES):
                    raise
                with self._retries_lock:
                    self.retries[reason] += 1
                event(log, "db_retry", logging.WARNING, reason=reason, attempt=attempt,
                      error=describe_db_error(exc.__cause__ or exc))
                if reason != "disconnect":  # let the other transaction finish before trying again
                    time.sleep(random.uniform(0.01, 0.05) * attempt)

    # -- schema ------------------------------------------------------------------------------------------
    def upgrade(self) -> tuple[str | None, str | None]:
        return upgrade(self.engine)

    def ensure_current(self) -> None:
        """Raise DatabaseError unless the schema is at the newest migration (for read-only commands)."""
        try:
            current = current_revision(self.engine)
        except SQLAlchemyError as exc:
            raise DatabaseError(f"database unreachable: {describe_db_error(exc)}") from exc
        if current != head_revision():
            raise DatabaseError(f"database schema is at {current or 'nothing'}, not {head_revision()}",
                                hint="run `ceasefire-monitor db upgrade`")

    # -- feeds -------------------------------------------------------------------------------------------
    def refresh_statistics(self) -> bool:
        """Refresh the planner's statistics (SQLite's ANALYZE; PostgreSQL analyzes by itself: False)."""
        return self._transact(refresh_statistics)

    def sync_feeds(self, configured: Sequence[FeedSettings], now: datetime) -> None:
        self._transact(lambda conn: feed_rows.sync_feeds(conn, configured, now))

    def claim_due_feeds(self, owner: str, now: datetime, lease_s: float, limit: int) -> list[FeedRow]:
        return self._transact(lambda conn: feed_rows.claim_due(conn, owner, now, lease_s, limit))

    def record_fetch(self, feed: FeedRow, owner: str, outcome: FetchOutcome,
                     alerts: AlertSettings | None = None) -> None:
        """Record a poll's outcome; with `alerts`, queue feed down/up alerts in the same transaction."""
        self._transact(lambda conn: feed_rows.record_outcome(conn, feed, owner, outcome, alerts))

    def save_feed_items(self, feed: FeedRow | None, owner: str, drafts: Sequence[ArticleDraft],
                        outcome: FetchOutcome | None, *, alerts: AlertSettings,
                        ceasefires: Sequence[CeasefireSettings], render: Renderer, now: datetime,
                        dry_run: bool = False) -> SaveReport:
        """Articles, incidents, outbox rows and the feed's new fetch state, in one transaction: a crash
        leaves either all of them or none (the feed is then fetched again)."""
        def work(conn: Connection) -> SaveReport:
            if self.serialise_saves and conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": SAVE_LOCK_KEY})
            report = save_drafts(conn, drafts, feed_id=feed.id if feed else None, now=now, alerts=alerts,
                                 ceasefires=ceasefires, render=render)
            if report.late_locks:  # correct, but out of order: locks.draft_buckets no longer matches grouping
                event(log, "late_bucket_locks", logging.WARNING, buckets=report.late_locks)
            if feed is not None and outcome is not None:
                feed_rows.record_outcome(conn, feed, owner, outcome, alerts)
            if dry_run:
                conn.rollback()
            return report

        return self._transact(work)

    def stored_fingerprints(self, prints: Sequence[str]) -> set[str]:
        """Those of these article fingerprints that are stored already (the pipeline skips classifying them)."""
        return self._transact(lambda conn: stored_fingerprints(conn, prints), write=False)

    def list_feeds(self) -> list[FeedRow]:
        return self._transact(lambda conn: feed_rows.list_feeds(conn), write=False)

    def lease_owners(self) -> set[str]:
        """Every name holding a lease on a feed or a pending alert."""
        return self._transact(lambda conn: feed_rows.lease_owners(conn) | outbox_rows.lease_owners(conn),
                              write=False)

    def take_back_leases(self, owners: Collection[str]) -> tuple[int, int]:
        """On start-up: end the leases that earlier lives of this instance (`owners`, known to be gone) left
        behind in a crash, so their feeds and alerts resume at once instead of after the lease period.
        Returns (feeds, alerts) affected."""
        return self._transact(lambda conn: (feed_rows.expire_leases_of(conn, owners),
                                            outbox_rows.expire_leases_of(conn, owners)))

    # -- outbox ------------------------------------------------------------------------------------------
    def claim_due_alerts(self, owner: str, now: datetime, lease_s: float, limit: int) -> list[OutboxRow]:
        return self._transact(lambda conn: outbox_rows.claim_due(conn, owner, now, lease_s, limit))

    def mark_alert_sent(self, row_id: int, owner: str, now: datetime) -> bool:
        return self._transact(lambda conn: outbox_rows.mark_sent(conn, row_id, owner, now))

    def mark_alert_failed(self, row_id: int, owner: str, *, error: str, next_attempt_at: datetime,
                          final: bool, row: OutboxRow | None = None) -> bool:
        return self._transact(lambda conn: outbox_rows.mark_failed(
            conn, row_id, owner, error=error, next_attempt_at=next_attempt_at, final=final, row=row))

    def mark_alert_sending(self, row: OutboxRow, owner: str, now: datetime) -> bool:
        return self._transact(lambda conn: outbox_rows.mark_sending(conn, row, owner, now))

    def release_alerts(self, row_ids: list[int], owner: str) -> None:
        self._transact(lambda conn: outbox_rows.release(conn, row_ids, owner))

    def queue_digest(self, rule: RuleSettings, target: TargetSettings, start: datetime, end: datetime,
                     owner: str, now: datetime, public_url: str | None = None) -> bool:
        """Write the scheduled digest of [start, end) for (rule, target) unless it exists. True if written.
        With `public_url` (the dashboard's address) each listed incident links to its page."""
        return self._transact(lambda conn: alerting.queue_scheduled_digest(conn, rule, target, start, end,
                                                                           owner, now, public_url))

    def ceasefire_violations(self, since: date, until: date | None = None) -> dict[str, int]:
        """Incidents per ceasefire name with event dates in [since, until]."""
        return self._transact(lambda conn: alerting.violation_counts(conn, since, until), write=False)

    def outbox_rows(self, *, kind: str | None = None, target: str | None = None) -> list[dict[str, Any]]:
        """Every outbox row (optionally of one kind/target), oldest first: for tests and `rules test`."""
        from sqlalchemy import select

        from monitor.store.schema import outbox

        q = select(outbox).order_by(outbox.c.id)
        if kind is not None:
            q = q.where(outbox.c.kind == kind)
        if target is not None:
            q = q.where(outbox.c.target == target)
        return self._transact(lambda conn: [dict(r._mapping) for r in conn.execute(q)], write=False)

    def outbox_counts(self) -> dict[str, int]:
        return self._transact(lambda conn: outbox_rows.counts(conn), write=False)

    # -- queries -----------------------------------------------------------------------------------------
    def incidents(self, f: IncidentFilter) -> list[IncidentView]:
        return self._transact(lambda conn: list(list_incidents(conn, f)), write=False)

    def incident(self, public_id: str) -> tuple[IncidentView, list[dict[str, Any]], list[dict[str, Any]]] | None:
        return self._transact(lambda conn: find_incident(conn, public_id), write=False)

    def article_count(self) -> int:
        return self._transact(lambda conn: count_articles(conn), write=False)
