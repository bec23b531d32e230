"""Engines and migrations: the one place connections are configured.

SQLite: WAL, a busy timeout, foreign keys on, and write transactions opened with BEGIN IMMEDIATE so two
writers queue on the busy timeout instead of failing on a lock upgrade (a locked file makes a cycle wait,
not fail). PostgreSQL: psycopg 3, pool pre-ping so a connection the server dropped while it sat in the pool
(a restart, pg_terminate_backend, an idle timeout) is replaced at checkout, and TCP keepalives so one cut
without a FIN or RST (a vanished host, a NAT dropping the flow) fails in about a minute instead of hanging a
worker. A transaction whose connection is cut midway (or that PostgreSQL picks as a deadlock victim) is run
again by `Store._transact`.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import ArgumentError, OperationalError, SQLAlchemyError

from monitor.errors import DatabaseError
from monitor.logs import event as log_event
from monitor.redact import redact_url

log = logging.getLogger("monitor.store")

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
# Any 64-bit constant: the advisory lock that serialises migrations of several instances.
MIGRATION_LOCK_KEY = 0x6365617365666972
# libpq connection parameters: give up connecting after 10 s; probe an idle connection after 30 s, every
# 10 s, and drop it after 3 unanswered probes (the kernel defaults wait two hours before the first probe).
PG_CONNECT_ARGS: dict[str, Any] = {"connect_timeout": 10, "keepalives": 1, "keepalives_idle": 30,
                                   "keepalives_interval": 10, "keepalives_count": 3}


def create_store_engine(url: str, *, busy_timeout_s: float = 30.0) -> Engine:
    """Create an engine for `url`; raises DatabaseError for a URL that cannot be used."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise DatabaseError(f"database.url: cannot parse {redact_url(url)!r}") from exc
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, parsed.database, busy_timeout_s)
    if parsed.get_backend_name() == "postgresql":
        if parsed.drivername == "postgresql":
            url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
        return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5, connect_args=PG_CONNECT_ARGS)
    raise DatabaseError(f"database.url: unsupported database {parsed.get_backend_name()!r}",
                        hint="use sqlite:///PATH or postgresql+psycopg://USER@HOST/DB")


def _sqlite_engine(url: str, database: str | None, busy_timeout_s: float) -> Engine:
    if database and database != ":memory:":
        folder = Path(database).expanduser().parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DatabaseError(f"database.url: cannot create the folder {folder}: {exc.strerror}") from exc
    engine = create_engine(url, connect_args={"timeout": busy_timeout_s, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (below)
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_s * 1000)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get("write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


# Rows ANALYZE reads per index on SQLite: approximate statistics in milliseconds even at a million
# articles (SQLite's own advice for large files); plenty for the planner to pick the right index.
ANALYSIS_LIMIT = 1000


def refresh_statistics(conn: Connection) -> bool:
    """Refresh the query planner's table statistics. SQLite keeps none until ANALYZE runs, and without
    them it may pick a worse index for the API's listings as the store grows; PostgreSQL's autovacuum
    analyzes by itself, so there it does nothing and returns False."""
    if conn.dialect.name != "sqlite":
        return False
    conn.exec_driver_sql(f"PRAGMA analysis_limit={ANALYSIS_LIMIT}")
    conn.exec_driver_sql("ANALYZE")
    return True


def _alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def head_revision() -> str | None:
    return ScriptDirectory.from_config(_alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine) -> tuple[str | None, str | None]:
    """Migrate to head under a lock (advisory lock on PostgreSQL, BEGIN IMMEDIATE on SQLite).

    Returns (revision before, revision after). Raises DatabaseError when the database is unreachable.
    """
    cfg = _alembic_config()
    try:
        with engine.connect().execution_options(write=True) as conn:
            postgres = conn.dialect.name == "postgresql"
            if postgres:
                conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": MIGRATION_LOCK_KEY})
                conn.commit()
            try:
                before = MigrationContext.configure(conn).get_current_revision()
                conn.rollback()
                with conn.begin():
                    cfg.attributes["connection"] = conn
                    command.upgrade(cfg, "head")
                after = MigrationContext.configure(conn).get_current_revision()
                conn.rollback()
            finally:
                if postgres:
                    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": MIGRATION_LOCK_KEY})
                    conn.commit()
    except OperationalError as exc:
        raise DatabaseError(f"database unreachable: {describe_db_error(exc)}",
                            hint="check database.url and that the server is running") from exc
    except SQLAlchemyError as exc:
        raise DatabaseError(f"database migration failed: {describe_db_error(exc)}") from exc
    if before != after:
        log_event(log, "db_upgraded", before=before or "empty", after=after)
    return before, after


def describe_db_error(exc: BaseException) -> str:
    """A one-line cause without SQL text or parameters (which could hold article text or secrets)."""
    orig = getattr(exc, "orig", None) or exc
    first = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
    return first[:300]
