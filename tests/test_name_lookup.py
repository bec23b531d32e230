"""The name scan's remembered lookups (monitor.reading.name_lookup): the same answers as the gazetteer,
and a scan that skips runs of words by them finding exactly what a scan trying every run finds.

The sentences are made up; the names in them are well-known places, spelt as news spells them.
"""

from __future__ import annotations

import pytest

from monitor.reading import place_scan
from monitor.reading.gazetteer import Gazetteer, exact_word_key, load_gazetteer, loose_key, word_key
from monitor.reading.name_lookup import NameLookup, lookup_for
from monitor.reading.places import extract_places

TEXTS = [
    "Artillery shelled the outskirts of Donetsk and Horlivka overnight, officials in Kyiv said.",
    "Two civilians were killed in an air strike on Deir ez-Zor, north of Abu Kamal, in eastern Syria.",
    "Fighting flared in North Kivu as rebels attacked villages near Goma, the Congolese army said.",
    "Israeli jets struck targets in Khan Younis and Rafah; rockets were fired at Tel Aviv.",
    "Shelling of Kharkov's suburbs continued as Russian troops advanced toward Kupiansk.",
    "Clashes erupted in the town of Ain Tamr and in Maarat al Numan, Syrian state media reported.",
    "KYIV, Ukraine - Drones hit the capital of Ukraine and the Sudanese capital was shelled.",
    "Azerbaijani forces fired mortars at Armenian positions near Jermuk, the ministry in Yerevan said.",
    "Вооруженные силы обстреляли Донецк; в Суджанском районе Курской области погибли двое.",
    "ВСУ нанесли удар по Горловке, сообщили российские военные. Взрывы прогремели в Харькове.",
    "shelling in southern lebanon killed three people near the border, local media said.",
    "Russian-brokered talks in Moscow failed as fighting between Armenia and Azerbaijan resumed in Nagorno-Karabakh.",
    "Gunmen attacked Beit Hanoun and Kafr Nabl; the LNA blamed militants in Sirte, Libya.",
    "Troops raided towns in the occupied west bank, and shells fell along the line of control.",
    "Обстрелы на юге Ливана и в секторе Газа продолжились. Officials said north korean troops moved.",
]


@pytest.fixture(scope="module")
def gazetteer() -> Gazetteer:
    return load_gazetteer()


def _runs(text: str, max_words: int) -> set[str]:
    """Every key of 1 to `max_words` words of the text, by exact keys and by stems."""
    words = [place_scan._without_possessive(m.group()) for m in place_scan._WORD.finditer(text)]
    keys: set[str] = set()
    for keyed in ([exact_word_key(w) for w in words], [word_key(w) for w in words]):
        for i in range(len(keyed)):
            keys.update(" ".join(keyed[i:i + n]) for n in range(1, max_words + 1) if i + n <= len(keyed))
    return keys


def _heads(keys: list[str], words: int) -> set[str]:
    """The first 1 to `words` words of every key that has more words than that."""
    out: set[str] = set()
    for key in keys:
        parts = key.split(" ", words)
        out.update(" ".join(parts[:n]) for n in range(1, min(words, len(parts) - 1) + 1))
    return out


def test_the_answers_are_the_gazetteers(gazetteer: Gazetteer) -> None:
    lookup = NameLookup(gazetteer)
    every = [*gazetteer.geonames, *gazetteer.division_names, *gazetteer.curated, *gazetteer.countries,
             *gazetteer.demonyms]
    heads = _heads(every, gazetteer.max_words - 1)
    loose_heads = _heads([*gazetteer.loose_names, *gazetteer.loose_division_names], gazetteer.max_words - 1)
    keys = set().union(*(_runs(text, gazetteer.max_words - 1) for text in TEXTS))
    assert any(" " in key and lookup.goes_on(key) for key in keys)  # longer names were met at all
    for key in sorted(keys):
        assert lookup.names(key) == (key in gazetteer.countries or key in gazetteer.demonyms or gazetteer.has(key))
        assert lookup.has(key) == gazetteer.has(key)
        assert lookup.goes_on(key) == (key in heads), key
        assert lookup.candidates(key) == gazetteer.lookup(key)
        assert lookup.loose_candidates(key) == gazetteer.lookup_loose(key)
        assert lookup.loose_goes_on(loose_key(key)) == (loose_key(key) in loose_heads), key
    for key in keys:  # asked again: the remembered answers are the same
        assert lookup.goes_on(key) == (key in heads) and lookup.has(key) == gazetteer.has(key)


def test_words_in_lower_case_are_asked_only_about_demonyms_and_curated_phrases(gazetteer: Gazetteer) -> None:
    lookup = NameLookup(gazetteer)
    phrase = next(k for k in gazetteer.curated if k.count(" ") == 1)
    demonym = next(k for k in gazetteer.demonyms if " " not in k)
    assert lookup.goes_on_in_lower_case(phrase.split(" ")[0]) and lookup.names_in_lower_case(phrase, 2)
    assert lookup.names_in_lower_case(demonym, 1) and not lookup.names_in_lower_case(demonym, 3)
    country = next(k for k in gazetteer.countries if " " not in k and k not in gazetteer.curated
                   and k not in gazetteer.demonyms)
    assert lookup.names(country) and not lookup.names_in_lower_case(country, 1)


class _TryEverything(NameLookup):
    """A lookup that rules out no run of words: the scan then tries every length at every word that
    begins a name, as it did before it skipped any."""

    def goes_on(self, key: str) -> bool:
        return True

    def goes_on_in_lower_case(self, key: str) -> bool:
        return True

    def loose_goes_on(self, loose: str) -> bool:
        return True

    def names_in_lower_case(self, key: str, length: int) -> bool:
        return self.names(key)


def _variants(text: str) -> list[str]:
    return [text, text.lower(), text.upper(), text.replace(". ", ".\n")]


def test_the_scan_finds_what_trying_every_run_finds(gazetteer: Gazetteer, monkeypatch: pytest.MonkeyPatch) -> None:
    texts = [v for text in TEXTS for v in _variants(text)]
    fast = [place_scan.scan_names(text, gazetteer) for text in texts]
    places = [extract_places(text, "en", gazetteer) for text in texts]
    everything = _TryEverything(gazetteer)
    monkeypatch.setattr(place_scan, "lookup_for", lambda g: everything)
    slow = [place_scan.scan_names(text, gazetteer) for text in texts]
    assert fast == slow
    assert places == [extract_places(text, "en", gazetteer) for text in texts]
    assert sum(len(scan.places) for scan in fast) > len(texts)  # the texts do name places
    assert any(scan.loose for scan in fast) and any(scan.actors for scan in fast)


def test_each_gazetteer_has_its_own_lookup(gazetteer: Gazetteer) -> None:
    assert lookup_for(gazetteer) is lookup_for(gazetteer)
    assert lookup_for(load_gazetteer()) is lookup_for(gazetteer)  # load_gazetteer is cached
