"""incidents.group: the merge loop's rules, pure - which incident survives a merge (survivor_first,
next_merge) and the reasons of the survivor's revision (merged_reasons). Made-up places."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from monitor.incidents.group import (
    ArticleDraft,
    IncidentState,
    merged_reasons,
    new_incident,
    next_merge,
    survivor_first,
)
from monitor.models import Classification, FeedItem, LabelHit, Place

PUBLISHED = datetime(2031, 4, 2, 10, 0, tzinfo=UTC)  # the injected clock: every report's published time
MILLTOWN = Place("Milltown", "XA", "North Vale", 10.0, 20.0, "place", 9000001)
FARPORT = Place("Farport", "XA", "Coastland", 14.0, 25.0, "place", 9000003)  # hundreds of km away


def incident(id_: int, place: Place, *, day: date = date(2031, 4, 2), title: str = "Shelling of Milltown",
             source: str = "Outlet") -> IncidentState:
    c = Classification(labels=(LabelHit("shelling", 0.9, ("x",)),), score=0.9, place=place, countries=("XA",),
                       event_date=day)
    draft = ArticleDraft(FeedItem(title=title, text="", source=source), f"fp{id_}", c, PUBLISHED, PUBLISHED)
    return replace(new_incident(draft, None), id=id_)


@pytest.mark.parametrize(("a", "b", "survivor"), [(3, 9, 3), (9, 3, 3), (1, 2, 1), (250, 17, 17)])
def test_the_older_incident_survives_whatever_the_order(a: int, b: int, survivor: int) -> None:
    keep, gone = survivor_first(incident(a, MILLTOWN), incident(b, MILLTOWN))
    assert (keep.id, gone.id) == (survivor, a + b - survivor)


def test_next_merge_pairs_an_incident_with_the_one_it_now_matches() -> None:
    changed = incident(8, MILLTOWN, source="B")
    same = incident(5, MILLTOWN)
    far = incident(2, FARPORT, title="Shelling of Farport")
    other_day = incident(3, MILLTOWN, day=date(2031, 4, 9))
    pair = next_merge(changed, [far, same, other_day])
    assert pair is not None and (pair[0].id, pair[1].id) == (5, 8)  # the older survives, even as the match
    assert next_merge(changed, [far, other_day]) is None
    assert next_merge(changed, [changed]) is None  # never with itself
    newer = incident(11, MILLTOWN, source="C")
    pair = next_merge(changed, [newer])
    assert pair is not None and (pair[0].id, pair[1].id) == (8, 11)


# (reasons the survivor gathered in this batch, reasons the merge adds) -> its revision's reasons
REASONS = [
    ("nothing gathered, nothing added", [], [], ["merged"]),
    ("merged comes first", ["casualties"], ["label"], ["merged", "casualties", "label"]),
    ("each reason once", ["label", "casualties"], ["casualties", "place"], ["merged", "label", "casualties", "place"]),
    ("an earlier merge in the batch is not repeated", ["merged", "new source"], ["merged", "label"],
     ["merged", "new source", "label"]),
    ("the merge's own merged is moved first", ["place"], ["merged"], ["merged", "place"]),
]


@pytest.mark.parametrize(("gathered", "added", "expected"), [r[1:] for r in REASONS], ids=[r[0] for r in REASONS])
def test_merged_reasons_table(gathered: list[str], added: list[str], expected: list[str]) -> None:
    assert merged_reasons(gathered, added) == expected
