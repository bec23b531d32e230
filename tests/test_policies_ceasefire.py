"""incidents.ceasefires: the one choice of an incident's ceasefire when it is opened, when a report joins it
and when incidents merge (incident_ceasefire and its two callers), on an injected clock. Made-up places."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from monitor.incidents.ceasefires import ceasefire_of_new, ceasefire_on_join, incident_ceasefire
from monitor.incidents.group import ArticleDraft, merge_incidents, new_incident
from monitor.models import Classification, FeedItem, LabelHit, Place
from monitor.settings import CeasefireSettings

DAY = date(2031, 4, 2)
# A truce over the region "North Vale" of country XA, from 12:00 UTC on DAY.
TRUCE = CeasefireSettings(name="Vale truce", countries=("XA",), regions=("North Vale",), start="2031-04-02T12:00:00Z")
OTHER = CeasefireSettings(name="Coast truce", countries=("XA",), regions=("Coastland",), start="2031-03-01")
REGISTRY = (TRUCE, OTHER)
MORNING = datetime(2031, 4, 2, 9, 0, tzinfo=UTC)  # before the truce took effect
EVENING = datetime(2031, 4, 2, 20, 0, tzinfo=UTC)  # after
MILLTOWN = Place("Milltown", "XA", "North Vale", 10.0, 20.0, "place", 9000001)
HARBOR = Place("Harbor Point", "XA", "Coastland", 11.0, 21.0, "place", 9000002)

class Clock:
    """An injected 'earliest published time' that counts how often it is asked (it may cost a query)."""

    def __init__(self, at: datetime | None) -> None:
        self.at, self.asked = at, 0

    def __call__(self) -> datetime | None:
        self.asked += 1
        return self.at

def draft(place: Place | None, published: datetime, day: date = DAY) -> ArticleDraft:
    c = Classification(labels=(LabelHit("shelling", 0.9, ("x",)),), score=0.9, place=place,
                       countries=("XA",), event_date=day)
    return ArticleDraft(FeedItem(title="Shelling reported", text="", source="Outlet"), "fp", c, published, published)

# (registry, kept, sticky, region, reported at) -> (ceasefire, was the clock asked?)
CASES: list[tuple[str, tuple[CeasefireSettings, ...], tuple[str | None, ...], bool, str | None, datetime | None,
                  tuple[str | None, bool]]] = [
    ("no registry, nothing kept", (), (), False, "North Vale", EVENING, (None, False)),
    ("no registry: the first side's that is set", (), (None, "B"), False, "North Vale", EVENING, ("B", False)),
    ("no registry: the survivor's first", (), ("A", "B"), False, None, None, ("A", False)),
    ("new, inside area and period", REGISTRY, (), False, "North Vale", EVENING, ("Vale truce", True)),
    ("new, reported before the truce took effect", REGISTRY, (), False, "North Vale", MORNING, (None, True)),
    ("new, no published time: the whole day counts", REGISTRY, (), False, "North Vale", None, ("Vale truce", True)),
    ("new, another region", REGISTRY, (), False, "Coastland", MORNING, ("Coast truce", True)),
    ("sticky keeps one found without asking", REGISTRY, ("Old truce",), True, "Elsewhere", EVENING,
     ("Old truce", False)),
    ("sticky without one decides", REGISTRY, (None,), True, "North Vale", EVENING, ("Vale truce", True)),
    ("not sticky decides again and may drop one", REGISTRY, ("Vale truce", None), False, "North Vale", MORNING,
     (None, True)),
    ("not sticky may find one neither side had", REGISTRY, (None, None), False, "North Vale", EVENING,
     ("Vale truce", True)),
]

@pytest.mark.parametrize(("registry", "kept", "sticky", "region", "reported", "expected"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_incident_ceasefire_table(registry: tuple[CeasefireSettings, ...], kept: tuple[str | None, ...],
                                  sticky: bool, region: str | None, reported: datetime | None,
                                  expected: tuple[str | None, bool]) -> None:
    clock = Clock(reported)
    got = incident_ceasefire(registry, kept, sticky=sticky, country="XA", admin1=region, event_date=DAY,
                             place=None, reported_at=clock)
    assert (got, clock.asked > 0) == expected
    assert clock.asked <= 1

def test_a_new_incident_falls_under_the_truce_of_its_place_and_time() -> None:
    assert ceasefire_of_new(REGISTRY, new_incident(draft(MILLTOWN, EVENING), None), EVENING) == "Vale truce"
    assert ceasefire_of_new(REGISTRY, new_incident(draft(MILLTOWN, MORNING), None), MORNING) is None
    assert ceasefire_of_new((), new_incident(draft(MILLTOWN, EVENING), None), EVENING) is None

def test_a_joining_report_brings_its_region_and_an_earlier_date() -> None:
    vague = replace(new_incident(draft(None, EVENING), None), id=7)  # knows only the country
    clock = Clock(EVENING)
    assert ceasefire_on_join(REGISTRY, vague, draft(MILLTOWN, EVENING), clock) == "Vale truce"
    assert ceasefire_on_join(REGISTRY, vague, draft(HARBOR, EVENING), clock) == "Coast truce"
    before = draft(MILLTOWN, EVENING, day=date(2031, 4, 1))  # the event happened the day before the truce
    assert ceasefire_on_join(REGISTRY, vague, before, clock) is None
    assert clock.asked == 3

def test_a_joining_report_never_changes_a_ceasefire_found() -> None:
    under = replace(new_incident(draft(MILLTOWN, EVENING), "Vale truce"), id=7)
    clock = Clock(MORNING)
    assert ceasefire_on_join(REGISTRY, under, draft(HARBOR, MORNING), clock) == "Vale truce"
    assert clock.asked == 0

def test_merged_incidents_are_decided_again_from_the_merged_facts() -> None:
    survivor = replace(new_incident(draft(None, EVENING), None), id=1)
    absorbed = replace(new_incident(draft(MILLTOWN, EVENING), "Vale truce"), id=2)
    state, reasons = merge_incidents(survivor, absorbed, ceasefires=REGISTRY, reported_at=MORNING)
    assert state.ceasefire is None and "ceasefire" not in reasons  # first reported before the truce began
    state, reasons = merge_incidents(survivor, absorbed, ceasefires=REGISTRY, reported_at=EVENING)
    assert state.ceasefire == "Vale truce" and "ceasefire" in reasons
    assert merge_incidents(survivor, absorbed)[0].ceasefire == "Vale truce"  # no registry: the one set stays
