"""Grouping labelled articles into incidents: pure functions over IncidentState values.

An article joins an incident when all of these hold (see `match_score`):

- **time**: their event dates are within `DAY_WINDOW` day(s);
- **area**: the same place (same GeoNames id, or within `JOIN_KM`), or, where one side only knows a
  region or a country, the same region/country; two distinct places (> `JOIN_KM` apart) never join;
- **labels**: compatible (they share one; shelling and air strikes are one family, as missile attacks are
  reported as either; a ceasefire violation goes with anything); incompatible labels need text that says
  it is the same event;
- **text**: TF-IDF cosine over title and summary at least the threshold of the area's precision: none for
  the same place, more for a shared region, more again for a shared country only.

A copy of a member's text (SimHash within a few bits: wire copy, or one outlet re-publishing a story under
a new URL or a retouched title) joins whatever the text similarity and labels say, as long as the dates fit
and the places are not two distinct known places (a country mismatch is forgiven: border incidents). Sources
are outlets: an outlet's second item about an incident is not a new source.

The store finds candidates by indexed lookups (country, date window) and calls `best_match`; `merge`
returns the new state and the reasons that make a revision.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from functools import cached_property

from monitor.models import Classification, FeedItem, Place
from monitor.similarity import Idf, add_counts, cosine, near_duplicate, simhash, term_counts

JOIN_KM = 30.0  # two place-level reports closer than this are the same area; farther, different places
REGION_KM = 150.0  # a place this close to a region-level incident's centre can be in that region
DAY_WINDOW = 1  # days either side
SIGNATURE_CAP = 300  # terms kept in an incident's centroid
COPIES_CAP = 200  # member (source, simhash) pairs kept for copy checks

# Minimum TF-IDF cosine by how precisely the two sides share an area.
MIN_SIMILARITY = {"same": 0.0, "region": 0.2, "country": 0.3, "unknown": 0.4}
INCOMPATIBLE_LABELS_MIN = 0.3  # e.g. an air strike alone vs a ground clash alone at one place
_AREA_WEIGHT = {"same": 1.0, "region": 0.5, "country": 0.3, "unknown": 0.2}
_FIRE = frozenset({"shelling", "air_strike"})


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
    def terms(self) -> dict[str, int]:
        return term_counts(self.item.title, self.item.text)

    @cached_property
    def simhash(self) -> int:
        return simhash(self.item.title, self.item.text)

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

    @property
    def source_count(self) -> int:
        """Independent sources: distinct outlets. Another item of an outlet already counted (an update, a
        re-publication under a new URL or title) adds none."""
        return max(1, len(self.sources))


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0 * math.asin(min(1.0, math.sqrt(h)))


def geo_bucket(lat: float | None, lon: float | None) -> str | None:
    """A 1-degree grid cell key, so 'near' lookups are an indexed IN over at most nine cells."""
    if lat is None or lon is None:
        return None
    return f"{math.floor(lat)}:{math.floor(lon)}"


def primary_place(c: Classification) -> Place | None:
    return c.place


def area_kind(draft: ArticleDraft, inc: IncidentState) -> str | None:
    """How precisely the article and the incident share an area: "same", "region", "country",
    "unknown" (same country, neither placed), or None when the areas differ."""
    place = primary_place(draft.classification)
    country = draft.country
    if country != inc.country:
        # Border incidents: the article may name the incident's country second.
        return "country" if inc.country and inc.country in draft.countries else None
    precise_a = place is not None and place.precision == "place" and place.lat is not None
    precise_b = inc.geo_precision == "place" and inc.lat is not None
    if precise_a and precise_b:
        assert place is not None and place.lat is not None and place.lon is not None
        assert inc.lat is not None and inc.lon is not None
        if place.geonameid is not None and place.geonameid == inc.geonameid:
            return "same"
        return "same" if distance_km(place.lat, place.lon, inc.lat, inc.lon) <= JOIN_KM else None
    region_a = place.admin1 if place else None
    if region_a and inc.admin1:
        return "region" if region_a.casefold() == inc.admin1.casefold() else None
    prec_a, prec_b = (place.precision if place else None), inc.geo_precision
    if prec_a in (None, "country") or prec_b in (None, "country"):
        return "unknown" if prec_a is None and prec_b is None else "country"
    # A region-level side without an admin1 name: compare centres.
    assert place is not None
    if place.lat is not None and place.lon is not None and inc.lat is not None and inc.lon is not None:
        return "region" if distance_km(place.lat, place.lon, inc.lat, inc.lon) <= REGION_KM else None
    return "country"


def labels_compatible(a: Iterable[str], b: Iterable[str]) -> bool:
    sa, sb = set(a) - {"ceasefire_violation"}, set(b) - {"ceasefire_violation"}
    if not sa or not sb or sa & sb:
        return True
    return bool(sa <= _FIRE and sb <= _FIRE)


def match_score(draft: ArticleDraft, inc: IncidentState, idf: Idf) -> tuple[float, float] | None:
    """(score, similarity) when the article belongs to the incident, else None. Higher scores win."""
    if abs((inc.event_date - draft.event_date).days) > DAY_WINDOW:
        return None
    sim = cosine(draft.terms, inc.signature, idf)
    kind = area_kind(draft, inc)
    copy = any(near_duplicate(draft.simhash, h) for _, h in inc.copies)
    if copy and (kind is not None or draft.country != inc.country):
        return 3.0 + sim, max(sim, 0.9)
    if kind is None:
        return None
    needed = MIN_SIMILARITY[kind]
    if not labels_compatible(draft.classification.label_names, inc.labels):
        needed = max(needed, INCOMPATIBLE_LABELS_MIN)
    if sim < needed:
        return None
    return _AREA_WEIGHT[kind] + sim, sim


def best_match(draft: ArticleDraft, candidates: Iterable[IncidentState],
               idf: Idf | None = None) -> tuple[IncidentState, float] | None:
    """The candidate this article belongs to, with its similarity, or None for a new incident.

    Ties go to the incident with the lower id (the older one), so the result does not depend on the order
    the store returned candidates in.
    """
    idf = idf or Idf.uniform()
    best: tuple[IncidentState, float] | None = None
    best_key: tuple[float, float] | None = None
    for inc in candidates:
        scored = match_score(draft, inc, idf)
        if scored is None:
            continue
        key = (scored[0], -(inc.id if inc.id is not None else math.inf))
        if best_key is None or key > best_key:
            best, best_key = (inc, scored[1]), key
    return best


def new_incident(draft: ArticleDraft, ceasefire: str | None) -> IncidentState:
    c = draft.classification
    place = primary_place(c)
    return IncidentState(
        event_date=draft.event_date,
        country=draft.country,
        admin1=place.admin1 if place else None,
        place=place.name if place else None,
        geonameid=place.geonameid if place else None,
        lat=place.lat if place else None,
        lon=place.lon if place else None,
        geo_precision=place.precision if place else None,
        labels=c.label_names,
        killed=c.killed.count,
        injured=c.injured.count,
        killed_civilian=c.killed.civilian,
        killed_military=c.killed.military,
        injured_civilian=c.injured.civilian,
        injured_military=c.injured.military,
        sources=frozenset({draft.item.source}),
        ceasefire=ceasefire,
        title=draft.item.title or draft.item.text[:160],
        evidence=tuple(dict.fromkeys(e for hit in c.labels for e in hit.evidence))[:10],
        signature=add_counts({}, draft.terms, SIGNATURE_CAP),
        copies=((draft.item.source, draft.simhash),),
    )


_PRECISION_RANK = {"place": 3, "region": 2, "country": 1, None: 0}


def _max(a: int | None, b: int | None) -> int | None:
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)


def merge(inc: IncidentState, draft: ArticleDraft, ceasefire: str | None) -> tuple[IncidentState, list[str]]:
    """Fold one more report into an incident. Returns the new state and the reasons for a revision:
    "new source" (one more *independent* source), "label", "casualties" (a higher figure), "place"
    (a more precise one), "ceasefire" (it now falls under a declared ceasefire).

    A figure repeated by several sources counts once; a higher figure supersedes a lower one. Another item
    of an outlet already counted (an update, a re-titled re-publication) adds no source.
    """
    add = new_incident(draft, ceasefire)
    reasons: list[str] = []
    merged = replace(
        inc,
        labels=tuple(dict.fromkeys(inc.labels + add.labels)),
        killed=_max(inc.killed, add.killed),
        injured=_max(inc.injured, add.injured),
        killed_civilian=_max(inc.killed_civilian, add.killed_civilian),
        killed_military=_max(inc.killed_military, add.killed_military),
        injured_civilian=_max(inc.injured_civilian, add.injured_civilian),
        injured_military=_max(inc.injured_military, add.injured_military),
        sources=inc.sources | add.sources,
        evidence=tuple(dict.fromkeys(inc.evidence + add.evidence))[:10],
        signature=add_counts(inc.signature, add.signature, SIGNATURE_CAP),
        copies=(inc.copies + add.copies)[:COPIES_CAP],
        event_date=min(inc.event_date, add.event_date),
    )
    if merged.source_count > inc.source_count:
        reasons.append("new source")
    if set(merged.labels) != set(inc.labels):
        reasons.append("label")
    if merged.killed != inc.killed or merged.injured != inc.injured:
        reasons.append("casualties")
    if _PRECISION_RANK.get(add.geo_precision, 0) > _PRECISION_RANK.get(inc.geo_precision, 0):
        merged = replace(merged, admin1=add.admin1 or inc.admin1, place=add.place, geonameid=add.geonameid,
                         lat=add.lat, lon=add.lon, geo_precision=add.geo_precision,
                         country=add.country or inc.country)
        reasons.append("place")
    if ceasefire and not inc.ceasefire:
        merged = replace(merged, ceasefire=ceasefire)
        reasons.append("ceasefire")
    return merged, reasons


_LABEL_WEIGHT = {"air_strike": 2.0, "shelling": 2.0, "armed_clash": 1.5, "ceasefire_violation": 1.5}


def severity(inc: IncidentState) -> float:
    """0–10: what happened (labels), how many died or were hurt (civilians weigh more), whether a truce
    was broken (by the text or the ceasefire registry), and how many independent sources confirm it."""
    score = sum(_LABEL_WEIGHT.get(label, 1.0) for label in inc.labels)
    if inc.ceasefire and "ceasefire_violation" not in inc.labels:
        score += _LABEL_WEIGHT["ceasefire_violation"]
    killed, injured = inc.killed or 0, inc.injured or 0
    civilian_extra = (inc.killed_civilian or 0) + 0.5 * (inc.injured_civilian or 0)
    score += 1.2 * math.log2(1 + killed + 0.3 * injured + civilian_extra)
    score += 0.5 * math.log2(inc.source_count)
    return round(min(10.0, score), 2)


def canonical_order(drafts: Iterable[ArticleDraft]) -> list[ArticleDraft]:
    """The order a batch is grouped in, whatever order it came in: precisely placed reports first (they
    seed incidents that vaguer reports of the same event can then join by area and text), then by event
    date, publication time and fingerprint."""
    def key(d: ArticleDraft) -> tuple[int, date, datetime, str]:
        place = d.classification.place
        return -_PRECISION_RANK.get(place.precision if place else None, 0), d.event_date, d.published_at, \
            d.fingerprint
    return sorted(drafts, key=key)


def group_batch(drafts: Sequence[ArticleDraft], idf: Idf | None = None) -> list[list[ArticleDraft]]:
    """Split a batch into clusters that would join each other (for tests and dry runs). The result does
    not depend on the order of `drafts` (see `canonical_order`)."""
    clusters: list[tuple[IncidentState, list[ArticleDraft]]] = []
    for draft in canonical_order(drafts):
        states = [replace(state, id=i) for i, (state, _) in enumerate(clusters)]
        match = best_match(draft, states, idf)
        if match is None:
            clusters.append((new_incident(draft, None), [draft]))
            continue
        index = match[0].id
        assert index is not None
        state, members = clusters[index]
        clusters[index] = (merge(state, draft, None)[0], [*members, draft])
    return [members for _, members in clusters]
