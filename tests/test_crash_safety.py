"""kill -9 in the middle of polls, saves and sends, many times: nothing lost, nothing stored or sent twice.

Each life of the daemon is killed right after it logs that a chosen kind of work began (`poll_started`,
`save_started`, `send_started`), spread evenly over the three; then one clean run must finish everything.
The lives have no `[daemon] instance` name, so each restart must take back the leases of the killed one
(held under `hostname:pid`) at once: the lease is a minute long and the test would stall without that.

The kills per phase (and whether the phase had ended when the kill landed) are printed, written to
`crash-summary-ENGINE.json` under the test's tmp dir, and shown in pytest's terminal summary.
Standalone: `python tests/test_crash_safety.py [--kills N] [--engine sqlite|postgresql] [--seed S]`.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from daemon_proc import CRASH_SUMMARIES, DEADLINE_S, Daemon, Output, parse_event, wait_until
from feed_server import FeedServer, make_rss
from sink_server import SinkServer

from monitor.pipeline import REPEAT_MARK
from monitor.settings import DatabaseSettings
from monitor.store import IncidentFilter, Store

NOW = datetime.now(UTC).replace(microsecond=0)
# General-knowledge cities far apart: each report makes its own incident.
PLACES = [("Kabul", "Afghanistan"), ("Mogadishu", "Somalia"), ("Tripoli", "Libya"), ("Baghdad", "Iraq"),
          ("Damascus", "Syria"), ("Sanaa", "Yemen"), ("Kharkiv", "Ukraine"), ("Odesa", "Ukraine"),
          ("Juba", "South Sudan"), ("Bamako", "Mali"), ("Niamey", "Niger"), ("Ouagadougou", "Burkina Faso"),
          ("Bangui", "Central African Republic"), ("Maiduguri", "Nigeria"), ("Kandahar", "Afghanistan"),
          ("Mosul", "Iraq"), ("Aden", "Yemen"), ("Benghazi", "Libya"), ("Kismayo", "Somalia"),
          ("Zaporizhzhia", "Ukraine"), ("Beirut", "Lebanon"), ("Khartoum", "Sudan"), ("Goma", "DR Congo"),
          ("Peshawar", "Pakistan"), ("Quetta", "Pakistan"), ("Mandalay", "Myanmar"), ("Mekelle", "Ethiopia"),
          ("Idlib", "Syria"), ("Kirkuk", "Iraq"), ("Dnipro", "Ukraine"), ("Port-au-Prince", "Haiti"),
          ("Marawi", "Philippines"), ("Gao", "Mali"), ("Diffa", "Niger"), ("Bunia", "DR Congo"),
          ("Taiz", "Yemen"), ("Misrata", "Libya"), ("Sittwe", "Myanmar"), ("Gondar", "Ethiopia"),
          ("Sumy", "Ukraine")]
PHASES = {"poll": "poll_started", "save": "save_started", "send": "send_started"}
KILLS = int(os.environ.get("CFM_CRASH_KILLS", "51"))
FEEDS = 4
ZYGOTE = Path(__file__).with_name("crash_zygote.py")


class Outlets:
    """FEEDS slow feeds on a loopback server; a new report appears on one when a life needs fresh work."""

    def __init__(self, srv: FeedServer) -> None:
        self.srv = srv
        self.items: list[list[dict[str, Any]]] = [[] for _ in range(FEEDS)]
        self.published = 0
        for i in range(FEEDS):
            self._serve(i)

    def _serve(self, i: int) -> None:
        # Each poll takes a moment, so a kill after `poll_started` lands while the fetch is under way.
        self.srv.set_behaviour(f"/o{i}.xml", "slow_response", delay=0.2,
                               body=make_rss(self.items[i], title=f"Outlet {i}"))

    def publish(self) -> None:
        if self.published >= len(PLACES):
            raise AssertionError(f"only {len(PLACES)} places: lower CFM_CRASH_KILLS")
        place, country = PLACES[self.published]
        feed = self.published % FEEDS
        n = self.published % 5 + 2
        self.items[feed].append({
            "title": f"Shelling kills {n} in {place}", "link": f"https://outlet{feed}.example/{self.published}",
            "guid": f"o{feed}-{self.published}", "pub_date": NOW - timedelta(hours=2),
            "description": f"Artillery shelling hit {place}, {country}, killing {n} civilians."})
        self.published += 1
        self._serve(feed)


def _config(tmp: Path, db_url: str, srv: FeedServer, sink: SinkServer) -> Path:
    feeds = "\n".join(f'[[feeds]]\nname = "Outlet {i}"\nurl = "{srv.url(f"/o{i}.xml")}"\ninterval = "1s"\n'
                      for i in range(FEEDS))
    path = tmp / "config.toml"
    path.write_text(f"""
[database]
url = "{db_url}"

{feeds}
[fetch]
timeout = "20s"
lease = "60s"

[[alerts.targets]]
name = "desk"
url = "{sink.url('/desk')}"

[alerts]
retry_base = "1s"
retry_max = "2s"
send_timeout = "20s"

[daemon]
tick = "0.2s"
delivery = "0.2s"

[log]
level = "DEBUG"

[api]
enabled = false
""")
    return path


class Zygote:
    """tests/crash_zygote.py as a child process; its output (and its daemons') drained by a thread."""

    def __init__(self, config: Path) -> None:
        env = {**os.environ, "CEASEFIRE_MONITOR_CONFIG": str(config)}
        env.pop("CEASEFIRE_MONITOR_DATABASE_URL", None)
        self.proc = subprocess.Popen([sys.executable, str(ZYGOTE)], env=env, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.out = Output(self.proc.stdout)
        self.err = Output(self.proc.stderr)
        self._control("ready")

    def _control(self, word: str, start: int = 0) -> tuple[int, list[str]]:
        index = self.out.wait_line(lambda line: line.startswith(f"ZYGOTE {word}"), start)
        assert index is not None, f"zygote: no {word!r} line; stderr:\n{self.err.text()[-3000:]}"
        return index, self.out.lines[index].split()

    def spawn(self) -> tuple[int, int]:
        """A new daemon life: (its pid, the output line it starts at)."""
        start = len(self.out.lines)
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"spawn\n")
        self.proc.stdin.flush()
        index, words = self._control("spawned", start)
        return int(words[2]), index

    def reap(self, pid: int) -> tuple[int, int]:
        """Wait for a daemon life to end: (its status, the line its output ends at)."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"reap {pid}\n".encode())
        self.proc.stdin.flush()
        index, words = self._control(f"reaped {pid} ")
        return int(words[3]), index

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        self.proc.wait(DEADLINE_S)


def _events(lines: list[str]) -> list[tuple[int, str, dict[str, str]]]:
    return [(i, e[0], e[1]) for i, line in enumerate(lines) if (e := parse_event(line))]


def _landed(phase: str, start: dict[str, str], after: list[tuple[int, str, dict[str, str]]]) -> str:
    """'mid' when the life logged no end of the work it was killed in, else 'after'."""
    for _, name, fields in after:
        if phase in ("poll", "save") and name in ("feed_polled", "feed_unchanged", "feed_failed") \
                and fields.get("feed") == start.get("feed"):
            return "after"
        if phase == "send" and name in ("alert_sent", "alert_failed") and fields.get("alert") == start.get("alert"):
            return "after"
    return "mid"


def _alert_keys(sink: SinkServer) -> list[tuple[str, bool]]:
    """(kind:incident:revision, marked as a possible repeat) for each delivered alert."""
    keys = []
    for r in sink.delivered:
        if not isinstance(r.body, dict):
            # A request cut short by a kill mid-send: no whole alert reached the sink, and the sender died
            # before any answer, so the outbox still holds it as unsent and sends it again.
            continue
        title = str(r.body.get("title", ""))
        body = f"{title}\n{r.body.get('message', '')}"
        match = re.search(r"(INC-[0-9A-Z]+)\D+?(\d+)\)", body)
        assert match, body[:300]
        kind = "update" if "UPDATE" in title.upper() else "incident"
        keys.append((f"{kind}:{match.group(1)}:{match.group(2)}", title.startswith(REPEAT_MARK)))
    return keys


def _kill_lives(zygote: Zygote, outlets: Outlets, sink: SinkServer, rng: random.Random) -> list[dict[str, Any]]:
    """KILLS lives, each SIGKILLed right after its chosen phase began; what each kill hit."""
    phases = [p for _ in range(KILLS // 3 + 1) for p in PHASES][:KILLS]
    rng.shuffle(phases)
    kills = []
    for life, phase in enumerate(phases):
        if phase != "poll":  # a save or a send needs a report not stored yet
            outlets.publish()
        spawned = time.monotonic()
        pid, start = zygote.spawn()
        index = zygote.out.wait_line(lambda line, p=phase: (e := parse_event(line)) is not None
                                     and e[0] == PHASES[p], start)
        assert index is not None, f"life {life}: no {PHASES[phase]} event:\n" + "\n".join(
            zygote.out.lines[start:][-40:]) + zygote.err.text()[-2000:]
        os.kill(pid, signal.SIGKILL)
        to_kill = time.monotonic() - spawned
        status, end = zygote.reap(pid)
        assert status == -signal.SIGKILL, f"life {life} ended with status {status} before the kill"
        lines = zygote.out.lines[start:end]
        events = _events(lines)
        _, name, fields = next(e for e in events if e[0] == index - start)
        kills.append({"life": life, "phase": phase, "event": name, **fields,
                      "landed": _landed(phase, fields, [e for e in events if e[0] > index - start]),
                      "seconds_to_kill": round(to_kill, 2),
                      "took_back_leases": any(e[1] == "leases_taken_back" for e in events)})
    return kills


def _summary(engine: str, kills: list[dict[str, Any]], keys: list[tuple[str, bool]], incidents: int,
             seconds: float) -> dict[str, Any]:
    per_phase = Counter(k["phase"] for k in kills)
    mid = Counter(k["phase"] for k in kills if k["landed"] == "mid")
    return {"engine": engine, "kills": len(kills), "per_phase": dict(per_phase), "mid_work": dict(mid),
            "restarts_that_took_back_leases": sum(k["took_back_leases"] for k in kills),
            "median_seconds_to_kill": sorted(k["seconds_to_kill"] for k in kills)[len(kills) // 2],
            "incidents": incidents, "alerts_delivered": len(keys),
            "marked_repeats": sum(marked for _, marked in keys), "seconds": round(seconds, 1), "lives": kills}


@pytest.mark.timeout(900)
def test_sigkill_mid_poll_save_and_send_loses_nothing_and_repeats_nothing_unmarked(
        db_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    started = time.monotonic()
    engine = db_url.split(":")[0].split("+")[0]
    rng = random.Random(int(os.environ.get("CFM_CRASH_SEED", "5")))
    with FeedServer() as srv, SinkServer() as sink:
        outlets = Outlets(srv)
        config = _config(tmp_path, db_url, srv, sink)
        sink.delay(0.2)  # a send takes a moment: a kill after `send_started` lands while it is in flight
        zygote = Zygote(config)
        try:
            kills = _kill_lives(zygote, outlets, sink, rng)
        finally:
            zygote.close()
        sink.delay(0)
        # One clean run, a cold start of the real command, finishes everything.
        store = Store.open(DatabaseSettings(url=db_url))
        with Daemon.start(config) as daemon:
            def done() -> bool:
                views = store.incidents(IncidentFilter(limit=None))
                alerted = {key.split(":")[1] for key, _ in _alert_keys(sink) if key.startswith("incident:")}
                return len(views) == outlets.published and store.outbox_counts().get("pending", 0) == 0 \
                    and alerted >= {v.id for v in views}

            wait_until(done, what=f"{outlets.published} incidents stored and alerted, no alert pending")
            daemon.stop()
            views = store.incidents(IncidentFilter(limit=None))
            counts = store.outbox_counts()
        store.close()
        keys = _alert_keys(sink)
    summary = _summary(engine, kills, keys, len(views), time.monotonic() - started)
    (tmp_path / f"crash-summary-{engine}.json").write_text(json.dumps(summary, indent=1))
    request.config.stash.setdefault(CRASH_SUMMARIES, []).append(summary)
    print(json.dumps({k: v for k, v in summary.items() if k != "lives"}))

    assert len(kills) == KILLS and min(summary["per_phase"].values()) >= KILLS // 3
    assert len(views) == outlets.published, sorted(v.title for v in views)
    assert all(len(v.articles) == 1 for v in views), [(v.title, len(v.articles)) for v in views]
    assert counts.get("pending", 0) == 0 and counts.get("failed", 0) == 0, counts
    unmarked = Counter(key for key, marked in keys if not marked)
    assert all(n == 1 for n in unmarked.values()), f"sent twice unmarked: {unmarked}"
    assert {key.split(":")[1] for key, _ in keys if key.startswith("incident:")} == {v.id for v in views}
    assert summary["restarts_that_took_back_leases"] > 0


def test_an_interrupted_send_is_resent_marked_as_a_repeat(tmp_path: Path) -> None:
    """Killed while the sink holds the request: the restarted process takes its leases back at once and
    sends the alert again with a mark, because the sink may have acted on the first."""
    with FeedServer() as srv, SinkServer() as sink:
        outlets = Outlets(srv)
        outlets.publish()
        config = _config(tmp_path, f"sqlite:///{tmp_path / 'm.db'}", srv, sink)
        sink.delay(DEADLINE_S)  # held until the kill
        with Daemon.start(config) as first:
            first.wait_for("send_started")
            wait_until(lambda: sink.held == 1, what="the sink holding the alert")
            first.kill()
        sink.delay(0)
        sink.release()  # the sink acts on it after all: the sender never learnt so
        with Daemon.start(config) as second:
            second.wait_for("leases_taken_back", where=lambda f: f.get("alerts") == "1")
            second.wait_for("alert_sent")
            second.stop()
        titles = [str(r.body["title"]) for r in sink.received]
    assert len(titles) == 2 and titles[1] == REPEAT_MARK + titles[0], titles


def _standalone() -> int:
    import argparse

    parser = argparse.ArgumentParser(description="Run the crash suite alone.")
    parser.add_argument("--kills", type=int, default=KILLS)
    parser.add_argument("--engine", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()
    os.environ.update(CFM_CRASH_KILLS=str(args.kills), CFM_CRASH_SEED=str(args.seed))
    select = "" if args.engine == "both" else f"[{args.engine}]"
    return pytest.main([f"{__file__}::test_sigkill_mid_poll_save_and_send_loses_nothing_and_repeats_nothing_"
                        f"unmarked{select}", "-s", "-q", "-p", "no:cacheprovider"])


if __name__ == "__main__":
    sys.exit(_standalone())
