"""The local place index: `gazetteer import` and `gazetteer download` of GeoNames dumps made up here,
and the classifier, the CLI and the `near` filter finding villages the shipped index lacks.

Every place name below is invented (tests/geonames_dump.py); coordinates lie in Armenia.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from feed_server import FeedServer
from geonames_dump import Place, country_dump, table, write_zip

from monitor.cli import main
from monitor.errors import InputError
from monitor.reading.gazetteer import load_gazetteer, loose_key, name_key, use_local_index
from monitor.reading.geonames_import import import_files
from monitor.reading.places import extract_places

PROVINCE = Place(9_100_001, "Velmora Province", 40.10, 44.90, "A", "ADM1", "AM", "01")
DISTRICT = Place(9_100_002, "Kelvashen District", 40.20, 45.00, "A", "ADM2", "AM", "01", "0101")
VILLAGE = Place(9_100_003, "Tashvirak", 40.25, 45.05, "P", "PPL", "AM", "01", "0101", 640, ("Tashvirakh",))
HAMLET = Place(9_100_004, "Orzenik", 40.31, 45.11, "P", "PPL", "AM", "01", "0101", 0)
STREAM = Place(9_100_005, "Tashvirak Stream", 40.26, 45.06, "H", "STM", "AM", "01", "0101")
ALTERNATE = "1\t9100003\tru\tТашвирак\t\t\t\t\t\t\n2\t9100004\tde\tOrzenikdorf\t\t\t\t\t\t\n" \
            "3\t12345\tru\tНигдевка\t\t\t\t\t\t\n"


@pytest.fixture(autouse=True)
def _no_default_local_index() -> Iterator[None]:
    yield
    use_local_index(None)


@pytest.fixture
def dump(tmp_path: Path) -> Path:
    return write_zip(tmp_path / "AM.zip", "AM.txt", table([PROVINCE, DISTRICT, VILLAGE, HAMLET, STREAM]))


@pytest.fixture
def index(tmp_path: Path, dump: Path) -> Path:
    path = tmp_path / "state" / "gazetteer.sqlite"
    alternate = tmp_path / "alternatenames-AM.zip"
    write_zip(alternate, "AM.txt", ALTERNATE)
    report = import_files(path, [dump, alternate])
    assert (report.places, report.divisions, report.alternate_names, report.skipped_names) == (2, 2, 1, 1)
    return path


def test_imported_villages_are_found_with_their_district_and_province(index: Path) -> None:
    found = load_gazetteer(index).lookup(name_key("Tashvirak"))
    village = next(e for e in found if e.geonameid == VILLAGE.geonameid)
    assert (village.country, village.admin1, village.admin2, village.precision) == (
        "AM", "Velmora Province", "Kelvashen District", "place")
    assert (village.lat, village.lon) == (pytest.approx(40.25), pytest.approx(45.05))
    assert not any(e.name == "Tashvirak Stream" for e in found)  # streams are not places of events


def test_without_the_local_index_the_village_is_unknown() -> None:
    assert not any(e.name == "Tashvirak" for e in load_gazetteer().lookup(name_key("Tashvirak")))


def test_districts_resolve_by_their_type_word_with_their_parent(index: Path) -> None:
    gazetteer = load_gazetteer(index)
    district = next(e for e in gazetteer.lookup(name_key("Kelvashen district")) if e.division == 2)
    assert (district.admin1, district.admin2, district.precision) == ("Velmora Province", "Kelvashen District",
                                                                      "region")
    province = next(e for e in gazetteer.lookup(name_key("Velmora")) if e.division == 1)
    assert province.name == "Velmora Province"
    assert not any(e.division == 2 for e in gazetteer.lookup(name_key("Kelvashen")))  # bare district: no


def test_alternate_names_join_imported_places_in_inflected_russian(index: Path) -> None:
    gazetteer = load_gazetteer(index)
    assert any(e.geonameid == VILLAGE.geonameid for e in gazetteer.lookup(name_key("Ташвираке")))
    assert any(e.geonameid == VILLAGE.geonameid for e in gazetteer.lookup(name_key("Tashvirakh")))
    assert not gazetteer.lookup(name_key("Orzenikdorf"))  # German names are not indexed
    assert any(e.geonameid == VILLAGE.geonameid for e in gazetteer.lookup_loose(name_key("Tashvyrak")))


def test_the_local_index_tells_which_keys_its_longer_names_go_on_from(index: Path) -> None:
    local = load_gazetteer(index).local
    assert local is not None
    assert local.continues(name_key("Kelvashen")) and local.continues(name_key("Velmora"))
    assert not local.continues(name_key("Kelvashen District")) and not local.continues(name_key("Tashvirak"))
    assert not local.continues(name_key("Kelvash")) and not local.continues(name_key("Nowhere"))
    assert local.continues(loose_key(name_key("Kelvashen")), kind=1)  # loose keys apart
    assert not local.continues(loose_key(name_key("Kelvashen District")), kind=1)


def test_the_extractor_finds_an_imported_name_of_two_words(index: Path) -> None:
    found = extract_places("Shells fell on Kelvashen District overnight, officials said.", "en",
                           load_gazetteer(index))
    assert any(p.name == "Kelvashen District" for p in found.places)


def test_the_extractor_places_an_attack_in_an_imported_village(index: Path) -> None:
    text = "Shelling hit Tashvirak overnight, wounding two residents, officials said."
    without = extract_places(text, "en", load_gazetteer())
    found = extract_places(text, "en", load_gazetteer(index))
    assert without.primary is None or without.primary.name != "Tashvirak"
    assert found.primary is not None and found.primary.name == "Tashvirak"
    assert found.primary.geonameid == VILLAGE.geonameid and found.countries[:1] == ("AM",)


def test_a_main_name_in_lower_case_is_indexed_but_not_such_an_alias(tmp_path: Path) -> None:
    dump = tmp_path / "XA.txt"
    dump.write_text(table([Place(9_100_020, "al-Zelvari", 40.5, 45.3, alternates=("zelvar stream", "Zelvaro"))]),
                    encoding="utf-8")
    gazetteer = load_gazetteer(import_files(tmp_path / "g.sqlite", [dump]) and tmp_path / "g.sqlite")
    assert gazetteer.lookup(name_key("al-Zelvari"))[0].geonameid == 9_100_020
    assert gazetteer.lookup(name_key("Zelvaro"))[0].geonameid == 9_100_020
    assert not any(e.geonameid == 9_100_020 for e in gazetteer.lookup(name_key("zelvar stream")))


def test_importing_again_extends_the_index(index: Path, tmp_path: Path) -> None:
    more = tmp_path / "more.txt"
    more.write_text(table([Place(9_100_010, "Brenikovo", 40.4, 45.2, admin2="0101", population=90)]),
                    encoding="utf-8")
    import_files(index, [more])
    gazetteer = load_gazetteer(index)
    assert gazetteer.lookup(name_key("Brenikovo"))[0].admin2 == "Kelvashen District"
    assert any(e.geonameid == VILLAGE.geonameid for e in gazetteer.lookup(name_key("Tashvirak")))


@pytest.mark.parametrize(("content", "message"), [
    (b"\x89PNG\r\n\x1a\n\x00\x00binary", "not UTF-8 text"),
    (b"<html><body>Not found</body></html>\n", "line 1: not a GeoNames dump"),
    (b"", "empty file"),
    (b"9100001\tName\tName\t\t40.1\t44.9\tP\tPPL\tAM\t\t01\t\t\t\t0\t\t\tAsia/Yerevan\t2024-01-01\n"
     b"9100002\tBroken\n", "line 2: 2 columns"),
    (b"9100001\tName\tName\t\tforty\t44.9\tP\tPPL\tAM\t\t01\t\t\t\t0\t\t\tAsia/Yerevan\t2024-01-01\n",
     "line 1: bad number"),
])
def test_a_bad_file_is_named_and_leaves_no_index(tmp_path: Path, content: bytes, message: str) -> None:
    bad = tmp_path / "XX.txt"
    bad.write_bytes(content)
    target = tmp_path / "gazetteer.sqlite"
    with pytest.raises(InputError) as caught:
        import_files(target, [bad])
    assert str(bad) in str(caught.value) and message in str(caught.value)
    assert not target.exists()


def test_a_bad_file_leaves_an_existing_index_as_it_was(index: Path, tmp_path: Path) -> None:
    good = tmp_path / "more.txt"
    good.write_text(table([Place(9_100_010, "Brenikovo", 40.4, 45.2)]), encoding="utf-8")
    truncated = tmp_path / "UA.zip"
    whole = (tmp_path / "AM.zip").read_bytes()
    truncated.write_bytes(whole[: len(whole) // 2])
    before = sqlite3.connect(index).execute("SELECT count(*) FROM name").fetchone()
    with pytest.raises(InputError, match="UA.zip"):
        import_files(index, [good, truncated])
    assert sqlite3.connect(index).execute("SELECT count(*) FROM name").fetchone() == before
    assert not load_gazetteer(index).lookup(name_key("Brenikovo"))


def test_a_zip_without_one_table_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "AM.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("readme.txt", "nothing else\n")
    with pytest.raises(InputError, match="exactly one GeoNames .txt table"):
        import_files(tmp_path / "g.sqlite", [archive])


# ------------------------------------------------------------------------------------------ the CLI


def _env(tmp_path: Path, download_url: str = "https://download.geonames.org/export/dump/") -> dict[str, str | None]:
    config = tmp_path / "config.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "m.db"}"\n\n[api]\nenabled = false\n\n'
                      f'[gazetteer]\nindex = "{tmp_path / "local.sqlite"}"\ndownload_url = "{download_url}"\n',
                      encoding="utf-8")
    env: dict[str, str | None] = {k: None for k in os.environ if k.startswith("CEASEFIRE_MONITOR_")}
    env["CEASEFIRE_MONITOR_CONFIG"] = str(config)
    return env


def _cli(args: list[str], env: dict[str, str | None]) -> Result:
    return CliRunner().invoke(main, args, env=env, catch_exceptions=False)


def test_cli_import_then_classify_finds_the_village(tmp_path: Path, dump: Path) -> None:
    env = _env(tmp_path)
    result = _cli(["gazetteer", "import", str(dump)], env)
    assert result.exit_code == 0, result.output
    assert "2 settlements, 2 divisions" in result.output and (tmp_path / "local.sqlite").exists()
    result = _cli(["classify", "--title", "Artillery shelling of Tashvirak kills 3 civilians", "--lang", "en"], env)
    assert result.exit_code == 0, result.output
    out = json.loads(result.output.splitlines()[-1])
    assert out["place"]["name"] == "Tashvirak" and out["place"]["country"] == "AM"


def test_cli_import_of_a_bad_file_is_one_line_and_exit_1(tmp_path: Path) -> None:
    bad = tmp_path / "AM.zip"
    bad.write_text("this is not a zip\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["gazetteer", "import", str(bad)], env=_env(tmp_path))
    assert result.exit_code == 1
    assert f"Error: {bad}: line 1: not a GeoNames dump" in result.output and "Traceback" not in result.output
    missing = CliRunner().invoke(main, ["gazetteer", "import", str(tmp_path / "nope.zip")], env=_env(tmp_path))
    assert missing.exit_code == 1 and "nope.zip: no such file" in missing.output


def test_the_near_filter_resolves_an_imported_village(tmp_path: Path, index: Path) -> None:
    from monitor.querying import resolve_place

    use_local_index(index)
    assert resolve_place("Tashvirak") == (pytest.approx(40.25), pytest.approx(45.05))


def test_download_fetches_the_country_dump_from_the_configured_url(tmp_path: Path) -> None:
    dump = write_zip(tmp_path / "served.zip", "AM.txt", table(country_dump(400)))
    admin2 = "AM.01.0101\tKelvashen District\tKelvashen District\t9100002\n"
    with FeedServer() as server:
        server.set_feed("/dump/AM.zip", dump.read_bytes(), "application/zip")
        server.set_feed("/dump/admin2Codes.txt", admin2.encode(), "text/plain")
        env = _env(tmp_path, server.url("/dump"))  # no trailing slash: the loader adds it
        result = _cli(["gazetteer", "download", "am", "--keep", str(tmp_path / "kept")], env)
        assert result.exit_code == 0, result.output
        assert server.hits("/dump/AM.zip") == 1 and server.hits("/dump/admin2Codes.txt") == 1
        missing = CliRunner().invoke(main, ["gazetteer", "download", "ZZ"], env=env)
    assert (tmp_path / "kept" / "AM.zip").read_bytes() == dump.read_bytes()
    places = sqlite3.connect(tmp_path / "local.sqlite").execute(
        "SELECT count(*) FROM place WHERE level = 0").fetchone()[0]
    assert places == sum(1 for p in country_dump(400) if p.fclass == "P")
    assert missing.exit_code == 1 and "/dump/ZZ.zip: HTTP 404" in missing.output


def test_download_refuses_a_name_that_is_no_dump(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["gazetteer", "download", "../etc"], env=_env(tmp_path))
    assert result.exit_code == 1 and "not a two-letter country code" in result.output


def test_download_names_an_unreachable_server(tmp_path: Path) -> None:
    env = _env(tmp_path, "http://127.0.0.1:9/dump/")  # the discard port: nothing listens
    result = CliRunner().invoke(main, ["gazetteer", "download", "AM"], env=env)
    assert result.exit_code == 1 and "127.0.0.1:9/dump/AM.zip: cannot download" in result.output


def test_classify_starts_without_the_store_and_its_libraries() -> None:
    """`classify` must not pay for SQLAlchemy and alembic at start-up (the CLI loads them lazily)."""
    code = ("import sys; from monitor.cli import main\n"
            "try:\n    main(['classify', '--title', 'x'])\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('sqlalchemy', 'alembic')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"
