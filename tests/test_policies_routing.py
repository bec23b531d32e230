"""alerts.routing, pure: override regrouping after a merge (plan_revision_alerts) and burst-digest timing
(burst_timing), which shares its cap window with plan_alerts' per-hour cap; on an injected clock."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

import pytest

from monitor.alerts.routing import CAP_WINDOW, TargetHistory, burst_timing, plan_alerts, plan_revision_alerts
from monitor.models import IncidentView
from monitor.settings import AlertSettings, RuleSettings, TargetSettings

NOW = datetime(2031, 4, 2, 6, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)
A = TargetSettings(name="a", url="json://127.0.0.1:9/a")
B = TargetSettings(name="b", url="json://127.0.0.1:9/b")
C = TargetSettings(name="c", url="json://127.0.0.1:9/c")
ALERTS = AlertSettings(targets=(A, B, C))


def incident(revision: int = 3) -> IncidentView:
    return IncidentView(id="INC-TEST22", revision=revision, title="Shelling near a made-up town",
                        event_date=date(2031, 4, 2), first_seen_at=NOW, updated_at=NOW, country="ZZ", admin1=None,
                        place="Nowhereville", lat=None, lon=None, geo_precision="place", labels=("shelling",),
                        killed=2, injured=None, severity=5.0, source_count=2, ceasefire=None, articles=())


def planned(reasons: Sequence[str], alerted: frozenset[str],
            overrides: dict[str, Sequence[str] | None] | None) -> dict[str, tuple[str, tuple[str, ...]]]:
    plans = plan_revision_alerts(incident(), reasons, ALERTS, alerted, score=0.8, now=NOW, history={},
                                 overrides=overrides)
    return {p.target.name: (p.kind, tuple(r)) for p, r in plans}


MERGED = ("merged", "casualties")
# (alerted before, overrides) -> target -> (kind, reasons shown)
CASES = [
    ("no merge: every target on the revision's reasons", frozenset(), None,
     {"a": ("incident", MERGED), "b": ("incident", MERGED), "c": ("incident", MERGED)}),
    ("empty overrides are no merge", frozenset({"a"}), {},
     {"a": ("update", MERGED), "b": ("incident", MERGED), "c": ("incident", MERGED)}),
    ("a target owed nothing more gets nothing", frozenset(), {"a": None},
     {"b": ("incident", MERGED), "c": ("incident", MERGED)}),
    ("a target told before gets an update on its own news", frozenset(), {"a": ["casualties"]},
     {"a": ("update", ("casualties",)), "b": ("incident", MERGED), "c": ("incident", MERGED)}),
    ("own news that no rule finds material: nothing", frozenset(), {"a": ["new source"]},
     {"b": ("incident", MERGED), "c": ("incident", MERGED)}),
    ("two targets with the same news are planned together", frozenset(), {"a": ["label"], "b": ["label"], "c": None},
     {"a": ("update", ("label",)), "b": ("update", ("label",))}),
    ("targets with different news each get theirs", frozenset(), {"a": ["label"], "b": ["ceasefire"]},
     {"a": ("update", ("label",)), "b": ("update", ("ceasefire",)), "c": ("incident", MERGED)}),
    ("an override for a target not configured changes nothing", frozenset(), {"gone": ["label"]},
     {"a": ("incident", MERGED), "b": ("incident", MERGED), "c": ("incident", MERGED)}),
]


@pytest.mark.parametrize(("alerted", "overrides", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_plan_revision_alerts_table(alerted: frozenset[str], overrides: dict[str, Sequence[str] | None] | None,
                                    expected: dict[str, tuple[str, tuple[str, ...]]]) -> None:
    assert planned(MERGED, alerted, overrides) == expected


def test_without_overrides_it_is_plan_alerts() -> None:
    plain = plan_alerts(incident(), ["new incident"], ALERTS, frozenset({"b"}), score=0.8, now=NOW)
    both = plan_revision_alerts(incident(), ["new incident"], ALERTS, frozenset({"b"}), score=0.8, now=NOW,
                                history={})
    assert [p for p, _ in both] == plain and all(r == ["new incident"] for _, r in both)


# (times already sent, capped at, waiting digest's start) -> (period start, digest send time)
BURSTS = [
    ("empty history: an hour after the capped alert", (), NOW, None, (NOW, NOW + CAP_WINDOW)),
    ("an hour after the oldest alert the cap counted", (NOW - 50 * MIN, NOW - 20 * MIN), NOW, None,
     (NOW, NOW + 10 * MIN)),
    ("alerts older than the window do not count", (NOW - 90 * MIN, NOW - 60 * MIN, NOW - 5 * MIN), NOW, None,
     (NOW, NOW + 55 * MIN)),
    ("an alert exactly at the window's start is out", (NOW - CAP_WINDOW, NOW - 30 * MIN), NOW, None,
     (NOW, NOW + 30 * MIN)),
    ("an alert held till later counts from its send time", (NOW + 10 * MIN,), NOW + 10 * MIN, None,
     (NOW, NOW + 70 * MIN)),
    ("a later alert is not in the window of an earlier one", (NOW + 10 * MIN,), NOW, None, (NOW, NOW + CAP_WINDOW)),
    ("a waiting digest keeps its period start", (NOW - 40 * MIN,), NOW, NOW - 15 * MIN,
     (NOW - 15 * MIN, NOW + 20 * MIN)),
]


@pytest.mark.parametrize(("times", "capped_at", "waiting", "expected"), [b[1:] for b in BURSTS],
                         ids=[b[0] for b in BURSTS])
def test_burst_timing_table(times: tuple[datetime, ...], capped_at: datetime, waiting: datetime | None,
                            expected: tuple[datetime, datetime]) -> None:
    timing = burst_timing(TargetHistory(times), capped_at, NOW, waiting)
    assert (timing.period_start, timing.send_at) == expected


def test_the_cap_and_the_burst_digest_count_the_same_window() -> None:
    # Three alerts at 0, 20 and 40 minutes fill a cap of 3: an alert at 59 min is capped, its digest goes at
    # 60 min (the oldest + 1 h), and an alert then is no longer capped - one window for both decisions.
    rule = RuleSettings(name="three", max_per_hour=3)
    settings = AlertSettings(targets=(A,), rules=(rule,))
    start = NOW - CAP_WINDOW
    hist = TargetHistory((start, start + 20 * MIN, start + 40 * MIN))
    [capped] = plan_alerts(incident(), [], settings, score=0.8, now=NOW - MIN, history={"a": hist})
    assert capped.capped and len(hist.in_cap_window(NOW - MIN)) == 3
    due = burst_timing(hist, capped.send_at or NOW - MIN, NOW - MIN).send_at
    assert due == NOW
    [free] = plan_alerts(incident(), [], settings, score=0.8, now=due, history={"a": hist})
    assert not free.capped and len(hist.in_cap_window(due)) == 2
