"""A restart after kill -9 resumes at once: the leases of the dead process are taken back at start-up."""

from __future__ import annotations

import os
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from daemon_proc import Daemon, wait_until
from feed_server import FeedServer, make_rss
from sqlalchemy import select

from monitor.pipeline import crashed_owners
from monitor.settings import DatabaseSettings, FeedSettings
from monitor.store import Store
from monitor.store.schema import feeds

HOST = "box"
ALIVE = {100, 200}


def _alive(pid: int) -> bool:
    return pid in ALIVE


@pytest.mark.parametrize(("owners", "me", "single", "expected"), [
    # a single instance: its own name, and this host's names whose process is gone
    ({"box:100", "box:300", "box:301"}, "box:200", True, {"box:300", "box:301"}),
    ({"box:200"}, "box:200", True, {"box:200"}),  # a container restarted under the same pid
    ({"other:300", "box:x", "box:0", "box:-4", "box"}, "box:200", True, set()),  # other hosts, odd names
    ({"desk-1", "box:300"}, "desk-1", True, {"desk-1", "box:300"}),  # SQLite with a name
    # named instances sharing PostgreSQL: only their own name; everything else waits for its lease
    ({"desk-1", "desk-2", "box:300"}, "desk-1", False, {"desk-1"}),
    ({"desk-2", "box:300"}, "desk-1", False, set()),
])
def test_crashed_owners(owners: set[str], me: str, single: bool, expected: set[str]) -> None:
    assert crashed_owners(owners, me=me, host=HOST, single=single, alive=_alive) == expected


def test_take_back_leases_ends_only_the_named_owners_leases(store: Store) -> None:
    now = datetime.now(UTC)
    store.sync_feeds([FeedSettings(name=f"f{i}", url=f"https://f{i}.example/feed") for i in range(4)], now)
    assert len(store.claim_due_feeds("box:300", now, 300, 2)) == 2
    assert len(store.claim_due_feeds("box:100", now, 300, 2)) == 2
    assert store.lease_owners() == {"box:300", "box:100"}
    assert store.take_back_leases({"box:300"}) == (2, 0)
    assert store.lease_owners() == {"box:100"}
    held = {name for name, (owner, _) in _leases(store).items() if owner == "box:100"}
    assert {f.name for f in store.claim_due_feeds("box:200", now, 300, 10)} == {"f0", "f1", "f2", "f3"} - held
    assert store.take_back_leases(set()) == (0, 0)


def _leases(store: Store) -> dict[str, tuple[str | None, datetime | None]]:
    with store.write() as conn:
        return {r.name: (r.lease_owner, r.lease_until) for r in conn.execute(
            select(feeds.c.name, feeds.c.lease_owner, feeds.c.lease_until))}


def _config(tmp: Path, db_url: str, srv: FeedServer) -> Path:
    path = tmp / "config.toml"
    # An hour between ticks: the only tick in this test is the one at start-up.
    path.write_text(f"""
[database]
url = "{db_url}"

[[feeds]]
name = "local"
url = "{srv.url('/feed.xml')}"
interval = "1s"

[fetch]
timeout = "5m"
lease = "5m"

[daemon]
tick = "1h"
delivery = "1h"

[log]
level = "DEBUG"

[api]
enabled = false
""")
    return path


def test_a_restart_after_kill_polls_the_killed_process_feeds_on_its_first_tick(db_url: str, tmp_path: Path) -> None:
    with FeedServer() as srv:
        srv.set_behaviour("/feed.xml", "hang", seconds=600)
        config = _config(tmp_path, db_url, srv)
        with Daemon.start(config) as first:
            first.wait_for("poll_started")  # the feed is leased for five minutes
            wait_until(lambda: srv.hits("/feed.xml") == 1, what="the fetch under way (it hangs)")
            first.kill()
        store = Store.open(DatabaseSettings(url=db_url))
        try:
            owner, until = _leases(store)["local"]
            assert owner == f"{socket.gethostname()}:{first.pid}"
            assert until is not None and until.replace(tzinfo=UTC) > datetime.now(UTC) + timedelta(minutes=4)
            srv.set_feed("/feed.xml", make_rss([{"title": "Parliament passes the budget",
                                                 "link": "https://x.example/1"}]))
            with Daemon.start(config) as second:
                taken = second.wait_for("leases_taken_back")
                second.wait_for("feed_polled", start=taken)
                second.stop()
            [feed] = store.list_feeds()
            leases = _leases(store)
        finally:
            store.close()
    assert dict(second.events("leases_taken_back")[0][1]) == {
        "owner": f"{socket.gethostname()}:{second.pid}", "earlier": f"{socket.gethostname()}:{first.pid}",
        "feeds": "1", "alerts": "0"}
    assert feed.last_success_at is not None and leases == {"local": (None, None)}
    assert srv.hits("/feed.xml") == 2 and os.getpid() not in (first.pid, second.pid)
