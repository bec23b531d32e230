"""The daemon as a real process: ready, healthy, polling, and a clean exit on SIGTERM."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import subprocess
import sys
import threading
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from daemon_proc import DEADLINE_S, Daemon, wait_until
from feed_server import FeedServer, make_rss

from monitor.pipeline import Deps
from monitor.service import Daemon as Service
from monitor.settings import ApiSettings, DaemonSettings, DatabaseSettings, FeedSettings, Settings
from monitor.store import Store


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])



def _healthz(port: int) -> dict[str, object] | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
            data: dict[str, object] = json.load(r)
            return data
    except OSError:
        return None


def test_daemon_starts_polls_reports_ready_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    port = _free_port()
    notify = tmp_path / "notify.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(str(notify))
    listener.settimeout(DEADLINE_S)
    with FeedServer() as srv:
        srv.set_feed("/feed.xml", make_rss([{"title": "Parliament passes the budget", "link": "https://x.example/1"}]))
        config = tmp_path / "config.toml"
        config.write_text(f"""
[database]
url = "sqlite:///{tmp_path / 'm.db'}"

[[feeds]]
name = "local"
url = "{srv.url('/feed.xml')}"

[[feeds]]
name = "unreachable"
url = "http://127.0.0.1:9/feed.xml"

[daemon]
tick = "1s"
delivery = "1s"

[api]
port = {port}
""")
        with Daemon.start(config, env={"NOTIFY_SOCKET": str(notify)}) as daemon:
            try:
                assert listener.recv(100) == b"READY=1"
                wait_until(lambda: (_healthz(port) or {}).get("ready") is True, what="/healthz ready")
                wait_until(lambda: srv.hits("/feed.xml") >= 1, what="the feed polled")
                daemon.wait_for("feed_failed", where=lambda f: f.get("kind") == "connect")
                # the planner's statistics are refreshed at start (then daily): the store's rows are counted
                daemon.wait_for("db_statistics_refreshed")
                assert daemon.proc.poll() is None, "the daemon died"
                daemon.stop()
            finally:
                listener.close()
    out, err = daemon.stdout.text(), daemon.stderr.text()
    assert "Traceback" not in out + err
    assert [name for name, _ in daemon.events() if name in ("started", "stopped")] == ["started", "stopped"]


def test_run_with_a_bad_config_exits_1_with_the_key_named(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[fetch]\ntimout = "10s"\n')
    env = {**os.environ, "CEASEFIRE_MONITOR_CONFIG": str(config)}
    done = subprocess.run([sys.executable, "-m", "monitor", "run", "--once"], env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 1
    assert "fetch.timout" in done.stderr and "Traceback" not in done.stderr


def test_a_stop_during_a_tick_waits_for_its_claim_and_polls_what_it_claimed(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """SIGTERM while a tick is still claiming feeds (a slow database): the stop waits for the claim and the
    polls it starts, instead of cancelling the tick (a CancelledError traceback, a feed left leased)."""
    store = Store.open(DatabaseSettings(url=f"sqlite:///{tmp_path / 'm.db'}"))
    store.upgrade()
    entered, release = threading.Event(), threading.Event()
    claim = store.claim_due_feeds

    def slow_claim(*args: Any) -> Any:
        entered.set()
        release.wait(DEADLINE_S)
        return claim(*args)

    store.claim_due_feeds = slow_claim  # type: ignore[method-assign]
    with FeedServer() as srv:
        srv.set_feed("/feed.xml", make_rss([]))
        feeds = (FeedSettings(name="local", url=srv.url("/feed.xml")),)
        settings = Settings(database=DatabaseSettings(url="unused"), feeds=feeds, api=ApiSettings(enabled=False),
                            daemon=DaemonSettings(tick_s=3600, delivery_s=3600))
        store.sync_feeds(feeds, datetime.now(UTC))
        daemon = Service(Deps(settings=settings, store=store, classifier=None, owner="stop-test"))  # type: ignore[arg-type]

        async def scenario() -> int:
            run = asyncio.create_task(daemon.run())
            await asyncio.to_thread(entered.wait, DEADLINE_S)
            daemon.request_stop("SIGTERM")
            while daemon.health.scheduler_running:  # the stop is under way while the claim still waits
                await asyncio.sleep(0.01)
            release.set()
            return await run

        caplog.set_level(logging.INFO)
        assert asyncio.run(scenario()) == 0
        hits = srv.hits("/feed.xml")
    [feed] = store.list_feeds()
    store.close()
    assert entered.is_set() and hits == 1 and feed.last_success_at is not None
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
