"""How the label rules' scores combine into relevance: the features of the learned relevance choice.

classify.py scores each label from its rule matches (weighed by negation, history and hard-negative
cues); the relevance model (monitor.reading.choice) weighs those scores, which rules fired and how
strongly, against the hard negatives of general news that the same words occur in (missile tests,
bombings, crime, metaphors, truce announcements).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Protocol


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


def features(lang: str, hits: Iterable[HitLike], scored: Mapping[str, float], thresholds: Mapping[str, float],
             title_end: int) -> dict[str, float]:
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
    return f
