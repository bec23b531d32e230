"""Outbox rows: claimed with a lease, then marked sent or failed. Functions take an open write connection."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.engine import Connection

from monitor.store.schema import outbox


@dataclass(frozen=True)
class OutboxRow:
    id: int
    kind: str
    incident_id: int | None
    revision: int | None
    target: str
    idempotency_key: str
    title: str
    body: str
    body_format: str
    attempts: int
    created_at: datetime
    detail: dict[str, Any] | None = None

    @property
    def content_revision(self) -> int | None:
        """The incident revision the message shows (a first alert may be refreshed with a newer one)."""
        return int((self.detail or {}).get("content_revision", self.revision or 0)) if self.incident_id else None

    @classmethod
    def from_row(cls, row: Any) -> OutboxRow:
        m = row._mapping
        return cls(**{f: m[f] for f in cls.__dataclass_fields__})


def claim_due(conn: Connection, owner: str, now: datetime, lease_s: float, limit: int) -> list[OutboxRow]:
    """Lease pending alerts that are due, oldest first (so a recovered sink gets them in order)."""
    due = (
        select(outbox.c.id)
        .where(outbox.c.status == "pending", outbox.c.next_attempt_at <= now,
               or_(outbox.c.lease_until.is_(None), outbox.c.lease_until < now))
        .order_by(outbox.c.id)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    ids = [r.id for r in conn.execute(due)]
    if not ids:
        return []
    rows = conn.execute(
        update(outbox)
        .where(outbox.c.id.in_(ids), outbox.c.status == "pending",
               or_(outbox.c.lease_until.is_(None), outbox.c.lease_until < now))
        .values(lease_owner=owner, lease_until=now + timedelta(seconds=lease_s))
        .returning(*outbox.c)
    ).all()
    return sorted((OutboxRow.from_row(r) for r in rows), key=lambda r: r.id)


def mark_sent(conn: Connection, row_id: int, owner: str, now: datetime) -> bool:
    """Record delivery. False when the lease was lost (another instance took the row over)."""
    result = conn.execute(
        update(outbox).where(outbox.c.id == row_id, outbox.c.lease_owner == owner, outbox.c.status == "pending")
        .values(status="sent", sent_at=now, attempts=outbox.c.attempts + 1, last_error=None,
                lease_owner=None, lease_until=None))
    return result.rowcount == 1


def mark_failed(conn: Connection, row_id: int, owner: str, *, error: str, next_attempt_at: datetime,
                final: bool) -> bool:
    """Record a failed attempt: retried at `next_attempt_at`, or given up (`failed`) when `final`."""
    result = conn.execute(
        update(outbox).where(outbox.c.id == row_id, outbox.c.lease_owner == owner, outbox.c.status == "pending")
        .values(status="failed" if final else "pending", attempts=outbox.c.attempts + 1,
                last_error=error[:1000], next_attempt_at=next_attempt_at, lease_owner=None, lease_until=None))
    return result.rowcount == 1


def release(conn: Connection, row_ids: list[int], owner: str) -> None:
    """Give leased rows back untouched (no attempt counted)."""
    conn.execute(update(outbox).where(outbox.c.id.in_(row_ids), outbox.c.lease_owner == owner)
                 .values(lease_owner=None, lease_until=None))


def counts(conn: Connection) -> dict[str, int]:
    return {r.status: int(r.n) for r in conn.execute(
        select(outbox.c.status, func.count().label("n")).group_by(outbox.c.status))}
