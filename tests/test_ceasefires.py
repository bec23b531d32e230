"""monitor.ceasefires: a ceasefire's period is compared by time on the days it starts and ends."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest

from monitor.incidents.ceasefires import Bound, active_ceasefire, in_period, parse_bound
from monitor.incidents.group import ArticleDraft
from monitor.models import Casualties, Classification, FeedItem, IncidentView, LabelHit, Place
from monitor.settings import AlertSettings, CeasefireSettings, TargetSettings
from monitor.store import IncidentFilter, Store

YEREVAN = timezone(timedelta(hours=4))
START_DAY = date(2022, 9, 14)
# As config_values.instant() stores `start = 2022-09-14T20:00:00+04:00`: 16:00 UTC.
TRUCE = CeasefireSettings(name="AM-AZ 2022", countries=("AM", "AZ"), regions=("Vayots Dzor",),
                          start="2022-09-14T16:00:00Z", end="2022-09-30T12:00:00Z")
WHERE: dict[str, Any] = {"country": "AM", "admin1": "Vayots Dzor"}


def at(hour: int, minute: int = 0, *, day: date = START_DAY, tz: timezone = YEREVAN) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz)


@pytest.mark.parametrize(("value", "expected"), [
    (None, None),
    ("", None),
    ("2022-09-14", Bound(START_DAY)),
    ("2022-09-14T16:00:00Z", Bound(START_DAY, datetime(2022, 9, 14, 16, tzinfo=UTC))),
    ("2022-09-14T20:00:00+04:00", Bound(START_DAY, datetime(2022, 9, 14, 16, tzinfo=UTC))),
    ("2022-09-14T20:00+04:00", Bound(START_DAY, datetime(2022, 9, 14, 16, tzinfo=UTC))),
    ("2022-09-15T02:00:00+04:00", Bound(START_DAY, datetime(2022, 9, 14, 22, tzinfo=UTC))),  # a UTC day earlier
    ("2022-09-14 20:00:00", Bound(START_DAY, datetime(2022, 9, 14, 20, tzinfo=UTC))),  # no offset: UTC
])
def test_bounds_accept_dates_and_date_times_with_or_without_offsets(value: str | None,
                                                                    expected: Bound | None) -> None:
    assert parse_bound(value) == expected


def test_on_the_start_day_a_report_before_the_start_hour_is_no_violation() -> None:
    # The truce took effect at 20:00 Yerevan time; shelling reported that morning preceded it.
    assert not in_period(TRUCE, START_DAY, at(9))
    assert active_ceasefire([TRUCE], event_date=START_DAY, reported_at=at(9), **WHERE) is None
    assert active_ceasefire([TRUCE], event_date=START_DAY, reported_at=at(19, 59), **WHERE) is None


def test_on_the_start_day_a_report_after_the_start_hour_is_a_violation() -> None:
    assert in_period(TRUCE, START_DAY, at(23))
    assert active_ceasefire([TRUCE], event_date=START_DAY, reported_at=at(23), **WHERE) == "AM-AZ 2022"
    assert active_ceasefire([TRUCE], event_date=START_DAY, reported_at=at(20), **WHERE) == "AM-AZ 2022"  # inclusive
    # The same instants given in UTC decide alike.
    assert not in_period(TRUCE, START_DAY, datetime(2022, 9, 14, 5, tzinfo=UTC))
    assert in_period(TRUCE, START_DAY, datetime(2022, 9, 14, 19, tzinfo=UTC))


def test_a_report_published_after_the_start_day_about_it_counts() -> None:
    # Dated (from its text) to the start day, published the next morning: the time of day is unknown.
    assert in_period(TRUCE, START_DAY, at(8, day=date(2022, 9, 15)))


def test_without_a_published_time_the_whole_start_day_counts() -> None:
    assert in_period(TRUCE, START_DAY)
    assert active_ceasefire([TRUCE], event_date=START_DAY, **WHERE) == "AM-AZ 2022"


def test_days_strictly_inside_or_outside_the_period_ignore_the_time() -> None:
    assert in_period(TRUCE, date(2022, 9, 15), at(1, day=date(2022, 9, 15)))
    assert not in_period(TRUCE, date(2022, 9, 13), at(23, day=date(2022, 9, 13)))
    assert not in_period(TRUCE, date(2022, 10, 1), at(1, day=date(2022, 10, 1)))


def test_on_the_end_day_only_reports_up_to_the_end_hour_count() -> None:
    end_day = date(2022, 9, 30)
    assert in_period(TRUCE, end_day, datetime(2022, 9, 30, 11, 59, tzinfo=UTC))
    assert in_period(TRUCE, end_day, datetime(2022, 9, 30, 12, tzinfo=UTC))  # inclusive
    assert not in_period(TRUCE, end_day, datetime(2022, 9, 30, 12, 1, tzinfo=UTC))
    assert in_period(TRUCE, end_day)


def test_plain_date_bounds_cover_their_whole_days() -> None:
    dated = CeasefireSettings(name="dated", countries=("UA",), start="2015-02-15", end="2015-03-01")
    assert in_period(dated, date(2015, 2, 15), datetime(2015, 2, 15, 0, 0, tzinfo=UTC))
    assert in_period(dated, date(2015, 3, 1), datetime(2015, 3, 1, 23, 59, tzinfo=UTC))
    assert not in_period(dated, date(2015, 2, 14), datetime(2015, 2, 14, 23, 59, tzinfo=UTC))
    assert not in_period(dated, date(2015, 3, 2))


def test_an_offset_start_on_the_previous_utc_day_is_compared_in_utc() -> None:
    # 02:00 Yerevan time on 15 September is 22:00 UTC on the 14th: event dates are UTC dates.
    late = CeasefireSettings(name="late", countries=("AM",), start="2022-09-15T02:00:00+04:00")
    assert not in_period(late, START_DAY, datetime(2022, 9, 14, 21, tzinfo=UTC))
    assert in_period(late, START_DAY, at(2, day=date(2022, 9, 15)))  # 22:00 UTC on the 14th
    assert in_period(late, date(2022, 9, 15), at(1, day=date(2022, 9, 15)))  # 21:00 UTC on the 14th, dated the 15th


def test_naive_published_times_are_taken_as_utc() -> None:
    assert not in_period(TRUCE, START_DAY, datetime(2022, 9, 14, 15, 59))
    assert in_period(TRUCE, START_DAY, datetime(2022, 9, 14, 16, 0))


def test_open_ended_and_unbounded_ceasefires() -> None:
    open_ended = CeasefireSettings(name="open", countries=("AM",), start="2022-09-14T16:00:00Z")
    assert in_period(open_ended, date(2030, 1, 1), datetime(2030, 1, 1, tzinfo=UTC))
    assert in_period(CeasefireSettings(name="always", countries=("AM",)), START_DAY, at(9))


# -- through the store: the published time of the incident's articles decides on the start day ----------

JERMUK = Place(name="Jermuk", country="AM", admin1="Vayots Dzor", lat=39.84, lon=45.67, precision="place",
               geonameid=616629)
ALERTS = AlertSettings(targets=(TargetSettings(name="a", url="json://127.0.0.1:1/a"),))

def _render(view: IncidentView, kind: str, reasons: Sequence[str], url: str) -> tuple[str, str, str]:
    return f"{kind} {view.id}", ",".join(reasons), "text"


def _draft(n: int, published: datetime, *, source: str = "Outlet") -> ArticleDraft:
    item = FeedItem(title="Azerbaijani artillery shelled Jermuk", text="Mortars and artillery hit the town of Jermuk.",
                    url=f"https://news.example/{n}", source=source, published_at=published)
    c = Classification(labels=(LabelHit("shelling", 0.9, ("shelled",)),), score=0.9, countries=("AM",),
                       place=JERMUK, places=(JERMUK,), killed=Casualties(count=None), event_date=START_DAY)
    utc = published.astimezone(UTC)
    return ArticleDraft(item=item, fingerprint=f"fp-{n}", classification=c, published_at=utc, first_seen_at=utc)


def _save(store: Store, drafts: list[ArticleDraft]) -> list[IncidentView]:
    now = max(d.published_at for d in drafts)
    store.save_feed_items(None, "test", drafts, None, alerts=ALERTS, ceasefires=(TRUCE,), render=_render, now=now)
    return store.incidents(IncidentFilter(limit=None))


def test_a_stored_incident_after_the_start_hour_is_a_violation(store: Store) -> None:
    [view] = _save(store, [_draft(1, at(23))])
    assert view.ceasefire == "AM-AZ 2022"


def test_a_stored_incident_reported_before_the_start_hour_is_no_violation(store: Store) -> None:
    [view] = _save(store, [_draft(1, at(9))])
    assert view.ceasefire is None


def test_a_later_report_of_an_incident_first_reported_before_the_start_hour_does_not_make_it_one(
        store: Store) -> None:
    _save(store, [_draft(1, at(9), source="A")])
    [view] = _save(store, [_draft(2, at(23), source="B")])
    assert view.source_count == 2 and view.ceasefire is None
