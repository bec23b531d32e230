"""The daemon as a real process: ready, healthy, polling, and a clean exit on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from daemon_proc import wait_until
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
    listener.settimeout(20)
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
        env = {**os.environ, "CEASEFIRE_MONITOR_CONFIG": str(config), "NOTIFY_SOCKET": str(notify)}
        env.pop("CEASEFIRE_MONITOR_DATABASE_URL", None)
        proc = subprocess.Popen([sys.executable, "-m", "monitor", "run"], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        try:
            assert listener.recv(100) == b"READY=1"
            assert wait_until(lambda: (_healthz(port) or {}).get("ready") is True), "never became ready"
            assert wait_until(lambda: srv.hits("/feed.xml") >= 1), "the feed was never polled"
            time.sleep(1.0)
            assert proc.poll() is None, "the daemon died"
            proc.send_signal(signal.SIGTERM)
            out, err = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
            listener.close()
    assert proc.returncode == 0, err
    assert "Traceback" not in out + err
    lines = out.splitlines()
    assert any(" started " in line for line in lines)
    assert any(" feed_failed " in line and "kind=connect" in line for line in lines), out
    assert any(" stopped " in line for line in lines)


def test_run_with_a_bad_config_exits_1_with_the_key_named(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[fetch]\ntimout = "10s"\n')
    env = {**os.environ, "CEASEFIRE_MONITOR_CONFIG": str(config)}
    done = subprocess.run([sys.executable, "-m", "monitor", "run", "--once"], env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 1
    assert "fetch.timout" in done.stderr and "Traceback" not in done.stderr
