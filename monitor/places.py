"""Place extraction: text + Gazetteer -> the places, countries and actors an incident report names.

Words are looked up in the gazetteer as 1- to 4-word keys (longest first), keyed like the index
(monitor.gazetteer), so Russian case forms meet their nominative. Then:

* each place mention takes the candidate whose country the text names, else the best-known one;
  a little-known name in a country the text does not name is dropped rather than guessed, and so
  are all-capital words (datelines such as "CAIRO" and acronyms are not incident places);
* the primary place is the first place introduced as a location ("in", "near", "shelled", "в",
  "под"), place precision before region; without one, the country a locative phrase names ("in
  northern Syria") decides, then the first place mentioned;
* a shared name is re-picked near the story's other places; a word that is only part of a longer
  unknown name ("Salim" of "Abu Salim", "Madinat" of "Madinat al Salah") is not looked up alone; a
  province or city named right after a place ("Zhari district, Balkh") is its container, not the place;
* a bulletin of places far apart, under a title that names no place, is about a region: the one the
  title names, else the region nearest the middle of the places;
* the incident's country is the primary place's; country names are weighed by role ("in Lebanon"
  and "shelled Armenia" count, "Russia-brokered" and mediators do not, "Armenian positions" points
  to Armenia, "Azerbaijani forces" does not point anywhere).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from monitor.actors import demonym_role
from monitor.gazetteer import Entry, Gazetteer, exact_word_key, word_key
from monitor.models import Place

_WORD = re.compile(r"[^\W\d_]+(?:['’ʼ][^\W\d_]+)*")
_POSSESSIVE = re.compile(r"['’ʼ]s$")
_DIRECTION = (r"(?:(?:north|south|east|west|central|northern|southern|eastern|western|north-?eastern|"
              r"north-?western|south-?eastern|south-?western|occupied|[\w]+-(?:held|controlled)|"
              r"северн\w*|южн\w*|восточн\w*|западн\w*|центральн\w*|оккупированн\w*)\s+)?")
_LOCATIVE_BEFORE = re.compile(
    r"(?:\b(?:in|near|at|on|outside|around|inside|into|across|along|over|off|toward|towards|between|"
    r"(?:areas?|parts?|outskirts|vicinity) of|"
    r"shell(?:ed|s|ing)?|hit(?:s|ting)?|struck|strikes?|rock(?:s|ed)?|pound(?:s|ed|ing)?|target(?:s|ed|ing)?|"
    r"attack(?:s|ed|ing)?|bomb(?:s|ed|ing)?|raid(?:s|ed)?|invade[sd]?|"
    r"в|во|на|по|у|под|около|возле|близ|вблизи|районе|окрестностях|над|обстрел\w*|атаков\w*)\s+(?:the\s+)?"
    + _DIRECTION +
    r"(?:(?:[Vv]illage|[Tt]own|[Cc]ity|[Rr]egion|[Dd]istrict|(?:[\w-]+\s+)?capital,?|столиц\w*|сел[аеоу]|город[ае]?|поселк[ае]|посёлк[ае]|"
    r"пгт|деревн[ие]|район[ае]?)\s+(?:of\s+)?)?)$", re.IGNORECASE)
_SPEAKER_AFTER = re.compile(
    r"^(?:['’]s\b|\s+(?:says?|said|accuse[sd]?|claims?|claimed|denie[sd]|deny|warns?|warned|reports?|reported|"
    r"blames?|blamed|told|has said|заявил\w*|обвинил\w*|сообщил\w*|утвержда\w*|отрица\w*|считает))", re.IGNORECASE)
_MEDIATOR = re.compile(
    r"(?:-brokered|-mediated|-led|brokered by|mediated by|mediation|talks in|hosted|envoy|ally|allies|"
    r"посредничеств\w*|переговор\w* в)", re.IGNORECASE)
_VENUE_BEFORE = re.compile(r"(?:talks|negotiations|summit|meeting|conference|mediators?|signed|переговор\w*|"
                           r"встреч\w*|саммит\w*)\s+(?:(?:held|hosted|resumed|taking place|under ?way|"
                           r"прошл\w*|проход\w*)\s+)?(?:in|at|в|на)\s+(?:the\s+)?"
                           r"(?:[\w-]+\s+(?:city\s+of\s+|capital\s+)?)?$", re.IGNORECASE)
_BACKGROUND_BEFORE = re.compile(r"\b(?:following|after|since)\s+(?:a|an|the|last\s+\w+['’]s)\s+[^.;\n]{0,80}?"
                                r"\b(?:that|which)\b[^.;\n]*$", re.IGNORECASE)
_VENUE_AFTER = re.compile(r"\s+(?:peace\s+)?(?:talks|negotiations|summit|process|agreements?|accords?|declaration|"
                          r"format|platform|protocol|memorandum|переговор\w*|соглашени\w*|договоренност\w*|"
                          r"формат\w*|протокол\w*)\b", re.IGNORECASE)
_TITLE_BEFORE = re.compile(r"(?:President|Minister|Mr|Mrs|Ms|Gen|General|Colonel|Col|Sen|Senator|"
                           r"президент|министр|глава)\.?\s+$", re.IGNORECASE)
_CAPITAL_AFTER = re.compile(r"(?:['’]s)?\s+(?:capital|столиц\w*)\b", re.IGNORECASE)
_DEMONYM_CAPITAL = re.compile(r"\s+(?:capital|столиц\w*)\b", re.IGNORECASE)
_CAPITAL_BEFORE = re.compile(r"\bcapital\s+of\s+(?:the\s+)?\Z|\bстолиц\w*\s+\Z", re.IGNORECASE)
# A wire dateline opening the body: "JUBA Renewed fighting ...", "DIYARBAKIR, Turkey Four people ...".
_DATELINE = re.compile(r"\n\s*(?P<city>[A-Z][A-Z'’.-]+(?: [A-Z][A-Z'’.-]+)?)"
                       r"(?=[,\s(]+(?:\(\w+\)\s*[-–—]?\s*)?[A-Z]?[a-z]|,)")
_DIRECTION_BEFORE = re.compile(
    r"(?P<d>(?:north|south)(?:-?(?:east|west))?(?:ern)?|east(?:ern)?|west(?:ern)?|central|"
    r"(?:северо-|юго-)?(?:север|юг|восток|запад)\w*|центр\w*)(?:\s+(?:part of|of|части))?\s+\Z", re.IGNORECASE)
# Words after a name that make it the target: "Khartoum hit by air strikes", "Jermuk came under fire".
_STRUCK_AFTER = re.compile(
    r"^\s+(?:(?:was|were|is|are|has been|have been|came|comes|again)\s+)?(?:hit|struck|shelled|attacked|bombed|"
    r"targeted|pounded|rocked|under\s+(?:fire|attack|shelling)|обстрелян\w*|атакован\w*|подверг\w*)", re.IGNORECASE)
# Words before a demonym that make it the target: "positions of the ВСУ", "позиции ВСУ".
_WINDOW = 40
# Nouns after which a Russian adjective names the place it derives from ("Товузском направлении" ->
# Товуз); alone, "Лебединскому" is the village Лебединское, not the town Лебедин.
_RU_AREA_NOUNS = ("направлени", "район", "област", "округ", "сектор", "участк", "погранич", "границ", "окрестност",
                  "пригород", "побереж", "фронт")
_MIN_PRIOR = 4.5  # ~30,000 people: a name this well known is taken without its country being named
_WORLD_CITY = 6.0  # ~1,000,000 people: taken even when the text names other countries
_MIN_UNIQUE_PRIOR = 2.5  # ~500 people: the only place of that name, in a monitored country
_CURATED = 100.0
_NEAR_KM = 150.0  # a shared name is re-picked near the story's other places within this distance
_NEAR_PRIOR = 1.0  # ... or a candidate this close in prior that is several times nearer to them
_SPREAD_KM = 100.0  # places farther apart than this make a report about a region (_spread_region)
# First words of Arabic, Hebrew and other names ("Abu Salim", "Ein Issa", "Kafr Amma"): the word after
# one is part of that name, not a place by itself.
_NAME_HEADS = frozenset({
    "Abu", "Umm", "Um", "Ain", "Ein", "Ayn", "Kafr", "Kfar", "Kefar", "Beit", "Bayt", "Bet", "Deir", "Dayr",
    "Tell", "Tall", "Tel", "Tal", "Khan", "Ras", "Wadi", "Jabal", "Jebel", "Bir", "Sidi", "Sheikh", "Shaykh",
    "Ben", "Bin", "Bani", "Beni", "Ait", "Mount", "Mont", "Qasr", "Khirbet", "Khirbat", "Jisr", "Marj", "Nahr",
    "Hay", "Hayy", "Mazraat", "Qalaat", "Ard", "San", "Santa", "Saint", "St", "Fort", "Port", "Lake",
    "Cape", "Camp",
})
_JOINER = re.compile(r"[ \-‐]")
# An article inside a longer name after the word: "Madinat al Salah", "Qasr el-Kebir", "Deir ez-Zor".
_ARTICLE_AFTER = re.compile(r"[ \-](?:al|el|ash|az|ez|ibn)[ \-][A-Z]|-(?:ad|ar|as|at|an|ed|es|et|er|ul)-[A-Z]")
_QUALIFIER_GAP = re.compile(r",\s*|\s*\(\s*|\s+in\s+(?=[A-Z])")


@dataclass(frozen=True)
class _Mention:
    start: int
    end: int
    entry: Entry
    locative: bool
    dateline: bool = False
    candidates: tuple[Entry, ...] = ()
    qualifier: bool = False  # "Balkh" in "Zhari district, Balkh": the container of the mention before it


@dataclass(frozen=True)
class FoundPlaces:
    """The places of one text, primary first, its incident countries and the armed actors named."""

    places: tuple[Place, ...] = ()
    countries: tuple[str, ...] = ()
    actors: tuple[str, ...] = ()
    primary: Place | None = None


@dataclass
class _Scan:
    places: list[tuple[int, int, tuple[Entry, ...]]]
    scores: dict[str, float]
    actors: list[str]


def extract_places(text: str, lang: str, gazetteer: Gazetteer) -> FoundPlaces:
    """Find the places, incident countries and actors of `text` (title and body joined)."""
    del lang  # keys are language-neutral; the script of each word decides how it is keyed
    scan = _scan(text, gazetteer)
    # Countries the text names, including those of the regions it names ("Курской области"); those
    # named only as actors ("ВСУ", score 0) count for less when a name is shared.
    named = {cc: (1.0 if s == 0.0 else 3.0) for cc, s in scan.scores.items()}
    named.update({c[0].country: 3.0 for _, _, c in scan.places
                  if c[0].precision == "region" and len({e.country for e in c}) == 1})
    mentions = [m for m in (_resolve(text, s, e, cands, named) for s, e, cands in scan.places) if m]
    mentions = _qualifiers(text, _near_each_other(mentions))
    dateline = _dateline(text, gazetteer, named)
    if dateline is not None and dateline.entry.country in named:
        mentions.append(dateline)
    primary_mention, primary_country = _primary(mentions, scan.scores)
    spread = _spread_region(text, mentions, primary_mention, gazetteer)
    if spread is not None:
        primary_mention = spread
    countries = _countries(primary_country, mentions, scan.scores)
    places = [_place(m.entry) for m in mentions]
    primary = _place(primary_mention.entry) if primary_mention else None
    if primary is None and countries and countries[0] in gazetteer.country_places:
        primary = _place(gazetteer.country_places[countries[0]])
    if primary is not None:
        places = [primary, *(p for p in places if p != primary)]
    return FoundPlaces(tuple(dict.fromkeys(places)), countries, tuple(dict.fromkeys(scan.actors)), primary)


def _scan(text: str, gazetteer: Gazetteer) -> _Scan:
    """Walk the words, taking the longest gazetteer key at each position."""
    words = [(m.start(), m.end(), _POSSESSIVE.sub("", m.group(0))) for m in _WORD.finditer(text)]
    stems = [word_key(w) for _, _, w in words]
    exact = [exact_word_key(w) for _, _, w in words]
    lower_text = not any(ch.isupper() for ch in text)
    out = _Scan([], {}, [])
    i, n = 0, len(words)
    while i < n:
        step = 1
        if exact[i] not in gazetteer.first_words and stems[i] not in gazetteer.first_words:
            adjective = _place_of_adjective(stems[i])  # "Товузском направлении" -> Товуз
            area_follows = i + 1 < n and stems[i + 1].startswith(_RU_AREA_NOUNS)
            if adjective in gazetteer.first_words and area_follows:
                _take(text, words, i, 1, (adjective,), lower_text, gazetteer, out)
            i += 1
            continue
        for length in range(min(gazetteer.max_words, n - i), 0, -1):
            keys = tuple(dict.fromkeys((" ".join(exact[i:i + length]), " ".join(stems[i:i + length]))))
            if _take(text, words, i, length, keys, lower_text, gazetteer, out):
                step = length
                break
        i += step
    return out


def _place_of_adjective(stem: str) -> str:
    """The place a Russian adjective is derived from: "товузск" (Товузский) -> "товуз"."""
    return stem[:-2] if len(stem) >= 6 and stem.endswith("ск") and not stem.isascii() else ""


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


def _take(text: str, words: list[tuple[int, int, str]], i: int, length: int, keys: tuple[str, ...],
          lower_text: bool, gazetteer: Gazetteer, out: _Scan) -> bool:
    """Record what words[i:i+length] name, if anything; True when they name something.

    Country names and demonyms are tried before places ("Armenia" is also a town in Colombia).
    """
    start, end = words[i][0], words[i + length - 1][1]
    first = words[i][2]
    capital = first[:1].isupper() or lower_text
    for key in keys:
        if key in gazetteer.countries and capital:
            cc = gazetteer.countries[key]
            _score_country(text, start, end, cc, out.scores)
            _part_of_country(text, start, end, cc, gazetteer, out)
            _capital_phrase(text, start, end, cc, gazetteer, out)
            return True
    for key in keys:
        if key in gazetteer.demonyms and length <= 2:
            cc = gazetteer.demonyms[key]
            actor = _score_demonym(text, start, end, cc, out.scores)
            if actor:
                out.actors.append(actor)
            if _DEMONYM_CAPITAL.match(text, end):  # "the Sudanese capital", "в украинской столице"
                _capital_phrase(text, start, end, cc, gazetteer, out)
            return True
    if len(first) > 1 and first.isupper() and not lower_text:
        # Datelines ("BEIRUT/GENEVA") and acronyms ("LNA") are not incident places, unless curated ("АТО").
        keys = tuple(k for k in keys if k in gazetteer.curated)
    if not capital:  # lower-case words name places only in curated phrases ("southern Lebanon")
        keys = tuple(k for k in keys if length > 1 and k in gazetteer.curated)
    if length == 1 and _inside_longer_name(text, words, i):
        return False
    for key in keys:
        candidates = _allowed(key, gazetteer, first) if gazetteer.has(key) else ()
        if candidates:
            out.places.append((start, end, candidates))
            return True
    return False


def _part_of_country(text: str, start: int, end: int, cc: str, gazetteer: Gazetteer, out: _Scan) -> None:
    """Record "northern Syria", "на юге Ливана" as a region: the part of the country named."""
    m = _DIRECTION_BEFORE.search(text, max(0, start - 30), start)
    if m is None:
        return
    entry = gazetteer.part_of_country(cc, m.group("d"), text[m.start("d"):end])
    if entry is not None:
        out.places.append((m.start("d"), end, (entry,)))


def _capital_phrase(text: str, start: int, end: int, cc: str, gazetteer: Gazetteer, out: _Scan) -> None:
    """Record "South Sudan's capital", "the capital of Yemen" as the capital city."""
    after = _CAPITAL_AFTER.match(text, end)
    before = _CAPITAL_BEFORE.search(text, max(0, start - 20), start)
    if not (after or before):
        return
    entry = gazetteer.capital_of(cc)
    if entry is not None:
        out.places.append((before.start() if before else start, after.end() if after else end, (entry,)))


def _allowed(key: str, gazetteer: Gazetteer, first_word: str) -> tuple[Entry, ...]:
    """The candidates of `key`, or none when it is a stoplisted word (curated names excepted)."""
    if key in gazetteer.stoplist:
        return gazetteer.curated.get(key, ()) if first_word[:1].isupper() else ()
    return gazetteer.lookup(key)


def _score_country(text: str, start: int, end: int, cc: str, scores: dict[str, float]) -> None:
    before = text[max(0, start - _WINDOW):start]
    if _MEDIATOR.search(text[max(0, start - 25):end + 12]):
        scores[cc] = min(scores.get(cc, 0.0), -1.0)  # named, but only as a mediator
        return
    score = 1.0 + (0.5 if not scores else 0.0)
    belligerent = before.rstrip().lower().endswith(("between", "between the"))  # "fighting between Armenia and ..."
    if (_LOCATIVE_BEFORE.search(before) and not belligerent) or _STRUCK_AFTER.match(text[end:end + _WINDOW]):
        score += 2.5
    if _SPEAKER_AFTER.match(text[end:end + _WINDOW]):
        score += 0.5  # "Armenia says its positions were shelled": the speaker is usually the target
    scores[cc] = scores.get(cc, 0.0) + score


def _score_demonym(text: str, start: int, end: int, cc: str, scores: dict[str, float]) -> str | None:
    """Weigh a demonym by its role (monitor.actors); return the actor it names, if any."""
    role, actor = demonym_role(text, start, end)
    if role == "target":
        scores[cc] = scores.get(cc, 0.0) + 2.0
    elif role == "actor":
        scores.setdefault(cc, 0.0)
    else:
        scores[cc] = scores.get(cc, 0.0) + 0.3
    return actor


def _resolve(text: str, start: int, end: int, candidates: tuple[Entry, ...],
             named: dict[str, float]) -> _Mention | None:
    """Pick a candidate for one mention, or None when the mention is not a place of this story."""
    if _TITLE_BEFORE.search(text[max(0, start - 20):start]):
        return None  # "President Aliyev", not a village called Aliyev
    if _VENUE_BEFORE.search(text[max(0, start - 40):start]) or _VENUE_AFTER.match(text, end):
        return None  # "talks in Jeddah", "the Minsk agreements": where diplomats meet, not where they fight
    best = max(candidates, key=lambda e: e.prior + named.get(e.country, 0.0) + (1.5 if e.focus else 0.0))
    if best.division:  # "Herat": the city, not the province of the same name
        best = max((e for e in candidates if e.precision == "place" and e.country == best.country),
                   key=lambda e: e.prior, default=best)
    if best.capital and _SPEAKER_AFTER.match(text[end:end + _WINDOW]):
        return None  # "Moscow says", "Baku's forces": the government, not the place
    if not _plausible(best, candidates, named):
        return None
    locative = bool(_LOCATIVE_BEFORE.search(text[max(0, start - _WINDOW):start])
                    or _STRUCK_AFTER.match(text[end:end + _WINDOW]))
    if locative and _BACKGROUND_BEFORE.search(text[max(0, start - 120):start]):
        locative = False  # "... following a bombing that killed 37 people in Ankara": another event
    return _Mention(start, end, best, locative, candidates=candidates)


def _near_each_other(mentions: list[_Mention]) -> list[_Mention]:
    """Re-pick shared names by proximity: of the many villages called Vodiane, the one near the
    other places of the story. Anchors are the mentions that are sure of their place: an unambiguous
    name, a curated entry (a named region, a front-line town). A candidate within _NEAR_KM of an
    anchor replaces a farther pick; so does a candidate as well known (within _NEAR_PRIOR) that is
    much nearer, when the pick is far from every anchor."""
    anchors = [(i, m.entry) for i, m in enumerate(mentions) if m.entry.lat is not None and
               (len({(e.lat, e.lon) for e in m.candidates}) == 1 or m.entry.prior >= _CURATED)]
    if not anchors:
        return mentions
    out = []
    for i, m in enumerate(mentions):
        others = [a for j, a in anchors if j != i and (a.lat, a.lon) != (m.entry.lat, m.entry.lon)]
        if not others or m.entry.lat is None or len({(e.lat, e.lon) for e in m.candidates}) < 2:
            out.append(m)
            continue
        def reach(e: Entry) -> float:
            return min(_km(e, a) for a in others) if e.lat is not None else math.inf  # noqa: B023
        current = reach(m.entry)
        near = [e for e in m.candidates if e.lat is not None and reach(e) <= _NEAR_KM]
        similar = [e for e in m.candidates if e.lat is not None and e.prior >= m.entry.prior - _NEAR_PRIOR
                   and e.precision == m.entry.precision and reach(e) * 3 < current]
        if current > _NEAR_KM and (near or similar):
            pick = max(near, key=lambda e: e.prior) if near else min(similar, key=reach)
            m = _Mention(m.start, m.end, pick, m.locative, m.dateline, m.candidates)
        out.append(m)
    return out


def _inside_longer_name(text: str, words: list[tuple[int, int, str]], i: int) -> bool:
    """True when word i is only part of a longer name the gazetteer lacks: "Salim" of "Abu Salim",
    "Issa" of "Ein Issa", "Madinat" of "Madinat al Salah". Such a word names another place."""
    if i > 0 and words[i - 1][2] in _NAME_HEADS and _JOINER.fullmatch(text, words[i - 1][1], words[i][0]):
        return True
    return bool(_ARTICLE_AFTER.match(text, words[i][1]))


def _qualifiers(text: str, mentions: list[_Mention]) -> list[_Mention]:
    """Mark the container that follows a place: "Zhari district, Balkh", "Kramatorsk (Donetsk
    region)". It says where the place before it lies, so it is not the incident's place itself."""
    out: list[_Mention] = []
    for m in mentions:
        prev = out[-1] if out else None
        if (prev is not None and _QUALIFIER_GAP.fullmatch(text, prev.end, m.start)
                and _contains(m.entry, prev.entry)):
            m = _Mention(m.start, m.end, m.entry, False, m.dateline, m.candidates, qualifier=True)
        out.append(m)
    return out


def _contains(outer: Entry, inner: Entry) -> bool:
    """Whether `outer`, named right after `inner`, reads as the area containing it: a region after a
    place, a clearly bigger town after a village, a province (or its town) after a district."""
    if inner.precision == "place":
        return outer.precision == "region" or outer.prior >= max(inner.prior + 1.5, 5.0)
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
    if max(_km(a.entry, b.entry) for a in points for b in points) <= _SPREAD_KM:
        return None
    if regions:
        return regions[0]
    lat = sorted(m.entry.lat for m in points if m.entry.lat is not None)[len(points) // 2]
    lon = sorted(m.entry.lon for m in points if m.entry.lon is not None)[len(points) // 2]
    best = gazetteer.region_near(Entry("", primary.entry.country, lat, lon), _NEAR_KM)
    return _Mention(primary.start, primary.end, best, True) if best is not None else None


def _km(a: Entry, b: Entry) -> float:
    assert a.lat is not None and a.lon is not None and b.lat is not None and b.lon is not None
    la1, lo1, la2, lo2 = map(math.radians, (a.lat, a.lon, b.lat, b.lon))
    h = math.sin((la2 - la1) / 2) ** 2 + math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(h))


def _plausible(best: Entry, candidates: tuple[Entry, ...], named: dict[str, float]) -> bool:
    if best.prior >= _CURATED or best.country in named:
        return True
    if best.division and len({e.country for e in candidates if e.division}) > 1:
        return False  # "Central Region", "Northern Province": only where the text names the country
    if named:  # the text names its countries: a place elsewhere must be a world city or monitored
        return best.prior >= _WORLD_CITY or (best.focus and best.prior >= _MIN_PRIOR)
    unique = len({(e.name, e.country) for e in candidates}) == 1
    return best.prior >= _MIN_PRIOR or (unique and best.prior >= _MIN_UNIQUE_PRIOR)


def _primary(mentions: list[_Mention], scores: dict[str, float]) -> tuple[_Mention | None, str | None]:
    """The incident's place (or None) and country (or None), in this order of preference:

    a place, then a region, introduced as a location ("in Jermuk", "shelled Kharkiv"); a place in
    the country a locative phrase names ("in South Sudan" + the JUBA dateline); any place the story
    names in a country it is about; a region; the best-scored country.
    """
    for precision in ("place", "region"):
        located = [m for m in mentions if m.locative and m.entry.precision == precision and not m.qualifier]
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
