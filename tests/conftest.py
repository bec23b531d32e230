"""Shared fixtures: a migrated store on SQLite and on PostgreSQL, loopback feed server and alert sink."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from monitor.settings import DatabaseSettings
from monitor.store import Store

POSTGRES_ADMIN = os.environ.get("MONITOR_TEST_POSTGRES_URL",
                                "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def _pg_conninfo(url: str) -> str:
    from sqlalchemy.engine import make_url

    u = make_url(url)
    return f"host={u.host or '127.0.0.1'} port={u.port or 5432} user={u.username or 'postgres'} " \
           f"dbname={u.database or 'postgres'}" + (f" password={u.password}" if u.password else "")


def _postgres_reason() -> str | None:
    try:
        import psycopg

        with psycopg.connect(_pg_conninfo(POSTGRES_ADMIN), connect_timeout=3):
            return None
    except Exception as exc:  # any failure means: no PostgreSQL to test against
        return f"no PostgreSQL answers at {POSTGRES_ADMIN.split('@')[-1]}: {str(exc).splitlines()[0][:120]}"


_PG_REASON = _postgres_reason()


def pytest_sessionstart(session: pytest.Session) -> None:
    """CI (.ci/run sets CFM_REQUIRE_POSTGRES=1) fails at once instead of skipping the PostgreSQL tests."""
    if _PG_REASON and os.environ.get("CFM_REQUIRE_POSTGRES") == "1":
        pytest.exit(f"CFM_REQUIRE_POSTGRES=1 but {_PG_REASON}", returncode=1)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A throwaway PostgreSQL database, dropped afterwards."""
    if _PG_REASON:
        pytest.skip(_PG_REASON)
    import psycopg
    from sqlalchemy.engine import make_url

    name = f"cfm_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(_pg_conninfo(POSTGRES_ADMIN), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = make_url(POSTGRES_ADMIN).set(drivername="postgresql+psycopg", database=name)
    yield url.render_as_string(hide_password=False)
    with psycopg.connect(_pg_conninfo(POSTGRES_ADMIN), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database URL on each engine (the PostgreSQL case skips with a reason when none answers)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'monitor.db'}"
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    s = Store.open(DatabaseSettings(url=db_url))
    s.upgrade()
    yield s
    s.close()


@pytest.fixture
def feed_server() -> Iterator[object]:
    from feed_server import FeedServer

    with FeedServer() as srv:
        yield srv


@pytest.fixture
def sink() -> Iterator[object]:
    from sink_server import SinkServer

    with SinkServer() as s:
        yield s


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    """The crash suite's kills per phase (tests/test_crash_safety.py), so a plain run shows them."""
    from daemon_proc import CRASH_SUMMARIES

    for s in config.stash.get(CRASH_SUMMARIES, []):
        terminalreporter.write_line(
            f"crash suite [{s['engine']}]: {s['kills']} kills, per phase {s['per_phase']}, mid-work "
            f"{s['mid_work']}, {s['restarts_that_took_back_leases']} restarts took back leases; "
            f"{s['incidents']} incidents, {s['alerts_delivered']} alerts ({s['marked_repeats']} marked "
            f"repeats), {s['seconds']} s (median {s['median_seconds_to_kill']} s from spawn to kill)")
