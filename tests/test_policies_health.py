"""alerts.health.health_change, pure: when a feed is reported down and back up, on an injected clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitor.alerts.health import REASON_LIMIT, HealthChange, health_change

T0 = datetime(2031, 4, 2, 6, 0, tzinfo=UTC)  # the first failure of the episode
NOW = T0 + timedelta(minutes=45)  # the poll being recorded
DOWN_AFTER = 3

# (failures before the poll, down since, poll ok?, retired by 410?) -> (down?, since) or None
CASES = [
    ("first failure of a healthy feed", 0, None, False, False, None),
    ("one failure short of the threshold", 1, T0, False, False, None),
    ("the failure that reaches the threshold", 2, T0, False, False, (True, T0)),
    ("failures past the threshold: reported once", 3, T0, False, False, None),
    ("failures long past the threshold", 7, T0, False, False, None),
    ("a 410 before the threshold: down at once", 0, None, False, True, (True, NOW)),
    ("a 410 that also reaches the threshold", 2, T0, False, True, (True, T0)),
    ("a 410 after the feed was reported down", 3, T0, False, True, None),
    ("a success of a healthy feed", 0, None, True, False, None),
    ("a success after failures under the threshold", 2, T0, True, False, None),
    ("the first success after a reported episode", 3, T0, True, False, (False, NOW)),
    ("a success with the count but no episode start", 5, None, True, False, None),
]


@pytest.mark.parametrize(("failures", "down_since", "ok", "retired", "expected"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_health_change_table(failures: int, down_since: datetime | None, ok: bool, retired: bool,
                             expected: tuple[bool, datetime] | None) -> None:
    change = health_change(failures_before=failures, down_since=down_since, last_error="timed out", ok=ok,
                           now=NOW, down_after=DOWN_AFTER, retired=retired, error_kind="timeout",
                           error="no answer in 30 s")
    if expected is None:
        assert change is None
        return
    assert change is not None
    assert (change.down, change.since) == expected
    assert change.episode_start == (down_since or NOW)  # one key for the episode's down and up alerts


def test_the_down_reason_counts_the_failures_and_names_the_last_error() -> None:
    change = health_change(failures_before=2, down_since=T0, last_error=None, ok=False, now=NOW, down_after=3,
                           error_kind="http", error="HTTP 503")
    assert change == HealthChange(down=True, reason="3 failed polls in a row; last: http: HTTP 503",
                                  episode_start=T0, since=T0)


def test_a_retired_feed_says_so_first_and_a_missing_kind_reads_error() -> None:
    change = health_change(failures_before=0, down_since=None, last_error=None, ok=False, now=NOW, down_after=3,
                           retired=True, error="gone")
    assert change is not None
    assert change.reason == "retired: the feed answered 410 Gone; 1 failed polls in a row; last: error: gone"


def test_the_up_reason_is_the_last_error_and_every_reason_is_cut() -> None:
    up = health_change(failures_before=4, down_since=T0, last_error="x" * 1000, ok=True, now=NOW, down_after=3)
    assert up is not None and up.reason == "x" * REASON_LIMIT and not up.down
    down = health_change(failures_before=2, down_since=T0, last_error=None, ok=False, now=NOW, down_after=3,
                         error="y" * 1000)
    assert down is not None and len(down.reason) == REASON_LIMIT


def test_a_threshold_of_one_reports_the_first_failure() -> None:
    change = health_change(failures_before=0, down_since=None, last_error=None, ok=False, now=NOW, down_after=1)
    assert change is not None and change.down and change.episode_start == NOW
