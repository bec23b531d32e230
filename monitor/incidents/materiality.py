"""What about an incident matters to a reader: its severity, what is new since an alert told them, and when a
rise of its score is news (it crossed a rule's min_score).

Pure functions over IncidentState (see incidents.state, incidents.group)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from monitor.incidents.state import PRECISION_RANK, IncidentState
from monitor.settings import AlertSettings


@dataclass(frozen=True)
class Facts:
    """What an alert told a reader about an incident: the fields whose change makes a revision material."""

    labels: frozenset[str]
    killed: int | None
    injured: int | None
    precision: str | None
    ceasefire: str | None
    sources: int

    @classmethod
    def of(cls, inc: IncidentState) -> Facts:
        return cls(frozenset(inc.labels), inc.killed, inc.injured, inc.geo_precision, inc.ceasefire,
                   inc.source_count)

    @classmethod
    def of_snapshot(cls, snap: Mapping[str, object]) -> Facts:
        """From a revision snapshot (`IncidentView.to_json()`)."""
        def num(key: str) -> int | None:
            value = snap.get(key)
            return value if isinstance(value, int) else None
        labels = snap.get("labels")
        precision = snap.get("geo_precision")
        ceasefire = snap.get("ceasefire")
        return cls(frozenset(str(x) for x in labels) if isinstance(labels, list) else frozenset(),
                   num("killed"), num("injured"), precision if isinstance(precision, str) else None,
                   ceasefire if isinstance(ceasefire, str) else None, num("source_count") or 1)


def news_since(known: Sequence[Facts], now: IncidentState) -> list[str]:
    """The revision reasons (as `merge` names them) of `now` for a reader who was told all of `known`
    (several incidents that were merged: what they said together)."""
    if not known:
        return []
    told = Facts(frozenset().union(*(k.labels for k in known)),
                 max((k.killed for k in known if k.killed is not None), default=None),
                 max((k.injured for k in known if k.injured is not None), default=None),
                 max((k.precision for k in known), key=lambda p: PRECISION_RANK.get(p, 0)),
                 next((k.ceasefire for k in known if k.ceasefire), None), max(k.sources for k in known))
    reasons: list[str] = []
    if now.source_count > told.sources:
        reasons.append("new source")
    if not set(now.labels) <= told.labels:
        reasons.append("label")
    if (now.killed or 0) > (told.killed or 0) or (now.injured or 0) > (told.injured or 0):
        reasons.append("casualties")
    if PRECISION_RANK.get(now.geo_precision, 0) > PRECISION_RANK.get(told.precision, 0):
        reasons.append("place")
    if now.ceasefire and not told.ceasefire:
        reasons.append("ceasefire")
    return reasons


_LABEL_WEIGHT = {"air_strike": 2.0, "shelling": 2.0, "armed_clash": 1.5, "ceasefire_violation": 1.5}


def severity(inc: IncidentState) -> float:
    """0–10: what happened (labels), how many died or were hurt (civilians weigh more), whether a truce
    was broken (by the text or the ceasefire registry), and how many independent sources confirm it."""
    score = sum(_LABEL_WEIGHT.get(label, 1.0) for label in inc.labels)
    if inc.ceasefire and "ceasefire_violation" not in inc.labels:
        score += _LABEL_WEIGHT["ceasefire_violation"]
    killed, injured = inc.killed or 0, inc.injured or 0
    civilian_extra = (inc.killed_civilian or 0) + 0.5 * (inc.injured_civilian or 0)
    score += 1.2 * math.log2(1 + killed + 0.3 * injured + civilian_extra)
    score += 0.5 * math.log2(inc.source_count)
    return round(min(10.0, score), 2)


# -- the score against the rules' min_score ----------------------------------------------------------------------
# An incident's score is the best label score of its articles (store.alerting.incident_score); a rule passes it
# at or above its min_score. A report that raises it is no news in itself (a sure copy from an outlet already
# counted says nothing new), unless it lifts the score across a min_score: then a rule that held the incident
# back would let it through, and only a revision makes that rule alert. The score never falls (the best of the
# articles), so each threshold is crossed at most once per incident: no alert spam.


def score_thresholds(alerts: AlertSettings) -> tuple[float, ...]:
    """The rules' min_score values that a score can rise across (above 0), ascending, each once."""
    return tuple(sorted({r.min_score for r in alerts.rules if r.min_score > 0}))


def score_crossing(before: float | None, after: float | None, thresholds: Sequence[float]) -> str | None:
    """The revision reason when a score rose from `before` to `after` across one of `thresholds`, compared as
    rules compare it (to three decimals, alerts.rule_matches): "score 0.55 -> 0.80". None when it crossed none,
    or when either score is unknown."""
    if before is None or after is None:
        return None
    old, new = round(before, 3), round(after, 3)
    if not any(old < t <= new for t in thresholds):
        return None
    return f"score {_score_text(old)} -> {_score_text(new)}"


def _score_text(score: float) -> str:
    """Two decimals, three when the third matters (rules compare scores to three)."""
    short = f"{score:.2f}"
    return short if float(short) == score else f"{score:.3f}"
