"""Grouping rules, pure: same area and day join; different places or days stay apart."""

from __future__ import annotations

from datetime import UTC, date, datetime

from monitor.group import (
    ArticleDraft,
    distance_km,
    group_batch,
    merge,
    new_incident,
    severity,
    similarity,
    tokens,
)
from monitor.models import Casualties, Classification, FeedItem, LabelHit, Place

T0 = datetime(2022, 9, 13, 8, tzinfo=UTC)
JERMUK = Place("Jermuk", "AM", "Vayots Dzor", 39.84, 45.67, "place", 616629)
VAYK = Place("Vayk", "AM", "Vayots Dzor", 39.69, 45.47, "place", 616052)  # ~24 km from Jermuk
GORIS = Place("Goris", "AM", "Syunik", 39.51, 46.34, "place", 616599)  # ~68 km
SYUNIK = Place("Syunik", "AM", "Syunik", 39.3, 46.3, "region", None)


def d(n: int, title: str, place: Place | None, *, day: date = date(2022, 9, 13), source: str = "A",
      killed: int | None = None, labels: tuple[str, ...] = ("shelling",)) -> ArticleDraft:
    c = Classification(labels=tuple(LabelHit(lb, 0.9, ("x",)) for lb in labels), place=place,
                       countries=(place.country,) if place and place.country else (),
                       killed=Casualties(count=killed), event_date=day)
    return ArticleDraft(FeedItem(title=title, text="", source=source), f"f{n}", c, T0, T0)


def test_reports_within_30_km_on_the_same_day_join() -> None:
    assert len(group_batch([d(1, "Shelling of Jermuk", JERMUK), d(2, "Mortars hit Vayk", VAYK)])) == 1


def test_distant_places_and_other_days_stay_apart() -> None:
    clusters = group_batch([d(1, "Shelling of Jermuk", JERMUK), d(2, "Shelling of Goris", GORIS),
                            d(3, "Shelling of Jermuk", JERMUK, day=date(2022, 9, 16))])
    assert len(clusters) == 3


def test_region_level_reports_join_only_when_the_text_is_alike() -> None:
    a = d(1, "Azerbaijani troops shell villages across Syunik province", SYUNIK)
    b = d(2, "Villages across Syunik province shelled by Azerbaijani troops", SYUNIK, source="B")
    c = d(3, "Parliament debates border security bill in Syunik", SYUNIK, source="C")
    assert [len(x) for x in group_batch([a, b, c])] == [2, 1]


def test_merge_takes_the_higher_figure_and_names_the_reasons() -> None:
    inc = new_incident(d(1, "Shelling of Jermuk", SYUNIK, killed=3), None)
    merged, reasons = merge(inc, d(2, "Jermuk shelled", JERMUK, source="B", killed=49,
                                   labels=("shelling", "ceasefire_violation")), "AM-AZ")
    assert merged.killed == 49 and merged.place == "Jermuk" and merged.ceasefire == "AM-AZ"
    assert reasons == ["new source", "label", "casualties", "place", "ceasefire"]
    again, reasons = merge(merged, d(3, "Jermuk shelled", JERMUK, source="B", killed=10), "AM-AZ")
    assert again.killed == 49 and reasons == []


def test_severity_grows_with_deaths_and_sources() -> None:
    low = new_incident(d(1, "x", JERMUK), None)
    high = new_incident(d(1, "x", JERMUK, killed=50), None)
    assert 0 < severity(low) < severity(high) <= 10


def test_similarity_and_distance_helpers() -> None:
    assert similarity(tokens("Shelling kills four in Donetsk"), tokens("Donetsk shelling kills four")) == 1.0
    assert similarity(tokens("Shelling in Donetsk"), tokens("Budget passes")) == 0.0
    assert 20 < distance_km(JERMUK.lat or 0, JERMUK.lon or 0, VAYK.lat or 0, VAYK.lon or 0) < 30
