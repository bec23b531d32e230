"""The planner's statistics: SQLite has none until ANALYZE runs; the daemon refreshes them (service.py)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text

from monitor.settings import FeedSettings
from monitor.store import Store


def test_refresh_statistics_counts_the_tables_on_sqlite_and_leaves_postgresql_to_autovacuum(store: Store) -> None:
    store.sync_feeds([FeedSettings(name=f"feed-{i}", url=f"https://example.org/{i}.xml") for i in range(30)],
                     datetime(2026, 1, 1, tzinfo=UTC))
    refreshed = store.refresh_statistics()
    if store.dialect != "sqlite":
        assert refreshed is False
        return
    assert refreshed is True
    with store.read() as conn:
        stats = {r.tbl: r.stat for r in conn.execute(text("SELECT tbl, stat FROM sqlite_stat1"))}
    assert "feeds" in stats
    assert int(stats["feeds"].split()[0]) == 30  # the row count the planner now works from
    assert store.refresh_statistics() is True  # again, over statistics that exist: no error
