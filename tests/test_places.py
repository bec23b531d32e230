"""Place extraction: aliases, Russian case forms, disambiguation, incident country, stoplist."""

from __future__ import annotations

import pytest

from monitor.reading.gazetteer import Gazetteer, load_gazetteer, name_key, ru_stem
from monitor.reading.places import extract_places


@pytest.fixture(scope="module")
def gazetteer() -> Gazetteer:
    return load_gazetteer()


@pytest.mark.parametrize(
    ("text", "name", "country"),
    [
        ("Mortar fire hit Jermuk", "Jermuk", "AM"),
        ("Shelling reported in Dzhermuk", "Jermuk", "AM"),
        ("Обстрел Джермука", "Jermuk", "AM"),
        ("Drone strike in Khankendi", "Stepanakert", "AZ"),
        ("Взрывы в Харькове", "Kharkiv", "UA"),
        ("Shelling of Kharkov's suburbs", "Kharkiv", "UA"),
        ("Air strikes on Khan Younis", "Khān Yūnis", "PS"),
        ("Rockets fired at Belgorod region", "Belgorod Oblast", "RU"),
        ("бои в Донецкой области", "Donetsk Oblast", "UA"),
    ],
)
def test_place_and_country(gazetteer: Gazetteer, text: str, name: str, country: str) -> None:
    found = extract_places(text, "en", gazetteer)
    assert found.primary is not None and found.primary.name == name
    assert found.countries[0] == country


def test_mediator_is_not_the_incident_country(gazetteer: Gazetteer) -> None:
    found = extract_places("The Russia-brokered truce between Armenia and Azerbaijan broke down", "en", gazetteer)
    assert "RU" not in found.countries


def test_target_demonym_gives_the_country_and_force_demonym_the_actor(gazetteer: Gazetteer) -> None:
    found = extract_places("Azerbaijani forces shelled Armenian positions", "en", gazetteer)
    assert found.countries[0] == "AM"
    assert "Azerbaijani forces" in found.actors


def test_capital_as_government_is_not_the_place(gazetteer: Gazetteer) -> None:
    found = extract_places("Moscow says Ukrainian drones struck Kursk", "en", gazetteer)
    assert found.primary is not None and found.primary.name == "Kursk"


def test_direction_and_country_is_a_region(gazetteer: Gazetteer) -> None:
    found = extract_places("Israeli drone strike kills two in southern Syria", "en", gazetteer)
    assert found.primary is not None
    assert (found.primary.name, found.primary.precision, found.primary.country) == ("southern Syria", "region", "SY")
    assert found.primary.lat is not None and found.primary.lat < 34.0


def test_common_words_and_datelines_are_not_places(gazetteer: Gazetteer) -> None:
    found = extract_places("BEIRUT (Reuters) - Police said many people will march", "en", gazetteer)
    assert found.places == ()


def test_country_disambiguates_a_shared_name(gazetteer: Gazetteer) -> None:
    found = extract_places("Clashes near Donetsk, Ukraine", "en", gazetteer)
    assert found.primary is not None and found.primary.country == "UA"


def test_russian_keys_meet_across_cases() -> None:
    assert name_key("Донецке") == name_key("Донецк") == name_key("Донецка")
    assert name_key("Новой Каховке") == name_key("Новая Каховка")
    assert ru_stem("харькову") == "харьков"


@pytest.mark.parametrize(
    ("text", "name"),
    [("Air strikes hit the Sudanese capital on Sunday", "Khartoum"),
     ("Gunfire was heard in Chad's capital overnight", "N'Djamena"),
     ("Взрывы прогремели в украинской столице", "Kyiv")],
)
def test_the_capital_of_a_country_is_its_capital_city(gazetteer: Gazetteer, text: str, name: str) -> None:
    found = extract_places(text, "en", gazetteer)
    assert found.primary is not None and found.primary.name == name


def test_venue_of_talks_is_not_the_incident_place(gazetteer: Gazetteer) -> None:
    found = extract_places("Delegates at the Doha talks said shelling continued in El Fasher", "en", gazetteer)
    assert found.primary is not None and found.primary.name == "El Fasher"


def test_place_in_a_clause_about_an_earlier_event_is_not_the_incident_place(gazetteer: Gazetteer) -> None:
    text = ("Fighting in northern Iraq\nTwo soldiers were killed near Mosul, "
            "after a truck bomb that had killed 20 people in the capital Baghdad.")
    found = extract_places(text, "en", gazetteer)
    assert found.primary is not None
    assert (found.primary.name, found.primary.country, found.primary.precision) == ("Mosul", "IQ", "place")


def test_belligerents_after_between_are_not_locations(gazetteer: Gazetteer) -> None:
    found = extract_places("Clashes erupt between Kyrgyzstan and Tajikistan near Batken", "en", gazetteer)
    assert found.primary is not None and found.primary.name == "Batken"
    assert found.countries[0] == "KG"


def test_place_between_two_front_line_towns_is_located(gazetteer: Gazetteer) -> None:
    text = "Heavy fighting in eastern Ukraine between Russian-held Horlivka and Toretsk"
    found = extract_places(text, "en", gazetteer)
    assert found.primary is not None and found.primary.name == "Horlivka"


def test_lower_case_russian_adjectives_are_not_villages(gazetteer: Gazetteer) -> None:
    text = "военные сообщили о боях в районе бахмута, где продолжаются штурмовые действия"
    found = extract_places(text, "ru", gazetteer)
    assert [p.name for p in found.places] == ["Bakhmut"]


# ---------------------------------------------------------------- GeoNames divisions, admin1 names


@pytest.mark.parametrize(
    ("text", "name", "country"),
    [
        ("Air strike in Nangarhar province kills three", "Nangarhor", "AF"),
        ("Авиаудар в провинции Нангархар", "Nangarhor", "AF"),  # Russian name from pycountry's iso-codes
        ("Shelling in Idlib province kills two", "Idlib Governorate", "SY"),
        ("Clashes in Borno State leave six dead", "Borno", "NG"),
        ("Обстрел Херсонской области", "Kherson Oblast", "UA"),
    ],
)
def test_a_named_province_is_a_region(gazetteer: Gazetteer, text: str, name: str, country: str) -> None:
    found = extract_places(text, "en", gazetteer)
    assert found.primary is not None
    assert (found.primary.name, found.primary.country, found.primary.precision) == (name, country, "region")


def test_division_entries_come_from_the_generated_index(gazetteer: Gazetteer) -> None:
    helmand = [e for e in gazetteer.lookup(name_key("Helmand Province")) if e.division == 1]
    assert helmand and helmand[0].country == "AF" and helmand[0].precision == "region"
    assert gazetteer.lookup(name_key("Kursk region"))  # "<town> region" for "Kurskaya oblast'"
    assert any(e.division == 2 for e in gazetteer.lookup(name_key("Kramatorsk raion")))


def test_a_city_beats_the_province_of_the_same_name(gazetteer: Gazetteer) -> None:
    found = extract_places("Rockets hit Herat overnight", "en", gazetteer)
    assert found.primary is not None and (found.primary.country, found.primary.precision) == ("AF", "place")
    assert found.primary.admin1 == "Herat Province" and found.primary.geonameid is not None


def test_settlements_carry_their_admin1_name(gazetteer: Gazetteer) -> None:
    found = extract_places("Shelling hit Kramatorsk", "en", gazetteer)
    assert found.primary is not None and found.primary.admin1 == "Donetsk Oblast"
    curated = extract_places("Бои на Бахмутском направлении", "ru", gazetteer)  # a curated entry
    assert curated.primary is not None and curated.primary.admin1 == "Donetsk Oblast"


def test_a_generic_division_name_needs_its_country(gazetteer: Gazetteer) -> None:
    found = extract_places("Gunmen attacked a bus in Central Province", "en", gazetteer)
    assert found.primary is None or found.primary.precision == "country"


# ---------------------------------------------------------------- disambiguation


def test_a_word_inside_a_longer_unknown_name_is_not_a_place(gazetteer: Gazetteer) -> None:
    # "Medina" alone is the Saudi city; in "Medina al Nour" it is part of another name.
    found = extract_places("An air strike hit Medina al Nour in Libya", "en", gazetteer)
    assert found.countries[:1] == ("LY",)
    assert found.primary is not None and found.primary.country == "LY"
    # "Zara" alone is a Turkish town; "Ain Zara" is a Tripoli suburb the index lacks.
    found = extract_places("Clashes in Ain Zara, south of Tripoli", "en", gazetteer)
    assert found.primary is not None and (found.primary.name, found.primary.country) == ("Tripoli", "LY")


def test_a_shared_village_name_is_the_one_near_the_other_places(gazetteer: Gazetteer) -> None:
    found = extract_places("Shelling near Vesele and Bakhmut", "en", gazetteer)
    assert found.primary is not None and found.primary.name == "Vesele"
    assert found.primary.admin1 == "Donetsk Oblast"


def test_a_province_after_a_district_is_its_container(gazetteer: Gazetteer) -> None:
    found = extract_places("Air strike kills four in a village of Kramatorsk raion, Donetsk region", "en", gazetteer)
    assert found.primary is not None and found.primary.name == "Kramatorsk Raion"


def test_a_bulletin_of_places_far_apart_is_a_region(gazetteer: Gazetteer) -> None:
    body = "Forces shelled Kupiansk overnight. Artillery hit Vuhledar. Drones struck Nikopol."
    found = extract_places("Shelling reported along the front line\n" + body, "en", gazetteer)
    assert found.primary is not None and found.primary.precision == "region" and found.primary.country == "UA"
    titled = extract_places("Shelling of Kupiansk\n" + body, "en", gazetteer)  # the title names the place
    assert titled.primary is not None and titled.primary.name == "Kupyansk"


def test_a_russian_adjective_names_a_place_only_before_an_area_noun(gazetteer: Gazetteer) -> None:
    found = extract_places("Бои на Бахмутском направлении", "ru", gazetteer)
    assert found.primary is not None and found.primary.name == "Bakhmut"
    found = extract_places("Жители Бахмутского заявили о перебоях со светом", "ru", gazetteer)
    assert found.primary is None and [p.name for p in found.places] == []  # residents: no place at all
