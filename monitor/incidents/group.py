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
returns the new state and the reasons that make a revision. `merge_incidents` folds two incidents found to be
one event, and decides the merged incident's ceasefire again from the merged facts.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime

from monitor.geo import distance_km
from monitor.incidents.ceasefires import incident_ceasefire
from monitor.incidents.materiality import score_crossing
from monitor.incidents.similarity import Idf, NearIndex, Vector, add_counts, near_duplicate, tfidf, vector_cosine
from monitor.incidents.state import PRECISION_RANK as PRECISION_RANK
from monitor.incidents.state import ArticleDraft as ArticleDraft
from monitor.incidents.state import IncidentState as IncidentState
from monitor.models import Classification, Place
from monitor.settings import CeasefireSettings

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


def primary_place(c: Classification) -> Place | None:
    return c.place


@dataclass(frozen=True)
class Area:
    """Where one side of a comparison says the event was: its countries (primary first) and best place."""

    country: str | None
    countries: tuple[str, ...]
    precision: str | None
    admin1: str | None
    lat: float | None
    lon: float | None
    geonameid: int | None

    @classmethod
    def of_draft(cls, draft: ArticleDraft) -> Area:
        p = primary_place(draft.classification)
        return cls(draft.country, draft.countries, p.precision if p else None, p.admin1 if p else None,
                   p.lat if p else None, p.lon if p else None, p.geonameid if p else None)

    @classmethod
    def of_incident(cls, inc: IncidentState) -> Area:
        return cls(inc.country, (inc.country,) if inc.country else (), inc.geo_precision, inc.admin1, inc.lat,
                   inc.lon, inc.geonameid)


def area_between(a: Area, b: Area) -> str | None:
    """How precisely two sides share an area: "same", "region", "country", "unknown" (same country,
    neither placed), or None when the areas differ. Symmetric."""
    if a.country != b.country:
        # Border incidents: one side may name the other's country second.
        shared = (b.country and b.country in a.countries) or (a.country and a.country in b.countries)
        return "country" if shared else None
    precise_a = a.precision == "place" and a.lat is not None and a.lon is not None
    precise_b = b.precision == "place" and b.lat is not None and b.lon is not None
    if precise_a and precise_b:
        assert a.lat is not None and a.lon is not None and b.lat is not None and b.lon is not None
        if a.geonameid is not None and a.geonameid == b.geonameid:
            return "same"
        return "same" if distance_km(a.lat, a.lon, b.lat, b.lon) <= JOIN_KM else None
    if a.admin1 and b.admin1:
        return "region" if a.admin1.casefold() == b.admin1.casefold() else None
    if a.precision in (None, "country") or b.precision in (None, "country"):
        return "unknown" if a.precision is None and b.precision is None else "country"
    # A region-level side without an admin1 name: compare centres.
    if a.lat is not None and a.lon is not None and b.lat is not None and b.lon is not None:
        return "region" if distance_km(a.lat, a.lon, b.lat, b.lon) <= REGION_KM else None
    return "country"


def area_kind(draft: ArticleDraft, inc: IncidentState) -> str | None:
    """How precisely an article and an incident share an area (see `area_between`)."""
    return area_between(Area.of_draft(draft), Area.of_incident(inc))


def labels_compatible(a: Iterable[str], b: Iterable[str]) -> bool:
    sa, sb = set(a) - {"ceasefire_violation"}, set(b) - {"ceasefire_violation"}
    if not sa or not sb or sa & sb:
        return True
    return bool(sa <= _FIRE and sb <= _FIRE)


def _score(kind: str | None, copy: bool, cross_country: bool, labels_ok: bool, similarity: Callable[[], float]
           ) -> tuple[float, float] | None:
    """The joining rule shared by article→incident and incident↔incident matches (see the module doc). The
    text similarity is worked out only when the rule reads it (most candidates are another place)."""
    if copy and (kind is not None or cross_country):
        sim = similarity()
        return 3.0 + sim, max(sim, 0.9)
    if kind is None:
        return None
    needed = MIN_SIMILARITY[kind]
    if not labels_ok:
        needed = max(needed, INCOMPATIBLE_LABELS_MIN)
    sim = similarity()
    if sim < needed:
        return None
    return _AREA_WEIGHT[kind] + sim, sim


class _Side:
    """One side compared with many: its TF-IDF vector, worked out at the first comparison that needs it."""

    def __init__(self, counts: Mapping[str, int], idf: Idf) -> None:
        self.counts, self.idf = counts, idf
        self._vector: Vector | None = None

    def cosine(self, other: Mapping[str, int]) -> float:
        """similarity.cosine(self.counts, other, idf), the same value."""
        if not self.counts or not other:
            return 0.0
        if self._vector is None:
            self._vector = tfidf(self.counts, self.idf)
        return vector_cosine(self._vector, tfidf(other, self.idf))


class _Probe:
    """What a draft brings to each comparison, worked out once when it is compared with many incidents."""

    def __init__(self, draft: ArticleDraft, idf: Idf) -> None:
        self.day, self.country, self.simhash = draft.event_date, draft.country, draft.simhash
        self.area = Area.of_draft(draft)
        self.labels = draft.classification.label_names
        self.text = _Side(draft.terms, idf)

    def score(self, inc: IncidentState) -> tuple[float, float] | None:
        if abs((inc.event_date - self.day).days) > DAY_WINDOW:
            return None
        h = self.simhash
        copy = any(near_duplicate(h, other) for _, other in inc.copies)
        return _score(area_between(self.area, Area.of_incident(inc)), copy, self.country != inc.country,
                      labels_compatible(self.labels, inc.labels), lambda: self.text.cosine(inc.signature))


def match_score(draft: ArticleDraft, inc: IncidentState, idf: Idf) -> tuple[float, float] | None:
    """(score, similarity) when the article belongs to the incident, else None. Higher scores win."""
    return _Probe(draft, idf).score(inc)


def incident_match(a: IncidentState, b: IncidentState, idf: Idf, *, side: _Side | None = None,
                   copies: NearIndex | None = None) -> tuple[float, float] | None:
    """(score, similarity) when two incidents are one event by the rules an article joins an incident by,
    applied to both sides' places, labels, centroids and member copies; else None. Symmetric.

    Dates: all members of both must lie within `DAY_WINDOW` of each other. (A join compares the article
    with the incident's earliest date; applied to incidents, that would chain day after day of reports
    from one place into one incident.)"""
    if (max(a.last, b.last) - min(a.event_date, b.event_date)).days > DAY_WINDOW:
        return None  # every member within a day of every other: no chain of days becomes one incident
    kind = area_between(Area.of_incident(a), Area.of_incident(b))
    if kind is None and a.country == b.country:
        return None  # not even a copy joins two distinct places
    # `side` and `copies`: a's signature under `idf` and a's copies, when the caller compares it with many.
    copy = (copies or NearIndex(h for _, h in a.copies)).any_near(h for _, h in b.copies)
    text = side or _Side(a.signature, idf)
    return _score(kind, copy, a.country != b.country, labels_compatible(a.labels, b.labels),
                  lambda: text.cosine(b.signature))


def best_incident_match(inc: IncidentState, others: Iterable[IncidentState],
                        idf: Idf | None = None) -> IncidentState | None:
    """The other incident `inc` now matches best (ties to the lower id), or None. `inc` itself and
    incidents without an id are skipped."""
    idf = idf or Idf.uniform()
    best: IncidentState | None = None
    best_key: tuple[float, float] | None = None
    side, copies = _Side(inc.signature, idf), NearIndex(h for _, h in inc.copies)
    for other in others:
        if other.id is None or other.id == inc.id:
            continue
        scored = incident_match(inc, other, idf, side=side, copies=copies)
        if scored is not None and (best_key is None or (scored[0], -other.id) > best_key):
            best, best_key = other, (scored[0], -other.id)
    return best


def best_match(draft: ArticleDraft, candidates: Iterable[IncidentState],
               idf: Idf | None = None) -> tuple[IncidentState, float] | None:
    """The candidate this article belongs to, with its similarity, or None for a new incident.

    Ties go to the incident with the lower id (the older one), so the result does not depend on the order
    the store returned candidates in.
    """
    idf = idf or Idf.uniform()
    best: tuple[IncidentState, float] | None = None
    best_key: tuple[float, float] | None = None
    probe = _Probe(draft, idf)
    for inc in candidates:
        scored = probe.score(inc)
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
        last_date=draft.event_date,
        score=c.score,
    )


def merge(inc: IncidentState, draft: ArticleDraft, ceasefire: str | None, *,
          thresholds: Sequence[float] = ()) -> tuple[IncidentState, list[str]]:
    """Fold one more report into an incident. Returns the new state and the reasons for a revision:
    "new source" (one more *independent* source), "label", "casualties" (a higher figure), "place"
    (a more precise one), "ceasefire" (it now falls under a declared ceasefire, `ceasefire` as the caller
    decided it for the incident with this report; one once found stays), and "score A -> B" when the report
    lifts the incident's score across one of `thresholds` (the rules' min_score, see
    materiality.score_crossing): a rule that held the incident back now lets it through, even when the
    report is a copy from an outlet already counted, which otherwise is no news.

    A figure repeated by several sources counts once; a higher figure supersedes a lower one. Another item
    of an outlet already counted (an update, a re-titled re-publication) adds no source.
    """
    state, reasons = _fold(inc, new_incident(draft, ceasefire))
    return _settle(inc, state, reasons, inc.ceasefire or ceasefire, thresholds)


def merge_incidents(survivor: IncidentState, absorbed: IncidentState, *,
                    ceasefires: Sequence[CeasefireSettings] = (), reported_at: datetime | None = None,
                    thresholds: Sequence[float] = ()) -> tuple[IncidentState, list[str]]:
    """Fold a whole incident into another that turned out to be the same event: the survivor keeps its id
    and title, takes the more precise place, the union of labels, sources and members, the higher figures,
    the better score and the earlier date. Reasons are the survivor's (as `merge`) with "merged" first.

    The ceasefire is decided again from the merged facts, not taken from either side: the merged area and
    date, and `reported_at`, the earliest published time of both incidents' articles, which decides on the
    day a ceasefire starts or ends at a time of day (ceasefires.in_period). So an absorbed violation first
    reported after a truce began is none once merged with a report of the event from before it, and two
    incidents that were none may be one together. Without `ceasefires` (no registry to decide by) the
    survivor's ceasefire stays, else the absorbed one's is taken.
    """
    state, reasons = _fold(survivor, absorbed)
    ceasefire = incident_ceasefire(ceasefires, (survivor.ceasefire, absorbed.ceasefire), sticky=False,
                                   country=state.country, admin1=state.admin1, event_date=state.event_date,
                                   place=state.place, reported_at=lambda: reported_at)
    state, reasons = _settle(survivor, state, reasons, ceasefire, thresholds)
    return state, ["merged", *reasons]


def survivor_first(a: IncidentState, b: IncidentState) -> tuple[IncidentState, IncidentState]:
    """(survivor, absorbed) of two stored incidents found to be one event: the older one (the lower id)
    survives, as its public id is the one users already know."""
    assert a.id is not None and b.id is not None
    return (a, b) if a.id < b.id else (b, a)


def next_merge(inc: IncidentState, others: Iterable[IncidentState],
               idf: Idf | None = None) -> tuple[IncidentState, IncidentState] | None:
    """The merge an incident that just changed calls for: (survivor, absorbed) of it and the other incident
    it now matches best (`best_incident_match`), or None when it matches none. Repeated until None."""
    other = best_incident_match(inc, others, idf)
    return None if other is None else survivor_first(inc, other)


def merged_reasons(survivor: Sequence[str], merge: Sequence[str]) -> list[str]:
    """The reasons of the survivor's revision: "merged" first, then the reasons it had gathered in this
    batch and those the merge adds (`merge_incidents`), each once."""
    return list(dict.fromkeys(["merged", *(r for r in [*survivor, *merge] if r != "merged")]))


def _max(a: int | None, b: int | None) -> int | None:
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)


def _fold(inc: IncidentState, add: IncidentState) -> tuple[IncidentState, list[str]]:
    """Everything of `add` in `inc` but the ceasefire (see `_settle`), and the reasons so far."""
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
        last_date=max(inc.last, add.last),
        score=None if inc.score is None or add.score is None else max(inc.score, add.score),
    )
    if merged.source_count > inc.source_count:
        reasons.append("new source")
    if set(merged.labels) != set(inc.labels):
        reasons.append("label")
    if merged.killed != inc.killed or merged.injured != inc.injured:
        reasons.append("casualties")
    if PRECISION_RANK.get(add.geo_precision, 0) > PRECISION_RANK.get(inc.geo_precision, 0):
        merged = replace(merged, admin1=add.admin1 or inc.admin1, place=add.place, geonameid=add.geonameid,
                         lat=add.lat, lon=add.lon, geo_precision=add.geo_precision,
                         country=add.country or inc.country)
        reasons.append("place")
    return merged, reasons


def _settle(before: IncidentState, merged: IncidentState, reasons: list[str], ceasefire: str | None,
            thresholds: Sequence[float]) -> tuple[IncidentState, list[str]]:
    """`merged` with its ceasefire decided, and the reasons that compare it with `before` as a whole: a
    ceasefire it now falls under ("ceasefire"; losing one is no news to alert on), a score that rose across a
    threshold. A score that rose across none adds nothing: no revision, no alert."""
    if ceasefire and ceasefire != before.ceasefire:
        reasons.append("ceasefire")
    crossing = score_crossing(before.score, merged.score, thresholds)
    if crossing:
        reasons.append(crossing)
    return replace(merged, ceasefire=ceasefire), reasons


def canonical_order(drafts: Iterable[ArticleDraft]) -> list[ArticleDraft]:
    """The order a batch is grouped in, whatever order it came in: precisely placed reports first (they
    seed incidents that vaguer reports of the same event can then join by area and text), then by event
    date, publication time and fingerprint."""
    def key(d: ArticleDraft) -> tuple[int, date, datetime, str]:
        place = d.classification.place
        return -PRECISION_RANK.get(place.precision if place else None, 0), d.event_date, d.published_at, \
            d.fingerprint
    return sorted(drafts, key=key)


def group_batch(drafts: Sequence[ArticleDraft], idf: Idf | None = None) -> list[list[ArticleDraft]]:
    """Split a batch into clusters that would join each other (for tests and dry runs), merging two
    clusters when a join makes them match (as the store does). The result does not depend on the order
    of `drafts` (see `canonical_order`)."""
    clusters: dict[int, tuple[IncidentState, list[ArticleDraft]]] = {}
    for n, draft in enumerate(canonical_order(drafts)):
        match = best_match(draft, (s for s, _ in clusters.values()), idf)
        if match is None:
            clusters[n] = (replace(new_incident(draft, None), id=n), [draft])
            continue
        index = match[0].id
        assert index is not None
        state, members = clusters[index]
        state = merge(state, draft, None)[0]
        members = [*members, draft]
        while (pair := next_merge(state, (s for s, _ in clusters.values()), idf)) is not None:
            keep, gone = pair
            assert keep.id is not None and gone.id is not None
            gone_members = members if gone is state else clusters[gone.id][1]
            keep_members = clusters[keep.id][1] if gone is state else members
            del clusters[gone.id]
            state, members = merge_incidents(keep, gone)[0], [*keep_members, *gone_members]
            index = keep.id
        clusters[index] = (state, members)
    return [members for _, members in clusters.values()]
