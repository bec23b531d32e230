"""The ceasefire registry: which declared ceasefire an incident falls under. Pure.

A ceasefire declared in the configuration (name, parties, countries and/or regions, start, end or open)
makes every incident inside its area and period a violation of it, whether or not any article says
"ceasefire": the incident records the ceasefire's name, alerts show it, rules can select on it, and
`ceasefire-monitor ceasefires` counts them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime

from monitor.settings import CeasefireSettings


def _as_date(value: str | None) -> date | None:
    """A ceasefire bound as a UTC date: a date-time is converted to UTC first (20:00 in Yerevan, UTC+4, on
    14 September is 16:00 UTC the same day)."""
    if not value:
        return None
    if "T" not in value and " " not in value.strip():
        return date.fromisoformat(value)
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return (moment.astimezone(UTC) if moment.tzinfo else moment).date()


def in_period(cf: CeasefireSettings, event_date: date) -> bool:
    """Whether `event_date` is within the ceasefire's period, both ends inclusive (event dates have no
    time of day, so the day a truce took effect counts: reports of that day's fire are what users want)."""
    start, end = _as_date(cf.start), _as_date(cf.end)
    return not (start and event_date < start or end and event_date > end)


def in_area(cf: CeasefireSettings, *, country: str | None, admin1: str | None, place: str | None = None) -> bool:
    """Whether a location is in the ceasefire's area. With regions, only those regions (admin1 names, or a
    place of that name) count, and only within the listed countries if any; else the whole countries."""
    if cf.regions:
        wanted = {r.casefold() for r in cf.regions}
        named = {n.casefold() for n in (admin1, place) if n}
        return bool(wanted & named) and (not cf.countries or country is None or country in cf.countries)
    return country is not None and country in cf.countries


def active_ceasefire(ceasefires: Sequence[CeasefireSettings], *, country: str | None, admin1: str | None,
                     event_date: date, place: str | None = None) -> str | None:
    """The name of the first declared ceasefire whose area and period contain the incident, else None."""
    for cf in ceasefires:
        if in_period(cf, event_date) and in_area(cf, country=country, admin1=admin1, place=place):
            return cf.name
    return None
