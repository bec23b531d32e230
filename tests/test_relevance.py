"""The relevance model's features and its per-label choice (monitor/reading/relevance.py), on made-up sentences."""

from __future__ import annotations

import dataclasses
import math
from datetime import UTC, datetime

import pytest

from monitor.models import FeedItem
from monitor.reading import relevance
from monitor.reading.choice import Model
from monitor.reading.classify import Classifier

WHEN = datetime(2024, 3, 14, 9, tzinfo=UTC)


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    return Classifier.from_settings()


def features(classifier: Classifier, title: str, text: str = "", lang: str = "en") -> dict[str, float]:
    found_lang, joined, hits = classifier.hits(FeedItem(title=title, text=text, published_at=WHEN, lang=lang))
    return classifier.relevance_features(found_lang, joined, hits)


def test_a_plain_report_has_no_weakened_matches_and_reports_in_its_body(classifier: Classifier) -> None:
    f = features(classifier, "Shelling hits border villages",
                 "Artillery fire struck two villages near the border on Tuesday, officials said.")
    assert f["weakened"] == 0.0
    assert f["strong_spots"] > 0.0
    assert "title_only" not in f


def test_matches_in_a_hard_negative_sentence_count_as_weakened(classifier: Classifier) -> None:
    # The drill sentence weakens its matches; the report of the shelling does not.
    f = features(classifier, "Border villages shelled",
                 "Troops fired howitzers during live-fire exercises at the range on Monday. "
                 "Separately, shelling hit a village near the border on Tuesday.")
    assert 0.0 < f["weakened"] < 1.0


def test_a_report_only_in_the_title_is_marked(classifier: Classifier) -> None:
    f = features(classifier, "Rocket attack on the capital",
                 "Ministers met on Monday to discuss the budget and the new school year.")
    assert f.get("title_only") == 1.0


def test_protest_and_aftermath_words_are_feature_classes(classifier: Classifier) -> None:
    protest = features(classifier, "Rioters clash with troops in the capital",
                       "Demonstrators burned tyres as troops clashed with the crowd.")
    assert protest.get("words:protest") == 1.0
    aftermath = features(classifier, "School reopens a year after the shelling",
                         "Builders finished repairs to the school damaged by artillery fire.")
    assert aftermath.get("words:aftermath") == 1.0


def test_russian_protest_words_are_read_too(classifier: Classifier) -> None:
    f = features(classifier, "Беспорядки в столице", "Протестующие вступили в столкновения с военными.", "ru")
    assert f.get("words:protest") == 1.0
    assert f["ru"] == 1.0


# ------------------------------------------------------------------ the per-label choice


def label_rows(classifier: Classifier, title: str, text: str = "", lang: str = "en") -> dict[str, dict[str, float]]:
    found_lang, joined, hits = classifier.hits(FeedItem(title=title, text=text, published_at=WHEN, lang=lang))
    labels, _ = classifier._decide(hits)
    return classifier.label_features(found_lang, joined, hits, labels).rows()


def test_each_label_the_rules_gave_is_a_row_with_its_own_features(classifier: Classifier) -> None:
    rows = label_rows(classifier, "Fighters clash with troops near the border",
                      "Insurgents clashed with soldiers on Tuesday amid heavy artillery shelling of the area.")
    assert set(rows) == {"armed_clash", "shelling"}
    clash, shelling = rows["armed_clash"], rows["shelling"]
    assert clash["armed_clash|bias"] == 1.0 and "shelling|bias" not in clash
    assert shelling["shelling|others"] == 1.0 and clash["armed_clash|others"] == 1.0
    # The clash is reported first, in the title; the shelling only as the setting of the clash.
    assert clash.get("armed_clash|first") == 1.0 and "shelling|first" not in shelling
    assert shelling.get("shelling|backdrop") == 1.0 and "armed_clash|backdrop" not in clash
    assert clash["armed_clash|margin"] == pytest.approx(-shelling["shelling|margin"])


def test_a_row_holds_its_own_rules_and_word_classes_only(classifier: Classifier) -> None:
    rows = label_rows(classifier, "Troops fire mortars at rebel positions",
                      "Rebels opened fire with machine guns on army positions near the village on Monday.")
    assert {"armed_clash", "shelling"} <= set(rows)
    for label, row in rows.items():
        other = "shelling" if label == "armed_clash" else "armed_clash"
        assert not any(key.endswith("&" + other) for key in row)
        assert f"words:small_arms&{label}" in row and f"words:heavy_weapons&{label}" in row
    rule_names = {label: {k for k in row if k.startswith("rule:")} for label, row in rows.items()}
    assert rule_names["armed_clash"] and rule_names["shelling"]
    assert not rule_names["armed_clash"] & rule_names["shelling"]


def test_a_single_label_has_no_features_beside_other_labels(classifier: Classifier) -> None:
    rows = label_rows(classifier, "Drone strike hits a car on the highway", "Two people were killed, officials said.")
    assert set(rows) == {"air_strike"}
    row = rows["air_strike"]
    assert not {"air_strike|others", "air_strike|first", "air_strike|margin", "air_strike|backdrop"} & set(row)
    assert row["air_strike|score"] > 0.5 and row.get("air_strike|title") == 1.0


def test_russian_backdrop_words_are_read(classifier: Classifier) -> None:
    rows = label_rows(classifier, "Бои у села", "Военные вели бой с боевиками на фоне артиллерийского обстрела.", "ru")
    assert rows["shelling"].get("shelling|backdrop") == 1.0


@pytest.mark.parametrize(("probabilities", "threshold", "kept"), [
    ({"shelling": 0.2, "armed_clash": 0.25}, 0.3, set()),  # reads like general news: nothing kept
    ({"shelling": 0.35, "armed_clash": 0.25}, 0.3, {"shelling"}),  # the likeliest label makes it relevant
    ({"shelling": 0.9, "armed_clash": 0.45}, 0.3, {"shelling"}),  # a second label must be more likely than not
    ({"shelling": 0.9, "armed_clash": 0.55}, 0.3, {"shelling", "armed_clash"}),
    ({"shelling": 0.9, "armed_clash": 0.65}, 0.7, {"shelling"}),  # ... and reach a threshold above that
    ({"shelling": 0.6, "ceasefire_violation": 0.6}, 0.3, {"shelling", "ceasefire_violation"}),
])
def test_kept_labels(probabilities: dict[str, float], threshold: float, kept: set[str]) -> None:
    # A model whose probability for a row is the row's "p" feature (logit weight 1, logit-valued feature).
    model = Model(0.0, {"logit": 1.0}, threshold)
    own = {label: {"logit": math.log(p / (1.0 - p))} for label, p in probabilities.items()}
    assert relevance.kept(model, relevance.LabelFeatures({}, own)) == kept
    # The shared features count once in every label's probability.
    shifted = {label: {"logit": row["logit"] - 1.0} for label, row in own.items()}
    assert relevance.kept(model, relevance.LabelFeatures({"logit": 1.0}, shifted)) == kept


def test_classify_drops_one_label_and_keeps_the_other(classifier: Classifier) -> None:
    report = FeedItem(title="Fighters clash with troops near the border",
                      text="Insurgents clashed with soldiers on Tuesday amid heavy artillery shelling of the area.",
                      published_at=WHEN, lang="en")
    assert set(classifier.classify(report).label_names) == {"armed_clash", "shelling"}
    no_backdrop = Model(5.0, {"shelling|backdrop": -20.0}, 0.3)
    chosen = classifier.with_choices(dataclasses.replace(classifier._choices, relevance=no_backdrop)).classify(report)
    assert chosen.label_names == ("armed_clash",)
    assert len(chosen.explanation) == 1 and chosen.explanation[0].startswith("armed_clash")
