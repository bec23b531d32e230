"""Alembic environment. The Store passes its open connection in `config.attributes["connection"]`."""

from __future__ import annotations

from alembic import context
from sqlalchemy import engine_from_config, pool

from monitor.store.schema import metadata

config = context.config


# Created by migration 0004 with engine-specific DDL, not in the SQLAlchemy metadata: autogenerate must not
# propose dropping them.
_NOT_IN_METADATA = ("incidents_fts", "ix_incidents_title_trgm", "ix_incidents_evidence_trgm")


def _include_object(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    return not (reflected and name is not None and name.startswith(_NOT_IN_METADATA))


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = engine_from_config(config.get_section(config.config_ini_section) or {}, prefix="sqlalchemy.",
                                poolclass=pool.NullPool)
    with engine.connect() as conn:
        _run(conn)


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=metadata,
        render_as_batch=True,  # SQLite cannot ALTER most things; batch mode rebuilds tables
        compare_type=True,
        include_object=_include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=metadata,
                      render_as_batch=True, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
