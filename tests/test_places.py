"""Place extraction: aliases, Russian case forms, disambiguation, incident country, stoplist."""

from __future__ import annotations

import pytest

from monitor.gazetteer import Gazetteer, load_gazetteer, name_key, ru_stem
from monitor.places import extract_places


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
            "following a car bombing that killed 20 people in the capital Baghdad.")
    found = extract_places(text, "en", gazetteer)
    assert found.primary is not None and found.primary.name != "Baghdad"


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
