"""place_scan's searches run only where a match can be (LOCATIVE_BEFORE, _direction_before,
_mediator_near) find exactly what the plain searches find. The windows are made up."""

from __future__ import annotations

import itertools

import pytest

from monitor.reading import place_scan

WINDOWS = [
    "Two people were killed in ", "shelling hit the northern village of ", "Artillery pounded ",
    "the rebel-held ", "fighting near the southern ", "officials said ", "the capital, ",
    "the ministry's capital, ", "he told reporters in\n", "and ", "", "   ", "in", "xin ", "non-in ",
    "(in ", "in. ", "attacks on the outskirts of ", "drones struck ", "weapons targeted the ",
    "ВСУ обстреляли ", "удар по ", "в районе села ", "в Курской ", "на окраине ", "близ ", "сообщили ",
    "в северной части ", "в столице ", "the government-controlled ", "toward\u00a0", "ſhelled ",
    "attacK ", "İn ", "ᲀ ", "the town ", "said Sunday ", "between ", "invaded ", "the 3rd ", "in_ ",
]


@pytest.mark.parametrize("window", WINDOWS)
def test_same_answer_as_the_plain_search(window: str) -> None:
    fast, plain = place_scan.LOCATIVE_BEFORE.search(window), place_scan._LOCATIVE_BEFORE.search(window)
    assert (fast is None) == (plain is None)
    if fast is not None and plain is not None:
        assert fast.span() == plain.span()


def test_same_answer_on_every_ending_of_made_up_sentences() -> None:
    sentences = ["Rockets were fired at the eastern town of Kharkiv region on Monday, and strikes hit the port.",
                 "Мирные жители погибли при обстреле в районе поселка под Донецком, сообщили власти.",
                 "Troops advanced across the occupied north-eastern districts toward the capital, city officials said."]
    found = 0
    for sentence, end in itertools.product(sentences, range(80)):
        window = sentence[max(0, end - place_scan.WINDOW):end]
        fast, plain = place_scan.LOCATIVE_BEFORE.search(window), place_scan._LOCATIVE_BEFORE.search(window)
        assert (fast is None) == (plain is None), window
        found += plain is not None
    assert found > 5  # the sentences do have locative endings


def test_a_non_locative_last_word_skips_the_search() -> None:
    class Counting:
        calls = 0

        def search(self, text: str) -> None:
            Counting.calls += 1

    skipping = place_scan._LastWordFirst(Counting())  # type: ignore[arg-type]
    skipping.search("the ministry said ")
    skipping.search("no trailing space")
    assert Counting.calls == 0
    skipping.search("fighting in ")
    skipping.search("fighting in\u00e9 ")  # a word beyond ASCII and basic Cyrillic: left to the search
    assert Counting.calls == 2


TEXTS = [
    "Shelling in northern Freedonia killed two; in the south-eastern part of Freedonia, calm.",
    "На юге Фридонии и в северо-восточной части Фридонии продолжаются бои.",
    "The Ruritania-brokered truce, mediated by envoys, held as allies hosted talks in the capital.",
    "Переговоры в столице при посредничестве соседей продолжились; на западе Фридонии тихо.",
    "Fighting in centralFreedonia and the WESTERN  Freedonia border; north of Freedonia nothing.",
    "\u017fouthern Freedonia and ALLIED forces; \u1c80 \u0421еверной Фридонии.",
]


@pytest.mark.parametrize("text", TEXTS)
def test_direction_and_mediator_searches_find_what_the_plain_ones_find(text: str) -> None:
    for start in range(len(text) + 1):
        fast = place_scan._direction_before(text, start)
        plain = place_scan._DIRECTION_BEFORE.search(text, max(0, start - 30), start)
        assert (fast is None) == (plain is None), text[:start]
        if fast is not None and plain is not None:
            assert fast.span("d") == plain.span("d")
        for end in (start + 5, start + 12):
            window = text[max(0, start - 25):end]
            assert place_scan._mediator_near(window) == (place_scan._MEDIATOR.search(window) is not None), window


def test_the_made_up_texts_do_have_directions_and_mediators() -> None:
    text = TEXTS[0]
    assert place_scan._direction_before(text, text.index("Freedonia killed")) is not None
    assert place_scan._direction_before(text, text.index("Freedonia, calm")) is not None
    assert place_scan._direction_before(text, text.index("killed")) is None
    assert place_scan._mediator_near(TEXTS[2][:40])
    assert not place_scan._mediator_near("fighting resumed near the border on Monday")
