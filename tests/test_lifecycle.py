"""The alert lifecycle over a real store and a real loopback sink, with time set by the test (never slept):
one alert per incident and target, updates on material change, outages, crashes, quiet hours, cooldown,
the per-hour cap, digests (in UTC and in a local time zone across a clock change) and feed health."""

from __future__ import annotations

import asyncio
import dataclasses
import random
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta

import pytest
from sink_server import SinkServer

from monitor.alerts.digest import cron_period
from monitor.alerts.routing import digest_targets
from monitor.incidents.group import ArticleDraft
from monitor.models import Casualties, Classification, FeedItem, LabelHit, Place
from monitor.pipeline import Deps, deliver_due, queue_digests, render_alert
from monitor.settings import (
    AlertSettings,
    ApiSettings,
    DatabaseSettings,
    FeedSettings,
    QuietHours,
    RuleSettings,
    Settings,
    TargetSettings,
)
from monitor.store import FetchOutcome, IncidentFilter, Store

T0 = datetime(2022, 9, 13, 12, 0, tzinfo=UTC)
PLACES = [Place("Jermuk", "AM", "Vayots Dzor", 39.84, 45.67, "place", 616629),
          Place("Sotk", "AM", "Gegharkunik", 40.20, 45.95, "place", 616000),
          Place("Goris", "AM", "Syunik", 39.51, 46.34, "place", 616599),
          Place("Kapan", "AM", "Syunik", 39.21, 46.41, "place", 174875),
          Place("Ijevan", "AM", "Tavush", 40.88, 45.15, "place", 616635)]


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> None:
        self.now += timedelta(**kw)


def draft(n: int, *, source: str = "Outlet", place: Place = PLACES[0], killed: int | None = None,
          day: date = date(2022, 9, 13), labels: tuple[str, ...] = ("shelling",)) -> ArticleDraft:
    item = FeedItem(title=f"Artillery shelled {place.name} overnight ({source} {n})",
                    text=f"Report {n} by {source}: mortars and artillery hit {place.name}.",
                    url=f"https://{source.lower()}.example/{n}", source=source, published_at=T0)
    c = Classification(labels=tuple(LabelHit(lb, 0.9, ("shelled",)) for lb in labels), score=0.9,
                       countries=("AM",), place=place, places=(place,), killed=Casualties(count=killed),
                       event_date=day)
    return ArticleDraft(item=item, fingerprint=f"fp-{source}-{n}", classification=c, published_at=T0,
                        first_seen_at=T0)


@pytest.fixture
def sink() -> Iterator[SinkServer]:
    with SinkServer() as s:
        yield s


def make_deps(store: Store, sink: SinkServer, clock: Clock, *rules: RuleSettings, owner: str = "me",
              **alerts: object) -> Deps:
    targets = (TargetSettings("desk", sink.url("/desk"), ("desk",)), TargetSettings("ops", sink.url("/ops"), ("ops",)))
    settings = Settings(database=DatabaseSettings(url="unused"), alerts=AlertSettings(
        targets=targets, rules=rules, retry_base_s=30, retry_max_s=60, send_timeout_s=5, **alerts))  # type: ignore[arg-type]
    return Deps(settings=settings, store=store, classifier=None, owner=owner, clock=clock,  # type: ignore[arg-type]
                rng=random.Random(1))


def save(deps: Deps, drafts: Sequence[ArticleDraft]) -> object:
    return deps.store.save_feed_items(None, deps.owner, drafts, None, alerts=deps.settings.alerts,
                                      ceasefires=deps.settings.ceasefires, render=render_alert, now=deps.clock())


def deliver(deps: Deps) -> object:
    return asyncio.run(deliver_due(deps))


def titles(sink: SinkServer, path: str) -> list[str]:
    return [r.body["title"] for r in sink.delivered if r.path == path]


def test_ten_reports_from_five_outlets_make_one_incident_one_alert_per_target_and_revisions(
        store: Store, sink: SinkServer) -> None:
    clock = Clock()
    deps = make_deps(store, sink, clock)
    for k, outlet in enumerate(["A", "B", "C", "D", "E"]):
        save(deps, [draft(2 * k, source=outlet), draft(2 * k + 1, source=outlet)])
        deliver(deps)
        clock.advance(minutes=10)
    [view] = store.incidents(IncidentFilter(limit=None))
    assert view.source_count == 5 and len(view.articles) == 10 and view.revision == 5
    found = store.incident(view.id)
    assert found is not None
    assert [r["reasons"] for r in found[1]] == [["new incident"]] + [["new source"]] * 4
    assert len(titles(sink, "/desk")) == 1 and len(titles(sink, "/ops")) == 1


def test_two_events_at_one_place_on_different_days_are_two_incidents(store: Store, sink: SinkServer) -> None:
    deps = make_deps(store, sink, Clock())
    save(deps, [draft(1, source="A"), draft(2, source="B", day=date(2022, 9, 16))])
    assert len(store.incidents(IncidentFilter(limit=None))) == 2


def test_an_update_is_sent_on_a_higher_casualty_figure_only(store: Store, sink: SinkServer) -> None:
    clock = Clock()
    deps = make_deps(store, sink, clock, RuleSettings(name="r", update_on=("casualties",)))
    save(deps, [draft(1, source="A", killed=3)])
    deliver(deps)
    clock.advance(minutes=5)
    save(deps, [draft(2, source="B", killed=3)])  # new source, same figure: not material here
    deliver(deps)
    clock.advance(minutes=5)
    save(deps, [draft(3, source="C", killed=49)])
    deliver(deps)
    assert titles(sink, "/desk") == ["[Shelling] Jermuk, Armenia — 3 killed",
                                     "UPDATE [Shelling] Jermuk, Armenia — 49 killed"]


def test_sink_down_for_a_while_then_each_alert_is_delivered_once_and_current(store: Store, sink: SinkServer) -> None:
    clock = Clock()
    deps = make_deps(store, sink, clock)
    sink.fail_with(503)
    save(deps, [draft(1, source="A", killed=3)])
    for _ in range(3):
        deliver(deps)
        clock.advance(minutes=5)
    save(deps, [draft(2, source="B", killed=7)])  # material revision while the sink is still down
    deliver(deps)
    assert sink.delivered == [] and len(sink.received) >= 4
    sink.fail_with(None)
    for _ in range(4):
        clock.advance(minutes=2)
        deliver(deps)
    # One message per target, showing the newest figure; the update it covers is not sent on its own.
    assert titles(sink, "/desk") == ["[Shelling] Jermuk, Armenia — 7 killed"]
    assert titles(sink, "/ops") == ["[Shelling] Jermuk, Armenia — 7 killed"]
    assert store.outbox_counts() == {"sent": 4}


def test_an_alert_claimed_by_a_process_that_died_is_sent_once_after_its_lease_expires(
        store: Store, sink: SinkServer) -> None:
    clock = Clock()
    deps = make_deps(store, sink, clock)
    save(deps, [draft(1)])
    dead = store.claim_due_alerts("crashed-instance", clock(), 60, 100)  # written and claimed, never sent
    assert len(dead) == 2
    restarted = make_deps(store, sink, clock, owner="restarted")
    deliver(restarted)
    assert sink.received == []  # the lease still holds
    clock.advance(seconds=61)
    deliver(restarted)
    clock.advance(minutes=10)
    deliver(restarted)
    assert len(titles(sink, "/desk")) == 1 and len(titles(sink, "/ops")) == 1
    assert store.mark_alert_sent(dead[0].id, "crashed-instance", clock()) is False


def test_quiet_hours_hold_alerts_until_the_window_ends(store: Store, sink: SinkServer) -> None:
    clock = Clock()
    clock.now = datetime(2022, 9, 13, 20, 0, tzinfo=UTC)  # midnight in Yerevan
    quiet = QuietHours(start="22:00", end="07:00", timezone="Asia/Yerevan", override_severity=9.5)
    deps = make_deps(store, sink, clock, RuleSettings(name="night", targets=("desk",), quiet_hours=quiet))
    save(deps, [draft(1)])
    deliver(deps)
    assert sink.received == []
    clock.now = datetime(2022, 9, 14, 2, 59, tzinfo=UTC)
    deliver(deps)
    assert sink.received == []
    clock.now = datetime(2022, 9, 14, 3, 0, tzinfo=UTC)  # 07:00 local
    deliver(deps)
    assert len(titles(sink, "/desk")) == 1 and titles(sink, "/ops") == []


def test_cooldown_delays_the_next_alert_to_a_target(store: Store, sink: SinkServer) -> None:
    clock = Clock()
    deps = make_deps(store, sink, clock, RuleSettings(name="calm", targets=("desk",), cooldown_s=900))
    save(deps, [draft(1, place=PLACES[0])])
    deliver(deps)
    clock.advance(minutes=5)
    save(deps, [draft(2, place=PLACES[1], source="B")])
    deliver(deps)
    assert len(titles(sink, "/desk")) == 1
    clock.advance(minutes=9, seconds=59)
    deliver(deps)
    assert len(titles(sink, "/desk")) == 1
    clock.advance(seconds=1)
    deliver(deps)
    assert [t.split("] ")[1].split(",")[0] for t in titles(sink, "/desk")] == ["Jermuk", "Sotk"]


def test_a_burst_over_the_hourly_cap_becomes_one_digest(store: Store, sink: SinkServer) -> None:
    clock = Clock()
    deps = make_deps(store, sink, clock, RuleSettings(name="cap", targets=("desk",), max_per_hour=2))
    for i, place in enumerate(PLACES):
        save(deps, [draft(i, place=place, source=f"S{i}")])
        deliver(deps)
        clock.advance(minutes=1)
    assert len(titles(sink, "/desk")) == 2
    [digest] = store.outbox_rows(kind="digest")
    assert digest["status"] == "pending" and digest["idempotency_key"].startswith("digest:desk:")
    assert digest["next_attempt_at"] == T0 + timedelta(hours=1)  # when the window has room again
    assert len(digest["detail"]["incidents"]) == 3
    assert [r["status"] for r in store.outbox_rows(kind="incident", target="desk")].count("capped") == 3
    clock.now = T0 + timedelta(hours=1)
    deliver(deps)
    sent = titles(sink, "/desk")
    assert len(sent) == 3 and sent[2].startswith("Burst digest: 3 incidents")
    body = [r.body["message"] for r in sink.delivered if r.path == "/desk"][2]
    assert all(p.name in body for p in PLACES[2:])


def test_a_scheduled_digest_summarises_the_period_once_even_with_two_instances(store: Store, sink: SinkServer) -> None:
    clock = Clock()
    rule = RuleSettings(name="daily", targets=("ops",), digest_cron="0 6 * * *", countries=("AM",))
    one = make_deps(store, sink, clock, rule, owner="one")
    two = make_deps(store, sink, clock, rule, owner="two")
    clock.now = datetime(2022, 9, 13, 7, 0, tzinfo=UTC)
    save(one, [draft(1, place=PLACES[0], killed=3)])
    clock.now = datetime(2022, 9, 13, 20, 0, tzinfo=UTC)
    save(one, [draft(2, place=PLACES[2], source="B", killed=1)])
    clock.now = datetime(2022, 9, 14, 6, 0, 5, tzinfo=UTC)
    assert queue_digests(one) == 1 and queue_digests(two) == 0 and queue_digests(one) == 0
    [row] = store.outbox_rows(kind="digest")
    assert row["idempotency_key"] == "digest:ops:2022-09-13T06:00:00Z" and row["target"] == "ops"
    assert "2 incidents" in row["title"] and "Jermuk" in row["body"] and "Goris" in row["body"]
    assert "Killed (reported): 4" in row["body"]
    assert "/incidents/" not in row["body"]  # no dashboard address configured: no incident links


def test_a_scheduled_digest_links_each_incident_to_its_dashboard_page(store: Store, sink: SinkServer) -> None:
    clock = Clock()
    rule = RuleSettings(name="daily", targets=("ops",), digest_cron="0 6 * * *", countries=("AM",))
    deps = make_deps(store, sink, clock, rule)
    deps = dataclasses.replace(deps, settings=dataclasses.replace(
        deps.settings, api=ApiSettings(public_url="https://desk.example/monitor/")))
    clock.now = datetime(2022, 9, 13, 7, 0, tzinfo=UTC)
    save(deps, [draft(1, place=PLACES[0], killed=3)])
    clock.now = datetime(2022, 9, 14, 6, 0, 5, tzinfo=UTC)
    assert queue_digests(deps) == 1
    [row] = store.outbox_rows(kind="digest")
    [incident] = row["detail"]["incidents"]
    assert f"https://desk.example/monitor/incidents/{incident}" in row["body"]


def queue_local_digests(deps: Deps) -> int:
    """What the digest job does, with each rule's digest_timezone: the latest completed local period."""
    written = 0
    for rule, target in digest_targets(deps.settings.alerts):
        assert rule.digest_cron is not None
        period = cron_period(rule.digest_cron, deps.clock(), rule.digest_timezone)
        assert period is not None
        written += deps.store.queue_digest(rule, target, period[0], period[1], deps.owner, deps.clock())
    return written


def test_a_digest_in_a_local_time_zone_covers_the_local_day_across_the_clock_change(
        store: Store, sink: SinkServer) -> None:
    """06:00 in Kyiv is 04:00 UTC until the clocks go forward on 2022-03-27 (at 01:00 UTC), 03:00 UTC after:
    that period is 23 hours long, and reports are counted in the local day they fall in."""
    clock = Clock()
    rule = RuleSettings(name="kyiv", targets=("ops",), digest_cron="0 6 * * *", digest_timezone="Europe/Kyiv",
                        update_on=())
    deps = make_deps(store, sink, clock, rule)
    for when, n, place in ((datetime(2022, 3, 26, 3, 30), 1, PLACES[0]),  # 05:30 EET: the day before
                           (datetime(2022, 3, 26, 4, 30), 2, PLACES[1]),  # 06:30 EET (in UTC terms, 04:30)
                           (datetime(2022, 3, 27, 2, 30), 3, PLACES[2]),  # 05:30 EEST, after the change
                           (datetime(2022, 3, 27, 3, 30), 4, PLACES[3])):  # 06:30 EEST: the next day
        clock.now = when.replace(tzinfo=UTC)
        save(deps, [draft(n, place=place, source=f"S{n}", day=when.date())])
    clock.now = datetime(2022, 3, 27, 3, 0, 5, tzinfo=UTC)  # 06:00:05 EEST
    assert queue_local_digests(deps) == 1 and queue_local_digests(deps) == 0
    [row] = store.outbox_rows(kind="digest")
    assert row["idempotency_key"] == "digest:ops:2022-03-26T04:00:00Z"  # 06:00 EET the day before
    detail = row["detail"]
    assert (detail["period_start"], detail["period_end"]) == ("2022-03-26T04:00:00+00:00", "2022-03-27T03:00:00+00:00")
    assert "2 incidents" in row["title"] and "Sotk" in row["body"] and "Goris" in row["body"]
    assert "Jermuk" not in row["body"] and "Kapan" not in row["body"]
    clock.now = datetime(2022, 3, 28, 3, 0, 5, tzinfo=UTC)
    assert queue_local_digests(deps) == 1
    latest = store.outbox_rows(kind="digest")[-1]
    assert latest["idempotency_key"] == "digest:ops:2022-03-27T03:00:00Z" and "Kapan" in latest["body"]
    clock.now = datetime(2022, 3, 28, 3, 30, tzinfo=UTC)
    deliver(deps)
    digests = [t for t in titles(sink, "/ops") if t.startswith("Digest")]
    assert len(digests) == 2 and digests[0].startswith("Digest: 2 incidents")


def test_a_failing_feed_is_reported_down_once_and_recovered_once(store: Store, sink: SinkServer) -> None:
    clock = Clock()
    deps = make_deps(store, sink, clock, feed_down_after=3, feed_health_targets=("ops",))
    store.sync_feeds([FeedSettings(name="Flaky", url="https://user:secret@flaky.example/feed")], clock())

    def poll(ok: bool) -> None:
        [feed] = store.claim_due_feeds("me", clock(), 60, 10)
        outcome = FetchOutcome(ok=ok, now=clock(), next_fetch_at=clock(), status=200 if ok else 503,
                               error=None if ok else "unavailable", error_kind=None if ok else "http_503")
        store.record_fetch(feed, "me", outcome, deps.settings.alerts)
        deliver(deps)
        clock.advance(minutes=10)

    for ok in (False, False, True, False, False, False, False, False, True, True):
        poll(ok)
    sent = titles(sink, "/ops")
    assert sent == ["Feed down: Flaky", "Feed recovered: Flaky"] and titles(sink, "/desk") == []
    keys = [r["idempotency_key"] for r in store.outbox_rows()]
    assert keys[0].startswith("feed_down:1:") and keys[0].endswith(":ops") and keys[1].startswith("feed_up:1:")
    assert "secret" not in " ".join(r.body["message"] for r in sink.delivered)
