"""Rule-based classifier and extractor: FeedItem -> Classification (the `classify` contract, DESIGN §6).

`Classifier.from_settings()` loads the rule files and the gazetteer once; `classify()` is pure and
cheap. Labels come from the rules of the item's language (monitor/data/rules/<lang>.toml): every rule
match is weighed by its context (negated, hypothetical, hard negative, history) and the best match per
label gives its score. Extraction (places and countries: places.py; casualties: casualties.py; the
event date in the place's local time: dates.py; actors: actors.py; weapons: the rule file's [weapons])
runs only for items that carry a label, because only those become incidents, and most feed items
carry none.
"""

from __future__ import annotations

import bisect
import copy
import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from monitor.models import LABELS, Casualties, Classification, FeedItem, LabelHit, Place
from monitor.reading import dates, places, relevance
from monitor.reading.actors import armed_groups
from monitor.reading.choice import NO_CHOICES, Choices, load_choices
from monitor.reading.gazetteer import Gazetteer, load_gazetteer
from monitor.reading.localtime import local_time
from monitor.reading.rule_index import RuleIndex, Scanned
from monitor.reading.rules import LangRules, Matcher, RuleSet, load_ruleset, lower_text
from monitor.settings import ClassifySettings

# A sentence ends at [.!?;] (then closing quotes) before white space, at line breaks and at a dash
# between spaces: r"[.!?;]+[\"'»”)]*\s+|\n+|\s[-–—]\s", written to begin with one character class
# so the regex engine skips to the candidates instead of trying the pattern at every character.
_SENTENCE_END = re.compile(r"[.!?;\s](?:(?<=[.!?;])[.!?;]*[\"'»”)]*\s+|(?<=\n)\n*|(?<=\s)[-–—]\s)")
_CYRILLIC = re.compile(r"[а-яё]+", re.IGNORECASE)
_LATIN = re.compile(r"[a-z]+", re.IGNORECASE)
_MAX_MATCHES_PER_RULE = 4  # enough to find one clean match; bounds the cost on long texts
_BEFORE = 45  # characters before a match searched for negation and hypothetical cues
_AFTER = 40  # characters after a match searched for "were not recorded" and the like
_WEAKENED = 0.35  # factor for matches in a hard-negative or historical sentence
_INFERRED_CEASEFIRE_SCORE = 0.8
_STRONG = 0.85  # a label this well supported ...
_WEAK = 0.7  # ... explains away other attack labels supported less than this


@dataclass(frozen=True)
class _Hit:
    label: str
    score: float
    evidence: str
    why: str
    attack: bool
    at: int = 0  # offset of the match in the text


class Classifier:
    """Labels and extracts one item at a time. Build it with `from_settings`; it holds no mutable state."""

    def __init__(self, rules: RuleSet, gazetteer: Gazetteer, settings: ClassifySettings,
                 choices: Choices = NO_CHOICES) -> None:
        self._rules = rules
        self._gazetteer = gazetteer
        self._choices = choices
        self._thresholds = {label: settings.thresholds.get(label, settings.default_threshold) for label in LABELS}

    @classmethod
    def from_settings(cls, settings: ClassifySettings | None = None) -> Classifier:
        """Load rule files and gazetteer. Raises MonitorError when a rule or gazetteer file is bad."""
        settings = settings or ClassifySettings()
        return cls(load_ruleset(settings.languages), load_gazetteer(), settings, load_choices())

    def with_choices(self, choices: Choices) -> Classifier:
        """The same rules and gazetteer with other learned weights (scripts/fit_weights.py)."""
        clone = copy.copy(self)
        clone._choices = choices
        return clone

    def classify(self, item: FeedItem) -> Classification:
        """Label `item` and, when it carries a label, extract places, casualties and the event date."""
        lang = detect_lang(item, tuple(self._rules.languages))
        rules = self._rules.for_lang(lang)
        text = _join(item.title, item.text)
        lowered = lower_text(text)  # once for every stage that reads the text lower-cased
        pub_year = item.published_at.year if item.published_at else None
        hits, candidates = _label_hits(rules, text, pub_year, lowered)
        groups = _group(hits)
        labels, explanation = self._decide_groups(groups)
        labels, explanation = self.relevant_labels(lang, text, hits, groups, labels, explanation)
        if not labels:  # the score says how close it came: the best label score under its threshold
            return Classification(score=max((h.score for h in hits), default=0.0))
        attack_at = [h.at for h in hits if h.attack]
        found = places.extract_places(text, lang, self._gazetteer, self._choices.place, attack_at)
        killed, injured = _extract_casualties()(text, lang, self._choices.casualty, pub_year, attack_at, lowered)
        event_date = dates.resolve_event_date(text, lang, _local_publication(item.published_at, found.primary),
                                              lowered)
        return Classification(
            labels=labels,
            score=max(hit.score for hit in labels),
            countries=found.countries,
            place=found.primary,
            places=found.places,
            actors=tuple(dict.fromkeys((*found.actors, *armed_groups(text, lowered)))),
            weapons=_weapons(rules, text, candidates, lowered),
            killed=killed,
            injured=injured,
            event_date=event_date,
            explanation=explanation,
        )

    def relevant_labels(self, lang: str, text: str, hits: list[_Hit], groups: dict[str, tuple[float, list[_Hit]]],
                        labels: tuple[LabelHit, ...], explanation: tuple[str, ...],
                        ) -> tuple[tuple[LabelHit, ...], tuple[str, ...]]:
        """The labels (and their explanations) the relevance model keeps of those past their thresholds.

        Weighed with the item's other evidence (relevance.py), each label is kept or dropped: a missile
        test, a bombing, a metaphor keep none, "clashes amid shelling" may keep one. The thresholds
        stay a floor."""
        model = self._choices.relevance
        if not labels or model is None:
            return labels, explanation
        keep = relevance.kept(model, self.label_features(lang, text, hits, labels, groups))
        if len(keep) == len(labels):
            return labels, explanation
        chosen = [(hit, why) for hit, why in zip(labels, explanation, strict=True) if hit.label in keep]
        return tuple(h for h, _ in chosen), tuple(w for _, w in chosen)

    def hits(self, item: FeedItem) -> tuple[str, str, list[_Hit]]:
        """The item's language, joined text and rule matches (for scripts/fit_weights.py)."""
        lang = detect_lang(item, tuple(self._rules.languages))
        text = _join(item.title, item.text)
        pub_year = item.published_at.year if item.published_at else None
        found, _ = _label_hits(self._rules.for_lang(lang), text, pub_year)
        return lang, text, found

    def relevance_features(self, lang: str, text: str, hits: list[_Hit]) -> dict[str, float]:
        """The features the relevance model weighs (monitor.reading.relevance)."""
        return self._features(lang, text, hits, _group(hits))

    def _features(self, lang: str, text: str, hits: list[_Hit],
                  groups: dict[str, tuple[float, list[_Hit]]]) -> dict[str, float]:
        scored = {label: score for label, (score, _) in groups.items()}
        title_end = text.find("\n")
        return relevance.features(lang, text, hits, scored, self._thresholds, len(text) if title_end < 0 else title_end)

    def label_features(self, lang: str, text: str, hits: list[_Hit],
                       labels: tuple[LabelHit, ...],
                       groups: dict[str, tuple[float, list[_Hit]]] | None = None) -> relevance.LabelFeatures:
        """The features the relevance model weighs for each of `labels` (monitor.reading.relevance)."""
        scored = {label: score for label, (score, _) in (groups if groups is not None else _group(hits)).items()}
        title_end = text.find("\n")
        return relevance.label_features(lang, text, hits, scored, self._thresholds,
                                        len(text) if title_end < 0 else title_end, {h.label: h.score for h in labels})

    def _decide(self, hits: list[_Hit]) -> tuple[tuple[LabelHit, ...], tuple[str, ...]]:
        return self._decide_groups(_group(hits))

    def _decide_groups(self, groups: dict[str, tuple[float, list[_Hit]]]) -> tuple[tuple[LabelHit, ...],
                                                                                    tuple[str, ...]]:
        scored = dict(groups)
        _explain_away(scored)
        labels: list[LabelHit] = []
        explanation: list[str] = []
        for label in LABELS:
            if label not in scored:
                continue
            score, group = scored[label]
            if score < self._thresholds[label]:
                continue
            group = sorted(group, key=lambda h: -h.score)
            evidence = tuple(dict.fromkeys(h.evidence for h in group[:3]))
            labels.append(LabelHit(label, score, evidence))
            explanation.append(f"{label} {score:.2f}: '{group[0].evidence}' ({group[0].why})")
        return tuple(labels), tuple(explanation)


def _group(hits: list[_Hit]) -> dict[str, tuple[float, list[_Hit]]]:
    """The hits by label, in order of first hit, with the label's combined score."""
    groups: dict[str, list[_Hit]] = {}
    for hit in hits:
        groups.setdefault(hit.label, []).append(hit)
    return {label: (_combine(group), group) for label, group in groups.items()}


def _explain_away(scored: dict[str, tuple[float, list[_Hit]]]) -> None:
    """Drop weakly supported attack labels when a strongly supported one accounts for the item.

    "An air strike killed 14 militants" matches the weak "soldiers killed" clash rule too; the
    specific rule explains the killing, so only air_strike is kept. Ceasefire violations are not
    alternatives to an attack, so they are never explained away.
    """
    strong = any(score >= _STRONG for label, (score, _) in scored.items() if label != "ceasefire_violation")
    if not strong:
        return
    for label in [k for k, (score, _) in scored.items() if score < _WEAK and k != "ceasefire_violation"]:
        del scored[label]


def detect_lang(item: FeedItem, known: tuple[str, ...] = ("en", "ru")) -> str:
    """The item's language: as given when there are rules for it, else Russian when Cyrillic letters
    outnumber Latin ones (a Ukrainian or untagged Cyrillic item is read with the Russian rules)."""
    if item.lang in known:
        return item.lang
    sample = (item.title + " " + item.text[:300])
    if sample.isascii():  # no Cyrillic letter (most untagged items): not counted
        return "en"
    # (letters counted by runs: fewer, longer matches than one per letter)
    return "ru" if sum(map(len, _CYRILLIC.findall(sample))) > sum(map(len, _LATIN.findall(sample))) else "en"


def _join(title: str, text: str) -> str:
    # The title is a sentence of its own; a newline keeps a match from spanning title and body.
    title, text = title.strip(), text.strip()
    if text.startswith(title) and title:
        return text
    return f"{title}\n{text}" if text else title


def _combine(group: list[_Hit]) -> float:
    """Best score, raised a little by independent evidence from other rules (noisy-or at half weight)."""
    ordered = sorted(group, key=lambda h: -h.score)
    score = ordered[0].score
    seen = {ordered[0].why}
    for hit in ordered[1:]:
        if hit.why in seen or hit.score < 0.3:
            continue
        seen.add(hit.why)
        score = 1.0 - (1.0 - score) * (1.0 - hit.score * 0.5)
    return min(score, 0.99)


def _label_hits(rules: LangRules, text: str, pub_year: int | None,
                lowered: str | None = None) -> tuple[list[_Hit], _Scan | None]:
    """Every rule match in `text`, weighed by its context. Rules run on the lower-cased text (see
    rules._compile; `lowered`: lower_text(text), when known), except the few with case-sensitive parts,
    which run on the original. Also where in lower_text(text) the rules and weapons may match, when it
    was read (rules.Matcher)."""
    scan = lower_text(text) if lowered is None else lowered
    if rules.trigger is not None and not rules.trigger.search(scan):
        return [], None
    original = text
    matcher = rules.matcher(scan)
    index = matcher.index
    scanned = index.scan(scan)
    spans = [m.span() for m in index.matches(matcher.scrub, scan, scanned)] if matcher.scrub is not None else []
    if spans:  # other senses ("shelled out") blanked out, offsets kept
        scan, original = _blank(scan, spans), _blank(text, spans)
        scanned = index.scan(scan)
    ctx: _Context | None = None  # the sentences and the title's weight, worked out at the first match
    item_factor = 1.0
    hits: list[_Hit] = []
    present = range(len(rules.rules)) if scanned.found is None \
        else sorted(i for i in scanned.found if i < matcher.first_weapon)
    for i in present:
        rule = rules.rules[i]
        for m in index.matches(i, original if rule.cased else scan, scanned, _MAX_MATCHES_PER_RULE):
            if ctx is None:
                ctx = _Context(rules, scan, _sentence_bounds(scan), pub_year, {}, index, matcher.cue, scanned)
                title_end = ctx.bounds[1] if len(ctx.bounds) > 1 else len(scan)
                # A title about an anniversary, a trial or a prize makes every report in the item background.
                item_factor = _WEAKENED if ctx.cue_search("item_negative", 0, title_end) else 1.0
            factor = item_factor * _context_factor(ctx, m)
            if factor > 0.0:
                hits.append(_Hit(rule.label, rule.score * factor, _evidence(text, m), rule.name, rule.attack,
                                 m.start()))
    if ctx is not None:
        hits.extend(_inferred_violation(ctx, hits))
    return hits, None if spans else _Scan(matcher, scanned)


@dataclass(frozen=True)
class _Scan:
    """Where in lower_text(text) the patterns of `matcher` may begin."""

    matcher: Matcher
    scanned: Scanned


def _blank(text: str, spans: list[tuple[int, int]]) -> str:
    """`text` with the characters of `spans` replaced by spaces (offsets kept)."""
    if not spans:
        return text
    parts, last = [], 0
    for start, end in spans:
        parts += [text[last:start], " " * (end - start)]
        last = end
    return "".join([*parts, text[last:]])


@dataclass
class _Context:
    """One text being labelled, with its sentence-level cues worked out once per sentence."""

    rules: LangRules
    text: str
    bounds: list[int]
    pub_year: int | None
    sentences: dict[int, tuple[bool, list[tuple[int, int]], bool]]
    index: RuleIndex  # the Matcher's: rules, weapons, scrub and cues
    cue: dict[str, int]  # the cues' numbers in it
    scanned: Scanned  # where in `text` they may begin

    def sentence(self, pos: int) -> tuple[int, int]:
        i = bisect.bisect_right(self.bounds, pos) - 1
        return self.bounds[i], self.bounds[i + 1] if i + 1 < len(self.bounds) else len(self.text)

    def cue_search(self, key: str, start: int, end: int) -> bool:
        """rules.cues[key].search(text, start, end), tried only at the words where the cue may begin."""
        return self.index.search(self.cue[key], self.text, self.scanned, start, end, self.rules.cues[key]) is not None

    def sentence_cues(self, start: int, end: int) -> tuple[bool, list[tuple[int, int]], bool]:
        """(hard negative?, spans of history phrases, is the sentence about the past?)"""
        if start not in self.sentences:
            hard = self.cue_search("hard_negative", start, end)
            found = list(self.index.finditer_in(self.cue["history"], self.text, self.scanned, start, end))
            spans = [(h.start(), h.end()) for h in found]
            past = any(_is_history(h, self.pub_year) for h in found) and not self.cue_search("current", start, end)
            self.sentences[start] = (hard, spans, past)
        return self.sentences[start]


def _sentence_bounds(text: str) -> list[int]:
    """Start offsets of the sentences of `text` (always begins with 0)."""
    return [0, *(m.end() for m in _SENTENCE_END.finditer(text))]


def _context_factor(ctx: _Context, m: re.Match[str]) -> float:
    """1.0 for a plain report, 0 when negated or hypothetical, _WEAKENED in a hard-negative sentence
    or when the match is history ("since hostilities erupted", "in the 2020 war")."""
    start, end = ctx.sentence(m.start())
    before = max(start, m.start() - _BEFORE)
    if ctx.cue_search("negation", before, m.start()):
        return 0.0
    last_word = ctx.text.rfind(" ", m.start(), m.end()) + 1
    if last_word > m.start() and ctx.cue_search("negation", m.start(), last_word):
        return 0.0  # negated inside the match: "ceasefire extended, no violations", "artillery was not fired"
    if ctx.cue_search("hypothetical", before, m.start()):
        return 0.0
    after = min(end, m.end() + _AFTER)
    if ctx.scanned.near(ctx.cue["negation_after"], m.end(), after) \
            and ctx.rules.cues["negation_after"].match(ctx.text, m.end(), after):
        return 0.0
    hard, history_spans, past = ctx.sentence_cues(start, end)
    if hard or past or any(h0 < m.end() and m.start() < h1 for h0, h1 in history_spans):
        return _WEAKENED
    return 1.0


def _is_history(m: re.Match[str], pub_year: int | None) -> bool:
    """True when a history phrase places its events in an earlier year than the publication's."""
    years = [int(y) for y in m.groups() if y and y.isdigit()]
    if not years:
        return True  # "years ago", "in the first Karabakh war"
    return pub_year is not None and min(years) < pub_year


def _inferred_violation(ctx: _Context, hits: list[_Hit]) -> list[_Hit]:
    """An attack reported while the text says a ceasefire is in force is a violation (LABELS.md)."""
    attacks = [h for h in hits if h.attack and h.score >= 0.5]
    if not attacks:
        return []
    for m in ctx.index.matches(ctx.cue["ceasefire_in_force"], ctx.text, ctx.scanned):
        start, end = ctx.sentence(m.start())
        if ctx.cue_search("ceasefire_not_in_force", start, end) or _context_factor(ctx, m) < 1.0:
            continue
        why = f"attack ({attacks[0].why}) while a ceasefire is in force"
        return [_Hit("ceasefire_violation", _INFERRED_CEASEFIRE_SCORE, _evidence(ctx.text, m), why, False,
                     m.start())]
    return []


def _evidence(text: str, m: re.Match[str]) -> str:
    """The matched words, shortened to 'first words … last words' when long."""
    words = text[m.start():m.end()].split()
    if len(words) <= 6:
        return " ".join(words)
    return " ".join(words[:3]) + " … " + " ".join(words[-3:])


def _weapons(rules: LangRules, text: str, scanned: _Scan | None, lowered: str | None = None) -> tuple[str, ...]:
    """The weapons named in `text`, by their canonical names ([weapons] of the rule file), in order.
    `scanned`: where in lower_text(text) the patterns may begin (_label_hits), if known; `lowered`:
    lower_text(text), if known."""
    if lowered is None:
        lowered = lower_text(text)
    if scanned is None:
        matcher = rules.matcher(lowered)
        scanned = _Scan(matcher, matcher.index.scan(lowered))
    index, first = scanned.matcher.index, scanned.matcher.first_weapon
    found = [(ms[0].start(), name) for i, (name, _) in enumerate(rules.weapons, start=first)
             if scanned.scanned.present(i) and (ms := index.matches(i, lowered, scanned.scanned, 1))]
    return tuple(name for _, name in sorted(found))


@functools.cache
def _extract_casualties() -> Callable[..., tuple[Casualties, Casualties]]:
    """casualties.extract_casualties, imported on the first item a label fires on: compiling the
    casualty patterns is a third of the classifier's start-up, which `classify --title` of an item with
    no label never needs. (Imported once: an import statement run per item costs more than a stage.)"""
    from monitor.reading.casualties import extract_casualties

    return extract_casualties


def _local_publication(published: datetime | None, place: Place | None) -> datetime | None:
    """The publication time on the incident place's clock (UTC when the place is unknown)."""
    if published is None or place is None:
        return published
    return local_time(published, place.country, place.lat, place.lon)
