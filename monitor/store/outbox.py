"""Outbox rows: claimed with a lease, then marked sent or failed. Functions take an open write connection."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.engine import Connection

from monitor.store.schema import outbox

SEND_STARTED = "send_started_at"  # key in `detail` while a send is under way


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
    # A previous attempt started sending this row and never recorded an outcome: it died (or hung) during
    # the send, so the target may already have this alert. It is sent again, marked as a possible repeat.
    interrupted: bool = False

    @property
    def content_revision(self) -> int | None:
        """The incident revision the message shows (a first alert may be refreshed with a newer one)."""
        return int((self.detail or {}).get("content_revision", self.revision or 0)) if self.incident_id else None

    @classmethod
    def from_row(cls, row: Any, interrupted: bool = False) -> OutboxRow:
        m = row._mapping
        return cls(**{f: m[f] for f in cls.__dataclass_fields__ if f != "interrupted"}, interrupted=interrupted)


def claim_due(conn: Connection, owner: str, now: datetime, lease_s: float, limit: int) -> list[OutboxRow]:
    """Lease pending alerts that are due, oldest first (so a recovered sink gets them in order).

    A target whose oldest pending alert failed and waits for its retry is backed off as a whole: its later
    alerts wait behind that one instead of being tried (and failing) in every round meanwhile, and when the
    target recovers the oldest goes first, then the rest in order."""
    earlier = outbox.alias("earlier")
    backing_off = (
        select(earlier.c.id)
        .where(earlier.c.target == outbox.c.target, earlier.c.id < outbox.c.id, earlier.c.status == "pending",
               earlier.c.attempts > 0, earlier.c.next_attempt_at > now)
        .exists()
    )
    due = (
        select(outbox.c.id)
        .where(outbox.c.status == "pending", outbox.c.next_attempt_at <= now,
               or_(outbox.c.lease_until.is_(None), outbox.c.lease_until < now), ~backing_off)
        .order_by(outbox.c.id)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    found = conn.execute(due).all()
    if not found:
        return []
    rows = conn.execute(
        update(outbox)
        .where(outbox.c.id.in_([r.id for r in found]), outbox.c.status == "pending",
               or_(outbox.c.lease_until.is_(None), outbox.c.lease_until < now))
        .values(lease_owner=owner, lease_until=now + timedelta(seconds=lease_s))
        .returning(*outbox.c)
    ).all()
    return sorted((OutboxRow.from_row(r, _interrupted(r.detail)) for r in rows), key=lambda r: r.id)


def _interrupted(detail: dict[str, Any] | None) -> bool:
    if not detail:
        return False
    return SEND_STARTED in detail or bool(detail.get("interrupted"))


def mark_sending(conn: Connection, row: OutboxRow, owner: str, now: datetime) -> bool:
    """Note, just before the send, that it is under way: if no outcome follows, the next claim knows the
    target may have it. False when the lease was lost."""
    detail = {**(row.detail or {}), SEND_STARTED: now.isoformat()}
    result = conn.execute(update(outbox).where(outbox.c.id == row.id, outbox.c.lease_owner == owner,
                                               outbox.c.status == "pending").values(detail=detail))
    return result.rowcount == 1


def lease_owners(conn: Connection) -> set[str]:
    """The names that hold leases on pending alerts now (live or not)."""
    return {r[0] for r in conn.execute(select(outbox.c.lease_owner)
                                       .where(outbox.c.lease_owner.is_not(None), outbox.c.status == "pending")
                                       .distinct())}


def expire_leases_of(conn: Connection, owners: Collection[str]) -> int:
    """At start-up: the leases of earlier lives of this instance (`owners`, known to be gone) end now; an
    alert one of them was sending is then resent marked as a possible repeat. Returns the number of rows."""
    if not owners:
        return 0
    result = conn.execute(update(outbox).where(outbox.c.lease_owner.in_(sorted(owners)), outbox.c.status == "pending")
                          .values(lease_owner=None, lease_until=None))
    return int(result.rowcount)


def mark_sent(conn: Connection, row_id: int, owner: str, now: datetime) -> bool:
    """Record delivery. False when the lease was lost (another instance took the row over)."""
    result = conn.execute(
        update(outbox).where(outbox.c.id == row_id, outbox.c.lease_owner == owner, outbox.c.status == "pending")
        .values(status="sent", sent_at=now, attempts=outbox.c.attempts + 1, last_error=None,
                lease_owner=None, lease_until=None))
    return result.rowcount == 1


def mark_failed(conn: Connection, row_id: int, owner: str, *, error: str, next_attempt_at: datetime,
                final: bool, row: OutboxRow | None = None) -> bool:
    """Record a failed attempt: retried at `next_attempt_at`, or given up (`failed`) when `final`.
    With `row`, the send-started note is replaced by a lasting `interrupted` mark if the row had one."""
    values: dict[str, Any] = {"status": "failed" if final else "pending", "attempts": outbox.c.attempts + 1,
                              "last_error": error[:1000], "next_attempt_at": next_attempt_at,
                              "lease_owner": None, "lease_until": None}
    if row is not None:
        detail = {k: v for k, v in (row.detail or {}).items() if k != SEND_STARTED}
        values["detail"] = {**detail, "interrupted": True} if row.interrupted else (detail or None)
    result = conn.execute(
        update(outbox).where(outbox.c.id == row_id, outbox.c.lease_owner == owner, outbox.c.status == "pending")
        .values(**values))
    return result.rowcount == 1


def release(conn: Connection, row_ids: list[int], owner: str) -> None:
    """Give leased rows back untouched (no attempt counted)."""
    conn.execute(update(outbox).where(outbox.c.id.in_(row_ids), outbox.c.lease_owner == owner)
                 .values(lease_owner=None, lease_until=None))


def counts(conn: Connection) -> dict[str, int]:
    return {r.status: int(r.n) for r in conn.execute(
        select(outbox.c.status, func.count().label("n")).group_by(outbox.c.status))}
