"""Classifier: data-driven cases (tests/data/cases/*.toml), the §6 contract, rule-file errors."""

from __future__ import annotations

import json
import re
import tomllib
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.errors import MonitorError
from monitor.models import FeedItem
from monitor.reading.classify import _SENTENCE_END, Classifier, detect_lang
from monitor.reading.rules import load_ruleset, parse_rule_file
from monitor.settings import ClassifySettings

CASES_DIR = Path(__file__).parent / "data" / "cases"


def load_cases() -> list[dict[str, Any]]:
    cases = []
    for path in sorted(CASES_DIR.glob("*.toml")):
        for case in tomllib.loads(path.read_text(encoding="utf-8"))["case"]:
            cases.append({**case, "file": path.name})
    return cases


CASES = load_cases()


def item_of(case: dict[str, Any]) -> FeedItem:
    published = case.get("published")
    return FeedItem(
        title=case.get("title", ""),
        text=case.get("text", ""),
        published_at=datetime.fromisoformat(published.replace("Z", "+00:00")) if published else None,
        lang=case.get("lang"),
    )


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    return Classifier.from_settings()


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_case(classifier: Classifier, case: dict[str, Any]) -> None:
    result = classifier.classify(item_of(case))
    if "labels" in case:
        assert sorted(result.label_names) == sorted(case["labels"]), result.explanation
        assert result.relevant == bool(case["labels"])
    else:  # an extraction case: any label, as long as the item is relevant
        assert result.relevant, result.explanation
    if "country" in case:
        assert result.countries[:1] == (case["country"],)
    if "place" in case:
        assert result.place is not None and result.place.name == case["place"]
    for key in ("killed", "injured"):
        if key in case:
            assert getattr(result, key).count == case[key]
    if "event_date" in case:
        assert result.event_date is not None and result.event_date.isoformat() == case["event_date"]


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_trigger_admits_every_text_a_rule_matches(case: dict[str, Any]) -> None:
    # The trigger only skips texts no rule can match; a rule matching without it would be lost.
    item = item_of(case)
    rules = load_ruleset().for_lang(detect_lang(item))
    text = f"{item.title}\n{item.text}"
    if rules.trigger is not None and any(r.regex.search(text) for r in rules.rules):
        assert rules.trigger.search(text)


def test_json_follows_the_classify_contract(classifier: Classifier) -> None:
    item = FeedItem(title="Azerbaijani forces shelled Armenian positions near Jermuk, killing 2 soldiers",
                    text="", published_at=datetime.fromisoformat("2022-09-13T08:00:00+00:00"), lang="en")
    out = classifier.classify(item).to_json("x-1")
    assert out["id"] == "x-1" and out["relevant"] is True
    assert out["labels"][0]["label"] == "shelling" and out["labels"][0]["evidence"]
    assert out["place"]["name"] == "Jermuk" and out["place"]["precision"] == "place"
    assert out["country"] == ["AM"]
    assert out["killed"] == 2 and out["killed_detail"] == {"military": 2, "civilian": None, "vague": False}
    assert out["event_date"] == "2022-09-13"
    assert out["explanation"][0].startswith("shelling 0.")


def test_irrelevant_item_has_null_fields(classifier: Classifier) -> None:
    out = classifier.classify(FeedItem(title="Central bank raises interest rates", text="")).to_json(1)
    assert out["relevant"] is False and out["labels"] == [] and out["place"] is None
    assert out["killed"] is None and out["country"] == [] and out["event_date"] is None


def test_threshold_above_every_score_drops_the_label() -> None:
    strict = Classifier.from_settings(ClassifySettings(thresholds={"shelling": 0.999}))
    result = strict.classify(FeedItem(title="Shelling kills four in Donetsk", text=""))
    assert "shelling" not in result.label_names


def test_russian_is_detected_without_a_language_tag() -> None:
    assert detect_lang(FeedItem(title="Обстрел Горловки", text="")) == "ru"
    assert detect_lang(FeedItem(title="Shelling of Horlivka", text="")) == "en"


def test_bad_rule_label_names_file_and_key() -> None:
    text = '[[rules]]\nname = "x"\nlabel = "looting"\nscore = 0.9\npattern = "loot"\n'
    with pytest.raises(MonitorError, match=r"bad\.toml: rules\[0\] \(x\)\.label"):
        parse_rule_file(text, "bad.toml", "en")


def test_undefined_term_names_file_and_key() -> None:
    text = '[[rules]]\nname = "x"\nlabel = "shelling"\nscore = 0.9\npattern = "{nowhere} fire"\n'
    with pytest.raises(MonitorError, match=r"bad\.toml: rules\[0\] \(x\)\.pattern uses undefined term \{nowhere\}"):
        parse_rule_file(text, "bad.toml", "en")


def test_bad_regex_and_unknown_key_are_reported() -> None:
    with pytest.raises(MonitorError, match=r"bad\.toml: terms\.weapon is not a valid regular expression"):
        parse_rule_file('[terms]\nweapon = ["(mortar"]\n', "bad.toml", "en")
    with pytest.raises(MonitorError, match=r"bad\.toml: unknown key cues\.negations"):
        parse_rule_file('[cues]\nnegations = ["no"]\n', "bad.toml", "en")


def test_missing_language_file_is_a_clear_error() -> None:
    with pytest.raises(MonitorError, match="no rule file for language 'xx'"):
        load_ruleset(("en", "xx"))


def test_weapons_and_actors_are_reported(classifier: Classifier) -> None:
    item = FeedItem(title="Azerbaijani forces fired mortars and artillery at Armenian positions near Jermuk",
                    text="", lang="en")
    result = classifier.classify(item)
    assert result.weapons == ("mortar", "artillery")
    assert result.actors == ("Azerbaijani forces",)
    ru = classifier.classify(FeedItem(title="ВСУ обстреляли Горловку из минометов и РСЗО «Град»", text=""))
    assert ru.weapons == ("mortar", "MLRS")


def test_untagged_cyrillic_item_uses_the_russian_rules(classifier: Classifier) -> None:
    result = classifier.classify(FeedItem(title="Обстрел Горловки из артиллерии", text="", lang="uk"))
    assert result.label_names == ("shelling",)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(title=st.text(max_size=200), text=st.text(max_size=400), lang=st.sampled_from([None, "en", "ru", "uk"]))
def test_classify_never_raises_and_its_json_serialises(classifier: Classifier, title: str, text: str,
                                                        lang: str | None) -> None:
    item = FeedItem(title=title, text=text, lang=lang,
                    published_at=datetime.fromisoformat("2024-02-29T12:00:00+00:00"))
    out = classifier.classify(item).to_json(0)
    json.dumps(out)
    assert out["relevant"] == bool(out["labels"])


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(words=st.lists(st.sampled_from(
    ["shelled", "Jermuk", "İstanbul", "ДОНЕЦК", "killed", "3", "no", "ceasefire", "drone", "Ünye", "ß", "March 1",
     "yesterday", "обстрел", "погибли", "двое", "Dec. 31", "twenty-seven", "'s", "—", "\n"]), max_size=30))
def test_conflict_vocabulary_in_any_order_never_breaks_extraction(classifier: Classifier, words: list[str]) -> None:
    item = FeedItem(title="shelling " + " ".join(words), text=" ".join(reversed(words)),
                    published_at=datetime.fromisoformat("2024-01-01T00:30:00+00:00"))
    out = json.loads(json.dumps(classifier.classify(item).to_json("x"), ensure_ascii=False))
    assert out["id"] == "x" and out["relevant"] == bool(out["labels"])
    assert all(0 < hit["score"] <= 1 and hit["evidence"] for hit in out["labels"]), out["labels"]
    assert out["score"] == max((hit["score"] for hit in out["labels"]), default=out["score"])
    assert all(out[k] is None or out[k] >= 0 for k in ("killed", "injured")), (out["killed"], out["injured"])
    # an event date is never after the report's own date (the report is from 1 January 2024, 00:30 UTC)
    assert out["event_date"] is None or out["event_date"] <= "2024-01-01", out["event_date"]


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from([*" .!?;\n\t\"'»”)-–—ab", "\u00a0", "\u2003", "\r"]), max_size=30))
def test_sentence_ends_are_found_as_the_plain_pattern_finds_them(text: str) -> None:
    plain = re.compile(r"[.!?;]+[\"'»”)]*\s+|\n+|\s[-–—]\s")  # classify._SENTENCE_END as first written
    assert [m.span() for m in _SENTENCE_END.finditer(text)] == [m.span() for m in plain.finditer(text)]
    made_up = "Guns fell silent. «Shots?» — he said;  then\n\nquiet - at last!) Done"
    assert [m.span() for m in _SENTENCE_END.finditer(made_up)] == [m.span() for m in plain.finditer(made_up)]


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from([*"abzKs ЖжёЁяЯ.“”-", "\u017f", "\u212a", "\u1c80", "İ"]), max_size=40))
def test_language_is_detected_as_counting_every_letter_detects_it(text: str) -> None:
    # detect_lang counts letters by runs and takes an all-ASCII sample as English without counting
    cyrillic = len(re.findall(r"[а-яё]", text, re.IGNORECASE))
    latin = len(re.findall(r"[a-z]", text, re.IGNORECASE))
    assert detect_lang(FeedItem(title=text, text=text)) == ("ru" if cyrillic > latin else "en")


def test_a_quoted_russian_headline_is_still_russian() -> None:
    assert detect_lang(FeedItem(title="«Град» обстрелял окраину села", text="")) == "ru"
    assert detect_lang(FeedItem(title="“Grad” rockets hit the outskirts", text="")) == "en"


def test_the_casualty_patterns_are_imported_on_the_first_item_a_label_fires_on() -> None:
    # compiling them is a third of the start-up, which `classify --title` of an unlabelled item never needs
    import subprocess
    import sys

    code = ("import sys\n"
            "from monitor.models import FeedItem\n"
            "from monitor.reading.classify import Classifier\n"
            "c = Classifier.from_settings()\n"
            "c.classify(FeedItem(title='Parliament debates the budget', text=''))\n"
            "print('monitor.reading.casualties' in sys.modules)\n"
            "c.classify(FeedItem(title='Artillery shelling killed two soldiers overnight', text=''))\n"
            "print('monitor.reading.casualties' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "True"]
