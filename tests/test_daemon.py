"""The daemon as a real process: ready, healthy, polling, and a clean exit on SIGTERM."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

from daemon_proc import DEADLINE_S, Daemon, wait_until
from feed_server import FeedServer, make_rss


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
