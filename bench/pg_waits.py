"""Sampling what the sessions of one PostgreSQL database wait on, for the benchmarks that run against it.

A background thread reads pg_stat_activity every `interval` seconds on its own connection and counts, per
sample, the backends of the database that are inside a transaction (active, or idle in one while the
client computes) and what those wait on: "Lock:advisory" (an advisory lock, e.g. the grouping bucket
locks), "Lock:transactionid" / "Lock:tuple" (a row another transaction holds), "IO:WALSync" (commits), ...
`summary()` gives the mean number of sessions in each state over the run: 1.0 of "Lock:advisory" means one
session was waiting for an advisory lock at any time, on average.
"""

from __future__ import annotations

import threading
from collections import Counter
from types import TracebackType

QUERY = """
SELECT state, coalesce(wait_event_type || ':' || wait_event, '-') AS waiting
FROM pg_stat_activity
WHERE datname = %s AND pid <> pg_backend_pid() AND state IN ('active', 'idle in transaction')
"""


class WaitSampler:
    def __init__(self, conninfo: str, dbname: str, interval: float = 0.02) -> None:
        self.conninfo, self.dbname, self.interval = conninfo, dbname, interval
        self.samples = 0
        self.counts: Counter[str] = Counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pg-wait-sampler", daemon=True)

    def __enter__(self) -> WaitSampler:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        import psycopg

        with psycopg.connect(self.conninfo, autocommit=True) as conn:
            while not self._stop.wait(self.interval):
                rows = conn.execute(QUERY, (self.dbname,)).fetchall()
                self.samples += 1
                for state, waiting in rows:
                    self.counts["in transaction"] += 1
                    if state == "idle in transaction":
                        self.counts["client (idle in transaction)"] += 1
                    else:
                        self.counts[waiting] += 1

    def summary(self) -> str:
        if not self.samples:
            return "no samples"
        parts = [f"{name} {n / self.samples:.2f}" for name, n in self.counts.most_common(6)]
        return f"mean sessions ({self.samples} samples): " + ", ".join(parts)
