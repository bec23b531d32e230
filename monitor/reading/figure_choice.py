"""Which casualty figures belong to the incident: features of the figures casualties.py finds.

A report often carries other tolls than the incident's: a history paragraph's war toll, the previous
day's, a running total. The patterns of casualties.py find every figure; this module describes each
by its sentence (position, a year or an "earlier" in it, words of a whole war, the attack phrase
near) and by itself (size, category, vague), and the casualty model (monitor.reading.choice) keeps
or drops it. Kept figures of separate sides add up (casualties.total).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from monitor.reading.case_gate import gate, may_match

_YEAR = re.compile(r"\b((?:19|20)\d\d)\b")
_EARLIER = re.compile(r"\b(?:yesterday|previous(?:ly)?|earlier|last (?:week|month|year)|(?:a|one|two|three) "
                      r"(?:days?|weeks?) (?:before|ago)|the day before)\b|"
                      r"вчера|накануне|ранее|прошл\w+ (?:недел|месяц|год)",
                      re.IGNORECASE)
_WHOLE_WAR = re.compile(r"\b(?:war|conflict|since|total|so far|overall|altogether|cumulative|campaign|"
                        r"offensive|siege|years?|months?)\b|войн\w*|конфликт\w*|всего|с начала|за время",
                        re.IGNORECASE)
# A running or rising toll ("the toll rose to 40", "bringing the total to 12"), a side's claim, and the
# event a side answers ("in retaliation for"): cues that a figure may not be the incident's own.
_RUNNING = re.compile(r"\b(?:toll|total|rose|risen|climbed|bringing|brings|cumulative|tally)\b|"
                      r"возросл\w*|увеличил\w*|достигл\w*", re.IGNORECASE)
_CLAIM = re.compile(r"\bclaim\w*|\balleged\w*|\bunconfirmed|\bdenied|утвержда\w*|по данным|не подтвержд\w*",
                    re.IGNORECASE)
_ANSWERED = re.compile(r"\b(?:response|retaliation|revenge|avenge\w*)\b|в ответ", re.IGNORECASE)
_ATTACK_SPAN = 400.0
# Words one of which each pattern above needs, looked for first in the lower-cased sentence (case_gate).
_GATED = (
    (_EARLIER, gate(["yesterday", "previous", "earlier", "last ", " day", " week", "вчера", "накануне", "ранее",
                     "прошл"])),
    (_WHOLE_WAR, gate(["war", "conflict", "since", "total", "so far", "overall", "altogether", "cumulative",
                       "campaign", "offensive", "siege", "year", "month", "войн", "конфликт", "всего", "с начала",
                       "за время"])),
    (_RUNNING, gate(["toll", "total", "rose", "risen", "climbed", "bringing", "brings", "cumulative", "tally",
                     "возросл", "увеличил", "достигл"])),
    (_CLAIM, gate(["claim", "alleged", "unconfirmed", "denied", "утвержда", "по данным", "не подтвержд"])),
    (_ANSWERED, gate(["response", "retaliation", "revenge", "avenge", "в ответ"])),
)
_LATE_DECEMBER = re.compile(r"\b(?:2[4-9]|3[01])\s+(?:dec\w*|декабр\w*)|\bdec\w*\s+(?:2[4-9]|3[01])\b", re.IGNORECASE)


@dataclass(frozen=True)
class Figure:
    """One stated toll. `military`/`civilian`: the whole figure is of that side; a list of both sides
    ("two soldiers and three civilians") is of neither but keeps its parts in `military_part` and
    `civilian_part`. `also`: the text marks it as a further loss ("6 gunmen were also killed")."""

    value: int
    military: bool
    civilian: bool
    vague: bool
    start: int
    military_part: int = 0
    civilian_part: int = 0
    also: bool = False


def earlier_year(chunk: str, pub_year: int | None) -> bool:
    """Whether the sentence dates what it tells to a year before the publication's ("In 2020, the
    war killed ..."); last year's late December in a January report is not earlier enough."""
    if pub_year is None:
        return False
    return any(int(y) < pub_year - 1 or (int(y) == pub_year - 1 and not _LATE_DECEMBER.search(chunk))
               for y in _YEAR.findall(chunk))


def sentence_features(chunk: str, start: int, index: int, pub_year: int | None,
                      attack_at: Sequence[int], lowered: str | None = None) -> dict[str, float]:
    """What the sentence of a figure says about it (shared by the figures of the sentence). `lowered`:
    the sentence lower-cased for the pre-scans (case_gate.lowered_for); without it every pattern runs."""
    years = [int(y) for y in _YEAR.findall(chunk)]
    end = start + len(chunk)
    earlier, whole_war, running, claim, answered = (
        float(may_match(scan, lowered) and bool(pattern.search(chunk))) for pattern, scan in _GATED)
    f = {
        "title": float(start == 0),
        "sentence": min(index, 3) / 3.0,
        "year": float(bool(years)),
        "earlier": earlier,
        "whole_war": whole_war,
        "attack_here": float(any(start <= a < end for a in attack_at)),
        "running": running,
        "claim": claim,
        "answered": answered,
    }
    if attack_at:
        gap = min(0 if start <= a < end else min(abs(a - start), abs(a - end)) for a in attack_at)
        f["attack_gap"] = min(gap, _ATTACK_SPAN) / _ATTACK_SPAN
    return f


def add_figure_features(rows: list[tuple[Figure, dict[str, float]]]) -> None:
    """Add each figure's own features and its rank among the text's figures, in place."""
    if not rows:
        return
    top = max(fig.value for fig, _ in rows)
    distinct = len({fig.value for fig, _ in rows})
    for fig, f in rows:
        f.update({
            "log_value": math.log1p(fig.value) / math.log(10001.0),
            "big": float(fig.value >= 100),
            "vague": float(fig.vague), "military": float(fig.military), "civilian": float(fig.civilian),
            "also": float(fig.also), "sides": float(bool(fig.military_part and fig.civilian_part)),
            "largest": float(fig.value == top and distinct > 1),
            "only": float(distinct == 1),
        })
