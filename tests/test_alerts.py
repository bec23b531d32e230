"""Alert routing and timing, pure: rules by target/tag and score, quiet hours, cooldown, per-hour cap, updates,
digest schedules in a time zone across clock changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from apscheduler.schedulers.background import BackgroundScheduler

from monitor.alerts.digest import LocalCron, cron_period, crontab_trigger, digest_key, render_digest, schedules, trigger
from monitor.alerts.routing import TargetHistory, digest_targets, health_targets, plan_alerts, quiet_until, rule_matches
from monitor.incidents.ceasefires import active_ceasefire
from monitor.models import ArticleRef, IncidentView
from monitor.settings import AlertSettings, CeasefireSettings, QuietHours, RuleSettings, TargetSettings

T0 = datetime(2022, 9, 13, 12, 0, tzinfo=UTC)  # 16:00 in Yerevan
SCORE = 0.9  # the incident's best label score
SLACK = TargetSettings(name="desk-slack", url="slack://a/b/c", tags=("desk",))
MAIL = TargetSettings(name="desk-mail", url="mailtos://u:p@example.org", tags=("desk",))
OPS = TargetSettings(name="ops", url="json://127.0.0.1:9/ops", tags=("ops",))


def view(severity: float = 5.0, *, country: str = "AM", labels: tuple[str, ...] = ("shelling",),
         sources: int = 1, ceasefire: str | None = None, revision: int = 1, killed: int | None = 4) -> IncidentView:
    return IncidentView(id="INC-ABC234", revision=revision, title="Jermuk shelled", event_date=date(2022, 9, 13),
                        first_seen_at=T0, updated_at=T0, country=country, admin1="Vayots Dzor", place="Jermuk",
                        lat=39.84, lon=45.67, geo_precision="place", labels=labels, killed=killed, injured=None,
                        severity=severity, source_count=sources, ceasefire=ceasefire,
                        articles=(ArticleRef("x", "https://news.example/a", "Outlet", "Jermuk shelled", T0),))


def settings(*rules: RuleSettings, targets: tuple[TargetSettings, ...] = (SLACK, MAIL, OPS)) -> AlertSettings:
    return AlertSettings(targets=targets, rules=rules)


def test_without_rules_every_target_gets_one_alert_keyed_per_incident_revision_target() -> None:
    plans = plan_alerts(view(), ["new incident"], settings(), score=SCORE, now=T0)
    assert [p.idempotency_key for p in plans] == ["incident:INC-ABC234:1:desk-slack", "incident:INC-ABC234:1:desk-mail",
                                                  "incident:INC-ABC234:1:ops"]
    assert all(p.send_at == T0 and not p.held and not p.capped for p in plans)


def test_rules_route_by_tag_country_label_severity_sources_and_ceasefire() -> None:
    desk = RuleSettings(name="desk", targets=("desk",), countries=("AM", "AZ"), labels=("shelling",),
                        min_severity=3)
    ops = RuleSettings(name="ops", targets=("ops",), min_sources=2, ceasefire="AM-AZ")
    s = settings(desk, ops)
    assert {p.target.name for p in plan_alerts(view(), [], s, score=SCORE, now=T0)} == {"desk-slack", "desk-mail"}
    assert plan_alerts(view(country="UA"), [], s, score=SCORE, now=T0) == []
    assert plan_alerts(view(labels=("armed_clash",)), [], s, score=SCORE, now=T0) == []
    assert plan_alerts(view(severity=2.0), [], s, score=SCORE, now=T0) == []
    confirmed = view(sources=2, ceasefire="AM-AZ", country="UA")
    assert [p.target.name for p in plan_alerts(confirmed, [], s, score=SCORE, now=T0)] == ["ops"]
    assert plan_alerts(view(sources=2, country="UA"), [], s, score=SCORE, now=T0) == []


def test_min_score_routes_only_incidents_whose_best_label_score_reaches_it() -> None:
    strict = RuleSettings(name="strict", targets=("desk",), min_score=0.7)
    s = settings(strict)
    assert plan_alerts(view(), ["new incident"], s, score=0.69, now=T0) == []
    assert {p.target.name for p in plan_alerts(view(), ["new incident"], s, score=0.7, now=T0)} == \
        {"desk-slack", "desk-mail"}
    assert rule_matches(strict, view(), 0.6996)  # compared as classify prints it: 0.700
    assert not rule_matches(strict, view(), 0.6994)
    # The most permissive rule wins: a rule without min_score still routes a low-scoring incident.
    loose = RuleSettings(name="loose", targets=("ops",))
    [p] = plan_alerts(view(), ["new incident"], settings(strict, loose), score=0.5, now=T0)
    assert p.target.name == "ops" and p.rules == ("loose",)
    # Without rules every incident goes everywhere, whatever its score.
    assert len(plan_alerts(view(), ["new incident"], settings(), score=0.0, now=T0)) == 3


def test_an_update_goes_only_to_alerted_targets_and_only_on_a_material_revision() -> None:
    rule = RuleSettings(name="r", update_on=("casualties", "ceasefire"))
    s = settings(rule)
    alerted = frozenset({"desk-slack", "desk-mail", "ops"})
    assert plan_alerts(view(revision=2), ["new source"], s, alerted, score=SCORE, now=T0) == []
    assert plan_alerts(view(revision=2), ["label", "place"], s, alerted, score=SCORE, now=T0) == []
    plans = plan_alerts(view(revision=2), ["new source", "casualties"], s, alerted, score=SCORE, now=T0)
    assert [p.idempotency_key for p in plans][0] == "update:INC-ABC234:2:desk-slack" and len(plans) == 3
    sources = settings(RuleSettings(name="r", update_on=("sources",)))
    assert len(plan_alerts(view(revision=2), ["new source"], sources, alerted, score=SCORE, now=T0)) == 3
    never = settings(RuleSettings(name="r", update_on=()))
    assert plan_alerts(view(revision=2), ["casualties", "ceasefire"], never, alerted, score=SCORE, now=T0) == []


def test_quiet_hours_hold_an_alert_until_they_end_unless_it_is_severe_enough() -> None:
    quiet = QuietHours(start="22:00", end="07:00", timezone="Asia/Yerevan", override_severity=8.0)
    s = settings(RuleSettings(name="night", quiet_hours=quiet), targets=(SLACK,))
    night = datetime(2022, 9, 13, 20, 30, tzinfo=UTC)  # 00:30 in Yerevan
    [held] = plan_alerts(view(severity=5), [], s, score=SCORE, now=night)
    assert held.held == "quiet hours" and held.send_at == datetime(2022, 9, 14, 3, 0, tzinfo=UTC)  # 07:00 +04
    [severe] = plan_alerts(view(severity=9), [], s, score=SCORE, now=night)
    assert severe.held is None and severe.send_at == night
    [day] = plan_alerts(view(severity=5), [], s, score=SCORE, now=T0)
    assert day.held is None
    assert quiet_until(quiet, datetime(2022, 9, 13, 18, 0, tzinfo=UTC)) == datetime(2022, 9, 14, 3, 0, tzinfo=UTC)
    assert quiet_until(quiet, datetime(2022, 9, 13, 17, 59, tzinfo=UTC)) is None  # 21:59 local


def test_cooldown_holds_a_target_after_an_alert_and_the_most_permissive_rule_wins() -> None:
    slow = RuleSettings(name="slow", cooldown_s=900)
    s = settings(slow, targets=(SLACK,))
    recent = {"desk-slack": TargetHistory((T0 - timedelta(minutes=5),))}
    [p] = plan_alerts(view(), [], s, score=SCORE, now=T0, history=recent)
    assert p.held == "cooldown" and p.send_at == T0 + timedelta(minutes=10)
    old = {"desk-slack": TargetHistory((T0 - timedelta(minutes=20),))}
    assert plan_alerts(view(), [], s, score=SCORE, now=T0, history=old)[0].held is None
    fast = RuleSettings(name="fast", min_severity=4)
    [p] = plan_alerts(view(), [], settings(slow, fast, targets=(SLACK,)), score=SCORE, now=T0, history=recent)
    assert p.held is None and p.send_at == T0


def test_the_per_hour_cap_turns_the_rest_of_a_burst_into_a_digest() -> None:
    s = settings(RuleSettings(name="capped", max_per_hour=3), targets=(SLACK,))
    hist = TargetHistory()
    decisions = []
    for i in range(5):
        [p] = plan_alerts(view(), [], s, score=SCORE, now=T0 + timedelta(minutes=i), history={"desk-slack": hist})
        decisions.append(p.capped)
        if not p.capped:
            hist = hist.with_alert(p.send_at or T0)
    assert decisions == [False, False, False, True, True]
    [later] = plan_alerts(view(), [], s, score=SCORE, now=T0 + timedelta(minutes=61), history={"desk-slack": hist})
    assert not later.capped
    uncapped = settings(RuleSettings(name="capped", max_per_hour=3), RuleSettings(name="free"), targets=(SLACK,))
    assert not plan_alerts(view(), [], uncapped, score=SCORE, now=T0, history={"desk-slack": hist})[0].capped


def test_feed_health_and_digest_targets() -> None:
    s = AlertSettings(targets=(SLACK, MAIL, OPS), feed_health_targets=("ops",),
                      rules=(RuleSettings(name="d", targets=("desk",), digest_cron="0 6 * * *"),))
    assert [t.name for t in health_targets(s)] == ["ops"]
    assert [t.name for t in health_targets(AlertSettings())] == ["log"]
    assert [(r.name, t.name) for r, t in digest_targets(s)] == [("d", "desk-slack"), ("d", "desk-mail")]


def test_cron_periods_and_digest_keys() -> None:
    now = datetime(2022, 9, 14, 7, 30, tzinfo=UTC)
    assert cron_period("0 6 * * *", now) == (datetime(2022, 9, 13, 6, tzinfo=UTC), datetime(2022, 9, 14, 6, tzinfo=UTC))
    assert cron_period("*/15 * * * *", now) == (datetime(2022, 9, 14, 7, 15, tzinfo=UTC), now)  # a fire at now
    assert digest_key("desk", datetime(2022, 9, 13, 6, tzinfo=UTC)) == "digest:desk:2022-09-13T06:00:00Z"


def test_a_digest_lists_incidents_most_severe_first_with_counts_and_links() -> None:
    a = view(severity=3, ceasefire="AM-AZ", killed=2)
    b = IncidentView(**{**a.__dict__, "id": "INC-XYZ789", "severity": 8.5, "killed": 49, "place": "Sotk"})
    msg = render_digest([a, b], period_start=T0, period_end=T0 + timedelta(days=1), body_format="markdown")
    assert msg.title.startswith("Digest: 2 incidents")
    body = msg.body
    assert body.index("Sotk") < body.index("Jermuk") and "INC-XYZ789" in body and "**Killed (reported):** 51" in body
    assert "AM-AZ: 2" in body and "(<https://news.example/a>)" in body
    html = render_digest([a], period_start=T0, period_end=T0, body_format="html", burst=True)
    assert html.title.startswith("Burst digest") and '<a href="https://news.example/a">' in html.body
    linked = render_digest([a], period_start=T0, period_end=T0, body_format="markdown",
                           public_url="https://desk.example/")
    assert f"[{a.id} r{a.revision}](<https://desk.example/incidents/{a.id}>)" in linked.body
    assert "/incidents/" not in body  # without the dashboard's address, no incident links


def test_an_incident_in_a_declared_ceasefire_area_and_period_is_its_violation() -> None:
    truce = CeasefireSettings(name="AM-AZ 2022", parties=("Armenia", "Azerbaijan"), countries=("AM", "AZ"),
                              regions=("Vayots Dzor", "Syunik"), start="2022-09-14T20:00:00+04:00")
    args = {"country": "AM", "admin1": "Vayots Dzor"}
    assert active_ceasefire([truce], event_date=date(2022, 9, 15), **args) == "AM-AZ 2022"
    assert active_ceasefire([truce], event_date=date(2022, 9, 14), **args) == "AM-AZ 2022"  # 16:00 UTC that day
    assert active_ceasefire([truce], event_date=date(2022, 9, 13), **args) is None
    assert active_ceasefire([truce], country="AM", admin1="Gegharkunik", event_date=date(2022, 9, 15)) is None
    assert active_ceasefire([truce], country="AM", admin1=None, place="Syunik", event_date=date(2022, 9, 15))
    ended = CeasefireSettings(name="old", countries=("UA",), start="2015-02-15", end="2015-03-01")
    assert active_ceasefire([ended], country="UA", admin1=None, event_date=date(2015, 3, 2)) is None
    assert active_ceasefire([ended], country="UA", admin1=None, event_date=date(2015, 2, 20)) == "old"


# -- digest schedules in a time zone ---------------------------------------------------------------------------

KYIV = "Europe/Kyiv"  # EET +02:00; EEST +03:00 from 2022-03-27 03:00 (01:00 UTC) to 2022-10-30 04:00 (01:00 UTC)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def fires(cron: str, zone: str, start: datetime, end: datetime) -> list[datetime]:
    return list(LocalCron(cron, zone).fires(start, end))


def test_a_digest_schedule_follows_the_local_clock_across_daylight_saving_changes() -> None:
    # 06:00 in Kyiv: 04:00 UTC in winter, 03:00 UTC in summer; the periods around a change last 23 and 25 hours.
    assert cron_period("0 6 * * *", utc(2022, 3, 27, 3, 30), KYIV) == (utc(2022, 3, 26, 4), utc(2022, 3, 27, 3))
    assert cron_period("0 6 * * *", utc(2022, 3, 27, 2, 59), KYIV) == (utc(2022, 3, 25, 4), utc(2022, 3, 26, 4))
    assert cron_period("0 6 * * *", utc(2022, 10, 30, 4, 0), KYIV) == (utc(2022, 10, 29, 3), utc(2022, 10, 30, 4))
    assert cron_period("0 6 * * *", utc(2022, 10, 30, 3, 59), KYIV) == (utc(2022, 10, 28, 3), utc(2022, 10, 29, 3))
    # The same expression without a zone is read in UTC, as before.
    assert cron_period("0 6 * * *", utc(2022, 3, 27, 3, 30)) == (utc(2022, 3, 25, 6), utc(2022, 3, 26, 6))
    assert cron_period("0 6 * * *", utc(2022, 3, 27, 3, 30), "UTC") == cron_period("0 6 * * *", utc(2022, 3, 27, 3, 30))
    # Yerevan keeps one offset all year (+04:00); weekday 1 is Monday, as in crontab (2022-09-05 and 12).
    assert cron_period("0 8 * * 1", utc(2022, 9, 14), "Asia/Yerevan") == (utc(2022, 9, 5, 4), utc(2022, 9, 12, 4))


def test_crontab_weekday_numbers_count_from_sunday() -> None:
    """APScheduler 3 counts weekdays from Monday (its issue #286); digest_cron is a crontab expression."""
    week = utc(2022, 9, 11), utc(2022, 9, 18)  # Sunday 11th to Saturday 17th

    def days(cron: str) -> list[int]:
        return [at.day for at in LocalCron(cron).fires(*week)]

    assert days("0 8 * * 1") == [12] and days("0 8 * * 0") == days("0 8 * * 7") == [11]
    assert days("0 8 * * 1-5") == [12, 13, 14, 15, 16] and days("0 8 * * 5-7") == [11, 16, 17]
    assert days("0 8 * * */2") == [11, 13, 15, 17] and days("0 8 * * 1,3") == [12, 14]
    assert days("0 8 * * mon-fri") == [12, 13, 14, 15, 16] and days("0 8 * * sat,1") == [12, 17]


def test_a_time_the_clocks_skip_fires_at_the_change_and_a_repeated_one_once() -> None:
    # 03:30 does not exist in Kyiv on 2022-03-27 (03:00 -> 04:00): that day it fires at the change.
    assert fires("30 3 * * *", KYIV, utc(2022, 3, 25, 12), utc(2022, 3, 28, 12)) == [
        utc(2022, 3, 26, 1, 30), utc(2022, 3, 27, 1), utc(2022, 3, 28, 0, 30)]
    # 03:30 happens twice on 2022-10-30 (04:00 -> 03:00): it fires at the first, once.
    assert fires("30 3 * * *", KYIV, utc(2022, 10, 28, 12), utc(2022, 10, 31, 12)) == [
        utc(2022, 10, 29, 0, 30), utc(2022, 10, 30, 0, 30), utc(2022, 10, 31, 1, 30)]
    # Midnight skipped (Santiago, 2022-09-11 00:00 -> 01:00) and a half-hour change (Lord Howe).
    assert fires("0 0 * * *", "America/Santiago", utc(2022, 9, 10, 12), utc(2022, 9, 12, 12)) == [
        utc(2022, 9, 11, 4), utc(2022, 9, 12, 3)]
    assert fires("15 2 * * *", "Australia/Lord_Howe", utc(2022, 9, 30), utc(2022, 10, 3)) == [
        utc(2022, 9, 30, 15, 45), utc(2022, 10, 1, 15, 30), utc(2022, 10, 2, 15, 15)]


@pytest.mark.timeout(600)
@pytest.mark.parametrize("cron", ["* * * * *", "*/20 * * * *", "0 * * * *", "30 2 * * *", "0 3 * * 0"])
@pytest.mark.parametrize("zone", [KYIV, "America/New_York", "Australia/Lord_Howe", "Europe/Dublin", "UTC"])
def test_fire_times_always_advance_and_keep_the_wall_clock_through_clock_changes(cron: str, zone: str) -> None:
    """APScheduler's CronTrigger can return the same time again in a repeated hour (its issue #1021), which
    would hang the scheduler. LocalCron's fire times strictly increase, and each is a time the expression
    names on the local clock, or the moment the clocks skip one."""
    trig, wall = LocalCron(cron, zone), crontab_trigger(cron)
    spans = [(utc(2022, 1, 1), utc(2023, 1, 1))] if not cron.startswith("*") else [
        (utc(2022, 3, 12), utc(2022, 3, 14)), (utc(2022, 3, 26), utc(2022, 3, 28)),  # New York; Europe
        (utc(2022, 10, 1), utc(2022, 10, 3)), (utc(2022, 10, 29), utc(2022, 10, 31))]  # Lord Howe; Europe
    for start, end in spans:
        times = list(trig.fires(start, end))
        assert times and all(a < b for a, b in zip(times, times[1:], strict=False))
        for at in times:
            local = at.astimezone(trig._zone).replace(tzinfo=UTC)
            named = wall.get_next_fire_time(None, local) == local
            skipped = at.astimezone(trig._zone).utcoffset() != (at - timedelta(seconds=1)).astimezone(
                trig._zone).utcoffset()
            assert named or skipped, at


def test_the_daemon_trigger_reads_the_rule_time_zone() -> None:
    kyiv = trigger("0 6 * * *", KYIV)
    assert kyiv.get_next_fire_time(None, utc(2022, 3, 27, 2)) == utc(2022, 3, 27, 3)
    assert kyiv.get_next_fire_time(None, utc(2022, 3, 27, 3)) == utc(2022, 3, 27, 3)  # at or after now
    assert kyiv.get_next_fire_time(utc(2022, 3, 27, 3), utc(2022, 3, 27, 3)) == utc(2022, 3, 28, 3)
    # A missed fire comes back first (the scheduler then coalesces), then the schedule resumes.
    assert kyiv.get_next_fire_time(utc(2022, 3, 25, 4), utc(2022, 3, 27, 12)) == utc(2022, 3, 26, 4)
    assert str(kyiv) == "cron['0 6 * * *' Europe/Kyiv]"
    rules = (RuleSettings(name="a", digest_cron="0 6 * * *"), RuleSettings(name="b", digest_cron="0 6 * * *"),
             RuleSettings(name="c", digest_cron="0 6 * * *", digest_timezone=KYIV), RuleSettings(name="d"))
    jobs = dict(schedules(AlertSettings(rules=rules)))
    assert sorted(jobs) == ["digest:0 6 * * *", "digest:0 6 * * *@Europe/Kyiv"]
    assert jobs["digest:0 6 * * *"].get_next_fire_time(None, utc(2022, 3, 27, 2)) == utc(2022, 3, 27, 6)
    scheduler = BackgroundScheduler(timezone="UTC")
    scheduler.start(paused=True)
    try:
        job = scheduler.add_job(print, kyiv, id="digest")
        assert job.next_run_time > datetime.now(UTC)
        assert job.next_run_time.astimezone(kyiv._zone).strftime("%H:%M") == "06:00"
    finally:
        scheduler.shutdown(wait=False)
