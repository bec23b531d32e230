"""Grouping labelled articles into incidents: pure functions over IncidentState values.

An article joins an incident when both are in the same area (same place or within JOIN_KM; for region- or
country-level places, the same region/country and similar text), dated within a day of each other.
The store finds candidates by indexed lookups (country, date window) and calls `best_match`; `merge`
returns the new state and the reasons that make a revision.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime

from monitor.models import Classification, FeedItem, Place

JOIN_KM = 30.0  # two place-level reports closer than this are the same area
REGION_MIN_SIMILARITY = 0.2  # region/country-level reports must also read alike
UNPLACED_MIN_SIMILARITY = 0.5  # with no place at all, only the text says it is the same event
DAY_WINDOW = 1  # days either side

_TOKEN = re.compile(r"[^\W\d_]{3,}", re.UNICODE)
_STOP = frozenset(
    "the and for with from that this was were are has have had said says after over into near its their "
    "been than more also who which while when what where amid about against killed people least "
    "и в во на по из за от до что как это для при его их был была были они она он".split()
)


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
    signature: frozenset[str]
    id: int | None = None  # database id; None for an incident not stored yet

    @property
    def source_count(self) -> int:
        return max(1, len(self.sources))


def tokens(text: str) -> frozenset[str]:
    """Lower-cased word stems (first 6 letters) minus stop words: cheap, language-agnostic similarity keys."""
    return frozenset(t[:6] for t in _TOKEN.findall(text.lower()) if t not in _STOP)


def similarity(a: frozenset[str], b: frozenset[str]) -> float:
    """Overlap coefficient of two token sets: a short headline inside a long summary still scores high."""
    if not a or not b:
        return 0.0
    return len(a & b) / min(len(a), len(b))


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


def _area_score(draft: ArticleDraft, inc: IncidentState) -> float | None:
    """1.0 same place, 0.5 same region/country with imprecise places, 0.25 neither has a place,
    None when the areas differ."""
    place = primary_place(draft.classification)
    country = place.country if place and place.country else _country(draft)
    if country != inc.country:
        return None
    if country is None:
        return 0.25
    precise_a = place is not None and place.precision == "place" and place.lat is not None
    precise_b = inc.geo_precision == "place" and inc.lat is not None
    if precise_a and precise_b:
        assert place is not None and place.lat is not None and place.lon is not None
        assert inc.lat is not None and inc.lon is not None
        same = (place.geonameid is not None and place.geonameid == inc.geonameid) or (
            distance_km(place.lat, place.lon, inc.lat, inc.lon) <= JOIN_KM)
        return 1.0 if same else None
    region_a = place.admin1 if place else None
    if region_a and inc.admin1 and region_a != inc.admin1:
        return None
    return 0.5


def _country(draft: ArticleDraft) -> str | None:
    countries = draft.classification.countries
    return countries[0] if countries else None


def best_match(draft: ArticleDraft, candidates: Iterable[IncidentState]) -> tuple[IncidentState, float] | None:
    """The candidate this article belongs to, with its similarity, or None for a new incident."""
    sig = tokens(f"{draft.item.title} {draft.item.text}")
    best: tuple[IncidentState, float] | None = None
    best_score = 0.0
    for inc in candidates:
        if abs((inc.event_date - draft.event_date).days) > DAY_WINDOW:
            continue
        area = _area_score(draft, inc)
        if area is None:
            continue
        sim = similarity(sig, inc.signature)
        if area < 1.0 and sim < (REGION_MIN_SIMILARITY if area >= 0.5 else UNPLACED_MIN_SIMILARITY):
            continue
        score = area + sim
        if score > best_score:
            best, best_score = (inc, sim), score
    return best


def new_incident(draft: ArticleDraft, ceasefire: str | None) -> IncidentState:
    c = draft.classification
    place = primary_place(c)
    return IncidentState(
        event_date=draft.event_date,
        country=(place.country if place and place.country else _country(draft)),
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
        signature=tokens(f"{draft.item.title} {draft.item.text}"),
    )


_PRECISION_RANK = {"place": 3, "region": 2, "country": 1, None: 0}


def _max(a: int | None, b: int | None) -> int | None:
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)


def merge(inc: IncidentState, draft: ArticleDraft, ceasefire: str | None) -> tuple[IncidentState, list[str]]:
    """Fold one more report into an incident. Returns the new state and the reasons for a revision.

    A figure repeated by several sources counts once; a higher figure supersedes a lower one.
    """
    add = new_incident(draft, ceasefire)
    reasons: list[str] = []
    if add.sources - inc.sources:
        reasons.append("new source")
    labels = tuple(dict.fromkeys(inc.labels + add.labels))
    if set(labels) != set(inc.labels):
        reasons.append("label")
    killed, injured = _max(inc.killed, add.killed), _max(inc.injured, add.injured)
    if killed != inc.killed or injured != inc.injured:
        reasons.append("casualties")
    merged = replace(
        inc,
        labels=labels,
        killed=killed,
        injured=injured,
        killed_civilian=_max(inc.killed_civilian, add.killed_civilian),
        killed_military=_max(inc.killed_military, add.killed_military),
        injured_civilian=_max(inc.injured_civilian, add.injured_civilian),
        injured_military=_max(inc.injured_military, add.injured_military),
        sources=inc.sources | add.sources,
        evidence=tuple(dict.fromkeys(inc.evidence + add.evidence))[:10],
        signature=inc.signature | add.signature,
        event_date=min(inc.event_date, add.event_date),
    )
    if _PRECISION_RANK[add.geo_precision] > _PRECISION_RANK[inc.geo_precision]:
        merged = replace(merged, admin1=add.admin1 or inc.admin1, place=add.place, geonameid=add.geonameid,
                         lat=add.lat, lon=add.lon, geo_precision=add.geo_precision)
        reasons.append("place")
    if ceasefire and not inc.ceasefire:
        merged = replace(merged, ceasefire=ceasefire)
        reasons.append("ceasefire")
    return merged, reasons


_LABEL_WEIGHT = {"air_strike": 2.0, "shelling": 2.0, "armed_clash": 1.5, "ceasefire_violation": 1.5}


def severity(inc: IncidentState) -> float:
    """0–10: what happened, how many died or were hurt (civilians weigh more), truce broken, confirmation."""
    score = sum(_LABEL_WEIGHT.get(label, 1.0) for label in inc.labels)
    if inc.ceasefire and "ceasefire_violation" not in inc.labels:
        score += _LABEL_WEIGHT["ceasefire_violation"]
    killed, injured = inc.killed or 0, inc.injured or 0
    civilian_extra = (inc.killed_civilian or 0) + 0.5 * (inc.injured_civilian or 0)
    score += 1.2 * math.log2(1 + killed + 0.3 * injured + civilian_extra)
    score += 0.5 * math.log2(inc.source_count)
    return round(min(10.0, score), 2)


def group_batch(drafts: Sequence[ArticleDraft]) -> list[list[ArticleDraft]]:
    """Split a batch into clusters that would join each other (for tests and dry runs)."""
    clusters: list[tuple[IncidentState, list[ArticleDraft]]] = []
    for draft in drafts:
        match = best_match(draft, [state for state, _ in clusters])
        if match is None:
            clusters.append((new_incident(draft, None), [draft]))
            continue
        index = next(i for i, (state, _) in enumerate(clusters) if state is match[0])
        state, members = clusters[index]
        clusters[index] = (merge(state, draft, None)[0], [*members, draft])
    return [members for _, members in clusters]
