"""Features of the place candidates (monitor.reading.place_choice) that the place model weighs."""

from __future__ import annotations

import pytest

from monitor.reading import places
from monitor.reading.gazetteer import Entry, Gazetteer, load_gazetteer


@pytest.fixture(scope="module")
def gazetteer() -> Gazetteer:
    return load_gazetteer()


def features_of(text: str, gazetteer: Gazetteer) -> dict[str, dict[str, float]]:
    rows: list[tuple[Entry, dict[str, float]]] = places.place_rows(text, gazetteer)
    return {entry.name: f for entry, f in rows}


def test_a_launch_site_is_marked_as_the_origin(gazetteer: Gazetteer) -> None:
    rows = features_of("Drones launched from the Kursk region struck Sumy overnight, wounding two", gazetteer)
    assert rows["Kursk Oblast"]["origin"] == 1.0
    assert rows["Sumy"]["origin"] == 0.0


def test_a_place_alone_in_its_country_has_no_country_support(gazetteer: Gazetteer) -> None:
    rows = features_of("Shelling hit Izium and Kupiansk in Kharkiv region; a drone also fell near Belgorod",
                       gazetteer)
    assert rows["Belgorod"]["country_others"] == 0.0  # no other place of the story is Russian
    assert rows["Izyum"]["country_others"] == pytest.approx(2 / 3)  # Kupiansk and the region are Ukrainian


def test_a_place_its_container_holds_is_marked_contained(gazetteer: Gazetteer) -> None:
    rows = features_of("Shelling hit Izium (Izium district, Kharkiv region) overnight", gazetteer)
    assert any(f.get("contained") for f in rows.values())
