"""Country and place of ACLED-style notes that name a village's containers and no country: division
names as notes write them, a province name several countries share, "X province" after a long name.
Examples are made up; the names are the gazetteer's."""

from __future__ import annotations

import pytest

from monitor.reading.gazetteer import Gazetteer, load_gazetteer, name_key
from monitor.reading.places import extract_places


@pytest.fixture(scope="module")
def gazetteer() -> Gazetteer:
    return load_gazetteer()


def test_a_division_is_named_as_its_names_agree_not_by_a_local_language_alias(gazetteer: Gazetteer) -> None:
    # The Philippine province is also "Province of Tarlac" and has an Ilocano name: the display name is
    # the one its names agree on, so "(..., Tarlac)" meets it as a bulletin's container.
    names = {e.name for e in gazetteer.districts_named(name_key("Tarlac")) if e.country == "PH"}
    assert names == {"Tarlac"}


def test_a_second_level_province_is_met_with_its_type_word(gazetteer: Gazetteer) -> None:
    found = extract_places("On 2 May 2024, army troops shelled Kavepa, Surigao del Sur province.", "en", gazetteer)
    assert found.primary is not None
    assert (found.primary.name, found.primary.country, found.primary.precision) == ("Surigao del Sur", "PH", "region")


def test_a_shared_province_name_reads_as_the_monitored_countrys_when_no_country_is_named(
        gazetteer: Gazetteer) -> None:
    found = extract_places("On 2 May 2024, gunmen and villagers exchanged fire in Pagubudi (Plateau).", "en", gazetteer)
    assert found.countries[:1] == ("NG",)
    assert found.primary is not None and found.primary.precision == "region"


def test_a_named_country_still_decides_a_shared_province_name(gazetteer: Gazetteer) -> None:
    found = extract_places("On 2 May 2024, gunmen attacked Pagubudi village (Plateau, Benin).", "en", gazetteer)
    assert found.countries[:1] == ("BJ",)


@pytest.mark.parametrize(("province", "country"), [("Jalapa", "GT"), ("Nandi", "KE")])
def test_a_bulletins_container_is_a_province_before_a_foreign_namesake_town(
        gazetteer: Gazetteer, province: str, country: str) -> None:
    found = extract_places(f"On 18 August 2024, two militias exchanged fire in Noshi ({province}).", "en", gazetteer)
    assert found.countries[:1] == (country,)
    assert found.primary is not None and found.primary.precision == "region"


def test_a_variant_spelling_in_a_container_place_reads_the_province(gazetteer: Gazetteer) -> None:
    # "Jawzjan" is a spelling the index lacks for an Afghan province (found by its loose key); after
    # "X district," it is the container, and the text names the country through a demonym only.
    text = "On 3 June 2024, Afghan soldiers repulsed an attack on a checkpoint in Kavepa district, Jawzjan."
    found = extract_places(text, "en", gazetteer)
    assert found.primary is not None
    assert (found.primary.country, found.primary.precision) == ("AF", "region")


def test_a_word_of_a_longer_unknown_name_is_not_a_place_of_its_own(gazetteer: Gazetteer) -> None:
    # "Nadi" names towns in Asia and the Pacific; here it is the last word of a made-up name the index lacks.
    found = extract_places("On 3 June 2024, insurgents shelled positions near Lundorovka Nadi.", "en", gazetteer)
    assert found.primary is None


def test_a_one_word_name_after_a_lowercase_word_is_still_taken(gazetteer: Gazetteer) -> None:
    found = extract_places("On 3 June 2024, insurgents shelled positions near Kramatorsk.", "en", gazetteer)
    assert found.primary is not None and found.primary.name == "Kramatorsk"
