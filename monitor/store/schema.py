"""The tables of DESIGN §3, as SQLAlchemy Core. Changed only together with a migration in monitor/migrations."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
)
from sqlalchemy import DateTime as _DateTime

# Stable constraint names so alembic batch mode on SQLite can find them.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC, returns aware UTC: SQLite keeps no zone, PostgreSQL `timestamp` neither."""

    impl = _DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use aware UTC datetimes")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):  # defensive: a row written by hand into SQLite
            value = datetime.fromisoformat(value)
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC)


# BigInteger ids that are still INTEGER PRIMARY KEY (rowid alias, autoincrement) on SQLite.
Id = BigInteger().with_variant(Integer(), "sqlite")

feeds = Table(
    "feeds",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("url", String(2048), nullable=False, unique=True),
    Column("config_url", String(2048), nullable=False),  # the URL as configured (before a 301 moved it)
    Column("name", String(200), nullable=False),
    Column("tags", JSON, nullable=False, default=list),
    Column("language", String(8)),
    Column("interval_s", Float),
    Column("enabled", Boolean, nullable=False, default=True),
    Column("etag", String(512)),
    Column("last_modified", String(128)),
    Column("body_hash", String(64)),
    Column("last_fetch_at", UTCDateTime()),
    Column("last_success_at", UTCDateTime()),
    Column("last_status", Integer),
    Column("last_error", Text),
    Column("last_error_kind", String(40)),
    Column("consecutive_failures", Integer, nullable=False, default=0),
    Column("down_since", UTCDateTime()),
    Column("next_fetch_at", UTCDateTime(), nullable=False),
    Column("retired_at", UTCDateTime()),
    Column("items_seen", BigInteger, nullable=False, default=0),
    Column("lease_owner", String(200)),
    Column("lease_until", UTCDateTime()),
    Column("created_at", UTCDateTime(), nullable=False),
    Index("ix_feeds_next_fetch_at", "next_fetch_at"),
)

incidents = Table(
    "incidents",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("public_id", String(16), nullable=False, unique=True),
    Column("revision", Integer, nullable=False),
    Column("event_date", Date),
    Column("last_event_date", Date),  # the latest member's event date (NULL: rows before migration 0003)
    Column("first_seen_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("country", String(2)),
    Column("admin1", String(200)),
    Column("place", String(200)),
    Column("geonameid", BigInteger),
    Column("lat", Float),
    Column("lon", Float),
    Column("geo_precision", String(10)),
    Column("geo_bucket", String(24)),  # coarse grid cell "lat10:lon10" for near-by lookups
    Column("labels", JSON, nullable=False),
    Column("killed", Integer),
    Column("injured", Integer),
    Column("killed_civilian", Integer),
    Column("killed_military", Integer),
    Column("injured_civilian", Integer),
    Column("injured_military", Integer),
    Column("severity", Float, nullable=False, default=0.0),
    Column("source_count", Integer, nullable=False, default=1),
    Column("ceasefire", String(200)),
    Column("title", Text, nullable=False),
    Column("evidence", JSON, nullable=False),
    Column("signature", Text, nullable=False, default=""),  # centroid term bag "term:n …" (similarity.py)
    # Member outlets and (outlet, simhash) copies, JSON, so grouping reads no member rows (NULL: rows
    # written before migration 0003, read from the members once).
    Column("sources", JSON),
    Column("copies", JSON),
    # Set when this incident was merged into another (the survivor, never itself merged): its public id
    # stays an alias of the survivor's; it is left out of candidates and lists. No FK: SQLite would have
    # to rebuild the table to add one; the store keeps it pointing at a live incident.
    Column("merged_into", Id),
    Index("ix_incidents_country_event_date", "country", "event_date"),
    Index("ix_incidents_event_date", "event_date"),
    Index("ix_incidents_updated_at", "updated_at"),
    Index("ix_incidents_geo_bucket", "geo_bucket"),
    Index("ix_incidents_merged_into", "merged_into"),  # re-pointing aliases when a survivor is merged on
)

articles = Table(
    "articles",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("fingerprint", String(64), nullable=False, unique=True),
    Column("feed_id", Id, ForeignKey("feeds.id", ondelete="SET NULL")),
    Column("external_id", String(512)),
    Column("source", String(200), nullable=False),
    Column("url", String(2048)),
    Column("guid", String(2048)),
    Column("title", Text, nullable=False),
    Column("summary", Text, nullable=False),
    Column("lang", String(8)),
    Column("published_at", UTCDateTime(), nullable=False),
    Column("first_seen_at", UTCDateTime(), nullable=False),
    Column("relevant", Boolean, nullable=False),
    Column("score", Float, nullable=False, default=0.0),
    Column("labels", JSON, nullable=False),  # [{"label", "score", "evidence"}]
    Column("extraction", JSON, nullable=False),  # the classify JSON minus id/labels
    Column("incident_id", Id, ForeignKey("incidents.id", ondelete="SET NULL")),
    Column("simhash", BigInteger),  # 64-bit SimHash of title + summary (signed): copies of one text
    # An incident's members; with score, an incident's score (the best label score of its articles, which the
    # alert rules' min_score reads) is one seek: MAX(score) WHERE incident_id = ?.
    Index("ix_articles_incident_id_score", "incident_id", "score"),
    Index("ix_articles_published_at", "published_at"),
)

incident_articles = Table(
    "incident_articles",
    metadata,
    Column("incident_id", Id, ForeignKey("incidents.id", ondelete="CASCADE"), primary_key=True),
    Column("article_id", Id, ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True),
    Column("joined_at", UTCDateTime(), nullable=False),
    Column("similarity", Float, nullable=False, default=1.0),
)

incident_revisions = Table(
    "incident_revisions",
    metadata,
    Column("incident_id", Id, ForeignKey("incidents.id", ondelete="CASCADE"), primary_key=True),
    Column("revision", Integer, primary_key=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("reasons", JSON, nullable=False),
    Column("snapshot", JSON, nullable=False),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),
    Column("incident_id", Id, ForeignKey("incidents.id", ondelete="SET NULL")),
    Column("revision", Integer),
    Column("target", String(200), nullable=False),
    Column("idempotency_key", String(300), nullable=False, unique=True),
    Column("title", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("body_format", String(10), nullable=False),
    Column("status", String(10), nullable=False, default="pending"),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UTCDateTime(), nullable=False),
    Column("last_error", Text),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("sent_at", UTCDateTime()),
    Column("lease_owner", String(200)),
    Column("lease_until", UTCDateTime()),
    Column("detail", JSON),  # digests: period and incidents; feed health: the feed and episode
    Index("ix_outbox_status_next_attempt_at", "status", "next_attempt_at"),
    Index("ix_outbox_incident_id", "incident_id"),
    Index("ix_outbox_target_created_at", "target", "created_at"),  # cooldown and per-hour caps
)

# Document frequencies of terms over relevant articles, for TF-IDF similarity; the row with term "*"
# holds the number of documents.
term_df = Table(
    "term_df",
    metadata,
    Column("term", String(64), primary_key=True),
    Column("df", BigInteger, nullable=False),
)

locks = Table(
    "locks",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("owner", String(200), nullable=False),
    Column("until", UTCDateTime(), nullable=False),
)
