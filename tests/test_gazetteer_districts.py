"""Districts by their bare name (Gazetteer.districts_named): the index keys a district only with a
type word ("Loroum Province"), and a bulletin's container names it bare ("(Town, Loroum)")."""

from __future__ import annotations

import pytest

from monitor.reading.gazetteer import bare_division_name, load_gazetteer, name_key


@pytest.mark.parametrize(
    ("name", "bare"),
    [
        ("Loroum Province", "Loroum"),
        ("Province of Davao Oriental", "Davao Oriental"),
        ("Departamento de Ituzaingó", "Ituzaingó"),
        ("Kidal Cercle", "Kidal"),
        ("Jabal Saraj", "Jabal Saraj"),  # no type word: the name itself
        ("Gao", None),  # too short to be looked up bare
        ("Суджанский район", None),  # Cyrillic names are keyed by the index's own rules
    ],
)
def test_a_division_name_without_its_type_word(name: str, bare: str | None) -> None:
    assert bare_division_name(name) == bare


def test_districts_are_found_by_their_bare_name_only_here() -> None:
    gazetteer = load_gazetteer()
    found = gazetteer.districts_named(name_key("Loroum"))
    assert [(e.country, e.division, e.precision) for e in found] == [("BF", 2, "region")]
    assert found[0].admin1 is not None  # its province, from the division's parent
    assert not any(e.division == 2 for e in gazetteer.lookup(name_key("Loroum")))  # the scan does not see it
    assert gazetteer.districts_named("") == ()
