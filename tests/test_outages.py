"""Outages of what the daemon depends on: the database (PostgreSQL connections cut or the server restarted,
a locked SQLite file) and the notifier (a sink that refuses for a long stretch, then recovers).

The database tests run the daemon as a real process against local feeds and cut its connections from the
test; the notifier test drives `deliver_due` with a clock set by the test, so hours of backoff take no time.
"""

from __future__ import annotations

import asyncio
import functools
import os
import random
import shutil
import socket
import sqlite3
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from daemon_proc import DEADLINE_S, Daemon
from feed_server import FeedServer, make_rss
from sink_server import SinkServer

from monitor.errors import DatabaseError
from monitor.feeds.fetch import Fetcher
from monitor.incidents.group import ArticleDraft
from monitor.models import Casualties, Classification, FeedItem, LabelHit, Place
from monitor.pipeline import CycleReport, Deps, deliver_due, render_alert, run_cycle
from monitor.reading.classify import Classifier
from monitor.settings import (
    AlertSettings,
    DatabaseSettings,
    FeedSettings,
    Settings,
    TargetSettings,
)
from monitor.store import IncidentFilter, Store

NOW = datetime.now(UTC).replace(microsecond=0)
# One event per line, each at its own place: each must become exactly one incident.
EVENTS = [
    ("Donetsk", "Artillery shelling hit Donetsk, Ukraine, killing three civilians."),
    ("Khartoum", "An air strike hit a market in Khartoum, Sudan, killing nine people."),
    ("Aleppo", "Government aircraft bombed Aleppo, Syria, killing five people."),
    ("Jermuk", "Azerbaijani forces shelled Jermuk, Armenia, with mortars and artillery."),
    ("Goma", "Heavy fighting between M23 rebels and the army broke out near Goma, DR Congo."),
    ("Kherson", "A Russian drone strike on Kherson, Ukraine, killed two people."),
    ("Tyre", "An Israeli air strike on Tyre, Lebanon, killed four people."),
    ("Marib", "Houthi fighters attacked government positions near Marib, Yemen, in heavy clashes."),
]


# -- database outages: the daemon as a process ------------------------------------------------------------


def _quiet_item(i: int, round_: int = 0) -> dict[str, object]:
    return {"title": f"City council approves budget number {i}.{round_}",
            "link": f"https://o{i}.example/budget{round_}", "guid": f"o{i}-budget{round_}",
            "pub_date": NOW - timedelta(hours=3), "description": "The vote was close."}


def _event_item(i: int, k: int) -> dict[str, object]:
    place, text = EVENTS[k]
    return {"title": f"{place}: {text.split(',')[0]}", "link": f"https://o{i}.example/event{k}",
            "guid": f"o{i}-event{k}", "pub_date": NOW - timedelta(hours=2), "description": text}


class Feeds:
    """`n` local feeds; `add_event(k)` puts EVENTS[k] on feed k (a new article the daemon must store once)."""

    def __init__(self, srv: FeedServer, n: int) -> None:
        self.srv, self.n = srv, n
        self.items: dict[int, list[dict[str, object]]] = {i: [_quiet_item(i)] for i in range(n)}
        for i in range(n):
            self._serve(i)

    def _serve(self, i: int) -> None:
        self.srv.set_feed(f"/o{i}.xml", make_rss(self.items[i], title=f"Outlet {i}"))

    def add_round(self, k: int) -> None:
        """Round k: a new unremarkable item on every feed (so every feed writes) and EVENTS[k] on feed k."""
        for i in range(self.n):
            self.items[i].insert(0, _quiet_item(i, k + 1))
        self.items[k % self.n].insert(0, _event_item(k % self.n, k))
        for i in range(self.n):
            self._serve(i)

    @property
    def article_count(self) -> int:
        return sum(len(v) for v in self.items.values())

    def hits(self) -> dict[int, int]:
        return {i: self.srv.hits(f"/o{i}.xml") for i in range(self.n)}


def _daemon_config(tmp: Path, db_url: str, srv: FeedServer, n: int, *, lease: str = "3s") -> Path:
    feeds = "".join(f'[[feeds]]\nname = "o{i}"\nurl = "{srv.url(f"/o{i}.xml")}"\ninterval = "1s"\n\n'
                    for i in range(n))
    path = tmp / "outage.toml"
    path.write_text(f"""
[database]
url = "{db_url}"

{feeds}
[fetch]
timeout = "3s"
lease = "{lease}"
backoff_base = "1s"
backoff_max = "2s"

[daemon]
tick = "0.2s"
delivery = "0.5s"
instance = "outage-test"

[api]
enabled = false
""")
    return path



def _wait(predicate: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return True
        except DatabaseError:  # the test's own store is cut off too; ask again
            pass
        time.sleep(0.1)
    return False


def _admin_conninfo(url: str) -> str:
    from sqlalchemy.engine import make_url

    u = make_url(url)
    return f"host={u.host or '127.0.0.1'} port={u.port or 5432} user={u.username or 'postgres'} dbname=postgres"


def _terminate_backends(db_url: str) -> int:
    """Cut every connection to the test database (the daemon's and the test store's). Returns how many."""
    import psycopg
    from sqlalchemy.engine import make_url

    with psycopg.connect(_admin_conninfo(db_url), autocommit=True) as conn:
        rows = conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                            "WHERE datname = %s AND pid <> pg_backend_pid()", (make_url(db_url).database,)).fetchall()
    return len(rows)


def _run_through_outages(tmp: Path, db_url: str, cut: Callable[[], int], *, cuts: int, cut_bursts: int = 1,
                         lease: str = "3s", settle_s: float = 40.0) -> tuple[str, int]:
    """Run the daemon over local feeds, cutting the database in `cuts` rounds (`cut_bursts` times each)
    while it polls; new items appear on every feed before each round. Asserts that it goes on polling,
    stores every article and incident exactly once, logs no traceback and exits 0 on SIGTERM.
    Returns (its log, connections cut). With CFM_DEBUG_LOG=FILE a daemon that does not catch up leaves its
    log there."""
    n = 16
    with FeedServer() as srv:
        feeds = Feeds(srv, n)
        daemon = Daemon.start(_daemon_config(tmp, db_url, srv, n, lease=lease))  # its output drained as it comes
        store = Store.open(DatabaseSettings(url=db_url))
        cut_total = 0
        try:
            assert _wait(lambda: min(feeds.hits().values()) >= 1, DEADLINE_S), "the feeds were never polled"
            for k in range(cuts):
                feeds.add_round(k)
                time.sleep(0.6)  # the feeds fall due within a second: their writes overlap the cuts below
                for _ in range(cut_bursts):
                    cut_total += cut()
                    time.sleep(0.04)
                assert daemon.proc.poll() is None, "the daemon died"
            after_cuts = feeds.hits()

            def settled() -> bool:
                hits = feeds.hits()
                return (all(hits[i] >= after_cuts[i] + 2 for i in range(n))
                        and store.article_count() == feeds.article_count
                        and len(store.incidents(IncidentFilter(limit=None))) == cuts)

            ok = _wait(settled, max(settle_s, DEADLINE_S))
            if not ok and os.environ.get("CFM_DEBUG_LOG"):
                Path(os.environ["CFM_DEBUG_LOG"]).write_text(daemon.stdout.text() + daemon.stderr.text())
            assert ok, (
                f"articles {store.article_count()}/{feeds.article_count}, hits {feeds.hits()} after {after_cuts}")
            views = store.incidents(IncidentFilter(limit=None))
            articles = store.article_count()
            assert daemon.proc.poll() is None, "the daemon died"
            daemon.stop()
        finally:
            daemon.kill()
            store.close()
    out, err = daemon.stdout.text(), daemon.stderr.text()
    assert articles == feeds.article_count  # none lost, none stored twice (fingerprints are unique)
    assert sorted(v.title.split(":")[0] for v in views) == sorted(p for p, _ in EVENTS[:cuts]), [v.title for v in views]
    assert all(len(v.articles) == 1 for v in views), [(v.title, len(v.articles)) for v in views]
    log = out + err
    # An outage is logged as one line (tick_failed, feed_store_failed, db_retry), never as a crash.
    assert "Traceback" not in log, "\n".join(line[:300] + " ... " + line[-900:]
                                             for line in log.splitlines() if "Traceback" in line)
    assert " stopped " in log
    return log, cut_total


def test_postgres_connections_cut_mid_run_the_daemon_reconnects_and_goes_on(pg_url: str, tmp_path: Path) -> None:
    log, cut = _run_through_outages(tmp_path, pg_url, lambda: _terminate_backends(pg_url), cuts=5,
                                   cut_bursts=10)
    assert cut >= 5, "the daemon held no connections to cut"
    print(f"survived {cut} connections cut in 5 rounds; {log.count(' db_retry ')} transactions retried, "
          f"{log.count(' feed_store_failed ') + log.count(' tick_failed ')} polls or ticks failed on the outage")


@dataclass
class PrivateServer:
    """A PostgreSQL server of the test's own (initdb in a temporary folder, its own port): restarting it
    disturbs no one else, unlike the machine's shared server that other tests use at the same time."""

    url: str
    restart: Callable[[], int]


def _pg_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True)
    return str(candidates[0]) if candidates else None


@pytest.fixture
def private_pg() -> Iterator[PrivateServer]:
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if not initdb or not pg_ctl:
        pytest.skip("no PostgreSQL server binaries (initdb, pg_ctl) to run a private server")
    prefix: list[str] = []
    if os.geteuid() == 0:  # the server refuses to run as root: run it as the postgres user
        import pwd

        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no postgres user to run a private server")
        if not shutil.which("runuser"):
            pytest.skip("running as root without runuser to start a private server as postgres")
        prefix = ["runuser", "-u", "postgres", "--"]
    folder = Path(tempfile.mkdtemp(prefix="cfm-pg-"))
    if prefix:
        os.chown(folder, owner.pw_uid, owner.pw_gid)
    data = folder / "data"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"

    def ctl(*args: str) -> None:
        subprocess.run([*prefix, pg_ctl, "-D", str(data), "-w", "-l", str(folder / "log"), *args],
                       check=True, capture_output=True, timeout=60)

    def restart() -> int:
        ctl("-m", "fast", "restart", "-o", options)  # "fast": open sessions are ended, as by a real restart
        return 1

    try:
        subprocess.run([*prefix, initdb, "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
                        "--no-sync"], check=True, capture_output=True, timeout=120)
        ctl("-o", options, "start")
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
        shutil.rmtree(folder, ignore_errors=True)
        pytest.skip(f"cannot start a private PostgreSQL server: {exc}")
    try:
        import psycopg

        with psycopg.connect(f"host=127.0.0.1 port={port} user=postgres dbname=postgres", autocommit=True) as c:
            c.execute("CREATE DATABASE cfm")
        yield PrivateServer(f"postgresql+psycopg://postgres@127.0.0.1:{port}/cfm", restart)
    finally:
        subprocess.run([*prefix, pg_ctl, "-D", str(data), "-m", "immediate", "stop"], capture_output=True,
                       timeout=60)
        shutil.rmtree(folder, ignore_errors=True)


def test_postgres_restarted_mid_run_the_daemon_reconnects_and_goes_on(private_pg: PrivateServer,
                                                                      tmp_path: Path) -> None:
    log, restarts = _run_through_outages(tmp_path, private_pg.url, private_pg.restart, cuts=3)
    assert restarts == 3
    print(f"survived {restarts} server restarts; {log.count(' db_retry ')} transactions retried, "
          f"{log.count(' feed_store_failed ') + log.count(' tick_failed ')} polls or ticks failed on the outage")


# -- a locked SQLite database --------------------------------------------------------------------------------


@functools.cache
def _classifier() -> Classifier:
    """Loaded once for the module: the gazetteer takes a moment."""
    return Classifier.from_settings()



def _sqlite_cycle(tmp: Path, srv: FeedServer, busy_timeout_s: float,
                  hold_s: float | None) -> tuple[float, CycleReport, Store]:
    """One `run_cycle` over five local feeds while another connection holds the write lock: from before the
    cycle until `hold_s` seconds after the cycle began claiming feeds (so the claim meets the lock however
    slow the machine is), or, with `hold_s` None, until the cycle ends. Returns the seconds from the claim's
    start to the cycle's end, the cycle's report and the store."""
    db = tmp / f"locked-{busy_timeout_s}.db"
    settings_db = DatabaseSettings(url=f"sqlite:///{db}", busy_timeout_s=busy_timeout_s)
    feeds = tuple(FeedSettings(name=f"o{i}", url=srv.url(f"/o{i}.xml")) for i in range(5))
    store = Store.open(settings_db)
    store.upgrade()
    deps = Deps(settings=Settings(database=settings_db, feeds=feeds), store=store, classifier=_classifier(),
                owner="locked-test")
    store.sync_feeds(feeds, deps.clock())
    # Another writer (a second instance, `ceasefire-monitor ingest`, a backup) holds the write lock.
    holder = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("UPDATE feeds SET name = name")
    claiming = threading.Event()
    claim_started = [0.0]
    claim = store.claim_due_feeds

    def claim_and_note(*args: Any, **kwargs: Any) -> Any:
        claim_started[0] = time.monotonic()
        claiming.set()
        return claim(*args, **kwargs)

    store.claim_due_feeds = claim_and_note  # type: ignore[method-assign]

    def release_later() -> None:
        claiming.wait()
        time.sleep(hold_s or 0)  # the claim is under way: it meets the lock for at least this long
        holder.commit()

    release = threading.Thread(target=release_later, daemon=True) if hold_s is not None else None
    if release:
        release.start()

    async def cycle() -> CycleReport:
        async with Fetcher(deps.settings.fetch, version="test") as fetcher:
            return await run_cycle(deps, fetcher)

    try:
        report = asyncio.run(cycle())
    except BaseException:
        store.close()
        raise
    finally:
        claiming.set()
        if release:
            release.join()
        holder.close()
        store.claim_due_feeds = claim  # type: ignore[method-assign]
    return time.monotonic() - claim_started[0], report, store


def test_a_locked_sqlite_database_makes_the_cycle_wait_instead_of_failing(tmp_path: Path) -> None:
    with FeedServer() as srv:
        for i in range(5):
            srv.set_feed(f"/o{i}.xml", make_rss([_event_item(i, i), _quiet_item(i)], title=f"Outlet {i}"))
        waited, report, store = _sqlite_cycle(tmp_path, srv, busy_timeout_s=60.0, hold_s=1.5)
        try:
            articles, views = store.article_count(), store.incidents(IncidentFilter(limit=None))
            error_kinds = {f.last_error_kind for f in store.list_feeds()}
        finally:
            store.close()
        # Contrast: with a busy timeout shorter than the lock (held until the cycle ends), the same cycle fails
        # on the lock, which shows the lock above was real and the first cycle succeeded by waiting for it.
        with pytest.raises(DatabaseError, match="locked"):
            _sqlite_cycle(tmp_path, srv, busy_timeout_s=0.2, hold_s=None)
    assert waited >= 1.5, "the cycle did not wait for the lock"
    assert (report.feeds, report.fetched, report.failed) == (5, 5, 0)
    assert articles == 10 and len(views) == 5
    assert error_kinds == {None}  # no feed recorded an error


# -- the notifier down for a long stretch ---------------------------------------------------------------------

T0 = datetime(2022, 9, 13, 12, 0, tzinfo=UTC)
PLACES = [Place("Jermuk", "AM", "Vayots Dzor", 39.84, 45.67, "place", 616629),
          Place("Sotk", "AM", "Gegharkunik", 40.20, 45.95, "place", 616000),
          Place("Goris", "AM", "Syunik", 39.51, 46.34, "place", 616599),
          Place("Kapan", "AM", "Syunik", 39.21, 46.41, "place", 174875),
          Place("Ijevan", "AM", "Tavush", 40.88, 45.15, "place", 616635)]
RETRY_BASE_S, RETRY_MAX_S = 30.0, 600.0


class Clock:
    """The time as the test sets it."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def _incident_draft(n: int, place: Place) -> ArticleDraft:
    item = FeedItem(title=f"Artillery shelled {place.name} overnight", text=f"Mortars and artillery hit {place.name}.",
                    url=f"https://outlet{n}.example/{n}", source=f"Outlet {n}", published_at=T0)
    c = Classification(labels=(LabelHit("shelling", 0.9, ("shelled",)),), score=0.9, countries=("AM",),
                       place=place, places=(place,), killed=Casualties(count=None), event_date=date(2022, 9, 13))
    return ArticleDraft(item=item, fingerprint=f"fp-{n}", classification=c, published_at=T0, first_seen_at=T0)


@dataclass
class Try:
    """One failed delivery attempt to a target, as the outbox recorded it."""

    at: datetime
    row: int
    delay_s: float  # until the row's next attempt


def test_sink_down_for_hours_backs_off_exponentially_then_delivers_everything_once_in_order(
        store: Store, sink: SinkServer) -> None:
    clock = Clock()
    targets = (TargetSettings("desk", sink.url("/desk")), TargetSettings("ops", sink.url("/ops")))
    alerts = AlertSettings(targets=targets, retry_base_s=RETRY_BASE_S, retry_max_s=RETRY_MAX_S, send_timeout_s=5,
                           max_attempts=100)
    deps = Deps(settings=Settings(database=DatabaseSettings(url="unused"), alerts=alerts), store=store,
                classifier=_classifier(), owner="me", clock=clock, rng=random.Random(3))
    # New incidents keep coming while the sink is down: at the start, after 10 and 30 minutes, after an hour.
    arrivals = {0: [PLACES[0], PLACES[1]], 600: [PLACES[2]], 1800: [PLACES[3]], 3600: [PLACES[4]]}
    attempts: dict[int, int] = {}
    tries: dict[str, list[Try]] = {"desk": [], "ops": []}
    sink.refuse()  # first connections refused, later (below) 503s: both are failures to retry
    step_s, outage_s = 20, 2 * 3600
    for elapsed in range(0, outage_s, step_s):  # the delivery job runs every 20 s for two hours
        clock.now = T0 + timedelta(seconds=elapsed)
        if elapsed == outage_s // 2:
            sink.accept()
            sink.fail_with(503)
        for n, place in enumerate(arrivals.get(elapsed, ())):
            store.save_feed_items(None, "me", [_incident_draft(elapsed + n, place)], None, alerts=alerts,
                                  ceasefires=(), render=render_alert, now=clock.now)
        asyncio.run(deliver_due(deps))
        for row in store.outbox_rows():
            if row["attempts"] != attempts.get(row["id"], 0):
                assert row["attempts"] == attempts.get(row["id"], 0) + 1 and row["status"] == "pending"
                tries[row["target"]].append(Try(clock.now, row["id"], (row["next_attempt_at"] - clock.now)
                                                .total_seconds()))
                attempts[row["id"]] = row["attempts"]
    assert sink.delivered == [] and len(sink.received) > 0  # 503s after the first hour
    for target, seen in tries.items():
        # Each try is the next one the previous scheduled (none early, none skipped, one row at a time: the
        # target is backed off as a whole, new alerts queue behind the oldest instead of trying at once).
        assert len({t.row for t in seen}) == 1, f"{target}: later alerts were tried before the oldest"
        for before, after in zip(seen, seen[1:], strict=False):
            due = before.at + timedelta(seconds=before.delay_s)
            assert due <= after.at < due + timedelta(seconds=step_s), (target, before, after)
        # The delay after the k-th failure is drawn from [cap/2, cap], cap = min(retry_max, base * 2^k).
        delays = [t.delay_s for t in seen]
        for k, delay in enumerate(delays):
            cap = min(RETRY_MAX_S, RETRY_BASE_S * 2 ** k)
            assert cap / 2 <= delay <= cap, (target, k, delays)
        growing = delays[:5]  # base 30 s doubles five times before the 600 s cap
        assert growing == sorted(growing) and delays[4] > 4 * delays[0], delays
        assert max(delays) <= RETRY_MAX_S and delays[-1] >= RETRY_MAX_S / 2, delays
        assert 10 <= len(seen) <= 20, len(seen)  # two hours of tries at most ten minutes apart, no more

    # Recovery: nothing is sent before the oldest alert's retry is due ...
    sink.fail_with(None)
    heads = [r for r in store.outbox_rows() if r["attempts"]]
    due = max(r["next_attempt_at"] for r in heads)
    clock.now = min(r["next_attempt_at"] for r in heads) - timedelta(seconds=1)
    asyncio.run(deliver_due(deps))
    assert sink.delivered == [], "an alert overtook the oldest one of its target"
    # ... then everything pending goes out in one round, once, in the order the incidents were created.
    clock.now = due
    asyncio.run(deliver_due(deps))
    clock.now = due + timedelta(hours=3)
    asyncio.run(deliver_due(deps))
    expected = [f"[Shelling] {p.name}, Armenia" for p in PLACES]
    for path in ("/desk", "/ops"):
        assert [r.body["title"] for r in sink.delivered if r.path == path] == expected
    assert store.outbox_counts() == {"sent": 2 * len(PLACES)}
