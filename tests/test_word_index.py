"""word_index: running a pattern only at the words where it can begin finds exactly what
`regex.finditer` finds, for every rule and weapon pattern of the rule files, on the test cases'
texts and on random texts built from the rule files' own words."""

from __future__ import annotations

import random
import re
import tomllib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.reading.rules import LangRules, load_ruleset, lower_text
from monitor.reading.word_index import _ODD, UNINDEXABLE, PatternIndex, pattern_needs, pattern_starts

RULES = load_ruleset()
CASES_DIR = Path(__file__).parent / "data" / "cases"
RULES_DIR = Path(__file__).parent.parent / "monitor" / "data" / "rules"


def case_texts() -> list[str]:
    texts = []
    for path in sorted(CASES_DIR.glob("*.toml")):
        for case in tomllib.loads(path.read_text(encoding="utf-8"))["case"]:
            texts.append(f"{case.get('title', '')}\n{case.get('text', '')}")
    return texts


def rule_words(lang: str) -> list[str]:
    """The letters-only words of a rule file: what random texts are made of, so rules do match."""
    text = (RULES_DIR / f"{lang}.toml").read_text(encoding="utf-8")
    return sorted(set(re.findall(r"[a-zа-яё]{2,}", text)))


def same_matches(rules: LangRules, text: str) -> None:
    scan = lower_text(text)
    candidates = rules.index.scan(scan)
    present = set(rules.index.present(candidates))
    for i, regex in enumerate(rules.index.patterns):
        for target in (scan, text):  # lower-cased rules run on the scan, cased ones on the text
            if (target is text) != bool(regex.flags & re.IGNORECASE):
                continue
            expected = [(m.span(), m.group()) for m in regex.finditer(target)]
            found = [(m.span(), m.group()) for m in rules.index.finditer(i, target, candidates)]
            assert found == expected, (regex.pattern[:80], text)
            assert i in present or not expected  # a pattern left out by present() has no match


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_same_matches_on_case_texts(lang: str) -> None:
    texts = case_texts()
    assert len(texts) > 50
    matched = 0
    for text in texts:
        same_matches(RULES.for_lang(lang), text)
        matched += bool(RULES.for_lang(lang).index.scan(lower_text(text)).at)
    assert matched > 10  # the texts do reach the patterns


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_same_matches_on_random_texts_of_rule_words(lang: str) -> None:
    words = rule_words(lang)
    rng = random.Random(12)
    glue = [" ", " ", " ", ", ", ". ", " - ", " «", "» ", "\n", "'", " 122 ", "-"]
    for _ in range(400):
        parts = []
        for _ in range(rng.randrange(3, 40)):
            word = rng.choice(words)
            parts.append(word.upper() if rng.random() < 0.05 else word.capitalize() if rng.random() < 0.2 else word)
            parts.append(rng.choice(glue))
        same_matches(RULES.for_lang(lang), "".join(parts))


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("abdefgilmnorstuy .,-«»'\n0123ſİ٣обстрелудар")), max_size=120))
def test_same_matches_on_any_text(text: str) -> None:
    same_matches(RULES.for_lang("en"), text)
    same_matches(RULES.for_lang("ru"), text)


def test_unusual_characters_make_every_pattern_run() -> None:
    index = PatternIndex([re.compile(r"(?<!\w)(?:\d\d mm)")])
    assert index.scan("a 12 mm gun").at == {"12 mm": [2]}
    assert index.scan("a ١٢ mm gun").at is None  # Arabic-Indic digits: \d matches them, 0-9 does not
    assert [m.group() for m in index.finditer(0, "a ١٢ mm gun", index.scan("a ١٢ mm gun"))] == ["١٢ mm"]


def test_pattern_starts() -> None:
    assert pattern_starts(re.compile(r"(?<!\w)(?:shell(?:ed|ing)?|mortars?)")) == (
        frozenset({"shell", "shelle", "shelli", "mortar"}), 0)  # up to six characters
    starts = pattern_starts(re.compile(r"(?<!\w)(?:«?град\w*»?)"))
    assert starts == (frozenset({"град", "град»"}), 1)  # a quote may come first
    assert pattern_starts(re.compile(r"(?<!\w)(?:u\.s\. strikes)")) == (frozenset({"u.s. s"}), 0)
    assert pattern_starts(re.compile(r"shell")) is None  # not word-bounded: may begin inside a word
    assert pattern_starts(re.compile(r"(?<!\w)(?:\w+ fire)")) is None  # may begin with any word
    cased = pattern_starts(re.compile(r"(?<!\w)(?:(?-i:[A-Z])\w+ bombs|bombed)", re.IGNORECASE))
    assert cased is not None and "bombed" in cased[0] and "q" in cased[0]  # lower-cased letters


def test_pattern_needs() -> None:
    assert pattern_needs(re.compile(r"(?<!\w)(?:bombed|bombs? (?:fell|hit)|(?-i:[A-Z])\w+ bombs)", re.IGNORECASE)) \
        == frozenset({"bombed", "bomb", " bombs"})
    assert pattern_needs(re.compile(r"(?<!\w)(?:shell(?:ing|ed)|\w+ fire)")) == frozenset({"shell", " fire"})
    assert pattern_needs(re.compile(r"(?<!\w)(?:shell|\w+)")) is None  # an alternative needs no letters
    index = PatternIndex([re.compile(r"(?<!\w)(?:[a-z]\w+ bombs)")])
    assert index.scan("the town bombs").at is not None
    assert list(index.finditer(0, "town was bombed", index.scan("town was bombed"))) == []
    assert [m.group() for m in index.finditer(0, "the town bombs", index.scan("the town bombs"))] == ["town bombs"]


def test_unindexable_characters_are_the_odd_ones_and_the_digits_other_than_0_to_9() -> None:
    digit = re.compile(r"\d")
    odd = set(_ODD)
    for code in range(0x3000):  # Latin, Greek, Cyrillic, Arabic, Indic digits, the odd characters
        ch = chr(code)
        expected = (digit.match(ch) is not None and ch not in "0123456789") or ch in odd
        assert (UNINDEXABLE.search(ch) is not None) == expected, hex(code)
    assert odd and "\u0130" in odd and "\u017f" in odd
