"""The event date of a report, resolved against its publication time.

Recognised (English and Russian): explicit dates ("on 2 May 2020", "September 12", "12 сентября
2022 года", "12.09.2022"), weekdays ("on Tuesday", "во вторник": the latest such day on or before
publication), "yesterday"/"вчера"/"накануне", "last night" (the night before), "today"/"this morning"/"сегодня",
"overnight"/"ночью" (the night before, unless published in the evening), "over the past day"/"за сутки"
(the day before for a morning bulletin, its own day after noon),
and nights ("on the night of September 12", "в ночь на 13 сентября": the date named). The first
expression that falls within the plausible window (a few weeks before publication, not after it)
wins; else the first explicit date; with none, a current report's event date is its publication date.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from monitor.reading.rules import lower_text, trie_pattern

_MONTHS = {
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4, "apr": 4, "may": 5,
    "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8, "september": 9, "sept": 9, "sep": 9,
    "october": 10, "oct": 10, "november": 11, "nov": 11, "december": 12, "dec": 12,
    "января": 1, "февраля": 2, "марта": 3, "апреля": 4, "мая": 5, "июня": 6, "июля": 7, "августа": 8,
    "сентября": 9, "октября": 10, "ноября": 11, "декабря": 12,
}
_WEEKDAYS = {
    "monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4, "saturday": 5, "sunday": 6,
    "понедельник": 0, "вторник": 1, "среду": 2, "среда": 2, "четверг": 3, "пятницу": 4, "пятница": 4,
    "субботу": 5, "суббота": 5, "воскресенье": 6,
}
_NIGHT = 99  # "overnight": the night before a report of the day, tonight for an evening one
_PAST_DAY = 98  # "over the past day": the date holding most of the 24 hours before publication
_RELATIVE = {
    "yesterday": -1, "вчера": -1, "накануне": -1, "вчерашн": -1, "today": 0, "сегодня": 0, "overnight": _NIGHT,
    "this morning": 0, "earlier today": 0, "tonight": 0, "last night": -1, "ночью": _NIGHT,
    "этой ночью": _NIGHT, "минувшей ночью": -1, "прошлой ночью": -1, "утром": 0, "сегодня утром": 0,
    "the day before": -1, "позавчера": -2, "two days ago": -2,
    # Daily bulletins ("in the past day the other side broke the truce four times"): a morning
    # bulletin covers the day before, an evening one mostly its own day.
    "over the past day": _PAST_DAY, "in the past day": _PAST_DAY, "past 24 hours": _PAST_DAY,
    "last 24 hours": _PAST_DAY, "за сутки": _PAST_DAY, "за минувшие сутки": _PAST_DAY,
    "за прошедшие сутки": _PAST_DAY, "за последние сутки": _PAST_DAY,
}
_MONTH = trie_pattern(list(_MONTHS))
# A month's name holds one of these (the names holding no other: "sep", not "sept" or "september").
_MONTH_NEEDS = tuple(name for name in _MONTHS if not any(other != name and other in name for other in _MONTHS))
# The patterns are written to begin with a character class or literal, so the regex engine skips
# straight to the characters a match can begin with instead of trying the pattern at every
# character. A look-behind that must hold before a match is checked after its first character:
# `\d(?<!\d\d)` is `(?<!\d)\d`, `\d(?:(?<=[0-3])\d)?` is `[0-3]?\d`, `[12](?<!\d[12])(?:(?<=1)9|(?<=2)0)`
# is `(?<!\d)(?:19|20)` (tests/test_dates.py checks each pattern against its plain form).
_DAY_MONTH = re.compile(rf"(?P<d>\d(?<!\d\d)(?:(?<=[0-3])\d)?)(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<m>{_MONTH})\.?"
                        rf"(?:,?\s+(?P<y>(?:19|20)\d\d))?")
_MONTH_DAY = re.compile(rf"(?P<m>{_MONTH})\.?\s+(?P<d>[0-3]?\d)(?:st|nd|rd|th)?(?!\d)"
                        rf"(?:,?\s+(?P<y>(?:19|20)\d\d))?")
_NUMERIC = re.compile(r"(?P<d>\d(?<![\d.]\d)(?:(?<=[0-3])\d)?)\.(?P<m>[01]?\d)\.(?P<y>(?:19|20)\d\d)(?![\d.])")
_ISO = re.compile(r"(?P<y>[12](?<!\d[12])(?:(?<=1)9|(?<=2)0)\d\d)-(?P<m>[01]\d)-(?P<d>[0-3]\d)(?!\d)")
_WEEKDAY = re.compile(r"(?<!\w)(?:on\s+|в\s+|во\s+)?(?P<w>" + trie_pattern(list(_WEEKDAYS)) + r")(?!\w)")
# Strings one of which every weekday match holds: a text without any is not searched.
_WEEKDAY_NEEDS = ("day", "понедельник", "вторник", "сред", "четверг", "пятниц", "суббот", "воскресень")
_REL = re.compile(r"(?<!\w)(?P<r>" + trie_pattern(list(_RELATIVE)) + r")")
# A match is one of _RELATIVE's phrases, so it holds one that holds no other phrase: a text without
# any of those is not searched.
_REL_NEEDS = tuple(phrase for phrase in _RELATIVE
                   if not any(other != phrase and other in phrase for other in _RELATIVE))
_DIGIT = re.compile(r"\d")  # (\d as the date patterns read it: any decimal digit, not 0-9 only)
_LOOKBACK_DAYS = 40  # an explicit date older than this is background, not the reported incident
_EVENING = 18  # local hour: "overnight" in a report published before it is the night before
_NOON = 12  # local hour: "the past day" of a report published before it is mostly the day before
# The date of a dateline ("KHARTOUM, May 26. Fighting broke out on Thursday") is when the report was
# filed, not when the incident happened.
_DATELINE_BEFORE = re.compile(r"(?:^|\n)\s*[A-Z][A-Z /.'’-]{2,}(?:\([^)]*\))?,\s*$")


def resolve_event_date(text: str, lang: str, published: datetime | None, lowered: str | None = None) -> date | None:
    """The date the reported incident happened, or None when it cannot be told.

    `published` is best given in the incident place's local time (monitor.localtime), so "on
    Saturday" in a report published at 22:51 UTC on Friday from Azerbaijan means that Saturday.
    `lowered`: lower_text(text), when known.
    """
    del lang
    if lowered is None:
        lowered = lower_text(text)  # the patterns are lower case: case-insensitive matching is much slower
    pub = published.date() if published else None
    explicit = [(pos, day) for pos, day in _explicit(lowered, pub) if not _dateline_before(text, pos)]
    hour = published.hour if published is not None else 0
    shifts = {_NIGHT: -1 if hour < _EVENING else 0, _PAST_DAY: -1 if hour < _NOON else 0}
    candidates = sorted(explicit + _relative(lowered, pub, shifts), key=lambda c: c[0])
    for _, day in candidates:
        if pub is None or (pub - timedelta(days=_LOOKBACK_DAYS) <= day <= pub + timedelta(days=1)):
            return day
    # Only background dates: a text that dates its report explicitly is taken at its word.
    return min(explicit)[1] if explicit else pub


def _dateline_before(text: str, pos: int) -> bool:
    """Whether text[:pos] ends with a dateline. (It then ends with a comma and white space: tested
    first, because the pattern is tried at every character of the text before the date.)"""
    head = text[:pos]
    return head.rstrip().endswith(",") and _DATELINE_BEFORE.search(head) is not None


def _explicit(text: str, pub: date | None) -> list[tuple[int, date]]:
    found: list[tuple[int, date]] = []
    if _DIGIT.search(text) is None:  # every explicit date has one
        return found
    named = any(map(text.__contains__, _MONTH_NEEDS))  # the patterns with a month's name need one
    for regex in (_DAY_MONTH, _MONTH_DAY, _NUMERIC, _ISO) if named else (_NUMERIC, _ISO):
        for m in regex.finditer(text):
            day = _make_date(m.group("y"), m.group("m"), m.group("d"), pub)
            if day is not None:
                found.append((m.start(), day))
    return found


def _make_date(year: str | None, month: str, day: str, pub: date | None) -> date | None:
    month_number = int(month) if month.isdigit() else _MONTHS.get(month.lower().rstrip("."))
    if month_number is None:
        return None
    if year is None and pub is None:
        return None
    try:
        if year is not None:
            return date(int(year), month_number, int(day))
        assert pub is not None
        guess = date(pub.year, month_number, int(day))
    except ValueError:
        return None
    # "December 30" in a January article is last year's December.
    if guess <= pub + timedelta(days=1):
        return guess
    try:
        return guess.replace(year=pub.year - 1)
    except ValueError:  # 29 February of a leap year, a year back
        return None


def _relative(text: str, pub: date | None, shifts: dict[int, int]) -> list[tuple[int, date]]:
    if pub is None:
        return []
    found = []
    relative = _REL.finditer(text) if any(map(text.__contains__, _REL_NEEDS)) else ()
    for m in relative:
        shift = _RELATIVE[m.group("r")]
        found.append((m.start(), pub + timedelta(days=shifts.get(shift, shift))))
    weekdays = _WEEKDAY.finditer(text) if any(map(text.__contains__, _WEEKDAY_NEEDS)) else ()
    for m in weekdays:
        back = (pub.weekday() - _WEEKDAYS[m.group("w").lower()]) % 7
        found.append((m.start(), pub - timedelta(days=back)))
    return found
