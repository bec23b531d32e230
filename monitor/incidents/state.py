"""The values grouping works on: a new labelled article on its way into the store (`ArticleDraft`) and the
state of an incident (`IncidentState`). Pure; incidents.group, which groups them, re-exports both."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property

from monitor.incidents.similarity import counts_of, simhash_of, term_lists
from monitor.models import Classification, FeedItem

PRECISION_RANK = {"place": 3, "region": 2, "country": 1, None: 0}  # how precisely a place is known


@dataclass(frozen=True)
class ArticleDraft:
    """A new, labelled article on its way into the store."""

    item: FeedItem
    fingerprint: str
    classification: Classification
    published_at: datetime  # UTC; first-seen time when the feed gave none
    first_seen_at: datetime

    @property
    def event_date(self) -> date:
        return self.classification.event_date or self.published_at.date()

    @cached_property
    def _term_lists(self) -> tuple[list[str], list[str]]:
        return term_lists(self.item.title, self.item.text)

    @cached_property
    def terms(self) -> dict[str, int]:
        return counts_of(*self._term_lists)

    @cached_property
    def simhash(self) -> int:
        return simhash_of(*self._term_lists)

    @property
    def country(self) -> str | None:
        place = self.classification.place
        if place and place.country:
            return place.country
        return self.classification.countries[0] if self.classification.countries else None

    @property
    def countries(self) -> tuple[str, ...]:
        """Every country the article places the event in, primary first (for candidate lookups)."""
        first = self.country
        rest = tuple(c for c in self.classification.countries if c != first)
        return ((first,) if first else ()) + rest


@dataclass(frozen=True)
class IncidentState:
    """The fields of an incident that grouping reads and writes (a row of `incidents`, minus bookkeeping)."""

    event_date: date
    country: str | None
    admin1: str | None
    place: str | None
    geonameid: int | None
    lat: float | None
    lon: float | None
    geo_precision: str | None
    labels: tuple[str, ...]
    killed: int | None
    injured: int | None
    killed_civilian: int | None
    killed_military: int | None
    injured_civilian: int | None
    injured_military: int | None
    sources: frozenset[str]
    ceasefire: str | None
    title: str
    evidence: tuple[str, ...]
    signature: Mapping[str, int] = field(default_factory=dict)  # centroid term bag of the members
    copies: tuple[tuple[str, int], ...] = ()  # (outlet, simhash) of members: copies of their texts join
    id: int | None = None  # database id; None for an incident not stored yet
    last_date: date | None = None  # the latest member event date (None: event_date, the earliest)
    # The best label score of the members (0-1), as rules' min_score reads it (store.alerting.incident_score);
    # None when not known (a state read without it): then no rise of it is news.
    score: float | None = None

    @property
    def last(self) -> date:
        return max(self.last_date or self.event_date, self.event_date)

    @property
    def source_count(self) -> int:
        """Independent sources: distinct outlets. Another item of an outlet already counted (an update, a
        re-publication under a new URL or title) adds none."""
        return max(1, len(self.sources))
