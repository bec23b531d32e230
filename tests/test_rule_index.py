"""rule_index and rules.Matcher: the one scan classify makes of a text selects every rule, weapon,
scrub and cue match that the plain regexes find, in the case texts and in made-up texts built from
the rule files' own words; the {gap}/{near} runs without their period alternative find the same
matches in texts without a period before a digit."""

from __future__ import annotations

import random
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.reading.rule_index import RuleIndex
from monitor.reading.rules import CUE_KEYS, LangRules, Matcher, load_ruleset, lower_text, plain_runs
from tests.test_word_index import case_texts, rule_words

RULES = load_ruleset()


def same_as_the_regexes(rules: LangRules, text: str) -> int:
    """Check every pattern of the Matcher chosen for `text`; return how many matches were compared."""
    scan = lower_text(text)
    matcher = rules.matcher(scan)
    assert matcher is (rules.any_text_matcher if re.search(r"\.\d", scan) else rules.plain_matcher)
    scanned = matcher.index.scan(scan)
    compared = 0
    for i, regex in enumerate(matcher.index.patterns):
        target = text if i < len(rules.rules) and rules.rules[i].cased else scan
        expected = [(m.span(), m.group()) for m in regex.finditer(target)]
        assert [(m.span(), m.group()) for m in matcher.index.matches(i, target, scanned)] == expected, \
            (regex.pattern[:80], text)
        assert scanned.present(i) or not expected
        compared += len(expected)
    for key in CUE_KEYS:  # a cue is searched for in a stretch only at the words where it may begin
        cue, number = rules.cues[key], matcher.cue[key]
        for start in range(0, len(scan) + 1, 7):
            for end in (start, start + 3, start + 20, start + 45, len(scan)):
                end = min(end, len(scan))
                if key == "negation_after":  # matched right after a rule match, when its words are near
                    if cue.match(scan, start, end) is not None:
                        assert scanned.near(number, start, end), (key, scan[start:end])
                    continue
                expected = cue.search(scan, start, end)
                found = matcher.index.search(number, scan, scanned, start, end, cue)
                assert (found and found.span()) == (expected and expected.span()), (key, scan[start:end])
                assert [m.span() for m in matcher.index.finditer_in(number, scan, scanned, start, end)] \
                    == [m.span() for m in matcher.index.patterns[number].finditer(scan, start, end)]
                compared += expected is not None
    return compared


def test_plain_runs_are_used_only_without_a_period_before_a_digit() -> None:
    en = RULES.for_lang("en")
    assert en.matcher("mortars hit the town") is en.plain_matcher
    assert en.matcher("a 1.5 km front") is en.any_text_matcher
    gap_rules = [rule for rule in en.rules if "|\\.(?=\\d)" in rule.regex.pattern]
    assert gap_rules, "the English rules have {gap} runs"
    for rule in gap_rules:
        plain = plain_runs(rule.regex)
        assert plain is not rule.regex and "(?=\\d)" not in plain.pattern and plain.flags == rule.regex.flags
    text = "Mortars were fired 1.5 km from the post"
    weapon = en.rules[[r.name for r in en.rules].index("weapon + attack verb")].regex
    assert weapon.search(lower_text(text)) is not None


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_same_matches_on_case_texts(lang: str) -> None:
    texts = case_texts()
    assert len(texts) > 50
    compared = sum(same_as_the_regexes(RULES.for_lang(lang), text) for text in texts)
    assert compared > 10  # the texts do reach the patterns


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_same_matches_on_made_up_texts_of_rule_words(lang: str) -> None:
    words = rule_words(lang)
    rng = random.Random(7)
    glue = [" ", " ", " ", ", ", ". ", " - ", " «", "» ", "\n", "'", " 122 ", " 1.5 ", "-", "; "]
    compared = 0
    for _ in range(150):
        parts = []
        for _ in range(rng.randrange(3, 30)):
            word = rng.choice(words)
            parts.append(word.upper() if rng.random() < 0.05 else word.capitalize() if rng.random() < 0.2 else word)
            parts.append(rng.choice(glue))
        compared += same_as_the_regexes(RULES.for_lang(lang), "".join(parts))
    assert compared > 100


@settings(max_examples=80, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("abdefgilmnorstuy .,-«»'\n0123ſİ٣обстрелудар")), max_size=100))
def test_same_matches_on_any_text(text: str) -> None:
    same_as_the_regexes(RULES.for_lang("en"), text)
    same_as_the_regexes(RULES.for_lang("ru"), text)


def test_a_pattern_that_may_begin_at_any_word_is_run_where_its_strings_are() -> None:
    index = RuleIndex([re.compile(r"(?<!\w)(?:(?-i:[A-Z])\w+ bombs|bombed)", re.IGNORECASE),
                       re.compile(r"(?<!\w)(?:shell(?:ed|ing))")])
    text = "Rebel bombs fell. Town was shelled"
    scanned = index.scan(text.lower())
    at = text.index("shelled")
    assert scanned.where == {1: [at]}  # the first pattern adds no word to the scan
    assert [m.group() for m in index.matches(0, text, scanned)] == ["Rebel bombs"]
    assert [m.group() for m in index.matches(1, text.lower(), scanned)] == ["shelled"]
    quiet = index.scan("a quiet day")
    assert index.matches(0, "A quiet day", quiet) == [] and not quiet.present(1)
    assert scanned.near(1, at, at) and scanned.near(1, 0, len(text)) and not scanned.near(1, 0, at - 1)


def test_text_with_unusual_characters_runs_every_pattern() -> None:
    index = RuleIndex([re.compile(r"(?<!\w)(?:\d\d mm)")])
    scanned = index.scan("a ١٢ mm gun")  # Arabic-Indic digits: \d matches them, 0-9 does not
    assert scanned.where is None and scanned.near(0, 0, 1)
    assert [m.group() for m in index.matches(0, "a ١٢ mm gun", scanned)] == ["١٢ mm"]


def test_matcher_numbers_its_patterns() -> None:
    en = RULES.for_lang("en")
    matcher: Matcher = en.plain_matcher
    assert matcher.first_weapon == len(en.rules)
    assert matcher.index.patterns[matcher.first_weapon] is en.weapons[0][1]
    assert matcher.scrub is not None and matcher.index.patterns[matcher.scrub] is en.scrub
    assert matcher.index.patterns[matcher.cue["history"]] is en.cues["history"]
    # a framed cue is indexed by its words alone
    assert matcher.index.patterns[matcher.cue["negation"]].search("no new shelling") is not None
