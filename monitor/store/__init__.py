"""Store: the only owner of engines and connections. Methods are named by intent, not by SQL."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from monitor.errors import DatabaseError
from monitor.group import ArticleDraft
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
from monitor.store.engine import create_store_engine, current_revision, describe_db_error, head_revision, upgrade
from monitor.store.feeds import FeedRow, FetchOutcome
from monitor.store.ingest import Renderer, SaveReport, count_articles, save_drafts
from monitor.store.outbox import OutboxRow
from monitor.store.queries import IncidentFilter, find_incident, list_incidents

__all__ = ["FeedRow", "FetchOutcome", "IncidentFilter", "OutboxRow", "SaveReport", "Store"]


class Store:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def open(cls, settings: DatabaseSettings) -> Store:
        return cls(create_store_engine(settings.url, busy_timeout_s=settings.busy_timeout_s))

    def close(self) -> None:
        self.engine.dispose()

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    # -- transactions ------------------------------------------------------------------------------------
    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction (BEGIN IMMEDIATE on SQLite). Database failures become DatabaseError."""
        try:
            with self.engine.connect().execution_options(write=True) as conn, conn.begin():
                yield conn
        except OperationalError as exc:
            raise DatabaseError(f"database unavailable: {describe_db_error(exc)}") from exc

    @contextmanager
    def read(self) -> Iterator[Connection]:
        try:
            with self.engine.connect() as conn, conn.begin():
                yield conn
        except OperationalError as exc:
            raise DatabaseError(f"database unavailable: {describe_db_error(exc)}") from exc

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
    def sync_feeds(self, configured: Sequence[FeedSettings], now: datetime) -> None:
        with self.write() as conn:
            feed_rows.sync_feeds(conn, configured, now)

    def claim_due_feeds(self, owner: str, now: datetime, lease_s: float, limit: int) -> list[FeedRow]:
        with self.write() as conn:
            return feed_rows.claim_due(conn, owner, now, lease_s, limit)

    def record_fetch(self, feed: FeedRow, owner: str, outcome: FetchOutcome,
                     alerts: AlertSettings | None = None) -> None:
        """Record a poll's outcome; with `alerts`, queue feed down/up alerts in the same transaction."""
        with self.write() as conn:
            feed_rows.record_outcome(conn, feed, owner, outcome, alerts)

    def save_feed_items(self, feed: FeedRow | None, owner: str, drafts: Sequence[ArticleDraft],
                        outcome: FetchOutcome | None, *, alerts: AlertSettings,
                        ceasefires: Sequence[CeasefireSettings], render: Renderer, now: datetime,
                        dry_run: bool = False) -> SaveReport:
        """Articles, incidents, outbox rows and the feed's new fetch state, in one transaction: a crash
        leaves either all of them or none (the feed is then fetched again)."""
        with self.write() as conn:
            report = save_drafts(conn, drafts, feed_id=feed.id if feed else None, now=now, alerts=alerts,
                                 ceasefires=ceasefires, render=render)
            if feed is not None and outcome is not None:
                feed_rows.record_outcome(conn, feed, owner, outcome, alerts)
            if dry_run:
                conn.rollback()
            return report

    def list_feeds(self) -> list[FeedRow]:
        with self.read() as conn:
            return feed_rows.list_feeds(conn)

    def take_back_leases(self, owner: str, now: datetime) -> tuple[int, int]:
        """On start-up of an instance with a stable name: end the leases its previous life left behind
        (a crash), so its feeds and alerts resume at once instead of after the lease period.
        Returns (feeds, alerts) affected."""
        with self.write() as conn:
            return feed_rows.expire_leases_of(conn, owner), outbox_rows.expire_leases_of(conn, owner)

    # -- outbox ------------------------------------------------------------------------------------------
    def claim_due_alerts(self, owner: str, now: datetime, lease_s: float, limit: int) -> list[OutboxRow]:
        with self.write() as conn:
            return outbox_rows.claim_due(conn, owner, now, lease_s, limit)

    def mark_alert_sent(self, row_id: int, owner: str, now: datetime) -> bool:
        with self.write() as conn:
            return outbox_rows.mark_sent(conn, row_id, owner, now)

    def mark_alert_failed(self, row_id: int, owner: str, *, error: str, next_attempt_at: datetime,
                          final: bool, row: OutboxRow | None = None) -> bool:
        with self.write() as conn:
            return outbox_rows.mark_failed(conn, row_id, owner, error=error, next_attempt_at=next_attempt_at,
                                           final=final, row=row)

    def mark_alert_sending(self, row: OutboxRow, owner: str, now: datetime) -> bool:
        with self.write() as conn:
            return outbox_rows.mark_sending(conn, row, owner, now)

    def release_alerts(self, row_ids: list[int], owner: str) -> None:
        with self.write() as conn:
            outbox_rows.release(conn, row_ids, owner)

    def queue_digest(self, rule: RuleSettings, target: TargetSettings, start: datetime, end: datetime,
                     owner: str, now: datetime) -> bool:
        """Write the scheduled digest of [start, end) for (rule, target) unless it exists. True if written."""
        with self.write() as conn:
            return alerting.queue_scheduled_digest(conn, rule, target, start, end, owner, now)

    def ceasefire_violations(self, since: date, until: date | None = None) -> dict[str, int]:
        """Incidents per ceasefire name with event dates in [since, until]."""
        with self.read() as conn:
            return alerting.violation_counts(conn, since, until)

    def outbox_rows(self, *, kind: str | None = None, target: str | None = None) -> list[dict[str, Any]]:
        """Every outbox row (optionally of one kind/target), oldest first: for tests and `rules test`."""
        from sqlalchemy import select

        from monitor.store.schema import outbox

        q = select(outbox).order_by(outbox.c.id)
        if kind is not None:
            q = q.where(outbox.c.kind == kind)
        if target is not None:
            q = q.where(outbox.c.target == target)
        with self.read() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    def outbox_counts(self) -> dict[str, int]:
        with self.read() as conn:
            return outbox_rows.counts(conn)

    # -- queries -----------------------------------------------------------------------------------------
    def incidents(self, f: IncidentFilter) -> list[IncidentView]:
        with self.read() as conn:
            return list(list_incidents(conn, f))

    def incident(self, public_id: str) -> tuple[IncidentView, list[dict[str, Any]], list[dict[str, Any]]] | None:
        with self.read() as conn:
            return find_incident(conn, public_id)

    def article_count(self) -> int:
        with self.read() as conn:
            return count_articles(conn)
