"""The ceasefire registry: which declared ceasefire an incident falls under. Pure.

A ceasefire declared in the configuration (name, parties, countries and/or regions, start, end or open)
makes every incident inside its area and period a violation of it, whether or not any article says
"ceasefire": the incident records the ceasefire's name, alerts show it, rules can select on it, and
`ceasefire-monitor ceasefires` counts them.

The period is compared by time, not only by date. A bound is a plain date (the whole day counts: from
00:00 UTC of the start date, to 24:00 UTC of the end date) or a date-time with or without an offset
(UTC when without, as config.values.instant() stores it). An incident's own time is known only as a
date, its event date (UTC), so on the day a ceasefire starts or ends at a time of day, the earliest
published time of the incident's articles stands in for the time of the event: shelling reported at
09:00 on the day a truce took effect at 20:00 happened before it and is no violation; a report at 23:00
is one. When no published time is given, the whole day counts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

from monitor.settings import CeasefireSettings

if TYPE_CHECKING:
    from monitor.incidents.state import ArticleDraft, IncidentState


@dataclass(frozen=True)
class Bound:
    """One end of a ceasefire's period: its UTC day, and its UTC instant when a time of day was given."""

    day: date
    moment: datetime | None = None


def parse_bound(value: str | None) -> Bound | None:
    """A ceasefire's `start` or `end` as a Bound; None when unset (an open end).

    Accepts what config.values.instant() stores ("2022-09-14", "2022-09-14T16:00:00Z") and any ISO 8601
    date-time with an offset ("2022-09-14T20:00:00+04:00" is 16:00 UTC on 14 September) or without one
    (taken as UTC). Raises ValueError for anything else.
    """
    if value is None or not value.strip():
        return None
    value = value.strip()
    if len(value) == 10:  # YYYY-MM-DD
        return Bound(date.fromisoformat(value))
    moment = _utc(datetime.fromisoformat(value))
    return Bound(moment.date(), moment)


def _utc(moment: datetime) -> datetime:
    """An aware UTC datetime; a naive one is taken to be UTC already (as every stored time is)."""
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def in_period(cf: CeasefireSettings, event_date: date, reported_at: datetime | None = None) -> bool:
    """Whether an incident of `event_date` (a UTC date) falls within the ceasefire's period, both ends
    inclusive.

    `reported_at` is the earliest published time of the incident's articles (for a single article, its
    published time). It matters only when `event_date` is the day of a bound given with a time of day:
    then it is taken as the time of the event, and the incident is in the period only if it is at or
    after the start (at or before the end). Without it, or with a plain-date bound, that whole day counts.
    Days strictly between the bounds' days are in the period whatever `reported_at` says.
    """
    start, end = parse_bound(cf.start), parse_bound(cf.end)
    if start and event_date < start.day or end and event_date > end.day:
        return False
    if reported_at is None:
        return True
    moment = _utc(reported_at)
    if start and start.moment and event_date == start.day and moment < start.moment:
        return False
    return not (end and end.moment and event_date == end.day and moment > end.moment)


def in_area(cf: CeasefireSettings, *, country: str | None, admin1: str | None, place: str | None = None) -> bool:
    """Whether a location is in the ceasefire's area. With regions, only those regions (admin1 names, or a
    place of that name) count, and only within the listed countries if any; else the whole countries."""
    if cf.regions:
        wanted = {r.casefold() for r in cf.regions}
        named = {n.casefold() for n in (admin1, place) if n}
        return bool(wanted & named) and (not cf.countries or country is None or country in cf.countries)
    return country is not None and country in cf.countries


def active_ceasefire(ceasefires: Sequence[CeasefireSettings], *, country: str | None, admin1: str | None,
                     event_date: date, reported_at: datetime | None = None, place: str | None = None) -> str | None:
    """The name of the first declared ceasefire whose area and period contain the incident, else None.

    `reported_at` is the earliest published time of the incident's articles; see in_period() for how it
    decides on the day a ceasefire starts or ends at a given time.
    """
    for cf in ceasefires:
        if in_period(cf, event_date, reported_at) and in_area(cf, country=country, admin1=admin1, place=place):
            return cf.name
    return None


def incident_ceasefire(ceasefires: Sequence[CeasefireSettings], kept: Sequence[str | None], *, sticky: bool,
                       country: str | None, admin1: str | None, event_date: date, place: str | None,
                       reported_at: Callable[[], datetime | None]) -> str | None:
    """The ceasefire an incident falls under once its sides come together: a new incident (`kept` empty),
    an article joining one (`kept` = its own; `sticky`: a ceasefire once found stays), or incidents merging
    (`kept` = the survivor's, then the absorbed one's; decided again from the merged facts).

    Without a registry nothing can be decided, so the first side's ceasefire that is set stays. Else the
    ceasefire of the joined facts (`active_ceasefire`); `reported_at` (the earliest published time of the
    joined articles, which may cost a query) is asked only then.
    """
    if not ceasefires:
        return next((c for c in kept if c), None)
    if sticky and kept and kept[0]:
        return kept[0]
    return active_ceasefire(ceasefires, country=country, admin1=admin1, event_date=event_date,
                            reported_at=reported_at(), place=place)


def ceasefire_on_join(ceasefires: Sequence[CeasefireSettings], incident: IncidentState, draft: ArticleDraft,
                      reported_at: Callable[[], datetime | None]) -> str | None:
    """The ceasefire of `incident` once `draft` joins it: one it has stays; else the one of the joined
    report's area (its region and place, else the incident's), on the earlier of their dates."""
    place = draft.classification.place
    return incident_ceasefire(ceasefires, (incident.ceasefire,), sticky=True, country=incident.country,
                              admin1=(place.admin1 if place else None) or incident.admin1,
                              event_date=min(incident.event_date, draft.event_date),
                              place=(place.name if place else None) or incident.place, reported_at=reported_at)


def ceasefire_of_new(ceasefires: Sequence[CeasefireSettings], incident: IncidentState,
                     reported_at: datetime) -> str | None:
    """The ceasefire of an incident one report (published at `reported_at`) just opened."""
    return incident_ceasefire(ceasefires, (), sticky=False, country=incident.country, admin1=incident.admin1,
                              event_date=incident.event_date, place=incident.place, reported_at=lambda: reported_at)
