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

# Words of the classes of general news that share the rules' words without reporting an attack
# (LABELS.md, "Hard negatives"), and of plain reports of violence; each class is one feature.
_CLASSES = {
    "bombing": r"suicide|bomber|car bomb\w*|explosive device|\bieds?\b|landmine|blast|explosion|"
               r"смертни\w+|теракт\w*|взрыв\w*|самодельн\w+",
    "crime": r"\bpolice|gunm[ae]n|robber\w*|murder\w*|shoot-?out|criminal|arrest\w*|\bgang|"
             r"полиц\w+|убийств\w+|преступ\w+|задерж\w+|бандит\w*",
    "test": r"\btest\w*|launch\w*|drills?\b|exercises?\b|parade|rocket company|spacecraft|satellite|"
            r"испытан\w+|учени\w+|запуск\w*|парад\w*|спутник\w*",
    "accident": r"crash\w*|accident\w*|collision|derail\w*|fire broke|авари\w+|круш\w+|катастроф\w+",
    "court": r"\bcourt|trial|sentenced|verdict|convicted|execut\w+|prosecut\w+|суд\w*|приговор\w*|осужд\w+",
    "sport": r"football|soccer|\bmatch\w*|tournament|championship|\bteam\b|\bgoal|матч\w*|футбол\w*|турнир\w*|"
             r"чемпионат\w*",
    "politics": r"election|debate|candidate|campaign\w*|democrat|republican|parliament|vote|выбор\w+|дебат\w*",
    "diplomacy": r"talks\b|summit|agreement|agreed|announce\w*|signed|negotiat\w+|переговор\w*|соглашени\w+|"
                 r"объяв\w+|договор\w+|вступ\w+ в силу",
    "memorial": r"anniversar\w+|memorial|museum|commemorat\w+|годовщин\w+|памят\w+|мемориал\w*|музе\w+",
    "threat": r"threat\w*|warn\w*|ultimatum|vow\w*|пригроз\w+|угрож\w+|предупред\w+",
    "denial": r"\bden(?:y|ied|ies)\b|rejected|опроверг\w*|отрица\w+",
    "deaths": r"\bkill\w*|\bdead\b|\bdied\b|wounded|injured|casualt\w+|погиб\w*|убит\w*|ранен\w*",
    "forces": r"troops|soldiers|army|militants|rebels|insurgents|fighters|militia\w*|forces|войск\w*|"
              r"военн\w+|боевик\w*|бойц\w*|ВСУ",
}
_CLASS_SCAN = re.compile("|".join(f"(?P<{name}>{pattern})" for name, pattern in _CLASSES.items()), re.IGNORECASE)


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
    for m in _CLASS_SCAN.finditer(text):
        if m.lastgroup is not None:
            f[f"words:{m.lastgroup}"] = 1.0
    return f
