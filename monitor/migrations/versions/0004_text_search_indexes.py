"""indexed text search over incidents' title and evidence

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 09:00:00

`--text` / `?text=` is a case-insensitive substring of the title or of an evidence phrase. Both engines
answer it from a trigram index, so a needle of three or more characters no longer scans every incident:

- SQLite: `incidents_fts`, a contentless FTS5 table with the trigram tokenizer (case folded the Unicode
  way, so Cyrillic works), rowid = incidents.id, columns title and evidence (the decoded evidence phrases,
  one per line). Triggers on incidents keep it in step; a contentless table can only forget a row when it
  is told the values it indexed, which the triggers recompute from the old row the same way.
  NB: a later migration that rebuilds `incidents` in batch mode (copy, drop, rename) drops these triggers
  with the old table and must create them again (see `_sqlite_triggers`); the index itself survives,
  since ids are kept.
- PostgreSQL: pg_trgm GIN indexes on `title` and on `(evidence::jsonb)::text` (the evidence rendered with
  non-ASCII unescaped), which serve the ILIKE of monitor/store/text_search.py `text_condition` as written.

Existing rows are indexed here (the GIN indexes by being built, the FTS table by one INSERT … SELECT).
Downgrade drops the indexes, the FTS table and its triggers; the pg_trgm extension stays installed (other
databases objects may use it, and dropping an extension needs more rights than creating a trusted one).
"""
from collections.abc import Sequence

from alembic import op


revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _sqlite_evidence(row: str) -> str:
    """SQL for the evidence phrases of `row` (new/old/incidents) as one text, a phrase a line."""
    return (f"CASE WHEN json_valid({row}.evidence) AND json_type({row}.evidence) = 'array' THEN "
            f"(SELECT group_concat(value, char(10)) FROM json_each({row}.evidence) WHERE type = 'text') END")


def _sqlite_triggers() -> list[str]:
    insert_new = ("INSERT INTO incidents_fts(rowid, title, evidence) "
                  f"VALUES (new.id, new.title, {_sqlite_evidence('new')});")
    delete_old = ("INSERT INTO incidents_fts(incidents_fts, rowid, title, evidence) "
                  f"VALUES ('delete', old.id, old.title, {_sqlite_evidence('old')});")
    return [
        f"CREATE TRIGGER incidents_fts_insert AFTER INSERT ON incidents BEGIN {insert_new} END",
        f"CREATE TRIGGER incidents_fts_delete AFTER DELETE ON incidents BEGIN {delete_old} END",
        "CREATE TRIGGER incidents_fts_update AFTER UPDATE OF id, title, evidence ON incidents "
        f"BEGIN {delete_old} {insert_new} END",
    ]


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute("CREATE VIRTUAL TABLE incidents_fts USING fts5("
                   "title, evidence, content='', tokenize='trigram')")
        op.execute("INSERT INTO incidents_fts(rowid, title, evidence) "
                   f"SELECT id, title, {_sqlite_evidence('incidents')} FROM incidents")
        for ddl in _sqlite_triggers():
            op.execute(ddl)
    elif dialect == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute("CREATE INDEX ix_incidents_title_trgm ON incidents USING gin (title gin_trgm_ops)")
        op.execute("CREATE INDEX ix_incidents_evidence_trgm ON incidents "
                   "USING gin (((evidence::jsonb)::text) gin_trgm_ops)")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for name in ("incidents_fts_insert", "incidents_fts_delete", "incidents_fts_update"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS incidents_fts")
    elif dialect == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_incidents_evidence_trgm")
        op.execute("DROP INDEX IF EXISTS ix_incidents_title_trgm")
