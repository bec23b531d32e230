"""Place extraction: text + Gazetteer -> the places, countries and actors an incident report names.

monitor.place_scan finds the names and scores the countries the text names; this module chooses:

* each place mention takes the candidate whose country the text names, else the best-known one;
  a little-known name in a country the text does not name is dropped rather than guessed, and so
  are all-capital words (datelines such as "CAIRO" and acronyms are not incident places);
* the primary place is the first place introduced as a location ("in", "near", "shelled", "в",
  "под"), place precision before region; without one, the country a locative phrase names ("in
  northern Syria") decides, then the first place mentioned;
* a shared name is re-picked near the story's other places, and inside the container named right
  after it; a word that is only part of a longer unknown name ("Nasr" of "Beit Nasr", "Madinat" of
  "Madinat al Nasr") is not looked up alone; a province or city named right after a place ("Izium
  district, Kharkiv") is its container, not the place, and the container of an unknown location
  ("in Kirawa (Gwoza LGA)") is the most specific place known;
* a spelling the index lacks is looked up by its loose key ("Kharkov", "Ain Tamr"), and taken only
  as a location in a country the text names as a place; a small town the text does not place in a
  country is taken when another place of the story lies near it;
* a far namesake in a country nothing else supports loses to the town or province it is said to be
  in ("X in Y", "X (District, Province)"), and a name and its container are re-picked as a pair the
  admin hierarchy agrees on; a bulletin's container names a district by its bare name ("(Village,
  Loroum)"), and "(Town, Province)" reads the town (any spelling) the index puts in that province;
* "the southern countryside of X" lies 20 km south of X, "8 km west of X" 8 km west; "the capital"
  is the capital of the one country the text is about;
* a bulletin of places far apart, under a title that names no place, is about a region: the one the
  title names, else the region nearest the middle of the places;
* the incident's country is the primary place's; country names are weighed by role ("in Lebanon"
  and "shelled Armenia" count, "Russia-brokered" and mediators do not, "Armenian positions" points
  to Armenia, "Azerbaijani forces" does not point anywhere).
"""

from __future__ import annotations

import dataclasses
import functools
import math
import re
from collections.abc import Sequence, Set
from dataclasses import dataclass

from monitor.models import Place
from monitor.reading import place_choice
from monitor.reading.choice import Model
from monitor.reading.gazetteer import (
    PART_PRIOR,
    Entry,
    Gazetteer,
    bare_division_name,
    distance_km,
    loose_key,
    name_key,
    word_key,
)
from monitor.reading.place_choice import Mention as _Mention
from monitor.reading.place_scan import LOCATIVE_BEFORE, SPEAKER_AFTER, STRUCK_AFTER, WINDOW, scan_names
from monitor.reading.word_index import with_first_characters

# The searches over the words before a name run through with_first_characters (as place_scan's do): the
# same matches, but the positions no match can begin at are turned away with one test.
_VENUE_BEFORE = with_first_characters(re.compile(
    r"(?:talks|negotiations|summit|meeting|conference|mediators?|signed|переговор\w*|"
    r"встреч\w*|саммит\w*)\s+(?:(?:held|hosted|resumed|taking place|under ?way|"
    r"прошл\w*|проход\w*)\s+)?(?:in|at|в|на)\s+(?:the\s+)?"
    r"(?:[\w-]+\s+(?:city\s+of\s+|capital\s+)?)?$", re.IGNORECASE))
_BACKGROUND_BEFORE = with_first_characters(re.compile(
    r"\b(?:following|after|since)\s+(?:a|an|the|last\s+\w+['’]s)\s+[^.;\n]{0,80}?"
    r"\b(?:that|which)\b[^.;\n]*$", re.IGNORECASE))
_VENUE_AFTER = re.compile(r"\s+(?:peace\s+)?(?:talks|negotiations|summit|process|agreements?|accords?|declaration|"
                          r"format|platform|protocol|memorandum|переговор\w*|соглашени\w*|договоренност\w*|"
                          r"формат\w*|протокол\w*)\b", re.IGNORECASE)
# A name that starts an armed unit's or group's name: "the X Division", "X Brigade", "Liwa X Front".
_UNIT_AFTER = re.compile(r"(?:\s+(?:al[- ])?[A-Z][\w'’-]*){0,2}\s+(?:Division|Brigades?|Battalions?|Regiments?|"
                         r"Army|Front|Corps|Legion|Squadron|Group|Movement|Militia)\b")
# Arabic words that open a militia's name: "Liwa (brigade) X", "Jaish (army) X", "Kataib (battalions) X".
_UNIT_BEFORE = with_first_characters(
    re.compile(r"\b(?:Liwa|Jaysh|Jaish|Kata['’]?ib|Harakat|Ansar)\s+(?:[\w'’-]+\s+){0,2}\Z"))
_TITLE_BEFORE = with_first_characters(re.compile(r"(?:President|Minister|Mr|Mrs|Ms|Gen|General|Colonel|Col|Sen|Senator|"
                           r"президент|министр|глава)\.?\s+$", re.IGNORECASE))
# A wire dateline opening the body: "JUBA Renewed fighting ...", "DIYARBAKIR, Turkey Four people ...".
_DATELINE = re.compile(r"\n\s*(?P<city>[A-Z][A-Z'’.-]+(?: [A-Z][A-Z'’.-]+)?)"
                       r"(?=[,\s(]+(?:\(\w+\)\s*[-–—]?\s*)?[A-Z]?[a-z]|,)")
# Words before a demonym that make it the target: "positions of the ВСУ", "позиции ВСУ".
# Words that make the name next to them a settlement or area: "the town of X", "X area", "X district".
_SETTLEMENT_BEFORE = with_first_characters(re.compile(
    r"\b(?:village|town|city|settlement|area|district|suburb|outskirts)\s+of\s+\Z", re.IGNORECASE))
_AREA_AFTER = re.compile(r"\s+(?:area|district|village|town|sector|region|province|countryside)\b", re.IGNORECASE)
# A capitalised name, perhaps with an area word, then "(" or "," opening its container.
_NAME_THEN_CONTAINER = with_first_characters(re.compile(
    r"\b(?P<name>[A-Z][\w'’-]*(?:[ -][A-Z][\w'’-]*){0,3})"
    r"(?:\s+(?:region|area|village|town|sector|district))?\s*(?:\(|,)\s*\Z"))
# "the southern countryside of X", "12 km north-east of X": the incident lies off X in that direction.
# The look-ahead names the characters a match can begin with (a digit or a compass word), so a search
# turns the other positions away with one test.
_OFFSET_BEFORE = re.compile(r"(?=[\dnsew])(?:(?P<km>\d{1,3}(?:\.\d)?)\s*(?:km|kilomet(?:er|re)s?)\s+)?"
                            r"(?P<dir>(?:north|south)(?:-?(?:east|west))?|east|west)(?:ern)?"
                            r"(?(km)|\s+(?:countryside|rural\s+areas?))\s+of\s+(?:the\s+)?(?:[A-Za-z]{1,3}-)?\Z",
                            re.IGNORECASE)
_COUNTRYSIDE_KM = 20.0  # the middle of a town's countryside (its villages lie some 5-40 km out)
# Priors are the digits of the population plus its first digit / 10 (Gazetteer._row_entry): 4.5 is
# 5,000 people, 6.0 is 100,000.
# "the capital" with no country after it ("the capital of Yemen" is place_scan's).
_BARE_CAPITAL = re.compile(r"\bthe\s+(?P<capital>capital)\b(?!\s+(?:of|city\s+of)\b|['’]s|\s+[A-Z])")
_MIN_PRIOR = 4.5  # ~5,000 people: a name this well known is taken without its country being named
_WORLD_CITY = 6.0  # ~100,000 people: taken even when the text names other countries
_MIN_UNIQUE_PRIOR = 2.5  # ~50 people: the only place of that name (or all in one country), in the index
_CURATED = 100.0
_NEAR_KM = 150.0  # a shared name is re-picked near the story's other places within this distance
_NEAR_PRIOR = 1.0  # ... or a candidate this close in prior that is several times nearer to them
_SPREAD_KM = 100.0  # places farther apart than this make a report about a region (_spread_region)
# A Russian district named by its town's adjective: "Глушковского района", "Рыльском районе".
_RU_DISTRICT = re.compile(r"[А-ЯЁ][а-яё-]*?(?:ск|цк)(?:ий|ого|ому|им|ом|ая|ой|ую)", re.IGNORECASE)
_RU_DISTRICT_NOUN = re.compile(r"\s+(?:район|округ)\w*", re.IGNORECASE)
# A capitalised name in a container's place: after "(" or "," and before ",", ")" or a full stop.
_CONTAINER_NAME = re.compile(r"[(,]\s*(?P<name>[A-Z][\w'’-]*(?:\s+(?:[A-Z][\w'’-]*|del|de|di|da|do)){0,3})"
                             r"(?=\s*(?:[,);]|\.(?:\s|$)|$))")
# "(Town, Province)" of a bulletin, or "Town, Province" ending a clause.
_TOWN_PROVINCE = re.compile(r"(?P<town>[A-Z][\w'’-]*(?:\s+[A-Z][\w'’-]*){0,2})(?:\s+(?:district|LGA|town|city))?,\s*"
                            r"(?P<province>[A-Z][\w'’-]*(?:\s+(?:[A-Z][\w'’-]*|del|de|di|do)){0,3})"
                            r"(?:\s+(?:province|region|governorate|state|county|oblast))?(?=\s*[.;)]|,\s*[a-z]|\s*$)")
_QUALIFIER_GAP = re.compile(r"(?:\s+(?:sector|area|village|town|district|city|cent(?:er|re)|camp|LGA|commune))*"
                            r"(?:\s+in\s+(?:the\s+)?[A-Z][\w'’]*(?:[\s-]+(?:al|el|[A-Z][\w'’]*)){0,3})?"  # "in Jabal X"
                            r"(?:,\s*|\s*\(\s*|\s+in\s+"
                            r"|\s+(?:sector|area)\s+of\s+"
                            r"|\s+in\s+(?:the\s+)?(?:[a-z-]+\s+)?(?:countryside|outskirts|suburbs|province|region|"
                            r"district|governorate|county)\s+of\s+(?:[A-Za-z]{1,3}-)?)")  # "of Al-X": the name is X


@dataclass(frozen=True)
class FoundPlaces:
    """The places of one text, primary first, its incident countries and the armed actors named."""

    places: tuple[Place, ...] = ()
    countries: tuple[str, ...] = ()
    actors: tuple[str, ...] = ()
    primary: Place | None = None


def extract_places(text: str, lang: str, gazetteer: Gazetteer, model: Model | None = None,
                   attack_at: Sequence[int] = ()) -> FoundPlaces:
    """Find the places, incident countries and actors of `text` (title and body joined). With a
    place `model`, it chooses the primary place among the rules' candidates (place_choice);
    `attack_at` are the offsets of the attack phrases."""
    del lang  # keys are language-neutral; the script of each word decides how it is keyed
    mentions, rule_pick, primary_country, scores, actors = _found(text, gazetteer)
    countries = _countries(primary_country, mentions, scores)
    fallback = gazetteer.country_places.get(countries[0]) if countries else None
    if model is not None:
        rows = place_choice.features(text, mentions, rule_pick, scores, primary_country, fallback, attack_at)
        chosen = place_choice.choose(model, rows)
        if chosen is not None and chosen.country != primary_country:
            countries = _countries(chosen.country, mentions, scores)
    else:
        chosen = rule_pick.entry if rule_pick else fallback
    places = [_place(m.entry) for m in mentions]
    primary = _place(_offset(text, mentions, chosen)) if chosen is not None else None
    if primary is not None:
        places = [primary, *(p for p in places if p != primary)]
    return FoundPlaces(tuple(dict.fromkeys(places)), countries, tuple(dict.fromkeys(actors)), primary)


def _offset(text: str, mentions: Sequence[_Mention], chosen: Entry) -> Entry:
    """The chosen place moved where the text puts the incident relative to it: "the southern
    countryside of X" lies some _COUNTRYSIDE_KM south of X, "8 km west of X" 8 km west; a region
    entry named for it. Anything else: the place itself."""
    if chosen.lat is None or chosen.lon is None or chosen.precision == "country":
        return chosen
    for m in mentions:
        if m.entry != chosen:
            continue
        before = _OFFSET_BEFORE.search(text, max(0, m.start - 60), m.start)
        if before is None:
            continue
        north, east = _compass(before.group("dir"))
        km = float(before.group("km")) if before.group("km") else _COUNTRYSIDE_KM
        lat = chosen.lat + north * km / 111.2
        lon = chosen.lon + east * km / (111.2 * max(math.cos(math.radians(chosen.lat)), 0.1))
        name = f"{before.group('dir').lower()} of {chosen.name}" if before.group("km") else \
            f"{chosen.name} countryside"
        return dataclasses.replace(chosen, name=name, lat=round(lat, 4), lon=round(lon, 4), precision="region",
                                   geonameid=None)
    return chosen


def _compass(direction: str) -> tuple[float, float]:
    """A unit (north, east) vector for a direction word: "south-western" -> (-0.71, -0.71)."""
    word = direction.lower()
    north = float("north" in word) - float("south" in word)
    east = float("east" in word) - float("west" in word)
    length = math.hypot(north, east) or 1.0
    return north / length, east / length


def place_rows(text: str, gazetteer: Gazetteer,
               attack_at: Sequence[int] = ()) -> list[tuple[Entry, dict[str, float]]]:
    """The candidates of `text` with their features (for scripts/fit_weights.py)."""
    mentions, rule_pick, primary_country, scores, _ = _found(text, gazetteer)
    countries = _countries(primary_country, mentions, scores)
    fallback = gazetteer.country_places.get(countries[0]) if countries else None
    return place_choice.features(text, mentions, rule_pick, scores, primary_country, fallback, attack_at)


def _found(text: str, gazetteer: Gazetteer) -> tuple[list[_Mention], _Mention | None, str | None,
                                                     dict[str, float], list[str]]:
    """The mentions of `text`, the rules' primary mention and country, the country scores, the actors."""
    scan = scan_names(text, gazetteer)
    # Countries the text names, including those of the regions it names ("Курской области"); those
    # named only as actors ("ВСУ", score 0) count for less when a name is shared.
    named = {cc: (1.0 if s == 0.0 else 3.0) for cc, s in scan.scores.items()}
    named.update({c[0].country: 3.0 for _, _, c in scan.places
                  if c[0].precision == "region" and len({e.country for e in c}) == 1})
    found = [(s, e, cands, _resolve(text, s, e, cands, named)) for s, e, cands in scan.places if s not in scan.loose]
    anchors = [m.entry for *_, m in found if m is not None and m.entry.lat is not None]
    mentions = [m for *_, m in found if m] + _supported(text, [f[:3] for f in found if f[3] is None], anchors, named)
    # Variant spellings must lie near the story's locations (not near "Moscow" of "Moscow says").
    located = [m.entry for m in mentions if m.locative and m.entry.lat is not None and m.entry.prior != PART_PRIOR]
    mentions += [m for m in (_resolve_loose(text, s, e, cands, named, located) for s, e, cands in scan.places
                             if s in scan.loose) if m]
    mentions = _district_containers(text, mentions, gazetteer, named, scan.scores)
    mentions = _agreeing_pairs(text, mentions, gazetteer, scan.scores)
    mentions.sort(key=lambda m: m.start)
    mentions = _containers_of_unknown(text, mentions, {e for _, e, _ in scan.places})
    mentions = _qualifiers(text, _near_each_other(mentions), named)
    dateline = _dateline(text, gazetteer, named)
    if dateline is not None and dateline.entry.country in named:
        mentions.append(dateline)
    mentions += _the_capital(text, mentions, gazetteer, scan.scores)
    primary_mention, primary_country = _primary(mentions, scan.scores)
    spread = _spread_region(text, mentions, primary_mention, gazetteer)
    if spread is not None:
        primary_mention = spread
    return mentions, primary_mention, primary_country, scan.scores, scan.actors


def _the_capital(text: str, mentions: list[_Mention], gazetteer: Gazetteer,
                 scores: dict[str, float]) -> list[_Mention]:
    """"Bombs rocked the capital", "fighting in the capital": the capital of the country the text is
    about (the one it names as a place, else the one all its places are in), as a location."""
    if "capital" not in text:  # what _BARE_CAPITAL needs: most texts are done here
        return []
    stated = [cc for cc, s in scores.items() if s >= 3.0]
    countries = stated if len(stated) == 1 else list({m.entry.country for m in mentions}) if not stated else []
    if len(countries) != 1:
        return []
    for match in _BARE_CAPITAL.finditer(text):
        start = match.start("capital")
        if LOCATIVE_BEFORE.search(text[max(0, start - WINDOW):start]) and not _VENUE_BEFORE.search(
                text[max(0, start - 40):start]):
            entry = gazetteer.capital_of(countries[0])
            return [_Mention(start, match.end(), entry, True)] if entry is not None else []
    return []


def _dateline(text: str, gazetteer: Gazetteer, named: dict[str, float]) -> _Mention | None:
    """The city of a wire dateline, a place of last resort: it is where the report was filed."""
    m = _DATELINE.search(text)
    if m is None or "/" in m.group("city"):
        return None
    key = " ".join(word_key(w) for w in m.group("city").split())
    candidates = gazetteer.lookup(key) if key not in gazetteer.stoplist else ()
    if not candidates:
        return None
    best = max(candidates, key=lambda e: e.prior + named.get(e.country, 0.0))
    if best.capital:
        return None  # agencies file from capitals: "KABUL, Afghanistan - ... in the far west"
    return _Mention(m.start("city"), m.end("city"), best, False, dateline=True)


def _resolve(text: str, start: int, end: int, candidates: tuple[Entry, ...],
             named: dict[str, float]) -> _Mention | None:
    """Pick a candidate for one mention, or None when the mention is not a place of this story."""
    if _TITLE_BEFORE.search(text[max(0, start - 20):start]):
        return None  # "President Aliyev", not a village called Aliyev
    if _UNIT_AFTER.match(text, end, end + 60) or _UNIT_BEFORE.search(text, max(0, start - 30), start):
        return None  # "the Sultan Selim Brigade", "Liwa al-Quds": an armed unit named after a person or place
    if _VENUE_BEFORE.search(text[max(0, start - 40):start]) or _VENUE_AFTER.match(text, end):
        return None  # "talks in Jeddah", "the Minsk agreements": where diplomats meet, not where they fight
    best = max(candidates, key=lambda e: e.prior + named.get(e.country, 0.0) + (1.5 if e.focus else 0.0))
    if best.division:  # "Herat": the city, not the province of the same name
        best = max((e for e in candidates if e.precision == "place" and e.country == best.country),
                   key=lambda e: e.prior, default=best)
    if best.capital and SPEAKER_AFTER.match(text[end:end + WINDOW]):
        return None  # "Moscow says", "Baku's forces": the government, not the place
    if not _plausible(best, candidates, named):
        return None
    locative = bool(LOCATIVE_BEFORE.search(text[max(0, start - WINDOW):start])
                    or STRUCK_AFTER.match(text[end:end + WINDOW]))
    if locative and _BACKGROUND_BEFORE.search(text[max(0, start - 120):start]):
        locative = False  # "... following a bombing that killed 12 people in Kabul": another event
    return _Mention(start, end, best, locative, candidates=candidates)


def _resolve_loose(text: str, start: int, end: int, candidates: tuple[Entry, ...], named: dict[str, float],
                   anchors: list[Entry]) -> _Mention | None:
    """_resolve for a name found only by its loose key. A variant spelling is a guess, taken only as
    a location ("in Kharkov") in a country the text names as a place and, when the text names other
    places, within _NEAR_KM of one of them. In a text that names no country, a province or a well-known
    city of one country is taken where an area word follows ("X countryside", "X province")."""
    kept = tuple(e for e in candidates if named.get(e.country, 0.0) >= 3.0 and e.lat is not None and (
        not anchors or _near_any(e, anchors)))
    if not kept and not named and _AREA_AFTER.match(text, end):
        # "Dayr Azzur countryside", "X province" in a text that names no country: a province or a
        # city well known, all of one country, is the name's reading
        known = tuple(e for e in candidates if e.lat is not None and (e.division == 1 or e.prior >= _WORLD_CITY))
        if len({e.country for e in known}) == 1:
            kept = known
            named = {known[0].country: 3.0}
    candidates = kept
    mention = _resolve(text, start, end, candidates, named) if candidates else None
    if mention is None or not (mention.locative or _SETTLEMENT_BEFORE.search(text, max(0, start - 20), start)
                               or _AREA_AFTER.match(text, end)):
        return None
    return mention


def _near_any(entry: Entry, anchors: list[Entry]) -> bool:
    """Whether `entry` (with coordinates) lies within _NEAR_KM of one of `anchors`."""
    return any(distance_km(entry, a) <= _NEAR_KM for a in anchors)


def _supported(text: str, rejected: list[tuple[int, int, tuple[Entry, ...]]], anchors: list[Entry],
               named: dict[str, float]) -> list[_Mention]:
    """Second chance for names turned down as too obscure for a country the text does not name:
    a small town is taken when another place of the story, taken on its own merits, lies within
    _NEAR_KM of it ("the countryside of Saraqib, south of Idlib": Idlib vouches for Saraqib)."""
    out = []
    for start, end, candidates in rejected:
        near = tuple(e for e in candidates if e.lat is not None and _near_any(e, anchors))
        if near:
            mention = _resolve(text, start, end, near, {**named, **{e.country: 3.0 for e in near}})
            if mention is not None:
                out.append(mention)
    return out


def _district_containers(text: str, mentions: list[_Mention], gazetteer: Gazetteer,
                         named: dict[str, float], stated: dict[str, float]) -> list[_Mention]:
    """Districts named where a bulletin puts a container ("Kiyo (Loroum, Nord)", "Village X, Town,
    Province."), found by their bare name, which the index keys only with a type word. A district is
    taken when the text supports its country (named, or another place of the story there, or its
    province named too), or when it is the only one of that name, in a monitored country; it
    replaces a mention of the same words in a country nothing supports (`stated`: the countries
    the text names itself, not through its regions)."""
    out = list(mentions)
    for match in _CONTAINER_NAME.finditer(text):
        start, end = match.span("name")
        key, candidates = _districts(gazetteer, match.group("name"))
        if not candidates:
            continue
        others = [m for m in out if m.end <= start or m.start >= end]
        here = [i for i, m in enumerate(out) if m.start < end and m.end > start]
        countries = {m.entry.country for m in others}
        provinces = {m.entry.admin1 for m in others if m.entry.precision == "region"}

        def support(e: Entry) -> float:
            return (named.get(e.country, 0.0) + 2.0 * (e.country in countries)  # noqa: B023
                    + 3.0 * (e.admin1 in provinces))  # noqa: B023
        best = max(candidates, key=support)
        rivals = {e.country for e in candidates if support(e) >= support(best)}
        # With no support, a name of one country only: in a monitored one, or of several words
        # ("Davao Oriental"), or read by the scan as a place in a country nothing else supports.
        alone = len({e.country for e in candidates}) == 1 and (best.focus or " " in key or bool(here))
        if len(rivals) > 1 or not (support(best) > 0.0 or alone):
            continue
        if here:
            scanned, shorter = out[here[0]].entry, out[here[0]].end - out[here[0]].start < end - start
            if (len(here) > 1 or scanned.country in stated or scanned.country in countries
                    or scanned.country == best.country or (scanned.precision == "region" and not shorter)):
                continue  # the scan's reading of these words stands
            del out[here[0]]
        out.append(_Mention(start, end, best, False, candidates=candidates))
    return out


def _agreeing_pairs(text: str, mentions: list[_Mention], gazetteer: Gazetteer,
                    stated: dict[str, float]) -> list[_Mention]:
    """A bulletin's "(Town, Province)": the town is the candidate, by exact or variant spelling,
    that the index puts in a province of the second name ("(Bardhere, Gedo)" reads Gedo Region's
    Baardheere, whatever its spelling). Such agreement outweighs a far namesake the scan found; a
    mention of a country the text names itself stands."""
    out = list(mentions)
    for match in _TOWN_PROVINCE.finditer(text):
        start, end = match.span("town")
        wanted, inside = _towns_in_province(gazetteer, match.group("town"), match.group("province"))
        if wanted is None:
            continue  # the town's words are a stop word
        here = [i for i, m in enumerate(out) if m.start < end and m.end > start]
        if any(out[i].entry.precision == "place" and _held_by((out[i].entry,), wanted) for i in here):
            continue  # the scan's pick is a town that agrees already
        if not inside:
            continue
        pick = max(inside, key=lambda e: e.prior)
        if any(out[i].entry == pick or out[i].entry.country in stated for i in here):
            continue
        out = [m for i, m in enumerate(out) if i not in here]
        out.append(_Mention(start, end, pick, False, candidates=tuple(inside)))
    return out


def _districts(gazetteer: Gazetteer, name: str) -> tuple[str, tuple[Entry, ...]]:
    """The key of a container's `name` and the districts of that bare name (none for a stop word);
    the same names recur from text to text, so the answer is kept (Gazetteer.derived)."""
    def make() -> tuple[str, tuple[Entry, ...]]:
        key = name_key(name)
        return key, () if key in gazetteer.stoplist else gazetteer.districts_named(key)
    found: tuple[str, tuple[Entry, ...]] = gazetteer.derived(("districts", name), make)
    return found


def _towns_in_province(gazetteer: Gazetteer, town: str, province: str) -> tuple[frozenset[str] | None,
                                                                               list[Entry]]:
    """For "Town, Province": the keys the province is met by, and the settlements or districts named
    `town` (by exact, then variant spelling, then as a bare district name) that the index puts in
    it; (None, []) when `town` is a stop word. Kept, like _districts."""
    def make() -> tuple[frozenset[str] | None, list[Entry]]:
        town_key, province_key = name_key(town), name_key(province)
        if town_key in gazetteer.stoplist:
            return None, []
        wanted = {province_key, loose_key(province_key)}
        return frozenset(wanted), (_held_by(gazetteer.lookup(town_key), wanted)
                                   or _held_by(gazetteer.lookup_loose(town_key), wanted)
                                   or _held_by(gazetteer.districts_named(town_key), wanted))
    found: tuple[frozenset[str] | None, list[Entry]] = gazetteer.derived(("towns in province", town, province),
                                                                         make)
    return found


def _held_by(candidates: Sequence[Entry], wanted: Set[str]) -> list[Entry]:
    """The settlements and districts of `candidates` whose province or district has one of the
    `wanted` keys (exact or loose, with or without its type word)."""
    return [e for e in candidates if e.lat is not None and (e.precision == "place" or e.division >= 2) and any(
        a is not None and not _division_keys(a).isdisjoint(wanted)
        for a in (e.admin1, e.admin2 if e.precision == "place" else None))]


@functools.lru_cache(maxsize=4096)
def _division_keys(name: str) -> frozenset[str]:
    """The keys a division's name is met by: "Gedo Region" -> gedo region, gedo, and their loose keys."""
    keys = {name_key(n) for n in (name, bare_division_name(name, shortest=2) or name)}
    return frozenset(keys | {loose_key(k) for k in keys})


def _containers_of_unknown(text: str, mentions: list[_Mention], scanned: set[int]) -> list[_Mention]:
    """Make a location of the container of an unknown name that is a location: "in Kirawa (Gwoza
    LGA)", "targeted X area (Sirwah, ...)", "at Chiragli, Tartar". The gazetteer lacks the first
    name, so its container is the most specific place known of the incident. `scanned`: the ends of
    the names the gazetteer knows (their containers are _qualifiers' business)."""
    out = []
    for m in mentions:
        if not m.locative:
            before = _NAME_THEN_CONTAINER.search(text, max(0, m.start - 60), m.start)
            if (before is not None and before.end("name") not in scanned
                    and LOCATIVE_BEFORE.search(text[max(0, before.start() - WINDOW):before.start()])):
                m = dataclasses.replace(m, locative=True)
        out.append(m)
    return out


def _near_each_other(mentions: list[_Mention]) -> list[_Mention]:
    """Re-pick shared names by proximity: of the many villages called Ivanivka, the one near the
    other places of the story. Anchors are the mentions that are sure of their place: an unambiguous
    name, a curated entry (a named region, a front-line town). A candidate within _NEAR_KM of an
    anchor replaces a farther pick; so does a candidate as well known (within _NEAR_PRIOR) that is
    much nearer, when the pick is far from every anchor."""
    spots = [len({(e.lat, e.lon) for e in m.candidates}) for m in mentions]  # distinct points per name
    anchors = [(i, m.entry) for i, m in enumerate(mentions) if m.entry.lat is not None and
               (spots[i] == 1 or m.entry.prior >= _CURATED)]
    if not anchors:
        return mentions
    out = []
    for i, m in enumerate(mentions):
        others = [a for j, a in anchors if j != i and (a.lat, a.lon) != (m.entry.lat, m.entry.lon)]
        if not others or m.entry.lat is None or spots[i] < 2:
            out.append(m)
            continue
        current = min(distance_km(m.entry, a) for a in others)
        if current <= _NEAR_KM:  # the pick is near the story already: no candidate can replace it
            out.append(m)
            continue
        pick = _nearer(m, others, current)
        if pick is not None:
            m = dataclasses.replace(m, entry=pick, qualifier=False)
        out.append(m)
    return out


def _nearer(m: _Mention, others: list[Entry], current: float) -> Entry | None:
    """_near_each_other's pick for `m`, whose entry lies `current` km (> _NEAR_KM) from the nearest
    of `others`: the best-known candidate within _NEAR_KM of them, else the nearest one as well
    known that is several times nearer; None when there is none."""
    reached: dict[tuple[float, float], float] = {}  # namesakes share points: each is measured once

    def reach(e: Entry) -> float:
        if e.lat is None or e.lon is None:
            return math.inf
        point = (e.lat, e.lon)
        if point not in reached:
            reached[point] = min(distance_km(e, a) for a in others)
        return reached[point]
    near = [e for e in m.candidates if e.lat is not None and reach(e) <= _NEAR_KM]
    if near:
        return max(near, key=lambda e: e.prior)
    similar = [e for e in m.candidates if e.lat is not None and e.prior >= m.entry.prior - _NEAR_PRIOR
               and e.precision == m.entry.precision and reach(e) * 3 < current]
    return min(similar, key=reach) if similar else None


def _qualifiers(text: str, mentions: list[_Mention], named: dict[str, float]) -> list[_Mention]:
    """Mark the containers that follow a place: "Izium district, Kharkiv", "Kramatorsk (Donetsk
    region)", "Rafah (Rafah, North Sinai)", "деревня X Глушковского района". They say where the place
    before them lies, so they are not the incident's place themselves; the place is re-picked inside
    the last of them (_inside)."""
    out: list[_Mention] = []
    head = -1  # index in out of the place the current chain of containers qualifies
    for m in mentions:
        prev = out[-1] if out else None
        district = _RU_DISTRICT.fullmatch(text, m.start, m.end) is not None and \
            _RU_DISTRICT_NOUN.match(text, m.end) is not None
        gap = prev is not None and _QUALIFIER_GAP.fullmatch(text, prev.end, m.start) is not None
        if prev is not None and gap and not prev.qualifier:
            prev, m = _agree(prev, m)
            out[-1] = prev
        if prev is not None and (
                (gap
                 and (_contains(m.entry, prev.entry, named) or prev.qualifier
                      or text[m.start:m.end] == text[prev.start:prev.end] or m.entry.name == prev.entry.name))
                or (district and text[prev.end:m.start].isspace())):
            head = head if prev.qualifier and head >= 0 else len(out) - 1
            container = dataclasses.replace(m.entry, precision="region") if district else m.entry
            # The place and the containers before this one ("Rafah (Rafah, North Sinai)": the
            # district named after its town) are all re-picked inside it.
            for j in range(head, len(out)):
                out[j] = _inside(out[j], container)
            if _holds(container, out[head].entry):
                out[head] = dataclasses.replace(out[head], contained=True)
            m = dataclasses.replace(m, locative=False, qualifier=True)
        out.append(m)
    return out


def _agree(inner: _Mention, outer: _Mention) -> tuple[_Mention, _Mention]:
    """A name and the container after it, re-picked as a pair the index puts one inside the other
    ("Bourem, Gao": Mali's Gao, whose region holds Bourem, not a Gao elsewhere), when their
    picks do not agree and some pair of their candidates does; the best-known such pair."""
    if _holds(outer.entry, inner.entry):
        return inner, outer
    pairs = [(a, b) for a in inner.candidates or (inner.entry,) for b in outer.candidates or (outer.entry,)
             if a != b and _holds(b, a)]
    if not pairs:
        return inner, outer
    a, b = max(pairs, key=lambda p: p[0].prior + p[1].prior)
    return dataclasses.replace(inner, entry=a), dataclasses.replace(outer, entry=b)


def _holds(outer: Entry, inner: Entry) -> bool:
    """Whether the index puts `inner` inside `outer`: a division holding it, or a bigger town of its
    district, or of its province and near."""
    if outer.country != inner.country or outer.lat is None or inner.lat is None:
        return False
    if outer.precision == "region":
        return _in_division(inner, outer) or distance_km(inner, outer) <= _NEAR_KM / 3
    return inner.precision == "place" and outer.prior > inner.prior and (
        (inner.admin2 is not None and inner.admin2 == outer.admin2)
        or (inner.admin1 is not None and inner.admin1 == outer.admin1 and distance_km(inner, outer) <= _NEAR_KM))


def _inside(mention: _Mention, region: Entry) -> _Mention:
    """A place re-picked inside the region named as its container: "Shahpur sector (Poonch district)"
    is not a Shahpur 500 km away, "Rafah (Rafah, North Sinai)" is Egypt's Rafah. With no namesake
    near the region, the place is one the gazetteer lacks, and the region is the most specific place
    known."""
    entry = mention.entry
    district = entry.division >= 2  # "X district, Province": a district is re-picked like a place
    if (entry.precision != "place" and not district) or None in (entry.lat, region.lat) or entry == region:
        return mention
    if region.precision == "place" and entry.prior >= region.prior and entry.country == region.country:
        return mention  # a list of towns ("Kharkiv, Dnipro"), not a village and its town
    if entry.country == region.country and (distance_km(entry, region) <= _NEAR_KM or _in_division(entry, region)):
        return mention
    near = [e for e in mention.candidates if e.lat is not None and e.precision == entry.precision
            and e.country == region.country and (distance_km(e, region) <= _NEAR_KM or _in_division(e, region))]
    if near:
        pick = max(near, key=lambda e: e.prior)
    elif region.precision == "place" and entry.country == region.country:
        return mention  # a town of the same country: perhaps far from the town named after it, but not a namesake
    elif entry.prior < _MIN_PRIOR or entry.country != region.country or any(
            e.precision == "place" and e.lat is not None and distance_km(e, entry) > _NEAR_KM
            for e in mention.candidates):
        pick = region  # a shared, little-known or foreign name: the one meant is not in the index
    else:
        return mention  # a unique, well-known place in a list ("Kharkiv, Dnipro region and Odesa")
    return dataclasses.replace(mention, entry=pick, qualifier=False)


def _in_division(entry: Entry, region: Entry) -> bool:
    """Whether the index puts `entry` inside the division `region` (a large province's centre may
    lie farther than _NEAR_KM from its villages)."""
    if region.division == 1 or (region.precision == "region" and not region.division):
        return entry.admin1 is not None and entry.admin1 == region.admin1
    return region.division == 2 and entry.admin2 is not None and entry.admin2 == region.admin2


def _contains(outer: Entry, inner: Entry, named: dict[str, float]) -> bool:
    """Whether `outer`, named right after `inner`, reads as the area containing it: a region after a
    place, a clearly bigger town after a village, a province (or its town) after a district, a
    known place after a far namesake in a country the text does not name ("Alexandria in Aleppo" is not
    the one of Egypt: a list of towns rarely spans countries it leaves unnamed)."""
    if inner.precision == "place":
        return outer.precision == "region" or outer.prior >= max(inner.prior + 1.5, 5.0) or (
            inner.country != outer.country and inner.country not in named and outer.focus
            and outer.prior >= inner.prior - 0.5
            and None not in (inner.lat, outer.lat) and distance_km(inner, outer) > _NEAR_KM)
    return inner.division == 2 and outer.division != 2


def _spread_region(text: str, mentions: list[_Mention], primary: _Mention | None,
                   gazetteer: Gazetteer) -> _Mention | None:
    """A region for a report of many places far apart (a bulletin: "fire near A; near B; outside C"):

    * the title names a region as the location and no place, and the body's places lie more than
      _SPREAD_KM apart: that region ("... breach ceasefire 17 times in Donbas");
    * the title names no place, and the body reports three or more places as locations, more than
      _SPREAD_KM apart: the region nearest the middle of them.
    A title that names a place, or a body whose places are close together, keeps the place.
    """
    title_end = text.find("\n")
    if primary is None or primary.entry.precision != "place" or title_end < 0:
        return None
    in_title = [m for m in mentions if m.start < title_end and not m.dateline]
    if any(m.entry.precision == "place" for m in in_title):
        return None
    regions = [m for m in in_title if m.locative and m.entry.country == primary.entry.country]
    points = list({(m.entry.lat, m.entry.lon): m for m in mentions if m.entry.precision == "place"
                   and m.locative and not m.qualifier and not m.dateline
                   and m.entry.lat is not None and m.entry.country == primary.entry.country}.values())
    if len(points) < (2 if regions else 3):
        return None
    if max(distance_km(a.entry, b.entry) for a in points for b in points) <= _SPREAD_KM:
        return None
    if regions:
        return regions[0]
    lat = sorted(m.entry.lat for m in points if m.entry.lat is not None)[len(points) // 2]
    lon = sorted(m.entry.lon for m in points if m.entry.lon is not None)[len(points) // 2]
    best = gazetteer.region_near(Entry("", primary.entry.country, lat, lon), _NEAR_KM)
    return _Mention(primary.start, primary.end, best, True) if best is not None else None


def _plausible(best: Entry, candidates: tuple[Entry, ...], named: dict[str, float]) -> bool:
    if best.prior >= _CURATED or best.country in named:
        return True
    if best.division and len({e.country for e in candidates if e.division}) > 1:
        return False  # "Central Region", "Northern Province": only where the text names the country
    if named:  # the text names its countries: a place elsewhere must be a world city or monitored
        return best.prior >= _WORLD_CITY or (best.focus and best.prior >= _MIN_PRIOR)
    unique = len({e.country for e in candidates}) == 1  # all namesakes in one country: it is that one's
    return best.prior >= _MIN_PRIOR or (unique and best.prior >= _MIN_UNIQUE_PRIOR)


def _primary(mentions: list[_Mention], scores: dict[str, float]) -> tuple[_Mention | None, str | None]:
    """The incident's place (or None) and country (or None), in this order of preference:

    a place, then a region, introduced as a location ("in Jermuk", "shelled Kharkiv"); a place in
    the country a locative phrase names ("in South Sudan" + the JUBA dateline); any place the story
    names in a country it is about; a region; the best-scored country.
    """
    for precision in ("place", "region"):
        located = [m for m in mentions if m.locative and m.entry.precision == precision and not m.qualifier]
        located.sort(key=lambda m: m.entry.division != 2)  # a district is more specific than a province
        if located:
            return located[0], located[0].entry.country
    best_country = max((cc for cc in scores if scores[cc] >= 0.0), key=lambda cc: scores[cc], default=None)
    if best_country is not None and scores[best_country] >= 3.0:  # "in northern Syria", "shelled Armenia"
        inside = sorted((m for m in mentions if m.entry.country == best_country), key=lambda m: m.qualifier)
        return (inside[0] if inside else None), best_country
    for qualifier in (False, True):
        for precision in ("place", "region"):
            ranked = [m for m in mentions if m.entry.precision == precision and not m.dateline
                      and m.qualifier == qualifier and scores.get(m.entry.country, 0.0) >= 0.0]
            if ranked:
                return ranked[0], ranked[0].entry.country
    return None, best_country


def _countries(primary: str | None, mentions: list[_Mention], scores: dict[str, float]) -> tuple[str, ...]:
    """Incident countries: the primary one, those of other incident places, those named as places.

    Countries named only as actors ("Azerbaijani forces", score 0) are left out unless nothing
    else tells where the incident was.
    """
    ordered = [primary] if primary else []
    ordered += [m.entry.country for m in mentions if m.locative and scores.get(m.entry.country, 1.0) >= 0.0]
    ordered += sorted((cc for cc, s in scores.items() if s > 0.0), key=lambda cc: -scores[cc])
    if not ordered:
        ordered = [cc for cc, s in scores.items() if s == 0.0]
    return tuple(dict.fromkeys(ordered))


def _place(entry: Entry) -> Place:
    return Place(entry.name, entry.country, entry.admin1, entry.lat, entry.lon, entry.precision, entry.geonameid)
