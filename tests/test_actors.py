"""Actors: a country's armed forces from demonyms, armed groups from the data file."""

from __future__ import annotations

import pytest

from monitor.reading.actors import armed_groups, demonym_role


@pytest.mark.parametrize(
    ("text", "role", "actor"),
    [
        ("Azerbaijani forces shelled the village", "actor", "Azerbaijani forces"),
        ("shells hit Armenian positions", "target", None),
        ("Israeli jets struck the camp", "actor", None),
        ("обстрел позиций ВСУ", "target", None),
        ("российские войска атаковали", "actor", "российские войска"),
        ("an Armenian official said", "other", None),
    ],
)
def test_demonym_roles(text: str, role: str, actor: str | None) -> None:
    words = text.split()
    demonym = next(w for w in words if w[:1].isupper() or w in ("ВСУ", "российские"))
    start = text.index(demonym)
    assert demonym_role(text, start, start + len(demonym)) == (role, actor)


def test_armed_groups_in_order_of_mention() -> None:
    text = "Hezbollah fired rockets after Hamas and the Houthis claimed attacks; ХАМАС заявил"
    assert armed_groups(text) == ("Hezbollah", "Hamas", "Houthis (Ansar Allah)")


def test_group_names_inside_other_words_are_not_groups() -> None:
    assert armed_groups("Officials at the Hamasaki plant said the safari park reopened") == ()


@pytest.mark.parametrize("text", ["Hamas and Hezbollah fighters clashed", "İDLİB: Hamas fighters", "Боевики ХАМАС"])
def test_the_lowered_text_given_by_classify_changes_nothing(text: str) -> None:
    from monitor.reading.rules import lower_text

    assert armed_groups(text, lower_text(text)) == armed_groups(text)
