"""Event dates resolved against publication time."""

from __future__ import annotations

import random
import re
from datetime import UTC, date, datetime

import pytest

from monitor.reading import dates
from monitor.reading.dates import resolve_event_date
from monitor.reading.localtime import local_time

PUB = datetime(2022, 9, 14, 8, 0, tzinfo=UTC)  # a Wednesday


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Azerbaijan shelled Jermuk on Tuesday", date(2022, 9, 13)),
        ("Armenian positions came under fire yesterday", date(2022, 9, 13)),
        ("Heavy fighting overnight along the border", date(2022, 9, 13)),  # a morning report: last night
        ("On the night of September 12 the attack began", date(2022, 9, 12)),
        ("On 2 May 2020, forces shelled the village", date(2020, 5, 2)),
        ("Обстрел произошел вчера вечером", date(2022, 9, 13)),
        ("Во вторник армия обстреляла село", date(2022, 9, 13)),
        ("В ночь на 13 сентября начались бои", date(2022, 9, 13)),
        ("Shelling hit the town, officials said", date(2022, 9, 14)),
        ("On Wednesday morning drones struck the depot", date(2022, 9, 14)),
    ],
)
def test_resolves_against_publication(text: str, expected: date) -> None:
    assert resolve_event_date(text, "en", PUB) == expected


def test_date_without_year_in_january_is_last_december() -> None:
    pub = datetime(2023, 1, 3, 8, tzinfo=UTC)
    assert resolve_event_date("Shelling on December 30 killed two", "en", pub) == date(2022, 12, 30)


def test_old_background_date_is_skipped_for_a_recent_one() -> None:
    text = "The truce agreed on 10 November 2020 was broken on Tuesday"
    assert resolve_event_date(text, "en", PUB) == date(2022, 9, 13)


def test_without_publication_time_only_full_dates_count() -> None:
    assert resolve_event_date("Clashes on Tuesday", "en", None) is None
    assert resolve_event_date("On 7 June 2021, fighting resumed", "en", None) == date(2021, 6, 7)


def test_overnight_in_an_evening_report_is_the_same_day() -> None:
    evening = datetime(2022, 9, 14, 19, 0, tzinfo=UTC)
    assert resolve_event_date("Drones attacked the city overnight", "en", evening) == date(2022, 9, 14)


def test_daily_bulletin_covers_the_day_before() -> None:
    assert resolve_event_date("In the past day, militants shelled frontline villages nine times", "en", PUB) == \
        date(2022, 9, 13)
    assert resolve_event_date("За сутки зафиксировано 14 обстрелов", "ru", PUB) == date(2022, 9, 13)


def test_dateline_date_is_the_filing_date() -> None:
    text = "Clashes in Aleppo\nALEPPO, March 9. Shelling resumed on Tuesday despite the truce"
    assert resolve_event_date(text, "en", datetime(2023, 3, 9, 6, tzinfo=UTC)) == date(2023, 3, 7)


def test_local_time_of_the_place_decides_the_weekday() -> None:
    late_sunday_utc = datetime(2023, 5, 7, 21, 30, tzinfo=UTC)  # 00:30 on Monday at UTC+3
    text = "Two civilians were wounded, officials said on Monday"
    local = local_time(late_sunday_utc, "IQ", 33.3, 44.4)  # Baghdad, UTC+3
    assert resolve_event_date(text, "en", local) == date(2023, 5, 8)
    assert resolve_event_date(text, "en", late_sunday_utc) == date(2023, 5, 1)


@pytest.mark.parametrize(
    ("text", "hour", "expected"),
    [
        ("Drones attacked the city overnight", 14, date(2022, 9, 13)),  # an afternoon report: last night
        ("Drones attacked the city overnight", 21, date(2022, 9, 14)),  # an evening report: tonight
        ("Shelling hit the town last night, officials said", 21, date(2022, 9, 13)),  # always the night before
        ("Прошлой ночью обстреляли город", 21, date(2022, 9, 13)),
        ("Over the past day the enemy violated the ceasefire 12 times", 8, date(2022, 9, 13)),  # morning bulletin
        ("Over the past day the enemy violated the ceasefire 12 times", 19, date(2022, 9, 14)),  # evening bulletin
        ("За сутки зафиксировано 14 обстрелов", 19, date(2022, 9, 14)),
    ],
)
def test_nights_and_past_days_depend_on_the_local_hour(text: str, hour: int, expected: date) -> None:
    assert resolve_event_date(text, "en", datetime(2022, 9, 14, hour, 0)) == expected


# The date patterns as first written; dates.py writes them to begin with a character class (faster
# to search) and must find exactly the same matches.
PLAIN_FORMS = {
    "_DAY_MONTH": r"(?<!\d)(?P<d>[0-3]?\d)(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<m>{month})\.?(?:,?\s+(?P<y>(?:19|20)\d\d))?",
    "_NUMERIC": r"(?<![\d.])(?P<d>[0-3]?\d)\.(?P<m>[01]?\d)\.(?P<y>(?:19|20)\d\d)(?![\d.])",
    "_ISO": r"(?<!\d)(?P<y>(?:19|20)\d\d)-(?P<m>[01]\d)-(?P<d>[0-3]\d)(?!\d)",
}
MADE_UP = [
    "On 12 May 2021 and 3rd of june, 1999, then 31.12.2020 or 2020-01-05; 112 may 4.5.2019x",
    "Talks on 05.09.2022 (1.05.2022.) and 2019-13-01, 20190-01-01, 02 sept. 2024, 7 мая 2023 года",
    "12 сентября 2022 года, 3 декабря, 9.9.1999, 19.9.2099.1, 12th march",
]


def _matches(regex: re.Pattern[str], text: str) -> list[tuple[tuple[int, int], dict[str, str | None]]]:
    return [(m.span(), m.groupdict()) for m in regex.finditer(text)]


@pytest.mark.parametrize("name", sorted(PLAIN_FORMS))
def test_date_patterns_find_what_their_plain_forms_find(name: str) -> None:
    fast = getattr(dates, name)
    plain = re.compile(PLAIN_FORMS[name].replace("{month}", dates._MONTH))
    rng = random.Random(3)
    words = [*"0123456789.- ,", " ", "12", "31", "st", "th", "of ", "may", "june", "sept", "сентября", "2020", "٣", "x"]
    texts = MADE_UP + ["".join(rng.choice(words) for _ in range(rng.randrange(0, 30))) for _ in range(3000)]
    edges = ["", "", "1", "0", ".", "-", " ", "x", "٣"]
    days, years = ["1", "3", "9", "12", "31", "40", "09", "٣"], ["1999", "2020", "2099", "1899", "20", "19"]
    for _ in range(3000):  # numeric dates, day first and year first, with their edges and separators varied
        sep = rng.choice([".", ".", "-", "-", ","])
        for parts in ((rng.choice(days), rng.choice(days), rng.choice(years)),
                      (rng.choice(years), rng.choice(days), rng.choice(days))):
            texts.append(rng.choice(edges) + sep.join(parts) + rng.choice(edges))
    found = 0
    for text in texts:
        assert _matches(fast, text) == _matches(plain, text), text
        found += bool(_matches(plain, text))
    assert found > 20  # the texts do hold dates


def test_weekday_needs_cover_every_weekday() -> None:
    for word in dates._WEEKDAYS:
        assert any(need in word for need in dates._WEEKDAY_NEEDS), word


def test_relative_phrases_are_looked_for_in_texts_holding_one() -> None:
    for phrase in dates._RELATIVE:
        assert any(need in phrase for need in dates._REL_NEEDS), phrase
    assert "yesterday" in dates._REL_NEEDS and "сегодня утром" not in dates._REL_NEEDS  # holds "сегодня"
    published = datetime(2022, 9, 14, 8, tzinfo=UTC)
    assert resolve_event_date("Сегодня утром начался обстрел", "ru", published) == date(2022, 9, 14)
    assert resolve_event_date("Shelling resumed the day before", "en", published) == date(2022, 9, 13)


def test_dates_with_month_names_are_looked_for_in_texts_holding_a_month() -> None:
    for name in dates._MONTHS:
        assert any(need in name for need in dates._MONTH_NEEDS), name
    published = datetime(2022, 9, 14, 8, tzinfo=UTC)
    assert resolve_event_date("Shelling on Sept. 3 hit the depot", "en", published) == date(2022, 9, 3)
    assert resolve_event_date("Обстрел 2 сентября", "ru", published) == date(2022, 9, 2)
    assert resolve_event_date("Shelling on 3.09.2022 hit the depot", "en", published) == date(2022, 9, 3)


@pytest.mark.parametrize("text", [
    "Clashes in Aleppo\nALEPPO, March 9. Shelling resumed on Tuesday despite the truce",
    "İDLİB, 12 September 2022 - shelling overnight",
    "Shelling in March, a month of truce, resumed on Tuesday",  # a month's name and no digit
])
def test_the_lowered_text_given_by_classify_changes_nothing(text: str) -> None:
    from monitor.reading.rules import lower_text

    published = datetime(2022, 9, 14, 8, tzinfo=UTC)
    assert resolve_event_date(text, "en", published, lower_text(text)) == resolve_event_date(text, "en", published)


def test_a_text_without_digits_is_dated_by_its_words() -> None:
    assert resolve_event_date("Shelling in March, a month of truce, resumed on Tuesday", "en", PUB) == \
        date(2022, 9, 13)
