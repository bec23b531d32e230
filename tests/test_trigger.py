"""rules.LangRules.trigger: the rule file's trigger words compiled with the plain ones as a prefix tree
find a trigger word at the same place as the plain alternation of the words, in the case texts and in
made-up texts of the rule files' own words; a file's words with regex syntax keep working."""

from __future__ import annotations

import random
import re
import tomllib

import pytest

from monitor.reading.rules import load_ruleset, lower_text, parse_rule_file
from tests.test_word_index import RULES_DIR, case_texts, rule_words

RULES = load_ruleset()


def plain_alternation(lang: str) -> re.Pattern[str]:
    words = tomllib.loads((RULES_DIR / f"{lang}.toml").read_text(encoding="utf-8"))["meta"]["trigger"]
    return re.compile(r"(?<!\w)(?:" + "|".join(words) + ")")


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_trigger_finds_what_the_plain_alternation_finds(lang: str) -> None:
    trigger, plain = RULES.for_lang(lang).trigger, plain_alternation(lang)
    assert trigger is not None and trigger.pattern != plain.pattern
    words = rule_words(lang)
    rng = random.Random(5)
    texts = [lower_text(text) for text in case_texts()]
    texts += [" ".join(rng.choice(words) + rng.choice(["", "s", "ed", "-"]) for _ in range(rng.randrange(1, 12)))
              for _ in range(300)]
    found = 0
    for text in texts:
        ours, theirs = trigger.search(text), plain.search(text)
        assert (ours and ours.start()) == (theirs and theirs.start()), text
        found += ours is not None
    assert 0 < found < len(texts)  # both outcomes are compared


def test_trigger_words_with_regex_syntax_are_kept_as_written() -> None:
    rules = parse_rule_file('[meta]\ntrigger = ["shell", "cease-?fire", "air strike", "\\\\d+ ?mm"]\n', "test", "en")
    assert rules.trigger is not None
    for text, expected in [("the ceasefire held", True), ("an air strike", True), ("a 120mm gun", True),
                           ("shelling", True), ("airstrike", False), ("cease fire", False), ("a nutshell", False)]:
        assert (rules.trigger.search(text) is not None) is expected, text
