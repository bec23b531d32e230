"""Frozen values passed between the stages of the pipeline.

fetch -> FetchResult; parse -> FeedItem; classify -> Classification (with Place, LabelHit, Casualties);
group -> IncidentDraft changes; outbox -> Alert.  No stage mutates what it is given.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

LABELS: tuple[str, ...] = ("shelling", "air_strike", "armed_clash", "ceasefire_violation")
PRECISIONS: tuple[str, ...] = ("place", "region", "country")


@dataclass(frozen=True)
class FeedItem:
    """One news item: a parsed feed entry or an ingested article.

    `url` is already canonical (see parse.canonical_url); `text` is plain text (HTML stripped);
    `published_at` is timezone-aware UTC or None when the source gave no usable date.
    """

    title: str
    text: str
    url: str | None = None
    guid: str | None = None
    published_at: datetime | None = None
    source: str = ""
    lang: str | None = None
    external_id: str | None = None


@dataclass(frozen=True)
class Place:
    name: str
    country: str | None
    admin1: str | None = None
    lat: float | None = None
    lon: float | None = None
    precision: str = "place"  # one of PRECISIONS
    geonameid: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "country": self.country,
            "admin1": self.admin1,
            "lat": self.lat,
            "lon": self.lon,
            "precision": self.precision,
            "geonameid": self.geonameid,
        }


@dataclass(frozen=True)
class LabelHit:
    label: str  # one of LABELS
    score: float
    evidence: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"label": self.label, "score": round(self.score, 3), "evidence": list(self.evidence)}


@dataclass(frozen=True)
class Casualties:
    """A casualty figure as the text states it. `count` is None when no figure is given."""

    count: int | None = None
    military: int | None = None
    civilian: int | None = None
    vague: bool = False

    def detail_json(self) -> dict[str, Any] | None:
        if self.count is None:
            return None
        return {"military": self.military, "civilian": self.civilian, "vague": self.vague}


@dataclass(frozen=True)
class Classification:
    """What the classifier and extractor decided about one item (the `classify` contract, DESIGN §6)."""

    labels: tuple[LabelHit, ...] = ()
    score: float = 0.0
    countries: tuple[str, ...] = ()
    place: Place | None = None
    places: tuple[Place, ...] = ()
    actors: tuple[str, ...] = ()
    weapons: tuple[str, ...] = ()
    killed: Casualties = field(default_factory=Casualties)
    injured: Casualties = field(default_factory=Casualties)
    event_date: date | None = None
    explanation: tuple[str, ...] = ()

    @property
    def relevant(self) -> bool:
        return bool(self.labels)

    @property
    def label_names(self) -> tuple[str, ...]:
        return tuple(hit.label for hit in self.labels)

    def to_json(self, item_id: Any) -> dict[str, Any]:
        return {
            "id": item_id,
            "relevant": self.relevant,
            "score": round(self.score, 3),
            "labels": [hit.to_json() for hit in self.labels],
            "country": list(self.countries),
            "place": self.place.to_json() if self.place else None,
            "places": [p.to_json() for p in self.places],
            "actors": list(self.actors),
            "weapons": list(self.weapons),
            "killed": self.killed.count,
            "killed_detail": self.killed.detail_json(),
            "injured": self.injured.count,
            "injured_detail": self.injured.detail_json(),
            "event_date": self.event_date.isoformat() if self.event_date else None,
            "explanation": list(self.explanation),
        }


@dataclass(frozen=True)
class FetchResult:
    """The outcome of one successful HTTP exchange with a feed (failures raise FeedError).

    `not_modified` is True for a 304; then `body` is empty. `permanent_url` is set when the feed
    answered with a 301/308 chain, so the stored URL can be updated.
    """

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    etag: str | None = None
    last_modified: str | None = None
    not_modified: bool = False
    permanent_url: str | None = None
    elapsed_s: float = 0.0


@dataclass(frozen=True)
class ArticleRef:
    """One source of an incident, as shown in alerts and in `incidents --format json`."""

    external_id: str | None
    url: str | None
    source: str
    title: str
    published: datetime | None

    def to_json(self) -> dict[str, Any]:
        return {
            "external_id": self.external_id,
            "url": self.url,
            "source": self.source,
            "title": self.title,
            "published": self.published.isoformat().replace("+00:00", "Z") if self.published else None,
        }


@dataclass(frozen=True)
class IncidentView:
    """An incident as readers see it: alerts, CLI, API. Built by the store from its rows."""

    id: str  # public id, e.g. "INC-7Q2K9"
    revision: int
    title: str
    event_date: date | None
    first_seen_at: datetime
    updated_at: datetime
    country: str | None
    admin1: str | None
    place: str | None
    lat: float | None
    lon: float | None
    geo_precision: str | None
    labels: tuple[str, ...]
    killed: int | None
    injured: int | None
    killed_civilian: int | None = None
    killed_military: int | None = None
    injured_civilian: int | None = None
    injured_military: int | None = None
    severity: float = 0.0
    source_count: int = 1
    ceasefire: str | None = None
    evidence: tuple[str, ...] = ()
    articles: tuple[ArticleRef, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "revision": self.revision,
            "event_date": self.event_date.isoformat() if self.event_date else None,
            "country": self.country,
            "admin1": self.admin1,
            "place": self.place,
            "lat": self.lat,
            "lon": self.lon,
            "geo_precision": self.geo_precision,
            "labels": list(self.labels),
            "killed": self.killed,
            "injured": self.injured,
            "severity": round(self.severity, 2),
            "source_count": self.source_count,
            "ceasefire": self.ceasefire,
            "title": self.title,
            "articles": [a.to_json() for a in self.articles],
        }
