"""The command line: help with examples everywhere, exit codes, the classify/ingest JSON contracts."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from monitor.cli import main


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    ctx = click.Context(group)
    for name in group.list_commands(ctx):  # list_commands: the modules the group loads lazily count too
        cmd = group.get_command(ctx, name)
        if isinstance(cmd, click.Group):
            yield from _commands(cmd, (*prefix, name))
        else:
            yield (*prefix, name)


ALL_COMMANDS = sorted(_commands(main))


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    config = tmp_path / "config.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "m.db"}"\n\n[api]\nenabled = false\n')
    return {"CEASEFIRE_MONITOR_CONFIG": str(config), "CEASEFIRE_MONITOR_DATABASE_URL": ""}


def invoke(args: list[str], env: dict[str, str], stdin: str | None = None) -> Result:
    clean = {k: v for k, v in env.items() if v}
    for key in [k for k in os.environ if k.startswith("CEASEFIRE_MONITOR_")]:
        clean.setdefault(key, "")
    return CliRunner().invoke(main, args, input=stdin, env={k: (v or None) for k, v in clean.items()},
                              catch_exceptions=False)


def test_the_contract_commands_all_exist() -> None:
    names = {" ".join(c) for c in ALL_COMMANDS}
    assert {"run", "check-config", "db upgrade", "feeds", "incidents", "show", "export", "classify", "ingest",
            "ceasefires", "rules test", "notify test", "serve"} <= names


@pytest.mark.parametrize("command", ALL_COMMANDS, ids=" ".join)
def test_every_command_has_help_with_an_example(command: tuple[str, ...]) -> None:
    result = CliRunner().invoke(main, [*command, "--help"])
    assert result.exit_code == 0
    assert "Example" in result.output and "ceasefire-monitor" in result.output


def test_version() -> None:
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0 and "ceasefire-monitor" in result.output


def test_an_unknown_option_is_a_usage_error_with_status_2(env: dict[str, str]) -> None:
    result = CliRunner().invoke(main, ["incidents", "--bogus"])
    assert result.exit_code == 2 and "No such option" in result.output


def test_a_missing_config_file_is_named_and_exits_1(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["--config", str(tmp_path / "nope.toml"), "incidents"])
    assert result.exit_code == 1
    assert "nope.toml" in result.output and "Traceback" not in result.output


def test_a_bad_since_names_the_parameter(env: dict[str, str]) -> None:
    invoke(["db", "upgrade"], env)
    result = invoke(["incidents", "--since", "last tuesday"], env)
    assert result.exit_code == 1
    assert "since" in result.output and "'last tuesday'" in result.output


def test_show_of_an_unknown_id_exits_1(env: dict[str, str]) -> None:
    invoke(["db", "upgrade"], env)
    result = invoke(["show", "INC-NOPE"], env)
    assert result.exit_code == 1 and "INC-NOPE" in result.output


def test_read_commands_on_an_unmigrated_database_say_what_to_do(env: dict[str, str]) -> None:
    result = invoke(["incidents"], env)
    assert result.exit_code == 1 and "db upgrade" in result.output


def test_classify_keeps_order_and_reports_bad_lines_in_place(env: dict[str, str]) -> None:
    lines = "\n".join([
        json.dumps({"id": "a", "title": "Artillery shelling kills 3 in Donetsk", "text": "",
                    "published": "2024-05-01T08:00:00Z", "lang": "en"}),
        "{not json",
        json.dumps({"id": "c", "lang": "en"}),
        json.dumps({"id": "d", "title": "Central bank holds rates", "summary": "Markets were calm.",
                    "published": None, "lang": None, "extra": 1}),
    ])
    result = invoke(["classify", "-"], env, stdin=lines)
    assert result.exit_code == 1
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o.get("id") for o in out] == ["a", None, None, "d"]
    assert out[1]["line"] == 2 and "JSON" in out[1]["error"]
    assert out[2]["line"] == 3
    assert out[0]["relevant"] is True and out[0]["labels"][0]["label"] == "shelling"
    assert out[3]["relevant"] is False and out[3]["labels"] == []
    for key in ("score", "country", "place", "places", "actors", "weapons", "killed", "killed_detail",
                "injured", "injured_detail", "event_date", "explanation"):
        assert key in out[0]


def test_ingest_prints_one_summary_and_skips_bad_lines(env: dict[str, str]) -> None:
    lines = "\n".join([
        json.dumps({"id": 1, "title": "Shelling kills 4 in Donetsk", "url": "https://a.example/1",
                    "published": "2024-05-01T08:00:00Z", "source": "A", "lang": "en"}),
        "[1, 2]",
        json.dumps({"id": 2, "title": "Parliament passes the budget", "source": "B"}),
    ])
    result = invoke(["ingest", "-"], env, stdin=lines)
    assert result.exit_code == 1
    assert "line 2" in result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary == {"read": 2, "new": 2, "duplicates": 0, "relevant": 1, "incidents_created": 1,
                       "incidents_updated": 0, "alerts_queued": 1, "errors": 1}
    again = json.loads(invoke(["ingest", "-"], env, stdin=lines).stdout.strip().splitlines()[-1])
    assert again["duplicates"] == 2 and again["new"] == 0


def test_ingest_dry_run_stores_nothing(env: dict[str, str]) -> None:
    line = json.dumps({"id": 1, "title": "Shelling kills 4 in Donetsk", "source": "A"})
    dry = json.loads(invoke(["ingest", "--dry-run", "-"], env, stdin=line).stdout.strip().splitlines()[-1])
    assert dry["incidents_created"] == 1
    listed = invoke(["incidents", "--format", "json"], env)
    assert listed.exit_code == 0 and listed.stdout.strip() == ""


def test_notify_test_without_targets_says_alerts_go_to_the_log(env: dict[str, str]) -> None:
    result = invoke(["notify", "test"], env)
    assert result.exit_code == 0 and "log" in result.output


def test_notify_test_reports_each_target_and_fails_if_one_did(tmp_path: Path) -> None:
    from sink_server import SinkServer

    with SinkServer() as sink:
        config = tmp_path / "config.toml"
        config.write_text(f"""
[database]
url = "sqlite:///{tmp_path / 'm.db'}"

[[alerts.targets]]
name = "desk"
url = "{sink.url('/desk')}"

[[alerts.targets]]
name = "dead"
url = "json://127.0.0.1:9/hook"

[alerts]
send_timeout = "3s"
""")
        result = invoke(["notify", "test"], {"CEASEFIRE_MONITOR_CONFIG": str(config)})
        delivered = [r.path for r in sink.delivered]
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert any(line.startswith("ok") and "desk" in line for line in lines)
    assert any(line.startswith("FAILED") and "dead" in line for line in lines)
    assert "1 of 2 targets failed" in result.output
    assert delivered == ["/desk"]
