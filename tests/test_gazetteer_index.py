"""The compact index format of the shipped gazetteer: written, read back lazily, refused when damaged."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.errors import MonitorError
from monitor.reading.gazetteer import load_gazetteer, name_key
from monitor.reading.gazetteer_index import PLACE_TYPES, IndexFile, KeyIndex, RowTable, write_index

ROWS = [[101, "Ostrava Nova", "XA", -1, 10.5, 20.25, 1200, 1, -1],
        [102, "Велмор", "XA", 0, -3.0, 4.0, 0, 0, 1]]


def _written(tmp_path: Path) -> IndexFile:
    path = tmp_path / "g.idx"
    write_index(path, {"source": "made up"}, {"names": {"velmor": [1], "ostrava nova": [0, 1], "b": []}},
                {"places": ROWS}, {"first_words": {"velmor", "ostrava"}})
    return IndexFile(path.read_bytes(), str(path))


def test_written_sections_read_back_as_mappings_and_rows(tmp_path: Path) -> None:
    index = _written(tmp_path)
    names, rows = KeyIndex(index, "names"), RowTable(index, "places", PLACE_TYPES)
    assert list(names) == ["b", "ostrava nova", "velmor"]  # sorted: found by bisection
    assert names["ostrava nova"] == [0, 1] and names.get("velmor") == [1]
    assert "velmo" not in names and names.get("zzz", ()) == () and len(names) == 3
    with pytest.raises(KeyError):
        names["nowhere"]
    assert list(rows) == ROWS and rows[1] == ROWS[1] and rows[-1][1] == "Велмор" and len(rows) == 2
    assert set(index.lines("first_words")) == {"velmor", "ostrava"}
    assert index.header["source"] == "made up"


def test_a_key_index_tells_which_keys_longer_keys_go_on_from(tmp_path: Path) -> None:
    path = tmp_path / "g.idx"
    keys = {"ostrava": [0], "ostrava nova": [1], "ostrava nova ves": [2], "ostravany": [3], "velmor-pass": [4]}
    write_index(path, {"source": "made up"}, {"names": keys}, {}, {})
    names = KeyIndex(IndexFile(path.read_bytes(), str(path)), "names")
    assert names.continues("ostrava") and names.continues("ostrava nova")
    assert not names.continues("ostrava nova ves")  # the longest key: nothing goes on from it
    assert not names.continues("ostravany") and not names.continues("ostr")  # part of a word is no word
    assert not names.continues("velmor") and not names.continues("zzz") and not names.continues("")
    assert not KeyIndex(None, "names").continues("ostrava")


def test_sections_are_decompressed_only_when_used(tmp_path: Path) -> None:
    index = _written(tmp_path)
    KeyIndex(index, "names").get("velmor")
    assert set(index._texts) == {"names_keys", "names_rows"}


@pytest.mark.parametrize("damage", ["truncate", "not an index", "old json"])
def test_a_damaged_index_is_a_clear_error(tmp_path: Path, damage: str) -> None:
    _written(tmp_path)
    whole = (tmp_path / "g.idx").read_bytes()
    data = {"truncate": whole[:-40], "not an index": b"\x1f\x8b\x08garbage",
            "old json": b'{"places": [], "names": {}}'}[damage]
    with pytest.raises(MonitorError) as caught:
        index = IndexFile(data, "geonames.idx")
        KeyIndex(index, "names").get("velmor")
        RowTable(index, "places", PLACE_TYPES)[0]
    assert "geonames.idx" in str(caught.value) and "build_gazetteer" in caught.value.user_message()


def test_the_shipped_index_has_districts_with_their_province() -> None:
    gazetteer = load_gazetteer()
    levels = {row[4] for row in gazetteer.divisions}
    assert levels == {1, 2, 3}
    i, row = next((i, row) for i, row in enumerate(gazetteer.divisions)
                  if row[4] == 2 and row[7] >= 0 and row[1] == "UA")
    district = gazetteer._division_entry(i)
    parent = gazetteer.divisions[row[7]]
    assert parent[4] == 1 and parent[1] == "UA" and district.admin1 == parent[0]
    assert district.admin2 == district.name and district.division == 2


def test_shipped_settlements_carry_their_district_where_the_index_has_districts() -> None:
    entries = load_gazetteer().lookup(name_key("Uzhhorod"))
    city = next(e for e in entries if e.country == "UA" and e.precision == "place" and e.geonameid)
    assert city.admin1 is not None and city.admin2 is not None and city.admin2 != city.admin1
