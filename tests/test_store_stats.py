"""/metrics' table counts (queries.store_stats): exact, except that PostgreSQL gives its planner's estimate
for a table estimated to hold ESTIMATED_FROM rows or more (an exact count reads every row)."""

from __future__ import annotations

import pytest
from test_queries import add_incident

from monitor.store import Store, queries
from monitor.store.queries import store_stats


def test_counts_are_exact_below_the_threshold_and_before_any_estimate(store: Store,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    for n in range(3):
        add_incident(store, f"Made-up report {n}", sources=("Outlet A", "Outlet B"))
    with store.read() as conn:
        assert (store_stats(conn).articles, store_stats(conn).incidents) == (6, 3)
    monkeypatch.setattr(queries, "ESTIMATED_FROM", 1)
    with store.read() as conn:  # never analysed: PostgreSQL's estimate is -1, so it counts
        assert (store_stats(conn).articles, store_stats(conn).incidents) == (6, 3)


def test_postgresql_gives_its_estimate_for_a_large_table(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    for n in range(3):
        add_incident(store, f"Made-up report {n}", sources=("Outlet A", "Outlet B"))
    with store.write() as conn:
        conn.exec_driver_sql("ANALYZE")
    add_incident(store, "One more made-up report")  # after the estimate
    monkeypatch.setattr(queries, "ESTIMATED_FROM", 1)
    with store.read() as conn:
        stats = store_stats(conn)
    estimated = store.dialect == "postgresql"
    assert (stats.articles, stats.incidents) == ((6, 3) if estimated else (7, 4))
    monkeypatch.setattr(queries, "ESTIMATED_FROM", 7)  # the estimate (6) is under it: counted
    with store.read() as conn:
        assert store_stats(conn).articles == 7
