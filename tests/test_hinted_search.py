"""monitor.reading.hinted_search: a search skipped in windows lacking its words answers exactly as the
pattern does, on made-up windows, including the place stage's own hinted patterns."""

from __future__ import annotations

import re

import pytest

from monitor.reading import places
from monitor.reading.hinted_search import with_hints

SENTENCES = [
    "Fighting resumed after talks held in the city of Freeton, following a raid that killed two.",
    "President Ostrov said Liwa al-Freedom fighters and Jaysh Freeton units shelled the town.",
    "Переговоры прошли в столице; после удара, который убил двоих, министр Остров приехал в город.",
    "Since the attack which hit Freeton, Mr. Ostrov and Gen. Vale met at the summit in Freeton.",
    "FOLLOWING THE RAID THAT HIT THE TOWN, NEGOTIATIONS AT FREETON STALLED; MS OSTROV SPOKE.",
    "\u017fince the \u017fhelling that hit it; Kata’ib Freeton; \u1c80 \u0441тречи в Фритоне.",
]


def test_a_window_lacking_a_group_is_not_searched() -> None:
    calls = []

    class Counting:
        flags = re.IGNORECASE

        def search(self, text: str, pos: int = 0, endpos: int = 0) -> None:
            calls.append(text[pos:endpos])

    hinted = with_hints(Counting(), ("after", "since"), ("that",))  # type: ignore[arg-type]
    assert hinted.search("after the raid, calm") is None
    assert calls == []
    hinted.search("After the raid THAT hit")  # case folded: both groups are there
    hinted.search("since the raid which hit the café")  # a character beyond ASCII: searched
    assert len(calls) == 2


def test_a_case_sensitive_pattern_keeps_case() -> None:
    hinted = with_hints(re.compile(r"\bLiwa\s+\w+"), ("Liwa",))
    assert hinted.search("the liwa brigade") is None
    found = hinted.search("the Liwa brigade")
    assert found is not None and found.group() == "Liwa brigade"


@pytest.mark.parametrize("name, width", [("_VENUE_BEFORE", 40), ("_BACKGROUND_BEFORE", 120), ("_TITLE_BEFORE", 20)])
def test_places_hinted_windows_answer_as_their_patterns(name: str, width: int) -> None:
    hinted = getattr(places, name)
    found = 0
    for text in SENTENCES:
        for start in range(len(text) + 1):
            window = text[max(0, start - width):start]
            fast, plain = hinted.search(window), hinted.pattern.search(window)
            assert (fast is None) == (plain is None), window
            if fast is not None and plain is not None:
                assert fast.span() == plain.span()
            found += plain is not None
    assert found > 0  # the sentences do hold matches


def test_unit_before_answers_as_its_pattern_with_positions() -> None:
    found = 0
    for text in SENTENCES:
        for start in range(len(text) + 1):
            fast = places._UNIT_BEFORE.search(text, max(0, start - 30), start)
            plain = places._UNIT_BEFORE.pattern.search(text, max(0, start - 30), start)
            assert (fast is None) == (plain is None), text[:start]
            found += plain is not None
    assert found > 0
