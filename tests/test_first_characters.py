"""word_index.with_first_characters: a look-ahead for the characters a match can begin with, which
changes no match of the place scan's searches over the words before a name, on made-up phrases
and on any text (hypothesis), case-folding characters included."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.reading import place_scan
from monitor.reading.word_index import with_first_characters

SEARCHES = {name: getattr(place_scan, name) for name in
            ("_LOCATIVE_BEFORE", "_DIRECTION_BEFORE", "_MEDIATOR", "_CAPITAL_BEFORE")}
# (LOCATIVE_BEFORE wraps _LOCATIVE_BEFORE in a last-word pre-check: tests/test_place_scan_prefilters.py)
PHRASES = [
    "Artillery shelled the village of ", "fighting in northern ", "drones hit the occupied ",
    "the outskirts of the town of ", "talks in ", "a Turkish-brokered truce in ", "the capital of the ",
    "in the south-eastern part of ", "Обстрелы на юге ", "обстрелу подвергся посёлок ", "в столице ",
    "IN THE VILLAGE OF ", "ſhelled the ", "near the KELVIN-held town of ", "STRUCK ", "in\n", "х ",
]
# Letters that fold to others ("ſ" to "s", the Kelvin sign to "k", "İ" to "i"), dashes, spaces.
ALPHABET = st.sampled_from(list("abcehinorstuvwlkdgmpfSHINOKVАБВНОПРУаеиоснрвпулкыдгтзцю-– \n,'’ſKİ"))


def _unguarded(guarded: re.Pattern[str]) -> re.Pattern[str]:
    """The pattern without its look-ahead."""
    m = re.fullmatch(r"\(\?=\[(?:\\.|[^\]])*\]\)\(\?:(.*)\)", guarded.pattern, re.DOTALL)
    assert m is not None
    return re.compile(m.group(1), guarded.flags)


def _found(regex: re.Pattern[str], text: str) -> list[tuple[tuple[int, int], dict[str, str | None]]]:
    """Every search of `regex` in `text`, from each position, as a search with pos does it."""
    out = []
    for pos in range(len(text) + 1):
        m = regex.search(text, pos)
        if m is not None:
            out.append((m.span(), m.groupdict()))
    return out


def test_the_look_ahead_lists_the_first_characters() -> None:
    guarded = with_first_characters(re.compile(r"(?:\bshell(?:ed)?|bomb[sd]?|[Tt]arget)\s+$"))
    assert guarded.pattern.startswith("(?=[Tbst])")
    for text in ("they shelled ", "bombs ", "a Target ", "nothing here "):
        assert _found(guarded, text) == _found(re.compile(r"(?:\bshell(?:ed)?|bomb[sd]?|[Tt]arget)\s+$"), text)


@pytest.mark.parametrize("pattern", [r"\w+ of", r"a?b?", r"(?:x|\d)y", r"[^a]b", r"(?i:ab)c", r"(?:ab)*c?"])
def test_a_pattern_that_may_begin_with_anything_is_left_as_it_is(pattern: str) -> None:
    regex = re.compile(pattern)
    assert with_first_characters(regex) is regex


def test_the_place_scans_searches_are_guarded() -> None:
    for regex in SEARCHES.values():
        assert regex.pattern.startswith("(?=[")


@pytest.mark.parametrize("name", sorted(SEARCHES))
def test_same_matches_on_made_up_phrases(name: str) -> None:
    guarded = SEARCHES[name]
    plain = _unguarded(guarded)
    assert with_first_characters(plain).pattern == guarded.pattern
    for phrase in PHRASES:
        assert _found(guarded, phrase) == _found(plain, phrase), phrase


@settings(max_examples=300, deadline=None)
@given(st.lists(ALPHABET, max_size=40).map("".join))
def test_same_matches_on_any_text(text: str) -> None:
    for guarded in SEARCHES.values():
        plain = _unguarded(guarded)
        assert _found(guarded, text) == _found(plain, text)
