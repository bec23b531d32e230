"""What a merge of incidents still owes each alert target. Pure.

When incidents merge (store/merging.py), their outbox rows move to the survivor. Per target:

- a target that had (or may have had: sent, in flight, capped, failed) an alert about any of the merged
  incidents gets no new first alert; its still-queued alerts about them are superseded (never sent), and
  it gets an update only when the merged incident says something it was not told (the store compares the
  snapshots those alerts showed, materiality.news_since);
- a target whose only alerts are queued first alerts keeps the oldest one, re-rendered with the merged
  incident; the others are superseded;
- a target never alerted about any of them is planned as for any revision (it is not in the plan).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from monitor.alerts.routing import targets_of
from monitor.settings import AlertSettings


@dataclass(frozen=True)
class OutboxEntry:
    """An incident/update outbox row about one of the merged incidents, as the planner needs it."""

    id: int
    target: str
    kind: str  # "incident" | "update"
    status: str  # "pending", "sent", "capped", "failed", ...
    lease_until: datetime | None = None  # a delivery holds it until then

    def queued(self, now: datetime) -> bool:
        """Still waiting to be sent, and no delivery holds it."""
        return self.status == "pending" and (self.lease_until is None or self.lease_until < now)


@dataclass(frozen=True)
class MergePlan:
    superseded: tuple[int, ...] = ()  # queued rows that will never be sent
    keep: Mapping[str, int] = field(default_factory=dict)  # target -> first alert to re-render; nothing more
    settled: Mapping[str, tuple[int, ...]] = field(default_factory=dict)  # target -> rows it may have seen


def plan_merge(entries: Sequence[OutboxEntry], alerts: AlertSettings, now: datetime) -> MergePlan:
    """Decide per target what the merged incident still owes it, from the outbox rows about every merged
    incident (oldest first)."""
    known = {t.name for t in targets_of(alerts)}
    by_target: dict[str, list[OutboxEntry]] = {}
    for e in entries:
        by_target.setdefault(e.target, []).append(e)
    superseded: list[int] = []
    keep: dict[str, int] = {}
    settled: dict[str, tuple[int, ...]] = {}
    for target, rows in by_target.items():
        queued = [e for e in rows if e.queued(now)]
        seen = tuple(e.id for e in rows if not e.queued(now))
        if seen:
            superseded.extend(e.id for e in queued)
            settled[target] = seen
            continue
        firsts = [e for e in queued if e.kind == "incident"]
        if not firsts or target not in known:
            continue
        keep[target] = firsts[0].id
        superseded.extend(e.id for e in queued if e.id != firsts[0].id)
    return MergePlan(tuple(superseded), keep, settled)
