"""The relevance model's features (monitor/reading/relevance.py), on made-up sentences."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from monitor.models import FeedItem
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
