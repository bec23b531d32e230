"""Grouping rules, pure: same area and day join; different places or days stay apart; copies are no sources."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, date, datetime

from monitor.geo import distance_km
from monitor.incidents.group import ArticleDraft, group_batch, labels_compatible, merge, merge_incidents, new_incident
from monitor.incidents.materiality import score_crossing, score_thresholds, severity
from monitor.incidents.similarity import Idf, cosine, decode_counts, encode_counts, hamming, simhash, term_counts
from monitor.models import Casualties, Classification, FeedItem, LabelHit, Place
from monitor.settings import AlertSettings, RuleSettings

T0 = datetime(2022, 9, 13, 8, tzinfo=UTC)
JERMUK = Place("Jermuk", "AM", "Vayots Dzor", 39.84, 45.67, "place", 616629)
VAYK = Place("Vayk", "AM", "Vayots Dzor", 39.69, 45.47, "place", 616052)  # ~24 km from Jermuk
GORIS = Place("Goris", "AM", "Syunik", 39.51, 46.34, "place", 616599)  # ~68 km
SYUNIK = Place("Syunik", "AM", "Syunik", 39.3, 46.3, "region", None)
ARMENIA = Place("Armenia", "AM", None, 40.0, 45.0, "country", None)

WIRE = ("Azerbaijani forces opened artillery and mortar fire on Jermuk overnight, the defence ministry in "
        "Yerevan said, adding that the town's outskirts were hit and three servicemen were wounded.")


def d(n: int, title: str, place: Place | None, *, day: date = date(2022, 9, 13), source: str = "A",
      killed: int | None = None, labels: tuple[str, ...] = ("shelling",), text: str = "",
      score: float = 0.0) -> ArticleDraft:
    c = Classification(labels=tuple(LabelHit(lb, score or 0.9, ("x",)) for lb in labels), score=score, place=place,
                       countries=(place.country,) if place and place.country else (),
                       killed=Casualties(count=killed), event_date=day)
    return ArticleDraft(FeedItem(title=title, text=text, source=source), f"f{n}", c, T0, T0)


def test_reports_within_30_km_on_the_same_day_join() -> None:
    assert len(group_batch([d(1, "Shelling of Jermuk", JERMUK), d(2, "Mortars hit Vayk", VAYK)])) == 1


def test_distant_places_and_other_days_stay_apart() -> None:
    clusters = group_batch([d(1, "Shelling of Jermuk", JERMUK), d(2, "Shelling of Goris", GORIS),
                            d(3, "Shelling of Jermuk", JERMUK, day=date(2022, 9, 16))])
    assert len(clusters) == 3


def test_region_level_reports_join_only_when_the_text_is_alike() -> None:
    a = d(1, "Azerbaijani troops shell villages across Syunik province", SYUNIK)
    b = d(2, "Villages across Syunik province shelled by Azerbaijani troops", SYUNIK, source="B")
    c = d(3, "Parliament debates border security bill in Syunik", SYUNIK, source="C")
    assert [len(x) for x in group_batch([a, b, c])] == [2, 1]


def test_a_country_level_report_joins_a_placed_incident_only_when_the_text_is_alike() -> None:
    placed = d(1, "Artillery shells Jermuk resort town", JERMUK, text=WIRE)
    alike = d(2, "Armenia says Jermuk came under artillery fire", ARMENIA, source="B",
              text="The Armenian defence ministry said artillery and mortar fire hit the outskirts of Jermuk.")
    other = d(3, "Armed clash reported on the border", ARMENIA, source="C", labels=("armed_clash",),
              text="Soldiers exchanged small-arms fire with a patrol near a northern village, officials said.")
    assert sorted(len(x) for x in group_batch([placed, alike, other])) == [1, 2]


def test_incompatible_labels_at_one_place_need_text_that_says_it_is_one_event() -> None:
    strike = d(1, "Drone strike on Jermuk depot", JERMUK, labels=("air_strike",),
               text="A drone hit a fuel depot in Jermuk.")
    clash = d(2, "Gunfight with saboteurs near Jermuk", JERMUK, labels=("armed_clash",), source="B",
              text="Border guards fought a sabotage group in the hills.")
    assert len(group_batch([strike, clash])) == 2
    assert labels_compatible(["shelling"], ["air_strike"]) and labels_compatible(["armed_clash"],
                                                                                  ["ceasefire_violation"])
    assert not labels_compatible(["armed_clash"], ["air_strike"])


def test_wire_copy_joins_and_a_retitled_republication_adds_no_source() -> None:
    first = d(1, "Jermuk shelled overnight", JERMUK, source="Wire", text=WIRE)
    copy = d(2, "Azerbaijan shells Armenian spa town", ARMENIA, source="Daily", text=WIRE)  # wire copy
    again = d(3, "UPDATED: Jermuk shelled overnight, three wounded", JERMUK, source="Wire", text=WIRE)
    own = d(4, "Armenian town of Jermuk comes under fire", JERMUK, source="Local",
            text="Residents of Jermuk spent the night in basements as shells fell near the sanatoriums.")
    [cluster] = group_batch([first, copy, again, own])
    assert len(cluster) == 4
    state = new_incident(first, None)
    state, reasons = merge(state, copy, None)
    assert state.source_count == 2 and reasons == ["new source"]
    state, reasons = merge(state, again, None)  # the same outlet again, re-titled: nothing new
    assert state.source_count == 2 and reasons == []
    state, reasons = merge(state, own, None)
    assert state.source_count == 3 and reasons == ["new source"]


def test_grouping_a_batch_does_not_depend_on_the_order_of_its_reports() -> None:
    drafts = [d(1, "Shelling of Jermuk", JERMUK, source="A", text=WIRE),
              d(2, "Mortars hit Vayk", VAYK, source="B"),
              d(3, "Artillery fire on Jermuk", ARMENIA, source="C", text=WIRE),
              d(4, "Shelling of Goris", GORIS, source="D"),
              d(5, "Shelling of Jermuk again", JERMUK, source="E", day=date(2022, 9, 16))]
    seen = set()
    for order in itertools.permutations(drafts):
        clusters = group_batch(list(order))
        seen.add(frozenset(frozenset(x.fingerprint for x in c) for c in clusters))
    assert len(seen) == 1


def test_merge_takes_the_higher_figure_and_names_the_reasons() -> None:
    inc = new_incident(d(1, "Shelling of Jermuk", SYUNIK, killed=3), None)
    merged, reasons = merge(inc, d(2, "Jermuk shelled", JERMUK, source="B", killed=49,
                                   labels=("shelling", "ceasefire_violation")), "AM-AZ")
    assert merged.killed == 49 and merged.place == "Jermuk" and merged.ceasefire == "AM-AZ"
    assert reasons == ["new source", "label", "casualties", "place", "ceasefire"]
    again, reasons = merge(merged, d(3, "Jermuk shelled", JERMUK, source="B", killed=10), "AM-AZ")
    assert again.killed == 49 and reasons == []


# -- the score against the rules' min_score ----------------------------------------------------------------------


def test_a_copy_that_lifts_the_score_across_a_min_score_is_news_and_one_that_crosses_none_is_not() -> None:
    inc = new_incident(d(1, "Shelling of Jermuk", JERMUK, score=0.55), None)
    assert inc.score == 0.55
    # The same outlet again (a re-publication: no new source), surer: it crosses the 0.7 of a strict rule.
    lifted, reasons = merge(inc, d(2, "Jermuk shelled", JERMUK, score=0.8), None, thresholds=(0.5, 0.7, 0.9))
    assert lifted.score == 0.8 and lifted.source_count == 1 and reasons == ["score 0.55 -> 0.80"]
    # Higher again, but across no threshold: nothing to say (no revision, no alert).
    higher, reasons = merge(lifted, d(3, "Jermuk shelled", JERMUK, score=0.85), None, thresholds=(0.5, 0.7, 0.9))
    assert higher.score == 0.85 and reasons == []
    # A weaker report never lowers it; without thresholds (no rule has a min_score) a rise is no news.
    weaker, reasons = merge(higher, d(4, "x", JERMUK, score=0.3), None, thresholds=(0.7,))
    assert weaker.score == 0.85 and reasons == []
    assert merge(inc, d(5, "x", JERMUK, score=0.95), None)[1] == []
    # Other news and a crossing together: the crossing is named after the rest.
    assert merge(inc, d(6, "x", JERMUK, source="B", killed=2, score=0.9), None, thresholds=(0.9,))[1] == \
        ["new source", "casualties", "score 0.55 -> 0.90"]


def test_a_state_with_an_unknown_score_never_claims_a_crossing() -> None:
    unknown = replace(new_incident(d(1, "Shelling of Jermuk", JERMUK, score=0.9), None), score=None)
    merged, reasons = merge(unknown, d(2, "Jermuk shelled", JERMUK, score=0.95), None, thresholds=(0.7,))
    assert merged.score is None and reasons == []


def test_a_merge_of_incidents_takes_the_best_score_and_names_a_crossing() -> None:
    low = new_incident(d(1, "Shelling of Jermuk", JERMUK, score=0.6), None)
    high = new_incident(d(2, "Jermuk shelled", JERMUK, source="B", score=0.95), None)
    merged, reasons = merge_incidents(low, high, thresholds=(0.7,))
    assert merged.score == 0.95 and reasons == ["merged", "new source", "score 0.60 -> 0.95"]
    # The other way round the survivor already passed 0.7: only the merge and the second outlet are news.
    assert merge_incidents(high, low, thresholds=(0.7,))[1] == ["merged", "new source"]


def test_a_crossing_is_judged_as_rules_compare_scores_to_three_decimals() -> None:
    assert score_crossing(0.6, 0.6996, (0.7,)) == "score 0.60 -> 0.70"  # rule_matches rounds 0.6996 to 0.700
    assert score_crossing(0.6, 0.6994, (0.7,)) is None
    assert score_crossing(0.7, 0.9, (0.7,)) is None  # 0.7 already passed a min_score of 0.7
    assert score_crossing(0.655, 0.7125, (0.7,)) == "score 0.655 -> 0.713"
    assert score_crossing(None, 0.9, (0.7,)) is None and score_crossing(0.5, None, (0.7,)) is None
    rules = (RuleSettings(name="a", min_score=0.7), RuleSettings(name="b"), RuleSettings(name="c", min_score=0.5),
             RuleSettings(name="d", min_score=0.7))
    assert score_thresholds(AlertSettings(rules=rules)) == (0.5, 0.7)
    assert score_thresholds(AlertSettings()) == ()


def test_severity_grows_with_deaths_civilians_truce_and_sources() -> None:
    low = new_incident(d(1, "x", JERMUK), None)
    high = new_incident(d(1, "x", JERMUK, killed=50), None)
    assert 0 < severity(low) < severity(high) <= 10
    assert severity(new_incident(d(1, "x", JERMUK), "AM-AZ")) > severity(low)
    two = merge(low, d(2, "y", JERMUK, source="B", text="other words entirely"), None)[0]
    assert severity(two) > severity(low)


def test_tf_idf_cosine_weighs_rare_terms_and_simhash_finds_copies() -> None:
    a, b = term_counts("Shelling kills four in Donetsk", ""), term_counts("Donetsk shelling kills four", "")
    assert abs(cosine(a, b, Idf.uniform()) - 1.0) < 1e-9
    assert cosine(term_counts("Shelling in Donetsk", ""), term_counts("Budget passes", ""), Idf.uniform()) == 0
    # "shelling" is in every document, "donetsk" in few: sharing only "shelling" scores lower under IDF.
    idf = Idf(docs=100, df={"shelli": 90, "donets": 3, "kharki": 3})
    x, y = term_counts("Shelling Donetsk", ""), term_counts("Shelling Kharkiv", "")
    assert cosine(x, y, idf) < cosine(x, y, Idf.uniform())
    assert hamming(simhash("t", WIRE), simhash("Other title", WIRE)) <= 6
    assert hamming(simhash("t", WIRE), simhash("t", "Completely unrelated text about a football match.")) > 6
    assert decode_counts(encode_counts({"a": 2, "#49": 1})) == {"a": 2, "#49": 1}
    assert decode_counts("legacy tokens") == {"legacy": 1, "tokens": 1}


def test_distance_helper() -> None:
    assert 20 < distance_km(JERMUK.lat or 0, JERMUK.lon or 0, VAYK.lat or 0, VAYK.lon or 0) < 30
