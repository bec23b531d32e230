"""a covering index for the timeline by event date (SQLite)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-08 00:15:00

`/api/timeline` counts incidents per (event date, label set). Over all the data (`all=1`, the dashboard's
first view) or an event-date range, SQLite read every matching incident row (title, evidence, signature…)
and sorted them to group: 0.6-0.8 s at 100,000 incidents. `ix_incidents_event_date_labels` on
(event_date, labels, merged_into) holds all that query reads, in the order it groups by, so SQLite walks
the index alone and sorts nothing (monitor.store.queries.timeline groups in that order when only event
dates filter).

SQLite only: PostgreSQL has no b-tree operator class for `json`, and its plan does not need one here.
Only an index is added: no table is rebuilt, so the FTS triggers of migration 0004 are untouched.
"""
from collections.abc import Sequence

from alembic import op


revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.create_index('ix_incidents_event_date_labels', 'incidents', ['event_date', 'labels', 'merged_into'],
                        unique=False)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.drop_index('ix_incidents_event_date_labels', table_name='incidents')
