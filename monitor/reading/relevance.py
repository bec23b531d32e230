"""How the label rules' scores combine into relevance: the features of the learned label choice.

classify.py scores each label from its rule matches (weighed by negation, history and hard-negative
cues); the relevance model (monitor.reading.choice) weighs those scores, which rules fired and how
strongly, against the hard negatives of general news that the same words occur in (missile tests,
bombings, crime, metaphors, truce announcements).

The model decides per label: every label that passed its threshold is one row (label_features), the
item's features plus features of that label beside the others (does its evidence come first, is it
only the backdrop of another attack, "clashes amid shelling"); a label is kept when its row is
accepted, and an item with no label kept is not relevant. Features of one label are named
"<label>|<feature>", so one logistic model holds a small model per label.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterable, Mapping
from typing import NamedTuple, Protocol

from monitor.reading.choice import Model
from monitor.reading.rules import trie_pattern

# Word beginnings of the classes of general news that share the rules' words without reporting an
# attack (LABELS.md, "Hard negatives"), and of plain reports of violence; each class is one feature.
_CLASSES = {
    "bombing": ["suicide", "bomber", "car bomb", "explosive device", "ied", "landmine", "blast", "explosion",
                "смертни", "теракт", "взрыв", "самодельн"],
    "crime": ["police", "gunman", "gunmen", "robber", "murder", "shootout", "shoot-out", "criminal", "arrest", "gang",
              "полиц", "убийств", "преступ", "задерж", "бандит"],
    "test": ["test", "launch", "drill", "exercise", "parade", "испытан", "учени", "запуск", "парад"],
    "space": ["satellite", "spacecraft", "booster", "orbit", "space agency", "rocket company", "спутник", "космо",
              "орбит"],
    "accident": ["crash", "accident", "collision", "derail", "авари", "круш", "катастроф"],
    "court": ["court", "trial", "sentenced", "verdict", "convicted", "execut", "prosecut", "суд", "приговор",
              "осужд"],
    "sport": ["football", "soccer", "match", "tournament", "championship", "team", "goal", "матч", "футбол",
              "турнир", "чемпионат"],
    "politics": ["election", "debate", "candidate", "campaign", "democrat", "republican", "parliament", "vote",
                 "выбор", "дебат"],
    "diplomacy": ["talks", "summit", "agreement", "agreed", "announce", "signed", "negotiat", "переговор",
                  "соглашени", "объяв", "договор", "вступил в силу", "вступит в силу", "вступает в силу"],
    "memorial": ["anniversar", "memorial", "museum", "commemorat", "годовщин", "памят", "мемориал", "музе"],
    "threat": ["threat", "warn", "ultimatum", "vow", "пригроз", "угрож", "предупред"],
    "protest": ["protest", "demonstrat", "riot", "rioters", "rally", "looting", "curfew", "митинг", "протест",
                "беспоряд", "демонстрант", "забастов"],
    "aftermath": ["rebuil", "repair", "reopen", "compensat", "award", "prize", "ремонт", "восстанов", "компенсац",
                  "преми", "наград"],
    "denial": ["deny", "denied", "denies", "rejected", "опроверг", "отрица"],
    "deaths": ["kill", "dead", "died", "wounded", "injured", "casualt", "погиб", "убит", "ранен"],
    # What was fired: a clash is fought with small arms, shelling with heavy weapons, a strike from the air;
    # under each label (words:<class>&<label>) they tell which of two labels the report is about.
    "small_arms": ["small arms", "small-arms", "machine gun", "machine-gun", "machinegun", "rifle", "sniper",
                   "automatic weapon", "gunfire", "стрелков", "пулемет", "пулемёт", "снайпер", "автомат"],
    "heavy_weapons": ["artillery", "mortar", "howitzer", "grenade launcher", "rocket launcher", "mlrs", "tank",
                      "shell", "артиллер", "миномет", "миномёт", "гаубиц", "гранатомет", "гранатомёт", "рсзо",
                      "танк", "снаряд"],
    "aircraft": ["aircraft", "warplane", "jet", "helicopter", "drone", "uav", "air force", "авиац", "самолет",
                 "самолёт", "вертолет", "вертолёт", "беспилотн", "дрон", "бпла", "ввс"],
    "forces": ["troops", "soldiers", "army", "militants", "rebels", "insurgents", "fighters", "militia", "forces",
               "войск", "военн", "боевик", "бойц", "всу"],
}
# classify.py multiplies a match in a hard-negative or history sentence by 0.35: no rule scores over 1.
_WEAKENED_BELOW = 0.36
_CLASS_OF = {word: name for name, words in _CLASSES.items() for word in words}
# Matched on the lower-cased text at word starts, as a prefix tree: one pass over the text.
_CLASS_SCAN = re.compile(r"(?<!\w)(?:" + trie_pattern(list(_CLASS_OF)) + ")")


_ATTACK_LABELS = ("shelling", "air_strike", "armed_clash")
# Words that make what follows the setting of another event, not the event: "clashes amid shelling",
# "an operation backed by air strikes", "бои при поддержке артиллерии"; looked for just before a match.
_BACKDROP = re.compile(  # searched in the original text: case-insensitive
    r"(?:\b(?:amid|during|with|involving|using|backed by|supported by|support of|cover of|covered by|"
    r"preceded by|followed by|after|following)|(?<!\w)(?:на фоне|при поддержке|под прикрытием|с применением|"
    r"с использованием|в ходе|во время|после|с помощью))\W+(?:[\w'-]+\W+){0,3}$", re.IGNORECASE)
_BACKDROP_BEFORE = 40  # characters before a match searched for those words
# The relevance threshold is low (recall first: is there an attack at all); a second label of the same
# item must be more likely than not, or a clash with artillery in the background is reported twice.
_ANOTHER_LABEL = 0.5


class HitLike(Protocol):
    @property
    def label(self) -> str: ...
    @property
    def score(self) -> float: ...
    @property
    def why(self) -> str: ...
    @property
    def attack(self) -> bool: ...
    @property
    def at(self) -> int: ...


class LabelFeatures(NamedTuple):
    """An item's features for the per-label choice: those every label's row shares, and each label's
    own (its rules, its word classes, and the label beside the others). A row is shared + own[label]."""

    shared: dict[str, float]
    own: dict[str, dict[str, float]]

    def rows(self) -> dict[str, dict[str, float]]:
        """Each label's row as one dict (for fitting and tests; classify never builds them)."""
        return {label: {**self.shared, **own} for label, own in self.own.items()}


def features(lang: str, text: str, hits: Iterable[HitLike], scored: Mapping[str, float],
             thresholds: Mapping[str, float], title_end: int) -> dict[str, float]:
    """The relevance features of one item: label scores, whether each passes its threshold, and the
    best score of every rule that matched (named by language and rule)."""
    f, by_label, _ = _item_features(lang, text, hits, scored, thresholds, title_end)
    for extra in by_label.values():
        f.update(extra)
    return f


class _Matches:
    """One label's matches, gathered in the pass over the hits: where, how many rules, how strong."""

    __slots__ = ("at", "rules", "title", "weak", "hits")

    def __init__(self) -> None:
        self.at: set[int] = set()
        self.rules = 0
        self.title = False
        self.weak = True  # every match weakened so far
        self.hits: list[HitLike] = []


def _item_features(lang: str, text: str, hits: Iterable[HitLike], scored: Mapping[str, float],
                   thresholds: Mapping[str, float], title_end: int
                   ) -> tuple[dict[str, float], dict[str, dict[str, float]], dict[str, _Matches]]:
    """features() in two parts, what is not any label's own and per label its rules' best scores and
    the word classes of the text under it ("words:<class>&<label>", for the labels above threshold);
    and each label's matches."""
    f: dict[str, float] = {"ru": float(lang == "ru")}
    for label, score in scored.items():
        score_name, above_name = _label_names(label)
        f[score_name] = score
        f[above_name] = float(score >= thresholds.get(label, 0.5))
    f["max_score"] = max(scored.values(), default=0.0)
    by_label: dict[str, dict[str, float]] = {}
    matches: dict[str, _Matches] = {}
    title_hit = attack = 0.0
    weakened = n = 0
    strong: set[int] = set()
    for hit in hits:
        label, score, at = hit.label, hit.score, hit.at
        name = _rule_name(lang, hit.why)
        rules = by_label.get(label)
        if rules is None:
            rules = by_label[label] = {}
            matches[label] = _Matches()
        rules[name] = max(rules.get(name, 0.0), score)
        m = matches[label]
        m.at.add(at)
        m.hits.append(hit)
        n += 1
        if score < _WEAKENED_BELOW:
            weakened += 1
        else:
            m.weak = False
            if score >= 0.5:
                strong.add(at)
        if at < title_end:
            m.title = True
            title_hit = max(title_hit, score)
        if hit.attack:
            attack = max(attack, score)
    if title_hit:
        f["title_hit"] = title_hit
    if attack:
        f["attack"] = attack
    for label, rules in by_label.items():
        matches[label].rules = len(rules)
    f["rules"] = math.log1p(sum(len(rules) for rules in by_label.values())) / math.log(10.0)
    # Matches a context cue weakened (a hard-negative or history sentence) beside the plain ones: general
    # news tends to mix a few; and how many places in the text report an attack at full strength.
    if n:
        f["weakened"] = weakened / n
    f["strong_spots"] = math.log1p(len(strong)) / math.log(10.0)
    if strong and all(at < title_end for at in strong):
        f["title_only"] = 1.0
    classes = {_CLASS_OF[word] for word in set(_CLASS_SCAN.findall(text.lower()))}  # findall: no match objects
    labelled = [label for label in scored if f[_label_names(label)[1]]]
    for name in classes:
        f[_class_name(name, "")] = 1.0
        for label in labelled:  # "bomb" words under an air strike label, "clash" under politics
            by_label.setdefault(label, {})[_class_name(name, label)] = 1.0
    return f, by_label, matches


# Feature names, made once each (the decide step of classify names them for every labelled item).
@functools.cache
def _label_names(label: str) -> tuple[str, str]:
    return f"score_{label}", f"above_{label}"


@functools.cache
def _rule_name(lang: str, why: str) -> str:
    return f"rule:{lang}:{why}" if not why.startswith("attack (") else "rule:inferred_violation"


@functools.cache
def _class_name(name: str, label: str) -> str:
    return f"words:{name}&{label}" if label else f"words:{name}"


@functools.cache
def _names(label: str) -> tuple[str, ...]:
    """The names of a label's own features (made once: classify builds them for every labelled item)."""
    return tuple(f"{label}|{name}" for name in ("bias", "score", "rules", "spots", "title", "all_weakened",
                                                "others", "margin", "first", "backdrop"))


def label_features(lang: str, text: str, hits: Iterable[HitLike], scored: Mapping[str, float],
                   thresholds: Mapping[str, float], title_end: int, labels: Mapping[str, float]) -> LabelFeatures:
    """The features of each label the rules gave (`labels`: label -> combined score): the item's
    features without the rules and word classes of other labels, and the label's own, named
    "<label>|<feature>", beside the other labels."""
    shared, by_label, matches = _item_features(lang, text, hits, scored, thresholds, title_end)
    first = {label: min(m.at) for label, m in matches.items() if label in labels}
    own: dict[str, dict[str, float]] = {}
    for label, score in labels.items():
        bias, score_, rules, spots, title, all_weakened, others_, margin, first_, backdrop = _names(label)
        row = dict(by_label.get(label, ()))
        row[bias] = 1.0
        row[score_] = score
        m = matches.get(label)
        if m is not None:
            row[rules] = float(m.rules)
            row[spots] = math.log1p(len(m.at)) / math.log(10.0)
            if m.title:
                row[title] = 1.0
            if m.weak:
                row[all_weakened] = 1.0
        others = [other for other in labels if other != label and other in _ATTACK_LABELS]
        if others:
            row[others_] = 1.0
            row[margin] = score - max(labels[other] for other in others)
            if label in first and all(first[label] <= first.get(other, len(text)) for other in others):
                row[first_] = 1.0
            if m is not None and all(_BACKDROP.search(text, max(0, h.at - _BACKDROP_BEFORE), h.at) for h in m.hits):
                row[backdrop] = 1.0  # every match of the label sets the scene for another one
        own[label] = row
    return LabelFeatures(shared, own)


def kept(model: Model, found: LabelFeatures) -> set[str]:
    """The labels the model keeps: none when no row reaches its threshold (the item reads like general
    news), else the most probable label and every other one that is more likely than not (at least
    as likely as the threshold, if that is higher). The shared features are weighed once."""
    get = model.weights.get
    base = model.logit(found.shared)
    probability = {}
    for label, own in found.own.items():
        z = base + sum(get(name, 0.0) * value for name, value in own.items())
        probability[label] = 1.0 / (1.0 + math.exp(-z)) if z > -60.0 else 0.0  # as Model.probability
    best = max(probability.values(), default=0.0)
    if best < model.threshold:
        return set()
    another = max(model.threshold, _ANOTHER_LABEL)
    return {label for label, p in probability.items() if p == best or p >= another}
