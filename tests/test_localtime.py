"""Local time of an incident place: the country's nearest tz zone, DST included, longitude fallback."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from monitor.models import FeedItem
from monitor.reading.classify import Classifier
from monitor.reading.localtime import local_time, parse_iso6709, zone_of
from monitor.settings import ClassifySettings


@pytest.mark.parametrize(
    ("text", "expected"),
    [("+4011+04430", (40 + 11 / 60, 44.5)), ("-3352+15113", (-(33 + 52 / 60), 151 + 13 / 60)),
     ("+404251-0740023", (40 + 42 / 60 + 51 / 3600, -(74 + 23 / 3600))), ("4011+04430", None), ("", None)],
)
def test_iso6709_points(text: str, expected: tuple[float, float] | None) -> None:
    got = parse_iso6709(text)
    if expected is None:
        assert got is None
    else:
        assert got == pytest.approx(expected)


@pytest.mark.parametrize(
    ("country", "lat", "lon", "zone"),
    [("AM", 39.84, 45.67, "Asia/Yerevan"), ("UA", 50.45, 30.52, "Europe/Kyiv"),
     ("RU", 43.12, 131.9, "Asia/Vladivostok"), ("RU", 51.73, 36.19, "Europe/Moscow"),
     ("US", 40.71, -74.0, "America/New_York")],
)
def test_a_place_takes_its_countrys_nearest_zone(country: str, lat: float, lon: float, zone: str) -> None:
    assert str(zone_of(country, lat, lon)) == zone


def test_daylight_saving_time_is_applied() -> None:
    winter = local_time(datetime(2022, 1, 16, 22, 30, tzinfo=UTC), "UA", 50.45, 30.52)
    summer = local_time(datetime(2022, 7, 16, 22, 30, tzinfo=UTC), "UA", 50.45, 30.52)
    assert (winter, summer) == (datetime(2022, 1, 17, 0, 30), datetime(2022, 7, 17, 1, 30))


def test_an_unknown_country_falls_back_to_mean_solar_time() -> None:
    assert local_time(datetime(2022, 9, 16, 22, 0, tzinfo=UTC), "XX", 40.0, 60.0) == datetime(2022, 9, 17, 2, 0)
    assert local_time(datetime(2022, 9, 16, 22, 0, tzinfo=UTC), None, None, None) == \
        datetime(2022, 9, 16, 22, 0, tzinfo=UTC)


def test_the_event_date_is_read_on_the_place_clock() -> None:
    # 21:30 UTC on Friday 16 September is 01:30 on Saturday in Yerevan: "on Saturday" is that day,
    # and in UTC (no place) it would have been the Saturday before.
    classifier = Classifier.from_settings(ClassifySettings())
    published = datetime(2022, 9, 16, 21, 30, tzinfo=UTC)
    item = FeedItem(title="Shelling hit Jermuk on Saturday, Armenia says", text="", url="https://example.org/1",
                    published_at=published)
    result = classifier.classify(item)
    assert result.place is not None and result.place.country == "AM"
    assert result.event_date == date(2022, 9, 17)
