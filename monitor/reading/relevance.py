"""How the label rules' scores combine into relevance: the features of the learned relevance choice.

classify.py scores each label from its rule matches (weighed by negation, history and hard-negative
cues); the relevance model (monitor.reading.choice) weighs those scores, which rules fired and how
strongly, against the hard negatives of general news that the same words occur in (missile tests,
bombings, crime, metaphors, truce announcements).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from typing import Protocol

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
    "forces": ["troops", "soldiers", "army", "militants", "rebels", "insurgents", "fighters", "militia", "forces",
               "войск", "военн", "боевик", "бойц", "всу"],
}
# classify.py multiplies a match in a hard-negative or history sentence by 0.35: no rule scores over 1.
_WEAKENED_BELOW = 0.36
_CLASS_OF = {word: name for name, words in _CLASSES.items() for word in words}
# Matched on the lower-cased text at word starts, as a prefix tree: one pass over the text.
_CLASS_SCAN = re.compile(r"(?<!\w)(?:" + trie_pattern(list(_CLASS_OF)) + ")")


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


def features(lang: str, text: str, hits: Iterable[HitLike], scored: Mapping[str, float],
             thresholds: Mapping[str, float], title_end: int) -> dict[str, float]:
    """The relevance features of one item: label scores, whether each passes its threshold, and the
    best score of every rule that matched (named by language and rule)."""
    f: dict[str, float] = {"ru": float(lang == "ru")}
    for label, score in scored.items():
        f[f"score_{label}"] = score
        f[f"above_{label}"] = float(score >= thresholds.get(label, 0.5))
    f["max_score"] = max(scored.values(), default=0.0)
    rules: dict[str, float] = {}
    for hit in hits:
        name = f"rule:{lang}:{hit.why}" if not hit.why.startswith("attack (") else "rule:inferred_violation"
        rules[name] = max(rules.get(name, 0.0), hit.score)
        if hit.at < title_end:
            f["title_hit"] = max(f.get("title_hit", 0.0), hit.score)
        if hit.attack:
            f["attack"] = max(f.get("attack", 0.0), hit.score)
    f.update(rules)
    f["rules"] = math.log1p(len(rules)) / math.log(10.0)
    # Matches a context cue weakened (a hard-negative or history sentence) beside the plain ones: general
    # news tends to mix a few; and how many places in the text report an attack at full strength.
    scores = [hit.score for hit in hits]
    if scores:
        f["weakened"] = sum(1 for score in scores if score < _WEAKENED_BELOW) / len(scores)
    strong = {hit.at for hit in hits if hit.score >= 0.5}
    f["strong_spots"] = math.log1p(len(strong)) / math.log(10.0)
    if strong and all(at < title_end for at in strong):
        f["title_only"] = 1.0
    classes = {_CLASS_OF[m.group(0)] for m in _CLASS_SCAN.finditer(text.lower())}
    labelled = [label for label in scored if f[f"above_{label}"]]
    for name in classes:
        f[f"words:{name}"] = 1.0
        for label in labelled:  # "bomb" words under an air strike label, "clash" under politics
            f[f"words:{name}&{label}"] = 1.0
    return f
