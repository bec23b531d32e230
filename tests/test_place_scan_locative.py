"""place_scan.LOCATIVE_BEFORE: the locative search run only where the last word before a name can end
a match finds exactly what the plain search finds. The windows are made up."""

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
