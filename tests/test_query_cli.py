"""`incidents`, `show` and `export` from the command line: filters, formats, exit codes and exact
messages, and an export whose memory does not grow with the number of rows."""

from __future__ import annotations

import csv
import io
import json
import os
import tracemalloc
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import insert
from test_queries import JERMUK, T0, add_incident

from monitor.cli import main
from monitor.cli.query import ACLED_COLUMNS, CSV_COLUMNS, write_export
from monitor.geo import geo_bucket
from monitor.settings import DatabaseSettings
from monitor.store import IncidentFilter, Store
from monitor.store.queries import export_incidents
from monitor.store.schema import articles, incidents


@pytest.fixture
def env(tmp_path: Path) -> Iterator[tuple[dict[str, str], Store]]:
    db = tmp_path / "m.db"
    config = tmp_path / "config.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{db}"\n\n[api]\nenabled = false\n')
    store = Store.open(DatabaseSettings(url=f"sqlite:///{db}"))
    store.upgrade()
    env = {k: "" for k in os.environ if k.startswith("CEASEFIRE_MONITOR_")}
    env["CEASEFIRE_MONITOR_CONFIG"] = str(config)
    yield env, store
    store.close()


def run(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(main, list(args), env={k: v or None for k, v in env.items()})


@pytest.fixture
def three(env: tuple[dict[str, str], Store]) -> tuple[dict[str, str], list[str]]:
    cli_env, store = env
    return cli_env, [
        add_incident(store, "Artillery shelled Jermuk", at=JERMUK, updated_at=T0 + timedelta(hours=2),
                     sources=("Armenpress", "OC Media"), ceasefire="AM-AZ 2022", killed=3, place="Jermuk",
                     evidence=["mortars were fired at"], actors=["Azerbaijani forces", "Armenian army"],
                     alert_status="sent"),
        add_incident(store, "Air raid on Kyiv", country="UA", labels=("air_strike",), at=(50.45, 30.52),
                     updated_at=T0 + timedelta(hours=1), place="Kyiv"),
        add_incident(store, "Clash, no place", country="AZ", labels=("armed_clash",), updated_at=T0),
    ]


def test_incidents_json_lines_with_filters(three: tuple[dict[str, str], list[str]]) -> None:
    env, ids = three
    result = run(env, "incidents", "--format", "json", "--country", "am")
    assert result.exit_code == 0
    [line] = [json.loads(x) for x in result.stdout.splitlines()]
    assert line["id"] == ids[0] and line["killed"] == 3 and len(line["articles"]) == 2
    near = run(env, "incidents", "--near", "Jermuk", "--km", "30", "--format", "json")
    assert [json.loads(x)["id"] for x in near.stdout.splitlines()] == [ids[0]]
    limited = run(env, "incidents", "--limit", "2", "--format", "json", "--min-sources", "1")
    assert [json.loads(x)["id"] for x in limited.stdout.splitlines()] == ids[:2]


def test_event_date_and_first_seen_filters(env: tuple[dict[str, str], Store]) -> None:
    cli_env, store = env
    old = add_incident(store, "Old shelling, reported late", event_date=T0.date() - timedelta(days=700),
                       updated_at=T0 + timedelta(hours=3))
    new = add_incident(store, "Fresh shelling", updated_at=T0 - timedelta(days=3))
    events = run(cli_env, "incidents", "--event-since", "2022-01-01", "--format", "json")
    assert [json.loads(x)["id"] for x in events.stdout.splitlines()] == [new]
    seen = run(cli_env, "incidents", "--seen-since", T0.date().isoformat(), "--format", "json")
    assert [json.loads(x)["id"] for x in seen.stdout.splitlines()] == [old]


def test_the_table_is_plain_when_piped(three: tuple[dict[str, str], list[str]]) -> None:
    env, ids = three
    result = run(env, "incidents", "--since", "2022-09-13")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["ID", "DATE", "WHERE", "LABELS", "KILLED", "INJURED", "SRC", "SEV", "TITLE"]
    assert lines[2].startswith(ids[0]) and "Jermuk, AM" in lines[2] and "\x1b[" not in result.stdout


@pytest.mark.parametrize(("args", "message"), [
    (["--country", "ZZ"], "Error: country: 'ZZ' is not a known ISO 3166-1 alpha-2 country code\n"),
    (["--since", "last tuesday"],
     "Error: since: 'last tuesday' is not a date, an ISO time or a span like 7d or 24h\n"),
    (["--km", "5"], "Error: km: needs near (a place or LAT,LON)\n"),
    (["--near", "39.8,45.6", "--km", "5000"], "Error: km: must be between 0.1 and 1000\n"),
    (["--near", "Qwxzyv"], "Error: near: 'Qwxzyv' is neither LAT,LON nor a place the gazetteer knows\n"
                           "Hint: give coordinates such as 39.84,45.67\n"),
    (["--limit", "0"], "Error: limit: must be between 1 and 10000\n"),
    (["--min-severity", "high"], "Error: min_severity: 'high' is not a number\n"),
    (["--text", "qz"], "Error: text: 'qz' is too short; give at least 3 characters\n"),
    (["--text", "-.-"], "Error: text: '-.-' has too few letters or digits; give at least 3\n"),
    (["--label", "bombing"],
     "Error: label: 'bombing' is not one of shelling, air_strike, armed_clash, ceasefire_violation\n"),
    (["--event-since", "spring"],
     "Error: event_since: 'spring' is not a date, an ISO time or a span like 7d or 24h\n"),
    (["--event-since", "2022-09-14", "--event-until", "2022-09-13"], "Error: event_until: is before event_since\n"),
])
def test_bad_filters_exit_1_with_one_line_naming_the_parameter(env: tuple[dict[str, str], Store], args: list[str],
                                                               message: str) -> None:
    result = run(env[0], "incidents", *args)
    assert result.exit_code == 1
    assert result.stderr == message and result.stdout == ""


def test_a_bad_format_is_a_usage_error(env: tuple[dict[str, str], Store]) -> None:
    result = run(env[0], "incidents", "--format", "xml")
    assert result.exit_code == 2 and "Invalid value for '--format'" in result.stderr


def test_show_prints_articles_evidence_revisions_and_alerts(three: tuple[dict[str, str], list[str]]) -> None:
    env, ids = three
    text = run(env, "show", ids[0].lower())
    assert text.exit_code == 0
    out = text.stdout
    assert out.splitlines()[:2] == [f"{ids[0]}  revision 1  shelling", "Artillery shelled Jermuk"]
    assert "Where:      Jermuk, Armenia (39.8414, 45.6703; place precision)" in out
    assert "  - mortars were fired at" in out
    assert "Articles (2):" in out and "OC Media: OC Media: Artillery shelled Jermuk" in out
    assert "      https://armenpress.example/" in out
    assert "  r1  2022-09-13T10:00:00Z  new incident" in out
    assert "  incident r1 -> desk: sent (attempts 1, sent 2022-09-13T10:00:00Z)" in out
    as_json = json.loads(run(env, "show", ids[0], "--format", "json").stdout)
    assert as_json["id"] == ids[0] and as_json["alerts"][0]["status"] == "sent"
    assert [r["reasons"] for r in as_json["revisions"]] == [["new incident"]]


def test_show_of_an_unknown_id(env: tuple[dict[str, str], Store]) -> None:
    result = run(env[0], "show", "INC-NOPE")
    assert result.exit_code == 1
    assert result.stderr == "Error: ID: no incident 'INC-NOPE'\nHint: list them with `ceasefire-monitor incidents`\n"


def test_export_csv_has_acled_columns(three: tuple[dict[str, str], list[str]], tmp_path: Path) -> None:
    env, ids = three
    out = tmp_path / "log.csv"
    result = run(env, "export", "-o", str(out))
    assert result.exit_code == 0 and result.stderr == f"wrote 3 incidents to {out}\n"
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert list(rows[0])[:len(ACLED_COLUMNS)] == ACLED_COLUMNS and list(rows[0]) == CSV_COLUMNS
    first = rows[0]
    assert {k: first[k] for k in ("event_date", "sub_event_type", "actor1", "actor2", "country", "location",
                                  "latitude", "longitude", "geo_precision", "time_precision", "fatalities",
                                  "sources", "event_id", "ceasefire")} == {
        "event_date": "2022-09-13", "sub_event_type": "Shelling/artillery/missile attack",
        "actor1": "Azerbaijani forces", "actor2": "Armenian army", "country": "Armenia", "location": "Jermuk",
        "latitude": "39.8414", "longitude": "45.6703", "geo_precision": "1", "time_precision": "1",
        "fatalities": "3", "sources": "OC Media; Armenpress", "event_id": ids[0], "ceasefire": "AM-AZ 2022"}
    assert rows[2]["sub_event_type"] == "Armed clash" and rows[2]["fatalities"] == "0"
    assert rows[2]["latitude"] == "" and rows[2]["geo_precision"] == ""


def test_export_geojson_and_json_lines(three: tuple[dict[str, str], list[str]], tmp_path: Path) -> None:
    env, ids = three
    out = tmp_path / "log.geojson"
    assert run(env, "export", "--format", "geojson", "--country", "UA", "-o", str(out)).exit_code == 0
    doc = json.loads(out.read_text())
    assert doc["type"] == "FeatureCollection"
    [feature] = doc["features"]
    assert feature["id"] == ids[1] and feature["geometry"] == {"type": "Point", "coordinates": [30.52, 50.45]}
    empty = run(env, "incidents", "--format", "geojson", "--country", "FR")
    assert json.loads(empty.stdout) == {"type": "FeatureCollection", "features": []}
    lines = run(env, "export", "--format", "json").stdout.splitlines()
    assert [json.loads(x)["id"] for x in lines] == ids


def test_export_to_an_unwritable_path(three: tuple[dict[str, str], list[str]], tmp_path: Path) -> None:
    result = run(three[0], "export", "-o", str(tmp_path / "missing" / "x.csv"))
    assert result.exit_code == 1
    target = tmp_path / "missing" / "x.csv"
    assert result.stderr == f"Error: --output: cannot write {target}: No such file or directory\n"


def _bulk(store: Store, n: int) -> None:
    with store.write() as conn:
        ids: list[int] = [conn.execute(insert(incidents).values(
            public_id=f"INC-B{i:06d}", revision=1, event_date=T0.date(), first_seen_at=T0,
            updated_at=T0 + timedelta(seconds=i), country="AM", lat=39.8, lon=45.6, geo_precision="place",
            geo_bucket=geo_bucket(39.8, 45.6), labels=["shelling"], severity=3.0, source_count=2,
            title=f"Shelling report number {i} " + "x" * 200, evidence=["shelled"], signature="")
            .returning(incidents.c.id)).scalar_one() for i in range(n)]
        conn.execute(insert(articles), [
            {"fingerprint": f"b{i}-{j}", "source": f"Outlet {j}", "url": f"https://o{j}.example/{i}",
             "title": f"Report {i} by {j}", "summary": "s" * 300, "published_at": T0, "first_seen_at": T0,
             "relevant": True, "labels": [], "extraction": {"actors": ["Armed forces"]}, "incident_id": inc}
            for i, inc in enumerate(ids) for j in range(2)])


def test_export_memory_does_not_grow_with_the_number_of_rows(store: Store) -> None:
    """Export 300 then 3,000 incidents in batches of 100: the peak stays that of a few batches."""
    _bulk(store, 3000)

    def peak(limit: int) -> tuple[int, int]:
        sink = io.StringIO()
        sink.write = lambda s: len(s)  # type: ignore[method-assign]  # count nothing: measure the reader only
        tracemalloc.start()
        with store.read() as conn:
            n = write_export(export_incidents(conn, IncidentFilter(limit=limit), batch=100), "csv", sink)
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return n, top

    small_n, small = peak(300)
    large_n, large = peak(3000)
    assert (small_n, large_n) == (300, 3000)
    assert large < small * 2, f"peak {large} B for 3,000 rows vs {small} B for 300"
