"""index for incident scores (the alert rules' min_score)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 09:00:00

`[[alerts.rules]] min_score` compares an incident's score: the best label score (0-1) of its articles,
which is an article's `score`. It is read where a rule is evaluated, as MAX(articles.score) of the
incident's articles, so it needs no column to keep in step (articles join incidents and move with merges)
and no back-fill: incidents already stored have their scores at once. This migration makes that read one
index seek on both engines: `ix_articles_incident_id` becomes `ix_articles_incident_id_score` (incident_id,
score), which serves every lookup of an incident's articles as the old index did.

Only indexes change: no table is rebuilt, so the FTS triggers of migration 0004 on SQLite are untouched.
"""
from collections.abc import Sequence

from alembic import op


revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_articles_incident_id_score', 'articles', ['incident_id', 'score'], unique=False)
    op.drop_index('ix_articles_incident_id', table_name='articles')


def downgrade() -> None:
    op.create_index('ix_articles_incident_id', 'articles', ['incident_id'], unique=False)
    op.drop_index('ix_articles_incident_id_score', table_name='articles')
