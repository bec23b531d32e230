"""alerts.merges.plan_merge, pure: what a merge of incidents still owes each target, on an injected clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitor.alerts.merges import MergePlan, OutboxEntry, plan_merge
from monitor.settings import AlertSettings, TargetSettings

NOW = datetime(2031, 4, 2, 6, 0, tzinfo=UTC)
LATER = NOW + timedelta(minutes=5)  # a lease still running
EARLIER = NOW - timedelta(minutes=5)  # a lease that ran out
DESK = TargetSettings(name="desk", url="json://127.0.0.1:9/desk")
OPS = TargetSettings(name="ops", url="json://127.0.0.1:9/ops")
ALERTS = AlertSettings(targets=(DESK, OPS))


def row(id_: int, kind: str = "incident", status: str = "pending", lease: datetime | None = None,
        target: str = "desk") -> OutboxEntry:
    return OutboxEntry(id=id_, target=target, kind=kind, status=status, lease_until=lease)


# rows of one target ("desk") -> (superseded, kept first alert, rows it may have seen)
CASES = [
    ("no rows: nothing decided", [], ((), None, None)),
    ("one queued first alert is kept", [row(1)], ((), 1, None)),
    ("the oldest of two queued first alerts is kept", [row(1), row(4)], ((4,), 1, None)),
    ("a queued update beside a queued first alert goes", [row(2), row(3, "update")], ((3,), 2, None)),
    ("only queued updates: nothing to keep, nothing superseded", [row(3, "update")], ((), None, None)),
    ("a sent alert settles the target; its queued ones go", [row(1, status="sent"), row(2)], ((2,), None, (1,))),
    ("a capped alert counts as seen", [row(1, status="capped")], ((), None, (1,))),
    ("a failed alert counts as seen", [row(1, status="failed")], ((), None, (1,))),
    ("a leased alert may be in flight: seen", [row(1, lease=LATER), row(2)], ((2,), None, (1,))),
    ("an expired lease is queued again", [row(1, lease=EARLIER), row(2)], ((2,), 1, None)),
    ("a lease ending exactly now still holds", [row(1, lease=NOW)], ((), None, (1,))),
    ("several seen rows are all told", [row(1, status="sent"), row(5, "update", "sent")], ((), None, (1, 5))),
]


@pytest.mark.parametrize(("rows", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_plan_merge_table(rows: list[OutboxEntry], expected: tuple[tuple[int, ...], int | None,
                                                                 tuple[int, ...] | None]) -> None:
    plan = plan_merge(rows, ALERTS, NOW)
    superseded, keep, seen = expected
    assert plan.superseded == superseded
    assert plan.keep.get("desk") == keep
    assert plan.settled.get("desk") == seen
    assert not ({*plan.keep} & {*plan.settled})  # a target is either kept or settled, never both


def test_targets_are_decided_each_on_their_own_rows() -> None:
    rows = [row(1), row(2, status="sent", target="ops"), row(3, target="ops"), row(4)]
    assert plan_merge(rows, ALERTS, NOW) == MergePlan(superseded=(4, 3), keep={"desk": 1}, settled={"ops": (2,)})


def test_a_target_no_longer_configured_keeps_nothing_but_a_seen_one_is_still_settled() -> None:
    rows = [row(1, target="gone"), row(2, target="old", status="sent"), row(3, target="old")]
    plan = plan_merge(rows, ALERTS, NOW)
    assert plan.keep == {} and plan.settled == {"old": (2,)} and plan.superseded == (3,)


def test_without_targets_the_log_pseudo_target_is_the_one_known() -> None:
    plan = plan_merge([row(1, target="log"), row(2, target="log")], AlertSettings(), NOW)
    assert plan.keep == {"log": 1} and plan.superseded == (2,)
