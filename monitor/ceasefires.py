"""The ceasefire registry: which declared ceasefire an incident falls under. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from monitor.settings import CeasefireSettings


def _as_date(value: str | None) -> date | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00")).date() if "T" in value else date.fromisoformat(value)


def active_ceasefire(ceasefires: Sequence[CeasefireSettings], *, country: str | None, admin1: str | None,
                     event_date: date) -> str | None:
    """The name of the first ceasefire whose area and period contain the incident, else None.

    The area is its countries and/or regions (admin1 names); a ceasefire naming only regions covers just
    those regions. The period runs from `start` (inclusive) to `end` (inclusive) or is open-ended.
    """
    for cf in ceasefires:
        start, end = _as_date(cf.start), _as_date(cf.end)
        if start and event_date < start or end and event_date > end:
            continue
        if cf.regions:
            if admin1 and admin1.casefold() in {r.casefold() for r in cf.regions}:
                return cf.name
            continue
        if country and country in cf.countries:
            return cf.name
    return None
