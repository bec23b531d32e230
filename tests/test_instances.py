"""Three daemon processes on one PostgreSQL: feeds polled once, alerts sent once, a dead instance's feeds
taken over when its leases expire."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from daemon_proc import Daemon, wait_until
from feed_server import FeedServer, make_rss
from sink_server import SinkServer
from sqlalchemy import select, update

from monitor.settings import DatabaseSettings
from monitor.store import IncidentFilter, Store
from monitor.store.schema import feeds as feeds_table

FEEDS = 240
LEASE_S = 12.0  # longer than a poll takes on a loaded 2-core machine: a poll outliving its lease is polled again
NOW = datetime.now(UTC).replace(microsecond=0)
PLACES = ["Donetsk, Ukraine", "Khartoum, Sudan", "Aleppo, Syria", "Goma, DR Congo", "Tyre, Lebanon",
          "Kharkiv, Ukraine"]


def _feed(i: int) -> bytes:
    if i < len(PLACES):
        place = PLACES[i]
        item = {"title": f"Artillery shelling kills {i + 2} in {place.split(',')[0]}",
                "link": f"https://o{i}.example/a", "guid": f"o{i}", "pub_date": NOW - timedelta(hours=1),
                "description": f"Artillery shelling hit {place} on the outskirts, killing {i + 2} people."}
    else:
        item = {"title": f"City council approves budget number {i}", "link": f"https://o{i}.example/b",
                "guid": f"o{i}", "pub_date": NOW - timedelta(hours=1), "description": "The vote was close."}
    return make_rss([item], title=f"Outlet {i}")


def _config(tmp: Path, name: str, db_url: str, srv: FeedServer, sink: SinkServer) -> Path:
    feeds = "".join(f'[[feeds]]\nname = "o{i}"\nurl = "{srv.url(f"/o{i}.xml")}"\ninterval = "1h"\n\n'
                    for i in range(FEEDS))
    path = tmp / f"{name}.toml"
    path.write_text(f"""
[database]
url = "{db_url}"

{feeds}
[fetch]
timeout = "3s"
lease = "{LEASE_S}s"
concurrency = 8
user_agent = "instance-{name}/{{version}}"

[[alerts.targets]]
name = "desk"
url = "{sink.url('/desk')}"

[daemon]
tick = "0.3s"
delivery = "0.3s"
instance = "{name}"

[api]
enabled = false
""")
    return path



def _lease_rows(store: Store) -> list[Any]:
    with store.write() as conn:
        return list(conn.execute(select(feeds_table.c.lease_owner)))


def _hits_by(srv: FeedServer) -> Counter[tuple[str, str]]:
    """(path, instance) -> number of GETs."""
    out: Counter[tuple[str, str]] = Counter()
    for r in srv.requests:
        agent = r.headers.get("user-agent", "")
        out[(r.path, agent.split("/")[0].removeprefix("instance-"))] += 1
    return out



@pytest.mark.timeout(600)
def test_three_instances_share_feeds_and_alerts_and_take_over_a_dead_one(pg_url: str, tmp_path: Path) -> None:
    store = Store.open(DatabaseSettings(url=pg_url))
    procs: dict[str, Daemon] = {}
    with FeedServer() as srv, SinkServer() as sink:
        for i in range(FEEDS):
            srv.set_feed(f"/o{i}.xml", _feed(i))
        configs = {n: _config(tmp_path, n, pg_url, srv, sink) for n in ("a", "b", "c")}
        try:
            for name, config in configs.items():  # started together: migrations must not race
                procs[name] = Daemon.start(config)

            def all_polled() -> bool:
                try:
                    return sum(1 for f in store.list_feeds() if f.last_success_at) == FEEDS
                except Exception:  # schema not there yet
                    return False

            wait_until(all_polled, interval=0.3, what="every feed polled")
            wait_until(lambda: len(sink.delivered) >= len(PLACES), interval=0.3, what="an alert per incident")
            # Every poll has finished (no lease held) and no alert is pending: all requests are in.
            wait_until(lambda: not any(f.lease_owner for f in _lease_rows(store))
                       and store.outbox_counts().get("pending", 0) == 0, interval=0.3, what="the instances idle")
            first = _hits_by(srv)
            per_feed = Counter(path for (path, _), n in first.items() for _ in range(n))
            assert set(per_feed.values()) == {1}, "a feed was polled twice within its interval"
            per_instance = Counter(inst for (_, inst), n in first.items() for _ in range(n))
            dead = {n: p.stderr.text()[-2000:] for n, p in procs.items() if p.proc.poll() is not None}
            assert not dead, dead
            assert set(per_instance) == {"a", "b", "c"} and min(per_instance.values()) > 0, per_instance
            titles = [r.body["title"] for r in sink.delivered]
            assert len(titles) == len(PLACES) == len(set(titles)), titles
            assert len(store.incidents(IncidentFilter(limit=None))) == len(PLACES)

            # Instance b dies holding leases on a third of the feeds; everything falls due again.
            procs["b"].kill()
            killed_at = datetime.now(UTC)
            with store.write() as conn:
                conn.execute(update(feeds_table).values(next_fetch_at=killed_at))
                conn.execute(update(feeds_table).where(feeds_table.c.id % 3 == 0)
                             .values(lease_owner="b", lease_until=killed_at + timedelta(seconds=LEASE_S)))

            def repolled() -> bool:
                return sum(1 for f in store.list_feeds() if f.last_fetch_at and f.last_fetch_at >= killed_at) == FEEDS

            wait_until(repolled, interval=0.3, what="the dead instance's feeds taken over")
            rows = store.list_feeds()
        finally:
            for name, proc in procs.items():
                proc.kill() if name == "b" else proc.stop()
        second = _hits_by(srv) - first
    store.close()
    assert all(inst in ("a", "c") for (_, inst) in second), "the dead instance polled"
    per_feed = Counter(path for (path, _), n in second.items() for _ in range(n))
    assert len(per_feed) == FEEDS and set(per_feed.values()) == {1}
    b_leased = [f for f in rows if f.id % 3 == 0]
    lease_end = killed_at + timedelta(seconds=LEASE_S)
    # Named instances keep lease semantics: nobody took b's feeds before its lease ended.
    assert all(f.last_fetch_at and f.last_fetch_at >= lease_end - timedelta(seconds=0.5) for f in b_leased)
    assert len(sink.delivered) == len(PLACES), "an alert was sent twice"
