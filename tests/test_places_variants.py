"""Place extraction beyond exact names: transliteration variants (loose keys), containers of unknown
or mis-picked places, places that vouch for each other, and the capital of a country's region."""

from __future__ import annotations

import pytest

from monitor.reading.gazetteer import Entry, Gazetteer, distance_km, load_gazetteer, loose_key, name_key
from monitor.reading.places import extract_places


@pytest.fixture(scope="module")
def gazetteer() -> Gazetteer:
    return load_gazetteer()


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Kharkov", "Kharkiv"),  # vowels differ
        ("Zaporojie", "Zaporozhye"),  # French j, English zh
        ("Ain Tamr", "‘Ayn Tamr"),  # the Arabic ʿayn, romanised three ways
        ("Bakhmout", "Bakhmut"),  # French ou
        ("Dar'a", "Dar‘a"),  # apostrophe and ʿayn mark
    ],
)
def test_transliterations_share_a_loose_key(a: str, b: str) -> None:
    assert loose_key(name_key(a)) == loose_key(name_key(b))


@pytest.mark.parametrize(("a", "b"), [("Kursk", "Kirov"), ("Sumy", "Sambir"), ("Hama", "Homs")])
def test_different_names_keep_different_loose_keys(a: str, b: str) -> None:
    assert loose_key(name_key(a)) != loose_key(name_key(b))


def test_the_arabic_ayn_mark_is_an_apostrophe(gazetteer: Gazetteer) -> None:
    # GeoNames spells names with ‘ (U+2018); texts with ' or none at all
    assert name_key("Dar‘a") == name_key("Dar'a") == name_key("Dara")


@pytest.mark.parametrize(
    ("text", "name", "country"),
    [
        ("Fighting raged near Maarat al Numan in Syria's Idlib province", "Ma‘arrat an Nu‘mān", "SY"),
        ("Shelling hit Zaporojie in southern Ukraine", "Zaporizhzhya", "UA"),
        ("Moscow said its forces shelled Zaporojie, in Ukraine's south", "Zaporizhzhya", "UA"),
        ("Clashes broke out in Ain Tamr, in Iraq's Karbala province", "‘Ayn Tamr", "IQ"),
    ],
)
def test_a_variant_spelling_is_found_as_a_location(gazetteer: Gazetteer, text: str, name: str,
                                                     country: str) -> None:
    found = extract_places(text, "en", gazetteer)
    assert found.primary is not None
    assert (found.primary.name, found.primary.country, found.primary.precision) == (name, country, "place")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # no country named: a variant spelling is not guessed
        ("Artillery hit Maarat al Numan overnight", []),
        # named, but not as a location: only the country
        ("Maarat al Numan residents in Syria said they were afraid", [("Syria", "SY", "country")]),
        # "Shelling" is no village of Nigeria, however it is spelt: only the state
        ("Shelling in Nigeria's Borno state", [("Borno", "NG", "region")]),
    ],
)
def test_a_variant_spelling_needs_a_named_country_and_a_location(gazetteer: Gazetteer, text: str,
                                                                 expected: list[tuple[str, str, str]]) -> None:
    found = extract_places(text, "en", gazetteer)
    assert [(p.name, p.country, p.precision) for p in found.places] == expected


def test_a_word_after_an_article_is_part_of_a_longer_name(gazetteer: Gazetteer) -> None:
    # "Numan" is also a town of Nigeria: here it is only the end of "Maarat al Numan"
    found = extract_places("Artillery hit Maarat al Numan overnight", "en", gazetteer)
    assert found.primary is None and found.countries == ()


def test_a_place_is_repicked_inside_its_container(gazetteer: Gazetteer) -> None:
    # the Shahpurs the index knows are far from Poonch: the district is the most specific place known
    found = extract_places("Two soldiers were killed at Shahpur sector (Poonch district, J&K) in firing across the LoC",
                           "en", gazetteer)
    assert found.primary is not None
    assert (found.primary.country, found.primary.precision) == ("IN", "region")
    assert "Poonch" in found.primary.name


def test_the_container_of_an_unknown_location_is_the_place(gazetteer: Gazetteer) -> None:
    found = extract_places("Air strikes targeted Kirawa (Gwoza LGA, Borno), killing 12 fighters", "en", gazetteer)
    assert found.primary is not None
    assert (found.primary.name, found.primary.country, found.primary.precision) == ("Gwoza", "NG", "region")


def test_a_known_container_stays_a_qualifier(gazetteer: Gazetteer) -> None:
    found = extract_places("Shelling hit Kramatorsk (Donetsk region) overnight", "en", gazetteer)
    assert found.primary is not None and found.primary.name == "Kramatorsk"


def test_a_small_town_is_vouched_for_by_a_place_near_it(gazetteer: Gazetteer) -> None:
    text = "Artillery shelled farms in the countryside of Tell Abyad north of Raqqa."
    found = extract_places(text, "en", gazetteer)
    assert found.primary is not None
    assert (found.primary.name, found.primary.country) == ("Tall Abyaḑ", "SY")


def test_the_capital_of_a_countrys_region_is_not_the_countrys_capital(gazetteer: Gazetteer) -> None:
    found = extract_places("A missile hit Kharkiv, capital of Ukraine's Kharkiv region", "en", gazetteer)
    assert [(p.name, p.precision) for p in found.places] == [("Kharkiv", "place"), ("Kharkiv Oblast", "region")]


@pytest.mark.parametrize(
    ("text", "name", "country", "precision"),
    [
        # the container names the country: the Egyptian Rafah, not the Palestinian one
        ("A sniper shot dead a conscript near Rafah (Rafah, North Sinai) on Tuesday", "Rafaḩ", "EG", "place"),
        # a Russian district by its town's adjective: the Pokrovkas the index knows are elsewhere
        ("Обстрел: в селе Покровка Суджанского района ранены двое", "Sudzha", "RU", "region"),
        # a unique, well-known city in a list keeps its place
        ("Russian strikes hit Kharkiv, Dnipro region and Odesa overnight", "Kharkiv", "UA", "place"),
        # a far namesake in a country the text does not name loses to the town it is said to be in
        ("Government forces shelled Alexandria in the countryside of Aleppo on Monday", "Aleppo", "SY", "place"),
        # ... also through an area named between them, and off the town as the text says
        ("Government artillery shelled Alexandria in Jabal Saman in the western countryside of Aleppo",
         "Aleppo countryside", "SY", "region"),
        # ... and so does a district of that name elsewhere to the province after it
        ("Insurgents attacked a police post in Lyon district, Kandahar, killing two", "Kandahār", "AF", "place"),
        # a town's own district is no container that moves it
        ("Fighting was reported near Izium in Kharkiv region on Sunday", "Izyum", "UA", "place"),
    ],
)
def test_containers_decide_shared_names(gazetteer: Gazetteer, text: str, name: str, country: str,
                                        precision: str) -> None:
    found = extract_places(text, "en", gazetteer)
    assert found.primary is not None
    assert (found.primary.name, found.primary.country, found.primary.precision) == (name, country, precision)
    assert found.countries[:1] == (country,)


def test_a_slavic_prefix_makes_a_longer_name(gazetteer: Gazetteer) -> None:
    # "Верхняя Николаевка" is not one of the Mykolaivkas of Ukraine
    found = extract_places("Снаряд попал в дом в селе Верхняя Николаевка", "ru", gazetteer)
    assert [p.name for p in found.places] == []  # not in the index: no other village stands in for it


def test_an_adjective_with_a_linking_n_names_its_town(gazetteer: Gazetteer) -> None:
    found = extract_places("Обстрел в Суджанском районе", "ru", gazetteer)
    assert found.primary is not None and (found.primary.name, found.primary.country) == ("Sudzha", "RU")


@pytest.mark.parametrize(
    ("text", "name", "country", "precision"),
    [
        # a district the index keys only as "Loroum Province", named bare where a container stands
        ("Gunmen attacked a gendarmerie patrol in Kiyo village (Loroum), killing two", "Loroum Province", "BF",
         "region"),
        # a town in a variant spelling, read by the province after it
        ("Militants ambushed a convoy near Kiyo (Bardhere, Gedo), killing three soldiers", "Baardheere", "SO",
         "place"),
        # ... also as "Town, Province." ending a sentence (Gedo is also a town of Ethiopia)
        ("Clashes were reported in Bardhere, Gedo. Two fighters died", "Baardheere", "SO", "place"),
        # a town and its container re-picked as a pair the index puts one inside the other
        ("Troops from Burkina Faso killed a commander near the village of Kiyo (Bourem, Gao)", "Bourem", "ML",
         "place"),
    ],
)
def test_bulletin_containers_carry_the_place(gazetteer: Gazetteer, text: str, name: str, country: str,
                                             precision: str) -> None:
    found = extract_places(text, "en", gazetteer)
    assert found.primary is not None
    assert (found.primary.name, found.primary.country, found.primary.precision) == (name, country, precision)
    assert found.countries[:1] == (country,)


def test_an_armed_unit_named_after_a_town_is_not_a_place(gazetteer: Gazetteer) -> None:
    found = extract_places("Two fighters of the Lyon Brigade were killed in clashes with a rival faction",
                           "en", gazetteer)
    assert all(p.country != "FR" for p in found.places)


def test_a_village_whose_namesakes_are_all_in_one_country_names_that_country(gazetteer: Gazetteer) -> None:
    # small villages spelt two ways ("Zelenyi Hai", "Zelenyy Hay"), none well known, all Ukrainian:
    # the country is sure, if not the village
    candidates = gazetteer.lookup(name_key("Zelenyi Hai"))
    assert len({e.name for e in candidates}) > 1 and {e.country for e in candidates} == {"UA"}
    found = extract_places("Artillery shelled Zelenyi Hai overnight, wounding two civilians", "en", gazetteer)
    assert found.countries[:1] == ("UA",)
    assert found.primary is not None and found.primary.country == "UA"


@pytest.mark.parametrize(
    ("text", "north", "east", "km"),
    [
        ("Government artillery shelled villages in the southern countryside of Hama on Monday", -1, 0, 20.0),
        ("Drones struck a convoy in the north-eastern countryside of Aleppo", 1, 1, 20.0),
        ("A sniper killed a soldier at a post 8 km west of Kobani", 0, -1, 8.0),
    ],
)
def test_a_place_off_a_town_lies_off_it(gazetteer: Gazetteer, text: str, north: int, east: int, km: float) -> None:
    found = extract_places(text, "en", gazetteer)
    town = next(p for p in found.places if p.precision == "place")
    point = found.primary
    assert point is not None and point.precision == "region" and town.name in point.name
    assert point.lat is not None and point.lon is not None and town.lat is not None and town.lon is not None
    assert (point.lat - town.lat) * north >= 0 and (point.lon - town.lon) * east >= 0
    here = Entry(point.name, point.country, point.lat, point.lon)
    there = Entry(town.name, town.country, town.lat, town.lon)
    assert distance_km(here, there) == pytest.approx(km, rel=0.05)


def test_a_town_named_plainly_is_not_moved(gazetteer: Gazetteer) -> None:
    found = extract_places("Government artillery shelled Hama and its countryside on Monday", "en", gazetteer)
    assert found.primary is not None and found.primary.precision == "place" and found.primary.name == "Ḩamāh"


def test_a_variant_spelling_before_an_area_word_names_its_province(gazetteer: Gazetteer) -> None:
    # no country named: a spelling the index lacks is still read when "countryside" makes it an area
    assert not gazetteer.has(name_key("Dayr Azzur"))
    found = extract_places("Mortar fire hit army posts in the Dayr Azzur countryside on Monday", "en", gazetteer)
    assert found.primary is not None and found.primary.name == "Deir ez-Zor"
    assert found.countries[:1] == ("SY",)


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Heavy fighting between rival forces broke out in the capital and spread across Sudan", "Khartoum"),
        ("Shelling in Yemen: rockets struck the capital overnight, officials said", "Sanaa"),
    ],
)
def test_the_capital_of_the_country_the_text_is_about(gazetteer: Gazetteer, text: str, name: str) -> None:
    found = extract_places(text, "en", gazetteer)
    assert found.primary is not None and found.primary.name == name


def test_the_capital_is_not_guessed_without_one_country(gazetteer: Gazetteer) -> None:
    found = extract_places("Rockets struck the capital overnight, officials said", "en", gazetteer)
    assert found.primary is None
