"""End to end over loopback: real feed server, real apprise to a real HTTP sink, `run --once` as a process.

Every cycle is a new process, so "restarted between cycles" holds throughout.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from feed_server import FeedServer, make_rss
from sink_server import SinkServer

NOW = datetime.now(UTC).replace(microsecond=0)

DONETSK_1 = {"title": "Shelling kills 4 civilians in Donetsk",
             "link": "https://wire.example/world/donetsk-shelling-1?utm_source=rss",
             "guid": "wire-1", "pub_date": NOW - timedelta(hours=3),
             "description": "Artillery shelling hit a market in Donetsk, Ukraine, killing four civilians, "
                            "local officials said."}
DONETSK_2 = {"title": "Artillery strikes on Donetsk market kill four",
             "link": "https://daily.example/news/donetsk-market",
             "guid": "daily-77", "pub_date": NOW - timedelta(hours=2),
             "description": "Four civilians were killed when artillery shells hit a market in Donetsk, "
                            "Ukraine, the city administration said."}
KHARTOUM = {"title": "Air strike kills 12 in Khartoum",
            "link": "https://daily.example/news/khartoum-air-strike",
            "guid": "daily-78", "pub_date": NOW - timedelta(hours=1),
            "description": "A military aircraft bombed a residential district of Khartoum, Sudan, killing "
                           "12 people, medics said."}
FOOTBALL = {"title": "Title clash ends in a draw", "link": "https://wire.example/sport/derby",
            "guid": "wire-2", "pub_date": NOW - timedelta(hours=4),
            "description": "The two leaders shared the points in a tense title clash on Sunday."}
MARIUPOL = {"title": "Drone strike kills two in Kherson",
            "link": "https://wire.example/world/kherson-drone",
            "guid": "wire-3", "pub_date": NOW - timedelta(minutes=30),
            "description": "A Russian drone strike on Kherson, Ukraine, killed two people and injured five, "
                           "the regional governor said."}


def _config(tmp: Path, srv: FeedServer, sink: SinkServer) -> Path:
    path = tmp / "config.toml"
    path.write_text(f"""
[database]
url = "sqlite:///{tmp / 'monitor.db'}"

[[feeds]]
name = "Wire"
url = "{srv.url('/wire.xml')}"
interval = "1s"

[[feeds]]
name = "Daily"
url = "{srv.url('/daily.xml')}"
interval = "1s"

[[alerts.targets]]
name = "desk"
url = "{sink.url('/desk')}"

[[alerts.targets]]
name = "duty"
url = "{sink.url('/duty')}"

[alerts]
retry_base = "1s"
retry_max = "1s"

[api]
enabled = false
""", encoding="utf-8")
    return path


def cli(config: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CEASEFIRE_MONITOR_CONFIG": str(config)}
    env.pop("CEASEFIRE_MONITOR_DATABASE_URL", None)
    return subprocess.run([sys.executable, "-m", "monitor", *args], capture_output=True, text=True, env=env,
                          input=stdin, timeout=120)


def run_once(config: Path) -> list[dict[str, Any]]:
    """One cycle in a fresh process; returns its cycle_done log fields."""
    time.sleep(1.05)  # feeds have a 1 s interval: make them due again
    done = cli(config, "run", "--once")
    assert done.returncode == 0, done.stderr + done.stdout
    assert "Traceback" not in done.stdout + done.stderr
    return [_fields(line) for line in done.stdout.splitlines() if " cycle_done " in line]


def _fields(line: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for part in line.split()[3:]:
        key, _, value = part.partition("=")
        out[key] = int(value) if value.isdigit() else value
    return out


def incidents(config: Path) -> list[dict[str, Any]]:
    listed = cli(config, "incidents", "--format", "json", "--all")
    assert listed.returncode == 0, listed.stderr
    return [json.loads(line) for line in listed.stdout.splitlines()]


def alerts_by_path(sink: SinkServer) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for r in sink.delivered:
        out.setdefault(r.path, []).append(r.body["title"])
    return out


def test_it_polls_flags_groups_and_alerts_once_across_cycles_and_restarts(tmp_path: Path) -> None:
    with FeedServer() as srv, SinkServer() as sink:
        srv.set_feed("/wire.xml", make_rss([DONETSK_1, FOOTBALL], title="Wire"))
        srv.set_feed("/daily.xml", make_rss([DONETSK_2, KHARTOUM], title="Daily"))
        config = _config(tmp_path, srv, sink)

        # Cycle 1: two incidents (Donetsk from two outlets, Khartoum), one alert each per target.
        [cycle] = run_once(config)
        assert cycle["fetched"] == 2 and cycle["new"] == 4 and cycle["relevant"] == 3
        found = incidents(config)
        assert len(found) == 2, found
        donetsk = next(i for i in found if "Donetsk" in i["title"] or "Donetsk" in json.dumps(i))
        assert donetsk["source_count"] == 2 and len(donetsk["articles"]) == 2
        assert donetsk["articles"][0]["url"] == "https://wire.example/world/donetsk-shelling-1"  # utm dropped
        sent = alerts_by_path(sink)
        assert sorted(sent) == ["/desk", "/duty"]
        assert len(sent["/desk"]) == 2 and len(sent["/duty"]) == 2

        # Cycle 2: unchanged feeds answer 304; nothing new, nothing sent.
        hits_before = len(sink.received)
        [cycle] = run_once(config)
        assert cycle["unchanged"] == 2 and cycle["new"] == 0 and cycle["alerts_queued"] == 0
        assert len(sink.received) == hits_before
        conditional = [r for r in srv.requests if r.path == "/wire.xml" and "if-none-match" in r.headers]
        assert conditional, "the second poll must be a conditional GET"

        # Cycle 3: one new item while the sink fails: the new incident is stored, its alerts wait.
        srv.set_feed("/wire.xml", make_rss([MARIUPOL, DONETSK_1, FOOTBALL], title="Wire"))
        sink.fail_with(500)
        [cycle] = run_once(config)
        assert cycle["new"] == 1 and cycle["incidents_created"] == 1 and cycle["alerts_sent"] == 0
        assert len(incidents(config)) == 3
        assert len(alerts_by_path(sink)["/desk"]) == 2

        # Cycle 4: the sink is back; the waiting alerts go out exactly once.
        sink.fail_with(None)
        [cycle] = run_once(config)
        assert cycle["new"] == 0 and cycle["alerts_sent"] == 2
        sent = alerts_by_path(sink)
        assert len(sent["/desk"]) == 3 and len(sent["/duty"]) == 3
        assert any("Kherson" in title for title in sent["/desk"])

        # Cycle 5: nothing more, ever.
        run_once(config)
        assert alerts_by_path(sink) == sent
        shown = cli(config, "show", donetsk["id"], "--format", "json")
        detail = json.loads(shown.stdout)
        assert {a["target"] for a in detail["alerts"]} == {"desk", "duty"}
        assert all(a["status"] == "sent" for a in detail["alerts"])
