"""The pre-scans of case_gate let through every text their patterns match, so skipping work is exact."""

from __future__ import annotations

import re
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.reading import case_gate, casualties, figure_choice

EVERY_CHAR = "".join(chr(cp) for cp in range(sys.maxunicode + 1) if not 0xD800 <= cp < 0xE000)
SAFE_CHARS = case_gate.UNSAFE.sub("", EVERY_CHAR)
TWINNED = list(casualties._TWINNED)
# The character classes of the twinned patterns (but the capital the original wants, which the twin takes lower-cased).
CLASSES = sorted({cls for pattern in TWINNED
                  for cls in re.findall(r"\[(?:\\.|[^\]\\])+\]", pattern.pattern.replace("(?-i:[A-Z])", ""))})


def _matching(regex: str, flags: int = 0) -> set[str]:
    return {m.group() for m in re.finditer(regex, SAFE_CHARS, flags)}


def test_lowering_keeps_one_character_and_its_kind_outside_the_unsafe_ones() -> None:
    assert all(len(ch.lower()) == 1 for ch in SAFE_CHARS)
    for cls in (r"\w", r"\d", r"\s", r"[^\W\d_]"):
        inside = _matching(cls)
        assert {ch for ch in SAFE_CHARS if (ch in inside) != (ch.lower() in inside)} == set(), cls


def test_every_literal_of_the_twinned_patterns_matches_ignoring_case_exactly_what_lowers_to_it() -> None:
    literals = set(case_gate.GATE_CHARS)
    for pattern in TWINNED:
        literals |= set(re.sub(r"\\.", "", pattern.pattern))
    for lit in sorted(literals):
        ignoring_case = _matching(re.escape(lit), re.IGNORECASE)
        lowering = {ch for ch in SAFE_CHARS if ch.lower() == lit.lower()}
        assert ignoring_case == lowering, lit


def test_the_twinned_patterns_have_classes_to_check() -> None:
    assert {r"[а-яё-]", r"[^,.;:]", r"[\w'’/.-]"} <= set(CLASSES)


@pytest.mark.parametrize("cls", CLASSES)
def test_a_class_matched_ignoring_case_holds_the_lowered_character(cls: str) -> None:
    plain = _matching(cls)
    assert {ch for ch in _matching(cls, re.IGNORECASE) if ch.lower() not in plain} == set()


def test_capitals_the_original_wants_are_letters_the_twin_takes() -> None:
    pattern = re.compile(r"(?<!\w)(?P<n>\d+)\s+(?-i:[A-Z])\w*(?:ans|is)\s+died", re.IGNORECASE)
    twin = case_gate.loose_twin(pattern)
    text = "Raid Kills 3 Ugandans, 4 somalis died, 5 Kenyans Died"
    found = list(case_gate.finditer(pattern, twin, text, case_gate.lowered_for(text)))
    assert [m.group() for m in found] == ["5 Kenyans Died"]
    assert len(twin.findall(text.lower())) == 2  # the twin lets through more, never less


def test_a_twin_needs_lower_case_literals_and_ignorecase() -> None:
    with pytest.raises(ValueError):
        case_gate.loose_twin(re.compile("Killed", re.IGNORECASE))
    with pytest.raises(ValueError):
        case_gate.loose_twin(re.compile("killed"))
    with pytest.raises(ValueError):
        case_gate.gate(["Killed"])


def test_unsafe_text_skips_the_pre_scans() -> None:
    assert case_gate.lowered_for("ſeveral killed") is None
    assert case_gate.may_match(case_gate.gate(["several"]), None)
    assert case_gate.may_match(case_gate.gate(["several"]), "several killed")
    assert not case_gate.may_match(case_gate.gate(["several"]), "three killed")


FRAGMENTS = ["killed", "Killed", "KILLED", "were", "was", "wounded", "INJURED", "died", "dead", "killing", "wounding",
             "left", "3", "12", "1,200", "three", "Five", "a", "An", "one", "another", "several", "Dozens", "at least",
             "more than", "soldiers", "Civilians", "people", "Ugandans", "somalis", "of them", "including", "and",
             "man", "A soldier", "the driver", "who was", "one of the", "погибли", "Погиб", "ранены", "двое",
             "военнослужащий", "мирных жителей", "человека", "trucks", "in", ",", ".", ";", "(", ")", "-", "–",
             "\n", "ſ", "İ", "ı", "K", "Ǆ", "ᲀ", "2019", "January", "26-year-old", "to", "or", "по меньшей мере"]
GATE_FRAGMENTS = [*FRAGMENTS, "no", "No one", "nobody", "without", "Neither", "nor", "casualties", "Casualties",
                  "injuries", "fatalities", "losses", "Без", "жертв", "потерь", "нет", "обошлось", "not", "confirmed",
                  "Unverified", "denied", "не подтверждено", "опровергли", "Yesterday", "a week ago", "war", "since",
                  "total", "Toll", "rose", "claimed", "Alleged", "in retaliation", "в ответ", "вчера", "prior"]
texts = st.lists(st.sampled_from(GATE_FRAGMENTS), max_size=30).map(" ".join)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts)
def test_twin_led_search_finds_what_the_pattern_finds(text: str) -> None:
    lowered = case_gate.lowered_for(text)
    for pattern in TWINNED:
        twin = casualties.loose_twin_of(pattern)
        assert twin is not None
        expected = [(m.span(), m.groupdict()) for m in pattern.finditer(text)]
        assert [(m.span(), m.groupdict()) for m in case_gate.finditer(pattern, twin, text, lowered)] == expected


c = casualties
GATED = [(c._NONE_KILLED_GATE, c._NONE_KILLED), (c._NONE_INJURED_GATE, c._NONE_INJURED),
         (c._DISPUTED_GATE, c._DISPUTED),
         (c._CASUALTIES_GATE, c._CASUALTIES_DEAD), (c._SINGLE_GATE, c._SINGLE_KILLED[0]),
         (c._SINGLE_GATE, c._SINGLE_KILLED[1]), (c._SINGLE_GATE, c._SINGLE_INJURED[0]),
         (c._SINGLE_GATE, c._SINGLE_INJURED[1]), *((scan, pattern) for pattern, scan in figure_choice._GATED)]

@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts)
def test_a_gate_lets_through_every_text_its_pattern_matches(text: str) -> None:
    lowered = case_gate.lowered_for(text)
    for scan, pattern in GATED:
        if pattern.search(text):
            assert case_gate.may_match(scan, lowered), (scan.pattern, pattern.pattern[:60])


@pytest.mark.parametrize("text", [
    "There were no casualties among the crew.", "No one was hurt, police said.", "Обошлось без жертв.",
    "The figure could not be independently verified.", "The army denied the report.",
    "A farmer was wounded by shrapnel.", "One of the guards was killed.", "Погиб водитель грузовика.",
    "The attack left 12 casualties, 3 of them dead.", "The toll rose to 9 on Friday.",
])
def test_a_gate_lets_through_made_up_sentences_its_pattern_matches(text: str) -> None:
    lowered = case_gate.lowered_for(text)
    matched = [scan for scan, pattern in GATED if pattern.search(text)]
    assert matched, "the sentence should exercise a gated pattern"
    assert all(case_gate.may_match(scan, lowered) for scan in matched)


def test_the_list_tail_check_holds_every_list_before_match() -> None:
    for window in ["12 civilians, ", "4 soldiers and ", "2 medics, and ", "три бойца и ", "5 Guards AND  "]:
        assert casualties._LIST_BEFORE.search(window), window
        assert casualties._LIST_TAIL.search(window.rstrip()[-3:]), window


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from([*FRAGMENTS, "И", "And", ", and", "  "]), max_size=12).map(" ".join))
def test_the_list_tail_check_holds_every_list_before_match_of_made_up_windows(window: str) -> None:
    if casualties._LIST_BEFORE.search(window):
        assert casualties._LIST_TAIL.search(window.rstrip()[-3:])
