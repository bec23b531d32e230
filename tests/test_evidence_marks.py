"""monitor.reading.evidence_marks: where evidence phrases stand in an article's text (pure)."""

from __future__ import annotations

from monitor.reading.evidence_marks import mark_spans


def spans_text(text: str, phrases: list[str]) -> list[str]:
    return [text[s:e] for s, e in mark_spans(text, phrases)]


def test_every_occurrence_is_marked_ignoring_case_and_spacing() -> None:
    text = "Rockets HIT the depot.\nLater rockets   hit the bridge."
    assert spans_text(text, ["rockets hit"]) == ["Rockets HIT", "rockets   hit"]


def test_an_ellipsis_splits_a_phrase_into_parts_found_on_their_own() -> None:
    text = "Howitzers and mortars were fired at the village overnight."
    assert spans_text(text, ["mortars … fired at"]) == ["mortars", "fired at"]
    assert spans_text(text, ["howitzers ... village"]) == ["Howitzers", "village"]


def test_overlapping_phrases_merge_and_short_fragments_are_ignored() -> None:
    text = "a heavy artillery barrage at dawn"
    assert mark_spans(text, ["heavy artillery", "artillery barrage", "at"]) == [(2, 25)]


def test_a_phrase_not_in_the_text_or_with_regex_characters_marks_nothing() -> None:
    assert mark_spans("Shelling resumed (again) today", ["(again", "air raid"]) == [(17, 23)]
    assert mark_spans("", ["anything"]) == []
