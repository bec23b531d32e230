"""Learned choices: the weights file, its reader, and decisions that follow the weights.

Every example text is made up for the tests (issue 11 error classes); none comes from an evaluation file.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.errors import MonitorError
from monitor.models import FeedItem
from monitor.reading import places
from monitor.reading.choice import NO_CHOICES, Choices, Model, load_choices, parse_choices, read_choices
from monitor.reading.classify import Classifier
from monitor.reading.gazetteer import Gazetteer, load_gazetteer

PUBLISHED = datetime(2023, 9, 14, 8, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    return Classifier.from_settings()


@pytest.fixture(scope="module")
def gazetteer() -> Gazetteer:
    return load_gazetteer()


def item(title: str, text: str = "", lang: str = "en") -> FeedItem:
    return FeedItem(title=title, text=text, published_at=PUBLISHED, lang=lang)


def test_shipped_weights_load_and_hold_the_place_and_relevance_models() -> None:
    choices = load_choices()
    assert choices.place is not None and choices.relevance is not None
    assert choices.place.weights and choices.relevance.weights
    assert 0.0 < choices.relevance.threshold < 1.0
    assert Classifier.from_settings()._choices == choices  # what the daemon, CLI and API classify with


def test_weights_round_trip_through_a_file(tmp_path: Path) -> None:
    choices = Choices(relevance=Model(-1.5, {"max_score": 3.0, "words:sport": -2.0}, 0.4))
    path = tmp_path / "w.json"
    path.write_text(json.dumps(choices.to_json()), encoding="utf-8")
    assert read_choices(path) == choices


@pytest.mark.parametrize(("data", "message"), [
    ([1, 2], "must be a JSON object"),
    ({"placement": {}}, "unknown model(s) placement"),
    ({"place": {"weights": {"rule": "high"}}}, "rule must be a finite number"),
    ({"relevance": {"bias": True}}, "bias must be a finite number"),
    ({"casualty": {"weights": [1, 2]}}, "weights must map feature names"),
])
def test_bad_weights_are_named_clearly(data: object, message: str) -> None:
    with pytest.raises(MonitorError, match="w.json") as caught:
        parse_choices(data, "w.json")
    assert message in str(caught.value)


def test_unreadable_weights_file_is_a_monitor_error(tmp_path: Path) -> None:
    path = tmp_path / "w.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(MonitorError, match="not valid JSON"):
        read_choices(path)
    with pytest.raises(MonitorError, match="cannot read"):
        read_choices(tmp_path / "missing.json")


def test_a_changed_relevance_weight_changes_the_decision(classifier: Classifier) -> None:
    report = item("Artillery shells a village near Izium", "Shelling hit the village overnight, the army said.")
    shipped = classifier.classify(report)
    assert shipped.relevant
    relevance = classifier._choices.relevance
    assert relevance is not None
    veto = dataclasses.replace(relevance, bias=relevance.bias - 50.0)
    vetoed = classifier.with_choices(dataclasses.replace(classifier._choices, relevance=veto))
    assert not vetoed.classify(report).relevant


def test_a_changed_place_weight_changes_the_chosen_place(classifier: Classifier) -> None:
    text = "Shelling in Kharkiv region\nArtillery shelled Izium overnight, regional officials in Kharkiv said."
    rows = places.place_rows(text, load_gazetteer(), [text.index("shelled")])
    names = {entry.name for entry, _ in rows}
    assert len(names) >= 2
    # Weigh only "in the title", then only "a speaker's place": two different choices.
    by_title = places.extract_places(text, "en", load_gazetteer(), Model(0.0, {"title": 5.0}))
    by_speaker = places.extract_places(text, "en", load_gazetteer(), Model(0.0, {"speaker": 5.0}))
    assert by_title.primary is not None and by_speaker.primary is not None
    assert by_title.primary.name != by_speaker.primary.name


def test_without_weights_the_rules_decide_alone(classifier: Classifier) -> None:
    rules_only = classifier.with_choices(NO_CHOICES)
    result = rules_only.classify(item("Mortar fire hits positions near Izium", "Two soldiers were killed."))
    assert result.relevant and result.killed.count == 2


# --- the founding case (mission statement), in our own words ---------------------------------------------

def test_founding_case_ceasefire_breakdown_with_a_history_paragraph(classifier: Classifier) -> None:
    result = classifier.classify(item(
        "Ceasefire between Armenia and Azerbaijan collapses as shells hit Jermuk",
        "A truce arranged by Moscow broke down on Tuesday as artillery and mortar rounds struck the Armenian "
        "spa town of Jermuk. Armenia said 49 of its soldiers were killed, and Azerbaijan said 50 of its "
        "servicemen died. In 2020, a six-week war between the two countries killed some 6,500 people."))
    assert result.place is not None and result.place.name == "Jermuk"
    assert result.countries[:1] == ("AM",)
    assert {"shelling", "ceasefire_violation"} <= set(result.label_names)
    assert result.killed.count == 99


# --- the error classes of issue 11, made-up examples ---------------------------------------------------------

def test_background_toll_of_an_earlier_year_is_not_the_incident_figure(classifier: Classifier) -> None:
    result = classifier.classify(item(
        "Two soldiers killed in shelling near Kupiansk",
        "Shelling killed two soldiers near Kupiansk on Tuesday. In March 2019, fighting raged for weeks, "
        "killing at least 300 people."))
    assert result.killed.count == 2


def test_previous_day_toll_is_not_the_incident_figure(classifier: Classifier) -> None:
    result = classifier.classify(item(
        "Troops killed in border shelling",
        "Shelling killed three soldiers near Kupiansk on Monday. A day earlier, shelling in the same area killed 7 "
        "people."))
    assert result.killed.count == 3


def test_dateline_and_speaker_are_not_the_event_place(classifier: Classifier) -> None:
    result = classifier.classify(item(
        "Shelling hits Kupiansk",
        "KYIV, Sept 13 (Reuters) - Russian artillery shelled the town of Kupiansk overnight, wounding two "
        "residents, the ministry in Kyiv said."))
    assert result.place is not None and result.place.name in {"Kupiansk", "Kupyansk"}


def test_far_namesake_falls_back_to_the_container(classifier: Classifier) -> None:
    result = classifier.classify(item(
        "Mortar fire reported near Paris", "Separatist forces fired mortars at positions near Paris, Donetsk region, "
        "on Tuesday, the army said."))
    assert result.place is not None and result.place.country == "UA"
    assert result.countries[:1] == ("UA",)


def test_unknown_village_is_carried_by_its_containers(classifier: Classifier) -> None:
    result = classifier.classify(item(
        "Clashes in a village", "Fighting broke out in the village of Zorvanivka (Pokrovsk district, Donetsk region) "
        "on Tuesday; two fighters were killed."))
    assert result.place is not None and result.place.country == "UA" and result.place.precision == "region"
    assert result.killed.count == 2


def test_country_comes_from_the_admin_names(classifier: Classifier) -> None:
    result = classifier.classify(item("Shelling in Kherson region", "Artillery shelled the outskirts of Kakhovka "
                                                                     "in Kherson region overnight."))
    assert result.countries[:1] == ("UA",)


def test_multi_place_report_takes_the_focus_place(classifier: Classifier) -> None:
    result = classifier.classify(item(
        "Monitors record 30 ceasefire violations",
        "The mission recorded 30 ceasefire violations, most of them near Izium, others near Balakliia and Chuhuiv."))
    assert result.place is not None and result.place.name in {"Izium", "Izyum"}


def test_unstated_toll_gives_no_figure(classifier: Classifier) -> None:
    result = classifier.classify(item("Rebels clash with the army near Tessalit",
                                      "Government troops clashed with rebels near Tessalit on Monday; fatalities "
                                      "were reported."))
    assert result.relevant and result.killed.count is None


@pytest.mark.parametrize("title, text", [
    ("Suicide bomber kills 12 at a market", "A suicide bomber blew himself up at a crowded market, killing 12 people, "
                                            "police said."),
    ("Pyongyang test-fires a ballistic missile", "The North fired a ballistic missile into the sea on Monday in its "
                                                 "latest weapons test."),
    ("Police kill gunman in shootout", "Police shot dead a gunman after a shootout at a bank in Texas."),
    ("Candidates clash in fiery debate", "The two candidates clashed over taxes in a heated televised debate."),
])
def test_hard_negatives_of_general_news_are_not_flagged(classifier: Classifier, title: str, text: str) -> None:
    assert not classifier.classify(item(title, text)).relevant


@pytest.mark.parametrize("title, text", [
    ("Перемирие вступило в силу в полночь", "Режим прекращения огня вступил в силу в полночь, сообщили стороны."),
    ("Почтили память жертв обстрела", "Жители отметили годовщину обстрела 2015 года, возложив цветы к мемориалу."),
    ("Суд вынес приговор за обстрел", "Суд приговорил к 12 годам заключения обвиняемого в обстреле города в 2015 "
                                      "году."),
    ("Минобороны опровергло сообщения об обстреле", "Министерство обороны опровергло сообщения об обстреле "
                                                    "позиций, назвав их провокацией."),
    ("Командование пригрозило нанести удары", "Командование пригрозило нанести удары по позициям противника, "
                                              "если провокации продолжатся."),
    ("Перестрелка в матче", "Футбольный матч превратился в настоящую перестрелку: команды обменялись пятью голами."),
])
def test_russian_hard_negatives_are_not_flagged(classifier: Classifier, title: str, text: str) -> None:
    assert not classifier.classify(item(title, text, "ru")).relevant


def test_attack_without_the_usual_words_is_found(classifier: Classifier) -> None:
    result = classifier.classify(item("Government troops kill 30 insurgents near Tessalit",
                                      "Government forces killed 30 insurgents in an offensive near Tessalit, the "
                                      "army said."))
    assert result.relevant and result.killed.count == 30
