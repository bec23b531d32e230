"""Scanning a text for names: the first stage of place extraction (monitor.places).

Words are looked up in the gazetteer as 1- to 4-word keys, longest first, keyed like the index
(monitor.gazetteer), so Russian case forms meet their nominative. Country names and demonyms score
the countries the text is about (by role: "in Lebanon" counts, "Russia-brokered" does not); "northern
Syria" and "the capital of Yemen" become places; every other name becomes a list of candidates for
monitor.places to choose from. A second pass looks up, by their loose keys, the capitalised words that
named nothing ("Kharkov", "Maarat al Numan").
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from monitor.reading.actors import demonym_role
from monitor.reading.gazetteer import Entry, Gazetteer, exact_word_key, loose_word, word_key
from monitor.reading.name_lookup import NameLookup, lookup_for
from monitor.reading.word_index import with_first_characters

DIRECTION = (r"(?:(?:north|south|east|west|central|northern|southern|eastern|western|north-?eastern|"
              r"north-?western|south-?eastern|south-?western|occupied|[\w]+-(?:held|controlled)|"
              r"северн\w*|южн\w*|восточн\w*|западн\w*|центральн\w*|оккупированн\w*)\s+)?")
# The searches over the words before a name are run through with_first_characters: the same matches, with
# the positions where none can begin turned away first (~2x faster on news text).
_LOCATIVE_BEFORE = with_first_characters(re.compile(
    r"(?:\b(?:in|near|at|on|outside|around|inside|into|across|along|over|off|toward|towards|between|"
    r"(?:areas?|parts?|outskirts|vicinity|countryside|suburbs?|environs) of|"
    r"shell(?:ed|s|ing)?|hit(?:s|ting)?|struck|strikes?|rock(?:s|ed)?|pound(?:s|ed|ing)?|target(?:s|ed|ing)?|"
    r"attack(?:s|ed|ing)?|bomb(?:s|ed|ing)?|raid(?:s|ed)?|invade[sd]?|"
    r"в|во|на|по|у|под|около|возле|близ|вблизи|районе|окрестностях|над|обстрел\w*|атаков\w*)\s+(?:the\s+)?"
    + DIRECTION +
    r"(?:(?:[Vv]illage|[Tt]own|[Cc]ity|[Rr]egion|[Dd]istrict|(?:[\w-]+\s+)?capital,?|столиц\w*|сел[аеоу]|город[ае]?|поселк[ае]|посёлк[ае]|"
    r"пгт|деревн[ие]|район[ае]?)\s+(?:of\s+)?)?)$", re.IGNORECASE))


class _LastWordFirst:
    """LOCATIVE_BEFORE: the search above, run only when the last word of the text searched (a window
    before a name) can end one of its matches. Every match ends in a word of _LOCATIVE_LAST_WORDS
    (or one beginning with _LOCATIVE_LAST_STEMS), then whitespace, at the end of the text; the
    search tries each position of the window, the test one word (~3x less work on news text, where
    most names follow no locative word). A last word that case folding could read otherwise than
    str.lower (any character beyond ASCII and basic Cyrillic) is left to the search."""

    def __init__(self, regex: re.Pattern[str]) -> None:
        self.pattern = regex

    def search(self, before: str) -> re.Match[str] | None:
        chunk = before.rstrip()
        if len(chunk) == len(before) or not chunk:
            return None  # a match ends in whitespace: none ends here
        raw = chunk.rsplit(None, 1)[-1]
        raw = (raw[:-1] if raw.endswith(",") else raw).rsplit("-", 1)[-1]  # "capital,", "x-held"
        word = raw.lower()
        if word in _LOCATIVE_LAST_WORDS or word.startswith(_LOCATIVE_LAST_STEMS) or not raw.isalpha() or not (
                raw.isascii() or _is_basic_cyrillic(raw)):
            return self.pattern.search(before)
        return None


def _is_basic_cyrillic(word: str) -> bool:
    return all("\u0400" <= ch <= "\u04ff" for ch in word)


# The words a match of LOCATIVE_BEFORE can end with (in lower case), and the stems of those ending in \w*.
_LOCATIVE_LAST_WORDS = frozenset((
    "in near at on outside around inside into across along over off toward towards between of "
    "shell shelled shells shelling hit hits hitting struck strike strikes rock rocks rocked pound pounds pounded "
    "pounding target targets targeted targeting attack attacks attacked attacking bomb bombs bombed bombing "
    "raid raids raided invade invades invaded the north south east west central northern southern eastern "
    "western northeastern northwestern southeastern southwestern occupied held controlled village town city "
    "region district capital "
    "в во на по у под около возле близ вблизи районе окрестностях над села селе село селу город города городе "
    "поселка поселке посёлка посёлке пгт деревни деревне район района").split())
_LOCATIVE_LAST_STEMS = ("обстрел", "атаков", "северн", "южн", "восточн", "западн", "центральн", "оккупированн",
                        "столиц")
LOCATIVE_BEFORE = _LastWordFirst(_LOCATIVE_BEFORE)

SPEAKER_AFTER = re.compile(
    r"^(?:['’]s\b|\s+(?:says?|said|accuse[sd]?|claims?|claimed|denie[sd]|deny|warns?|warned|reports?|reported|"
    r"blames?|blamed|told|has said|заявил\w*|обвинил\w*|сообщил\w*|утвержда\w*|отрица\w*|считает))", re.IGNORECASE)
# Words after a name that make it the target: "Izium hit by drones", "Jermuk came under fire".
STRUCK_AFTER = re.compile(
    r"^\s+(?:(?:was|were|is|are|has been|have been|came|comes|again)\s+)?(?:hit|struck|shelled|attacked|bombed|"
    r"targeted|pounded|rocked|under\s+(?:fire|attack|shelling)|обстрелян\w*|атакован\w*|подверг\w*)", re.IGNORECASE)
WINDOW = 40
_WORD = re.compile(r"[^\W\d_]+(?:['’ʼ][^\W\d_]+)*")
_POSSESSIVE = re.compile(r"['’ʼ]s$")
_POSSESSIVE_ENDINGS = ("'s", "’s", "ʼs")
_MEDIATOR = with_first_characters(re.compile(
    r"(?:-brokered|-mediated|-led|brokered by|mediated by|mediation|talks in|hosted|envoy|ally|allies|"
    r"посредничеств\w*|переговор\w* в)", re.IGNORECASE))
_CAPITAL_AFTER = re.compile(r"(?:['’]s)?\s+(?:capital|столиц\w*)\b", re.IGNORECASE)
_DEMONYM_CAPITAL = re.compile(r"\s+(?:capital|столиц\w*)\b", re.IGNORECASE)
_CAPITAL_BEFORE = with_first_characters(
    re.compile(r"\bcapital\s+of\s+(?:the\s+)?\Z|\bстолиц\w*\s+\Z", re.IGNORECASE))
_DIRECTION_BEFORE = with_first_characters(re.compile(
    r"(?P<d>(?:north|south)(?:-?(?:east|west))?(?:ern)?|east(?:ern)?|west(?:ern)?|central|"
    r"(?:северо-|юго-)?(?:север|юг|восток|запад)\w*|центр\w*)(?:\s+(?:part of|of|части))?\s+\Z", re.IGNORECASE))
# What a text must hold for _MEDIATOR or _DIRECTION_BEFORE to match in it (in lower case): the
# searches are run only then (_mediator_near, _direction_before). str.lower folds case as the patterns
# do only on ASCII and basic Cyrillic (re also equates "ſ" with "s", "ᲀ" with "в" ...): a window with
# any other character is searched as it is.
_MEDIATOR_HINTS = ("-", "brokered by", "mediat", "talks in", "hosted", "envoy", "all", "посредничеств", "переговор")
_DIRECTION_ENDINGS = ("north", "south", "east", "west", "ern", "central", "of", "части")
_DIRECTION_STEMS = ("север", "юг", "восток", "запад", "центр")
_UNPLAIN = re.compile(r"[^\x00-\x7f\u0400-\u04ff]")
# Nouns after which a Russian adjective names the place it derives from ("Товузском направлении" ->
# Товуз); alone, "Лебединскому" is the village Лебединское, not the town Лебедин.
_RU_AREA_NOUNS = ("направлени", "район", "област", "округ", "сектор", "участк", "погранич", "границ", "окрестност",
                  "пригород", "побереж", "фронт")
# First words of Arabic, Hebrew and other names ("Beit Nasr", "Ain Tamr", "Kafr Nabl"): the word after
# one is part of that name, not a place by itself.
_NAME_HEADS = frozenset({
    "Abu", "Umm", "Um", "Ain", "Ein", "Ayn", "Kafr", "Kfar", "Kefar", "Beit", "Bayt", "Bet", "Deir", "Dayr",
    "Tell", "Tall", "Tel", "Tal", "Khan", "Ras", "Wadi", "Jabal", "Jebel", "Bir", "Sidi", "Sheikh", "Shaykh",
    "Ben", "Bin", "Bani", "Beni", "Ait", "Mount", "Mont", "Qasr", "Khirbet", "Khirbat", "Jisr", "Marj", "Nahr",
    "Hay", "Hayy", "Mazraat", "Qalaat", "Ard", "San", "Santa", "Saint", "St", "Fort", "Port", "Lake",
    "Cape", "Camp",
    # Slavic prefixes: "Старая Николаевка" is not Николаевка, "Velyka Novosilka" not Novosilka
    "Старая", "Старый", "Старое", "Новая", "Новый", "Новое", "Верхняя", "Верхний", "Верхнее", "Нижняя",
    "Нижний", "Нижнее", "Малая", "Малый", "Малое", "Большая", "Большой", "Большое", "Великая", "Великий",
    "Stara", "Staraya", "Staryi", "Stary", "Nova", "Novaya", "Novyi", "Novy", "Verkhnia", "Verkhnyaya", "Nyzhnia",
    "Nizhnyaya", "Mala", "Malaya", "Velyka", "Velykyi", "Bolshaya",
})
_ARTICLES = frozenset({"al", "el", "an", "ad", "ar", "as", "at", "ash", "az", "ez", "ed", "ibn", "bin"})
_JOINER = re.compile(r"[ \-‐]")
# An article inside a longer name after the word: "Madinat al Nasr", "Qasr el-Kebir", "Deir ez-Zor".
_ARTICLE_AFTER = re.compile(r"[ \-](?:al|el|ash|az|ez|ibn)[ \-][A-Z]|-(?:ad|ar|as|at|an|ed|es|et|er|ul)-[A-Z]")


class _Words(NamedTuple):
    """The words of a text: their matches (for their offsets, read only where a name is) and each
    word without a possessive."""

    matches: list[re.Match[str]]
    found: tuple[str, ...]


@dataclass
class Scan:
    places: list[tuple[int, int, tuple[Entry, ...]]]
    scores: dict[str, float]
    actors: list[str]
    loose: set[int] = field(default_factory=set)  # starts of names found only by their loose key


def scan_names(text: str, gazetteer: Gazetteer) -> Scan:
    """Walk the words, taking the longest gazetteer key at each position."""
    out = Scan([], {}, [])
    lookup, matches = lookup_for(gazetteer), list(_WORD.finditer(text))
    if not matches:
        return out
    memo = lookup.memo
    found, stems, exact, marks, cased_marks, loose = zip(
        *[memo.get(w) or _marks(w, gazetteer, lookup) for w in map(re.Match.group, matches)], strict=True)
    words = _Words(matches, found)
    lower_text = not any(ch.isupper() for ch in text)
    stems_differ = stems != exact  # Cyrillic words: their stems are looked up too
    covered: set[int] = set()  # words of the names found
    n, after = len(found), 0  # `after`: the first word not yet passed
    mark = marks if lower_text else cased_marks  # which mark applies (see _marks)
    # Only the words a name may begin at are visited: the others would find nothing (see _marks).
    for i in itertools.compress(range(n), mark):
        if i < after:
            continue
        step = 1
        if mark[i] == _ADJECTIVE:
            area_follows = i + 1 < n and stems[i + 1].startswith(_RU_AREA_NOUNS)
            for adjective in _places_of_adjective(stems[i]) if area_follows else ():
                # "Товузском направлении" -> Товуз, "Суджанского района" -> Суджа
                if adjective in gazetteer.first_words and _take(text, words, i, 1, (adjective,), lower_text,
                                                                gazetteer, lookup, out):
                    covered.add(i)
                    break
            after = i + 1
            continue
        if mark[i] == _NAME:  # the word alone may name something: no longer name goes on from it
            if _take(text, words, i, 1, (exact[i],) if stems[i] == exact[i] else (exact[i], stems[i]), lower_text,
                     gazetteer, lookup, out):
                covered.add(i)
            after = i + 1
            continue
        # A word in lower case begins only a demonym or a curated phrase (see _take): fewer keys to try.
        cased = lower_text or found[i][:1].isupper()
        names = lookup.names if cased else lookup.names_in_lower_case
        goes_on = lookup.goes_on if cased else lookup.goes_on_in_lower_case
        limit = min(gazetteer.max_words, n - i)
        top = _reach(exact, i, limit, goes_on)  # longer runs of words name nothing
        if stems_differ:
            top = max(top, _reach(stems, i, limit, goes_on))
        for length in range(top, 0, -1):
            key = exact[i] if length == 1 else " ".join(exact[i:i + length])
            stem = key if not stems_differ else stems[i] if length == 1 else " ".join(stems[i:i + length])
            if not (names(key, length) or (stem != key and names(stem, length))):
                continue  # what _take would find too, more cheaply: most runs of words name nothing
            keys = (key,) if stem == key else (key, stem)
            if _take(text, words, i, length, keys, lower_text, gazetteer, lookup, out):
                step = length
                covered.update(range(i, i + length))
                break
        after = i + step
    if not lower_text:
        starts = [i for i in itertools.compress(range(n), loose) if i not in covered]
        if starts:
            _scan_loose(words, stems, starts, covered, gazetteer, lookup, out)
        out.places.sort(key=lambda p: p[0])
    return out


# Marks of a word: it names something alone; it may be a Russian place adjective; a longer name may
# begin at it (and it may name something alone too).
_NAME, _ADJECTIVE, _LONGER = 1, 2, 3
_Marks = tuple[str, str, str, int, int, bool]


def _marks(raw: str, gazetteer: Gazetteer, lookup: NameLookup) -> _Marks:
    """What the scan needs of one word, worked out once per distinct word (news repeats its words):
    the word without a possessive; its stem and exact keys (gazetteer.word_key, exact_word_key); two
    marks, for a text in lower case and for one with capitals: _LONGER when a name of several words may
    begin at the word, else _NAME when the word alone names something, _ADJECTIVE when it is not a
    name's first word but may name one as a Russian adjective ("Товузском"), else 0; and whether the
    loose pass looks it up (_scan_loose)."""
    found = lookup.memo.get(raw)
    if found is not None:
        return found  # type: ignore[no-any-return]
    word = _without_possessive(raw)
    stem, key = word_key(word), exact_word_key(word)
    mark = cased_mark = 0
    if key in gazetteer.first_words or stem in gazetteer.first_words:
        # nothing begins here unless the word names something or a longer name goes on from it
        mark = _LONGER if any(map(lookup.goes_on, (key, stem))) else \
            _NAME if lookup.names(key, 1) or lookup.names(stem, 1) else 0
        if word[:1].isupper():
            cased_mark = mark
        else:
            cased_mark = _LONGER if any(map(lookup.goes_on_in_lower_case, (key, stem))) else \
                _NAME if lookup.names_in_lower_case(key, 1) or lookup.names_in_lower_case(stem, 1) else 0
    elif any(adjective in gazetteer.first_words for adjective in _places_of_adjective(stem)):
        mark = cased_mark = _ADJECTIVE
    # The loose pass looks up capitalised Latin words (not all capitals: a single capital letter is never
    # taken either) whose loose key names a place or begins a longer loose key.
    loose = word[:1].isupper() and not word.isupper() and stem.isascii() \
        and loose_word(stem) in gazetteer.loose_first_words and (lookup.loose_goes_on(loose_word(stem)) or (
            stem not in gazetteer.stoplist and bool(lookup.loose_candidates(stem))))
    found = (word, stem, key, mark, cased_mark, loose)
    lookup.remember(raw, found)
    return found


def _reach(keys: Sequence[str], i: int, limit: int, goes_on: Callable[[str], bool]) -> int:
    """The most words from word i (up to `limit`) whose joined `keys` a name may have: a longer run
    has a first part that no name goes on from."""
    length, key = 1, keys[i]
    while length < limit and goes_on(key):
        key += " " + keys[i + length]
        length += 1
    return length


def _without_possessive(word: str) -> str:
    return word[:-2] if word.endswith(_POSSESSIVE_ENDINGS) else word


def _places_of_adjective(stem: str) -> tuple[str, ...]:
    """The keys of the place a Russian adjective may derive from: "товузск" (Товузский) -> "товуз";
    "суджанск" (Суджанский) -> "суджан", then "судж" (Суджа: the "-ан-" links a name in -а)."""
    if len(stem) < 6 or not stem.endswith("ск") or stem.isascii():
        return ()
    base = stem[:-2]
    return (base, base[:-2]) if base.endswith(("ан", "ян")) and len(base) >= 5 else (base,)


def _take(text: str, words: _Words, i: int, length: int, keys: tuple[str, ...],
          lower_text: bool, gazetteer: Gazetteer, lookup: NameLookup, out: Scan) -> bool:
    """Record what words[i:i+length] name, if anything; True when they name something.

    Country names and demonyms are tried before places ("Armenia" is also a town in Colombia).
    """
    start, end = words.matches[i].start(), words.matches[i + length - 1].end()
    first = words.found[i]
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
        candidates = _allowed(key, gazetteer, lookup, first) if lookup.has(key) else ()
        if candidates:
            out.places.append((start, end, candidates))
            return True
    return False


def _scan_loose(words: _Words, stems: Sequence[str], starts: list[int], covered: set[int],
                gazetteer: Gazetteer, lookup: NameLookup, out: Scan) -> None:
    """Second pass: capitalised Latin words that named nothing, looked up by their loose key, the
    longest run first ("Ain Tamr" for ‘Ayn at Tamr). Words of names already found are left alone.
    `starts`: the words such a run may begin at (see _marks), in order."""
    after, found = 0, words.found  # `after`: the first word not yet passed
    for i in starts:
        if i < after:
            continue
        after = i + 1
        top, limit, loose = 1, min(gazetteer.max_words, len(stems) - i), loose_word(stems[i])
        while top < limit and lookup.loose_goes_on(loose):  # longer runs have no loose key
            loose += " " + loose_word(stems[i + top])
            top += 1
        for length in range(top, 0, -1):
            span = range(i, i + length)
            # (word i alone always passes: a start is capitalised, not all capitals and not covered)
            if length > 1 and (found[span[-1]] in _ARTICLES or any(
                    j in covered or found[j].isupper()
                    or not (found[j][:1].isupper() or (j > i and found[j] in _ARTICLES)) for j in span)):
                continue
            key = " ".join(stems[i:i + length])
            candidates = () if key in gazetteer.stoplist else lookup.loose_candidates(key)
            if candidates:
                start = words.matches[i].start()
                out.places.append((start, words.matches[i + length - 1].end(), candidates))
                out.loose.add(start)
                after = i + length
                break


def _part_of_country(text: str, start: int, end: int, cc: str, gazetteer: Gazetteer, out: Scan) -> None:
    """Record "northern Syria", "на юге Ливана" as a region: the part of the country named."""
    m = _direction_before(text, start)
    if m is None:
        return
    entry = gazetteer.part_of_country(cc, m.group("d"), text[m.start("d"):end])
    if entry is not None:
        out.places.append((m.start("d"), end, (entry,)))


def _direction_before(text: str, start: int) -> re.Match[str] | None:
    """_DIRECTION_BEFORE's search in the 30 characters before `start`, run only when the last word
    there (then whitespace) can end a match: a direction, "of" or "части"."""
    window = text[max(0, start - 30):start]
    chunk = window.rstrip()
    if len(chunk) == len(window) or not chunk:
        return None  # a match ends in whitespace
    last = chunk.rsplit(None, 1)[-1]
    low = last.lower()
    if _UNPLAIN.search(last) is None and not low.endswith(_DIRECTION_ENDINGS) and not any(
            stem in low for stem in _DIRECTION_STEMS):
        return None
    return _DIRECTION_BEFORE.search(text, max(0, start - 30), start)


def _mediator_near(window: str) -> bool:
    """Whether _MEDIATOR matches in `window`, searched only when a word of it may be there."""
    if _UNPLAIN.search(window) is None:
        low = window.lower()
        if not any(hint in low for hint in _MEDIATOR_HINTS):
            return False
    return _MEDIATOR.search(window) is not None


def _capital_phrase(text: str, start: int, end: int, cc: str, gazetteer: Gazetteer, out: Scan) -> None:
    """Record "South Sudan's capital", "the capital of Yemen" as the capital city."""
    after = _CAPITAL_AFTER.match(text, end)
    before = _CAPITAL_BEFORE.search(text, max(0, start - 20), start)
    if before and not after and _POSSESSIVE.search(text, start, end):
        before = None  # "Kharkiv, capital of Ukraine's Kharkiv region": the capital of a region
    if not (after or before):
        return
    entry = gazetteer.capital_of(cc)
    if entry is not None:
        out.places.append((before.start() if before else start, after.end() if after else end, (entry,)))


def _allowed(key: str, gazetteer: Gazetteer, lookup: NameLookup, first_word: str) -> tuple[Entry, ...]:
    """The candidates of `key`, or none when it is a stoplisted word (curated names excepted)."""
    if key in gazetteer.stoplist:
        return gazetteer.curated.get(key, ()) if first_word[:1].isupper() else ()
    return lookup.candidates(key)


def _score_country(text: str, start: int, end: int, cc: str, scores: dict[str, float]) -> None:
    before = text[max(0, start - WINDOW):start]
    if _mediator_near(text[max(0, start - 25):end + 12]):
        scores[cc] = min(scores.get(cc, 0.0), -1.0)  # named, but only as a mediator
        return
    score = 1.0 + (0.5 if not scores else 0.0)
    belligerent = before.rstrip().lower().endswith(("between", "between the"))  # "fighting between Armenia and ..."
    if (LOCATIVE_BEFORE.search(before) and not belligerent) or STRUCK_AFTER.match(text[end:end + WINDOW]):
        score += 2.5
    if SPEAKER_AFTER.match(text[end:end + WINDOW]):
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


def _inside_longer_name(text: str, words: _Words, i: int) -> bool:
    """True when word i is only part of a longer name the gazetteer lacks: "Nasr" of "Beit Nasr",
    "Madinat" of "Madinat al Nasr". Such a word names another place."""
    matches, found = words
    if i > 0 and found[i - 1] in _NAME_HEADS and _JOINER.fullmatch(text, matches[i - 1].end(), matches[i].start()):
        return True
    if i > 1 and _ARTICLE_AFTER.match(text, matches[i - 2].end()) and found[i - 2][:1].isupper():
        return True  # "Numan" of "Maarat al Numan"
    return bool(_ARTICLE_AFTER.match(text, matches[i].end()))
