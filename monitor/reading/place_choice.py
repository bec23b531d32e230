"""Which candidate place is the event's: features of the places the rules found, for the learned choice.

places.py finds the mentions and makes its own pick; this module describes every candidate (each
mention, and the country as a last resort) by what the rules already know about it, and lets the
place model (monitor.reading.choice) choose. Features are cheap: offsets, flags and distances, no
extra scan of the text per candidate.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from monitor.reading.choice import Model
from monitor.reading.gazetteer import Entry, distance_km
from monitor.reading.place_scan import SPEAKER_AFTER, WINDOW
from monitor.reading.word_index import with_first_characters

_FAR_KM = 300.0  # farther than this from every other place of the story: perhaps a far namesake
_NEAR_KM = 150.0
_ATTACK_SPAN = 400.0  # characters over which the distance to the attack phrase is measured
_CONTAINER_GAP = 3  # characters between a name and its container: ", " or " ("
_YEAR = with_first_characters(re.compile(r"\b(?:19|20)\d\d\b"))  # the look-ahead: the same matches, faster
# Where a strike came from, not where it landed: "fired from the northern Gaza Strip", "со стороны X".
_ORIGIN_BEFORE = with_first_characters(re.compile(
    r"(?:\bfrom|\bиз|\bсо\s+стороны)\s+(?:the\s+)?(?:[\w-]+(?:ern|ного|ной)\s+)?\Z", re.IGNORECASE))


@dataclass(frozen=True)
class Mention:
    start: int
    end: int
    entry: Entry
    locative: bool
    dateline: bool = False
    candidates: tuple[Entry, ...] = ()
    qualifier: bool = False  # "Kharkiv" in "Izium district, Kharkiv": the container of the mention before it
    contained: bool = False  # a container named after it holds it in the index ("Izium district, Kharkiv")


def features(text: str, mentions: Sequence[Mention], rule_pick: Mention | None, scores: dict[str, float],
             country: str | None, fallback: Entry | None,
             attack_at: Sequence[int] = ()) -> list[tuple[Entry, dict[str, float]]]:
    """One (entry, features) row per distinct candidate: the mentions' entries, then `fallback` (the
    country's entry), the rules' choice marked `rule`."""
    title_end = text.find("\n")
    title_end = len(text) if title_end < 0 else title_end
    size = max(len(text), 1)
    rows: dict[tuple[str, str, float | None, float | None], tuple[Entry, dict[str, float]]] = {}
    first_located = next((m for m in mentions if m.locative and not m.qualifier), None)
    points = [m.entry for m in mentions if m.entry.lat is not None and m.entry.precision != "country"]
    countries = [m.entry.country for m in mentions if m.entry.precision != "country"]
    # (`is` first: comparing Mentions field by field is slow, and the rules' pick is usually one of them)
    if rule_pick is not None and not any(m is rule_pick for m in mentions) and rule_pick not in mentions:
        mentions = [*mentions, rule_pick]  # a region the rules made of many places
    rule_entry = rule_pick.entry if rule_pick is not None else None
    # What depends only on the entry (a place named again) or its point is worked out once.
    placed = [o.entry for o in mentions if o.entry.precision != "country"]
    spots = list({(p.lat, p.lon): p for p in points}.values())  # one entry per point: the same nearest
    nearest_of: dict[tuple[float | None, float | None], float | None] = {}
    last = len(mentions) - 1
    for i, m in enumerate(mentions):
        e = m.entry
        key = (e.name, e.country, e.lat, e.lon)
        f = _entry_features(e, scores, country)
        if countries:
            f["country_share"] = countries.count(e.country) / len(countries)
        others = [o for o in placed if o is not e and o != e]  # (`is` first: a field-by-field test is slow)
        if others:  # the other places of the story in the same country: a far namesake has none
            f["country_others"] = sum(o.country == e.country for o in others) / len(others)
        # "X, Region" / "X (District, Region)": a name and the container right after it, far apart,
        # mean a namesake of X was found, and the container is the better place.
        if i < last and mentions[i + 1].start - m.end <= _CONTAINER_GAP and _far(e, mentions[i + 1].entry):
            f["far_from_container"] = 1.0
        if i > 0 and m.start - mentions[i - 1].end <= _CONTAINER_GAP and _far(e, mentions[i - 1].entry):
            f["container_of_far"] = 1.0
        # Set one by one, in this order (the model sums its terms in the order of the keys).
        f["rule"] = float(m is rule_pick or (rule_entry is not None and (rule_entry is e or rule_entry == e)))
        f["locative"] = float(m.locative)
        f["dateline"] = float(m.dateline)
        f["qualifier"] = float(m.qualifier)
        f["title"] = float(m.start < title_end)
        f["position"] = m.start / size
        f["first_located"] = float(m is first_located)
        f["speaker"] = float(bool(SPEAKER_AFTER.match(text[m.end:m.end + WINDOW])))
        f["ambiguous"] = float(len({(c.lat, c.lon) for c in m.candidates}) > 1)
        f["year_before"] = float(bool(_YEAR.search(text, max(0, m.start - 80), m.start)))
        f["contained"] = float(m.contained)
        f["origin"] = float(bool(_ORIGIN_BEFORE.search(text, max(0, m.start - 30), m.start)))
        point = (e.lat, e.lon)
        nearest = nearest_of[point] if point in nearest_of else nearest_of.setdefault(point, _nearest(e, spots))
        if nearest is not None:
            f["far"] = float(nearest > _FAR_KM)
            f["near_other"] = float(nearest <= _NEAR_KM)
        if attack_at:
            gap = min(abs(a - m.start) for a in attack_at)
            f["attack_gap"] = min(gap, _ATTACK_SPAN) / _ATTACK_SPAN
        if key in rows:  # a place named again: keep the strongest signals, count the mentions
            old = rows[key][1]
            for name, value in f.items():
                if name not in ("position", "attack_gap", "far"):
                    old[name] = max(old.get(name, 0.0), value)
            old["attack_gap"] = min(old.get("attack_gap", 1.0), f.get("attack_gap", 1.0))
            old["repeated"] = 1.0
        else:
            rows[key] = (e, f)
    if fallback is not None and (fallback.name, fallback.country, fallback.lat, fallback.lon) not in rows:
        f = _entry_features(fallback, scores, country)
        f["rule"] = float(rule_pick is None)
        rows[(fallback.name, fallback.country, fallback.lat, fallback.lon)] = (fallback, f)
    return list(rows.values())


def _nearest(e: Entry, points: list[Entry]) -> float | None:
    """The distance from `e` to the nearest place of the story at another point (None: no such place)."""
    elsewhere = [p for p in points if (p.lat, p.lon) != (e.lat, e.lon)]
    return min(distance_km(e, p) for p in elsewhere) if e.lat is not None and elsewhere else None


def _far(a: Entry, b: Entry) -> bool:
    return a.lat is not None and b.lat is not None and distance_km(a, b) > _NEAR_KM


def _entry_features(e: Entry, scores: dict[str, float], country: str | None) -> dict[str, float]:
    curated = e.prior >= 100.0
    return {
        f"precision_{e.precision}": 1.0,
        "district": float(e.division == 2), "province": float(e.division == 1),
        "prior": 0.0 if curated else max(0.0, min(e.prior, 8.0)) / 8.0,
        "curated": float(curated), "capital": float(e.capital), "focus": float(e.focus),
        "country_score": max(-1.0, min(scores.get(e.country, 0.0), 6.0)) / 6.0,
        "country_unnamed": float(e.country not in scores),
        "country_stated": float(scores.get(e.country, 0.0) >= 3.0),  # "in Syria", "shelled Armenia"
        "rule_country": float(e.country == country),
    }


def choose(model: Model, rows: list[tuple[Entry, dict[str, float]]]) -> Entry | None:
    """The candidate the model scores highest (None when there is none)."""
    if len(rows) == 1:  # the only candidate wins whatever its (finite) score
        return rows[0][0]
    best, best_score = None, -math.inf
    for entry, f in rows:
        score = model.logit(f)
        if score > best_score:
            best, best_score = entry, score
    return best
