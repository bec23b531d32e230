"""Armed actors an item names: a country's armed forces (from demonyms) and armed groups (from
monitor/data/gazetteer/actors.toml).

A demonym says where an incident happened only in some roles, which places.py needs to tell apart:
"Armenian positions", "позиции ВСУ" name the target (the incident is in Armenia, in Ukraine's
lines); "Azerbaijani forces", "Israeli jets" name the attacker (they say nothing about where).
"""

from __future__ import annotations

import functools
import re
import tomllib
from importlib import resources

from monitor.errors import MonitorError
from monitor.reading.word_index import PatternIndex

_TARGET_AFTER = re.compile(
    r"\s+(?:positions?|posts?|outposts?|villages?|towns?|cities|city|settlements?|territory|"
    r"communities|civilians|homes|soil|refinery|region|province|oblast|airfield|base|port|(?:\w+\s+)?positions|"
    r"позици\w*|сел\w*|город\w*|территори\w*|населенн\w*|населённ\w*|област\w*|регион\w*)",
    re.IGNORECASE)
_TARGET_BEFORE = re.compile(r"(?:positions of (?:the )?|(?:позици\w*|attack(?:ed|s)?|ambush(?:ed)?|shell(?:ed|s)?|"
                            r"target(?:ed|s)?|hit)\s+)\Z", re.IGNORECASE)
_FORCE_AFTER = re.compile(
    r"\s+((?:armed\s+)?forces|troops|army|military|soldiers|servicemen|border guards|drones?|warplanes|jets|"
    r"artillery|(?:air|missile|drone)?\s?strikes?|airstrikes?|shelling|missiles?|rockets?|militias?|"
    r"вооружен\w* сил\w*|вооружён\w* сил\w*|военн\w*|войск\w*|арми\w*|самол[её]т\w*|беспилотник\w*|дрон\w*|"
    r"ракет\w*|удар\w*|авиаци\w*|артиллери\w*)", re.IGNORECASE)
_FORCE_WORDS = re.compile(r"forces|troops|army|military|soldiers|servicemen|border guards|militias?|"
                          r"вооруж|военн|войск|арми", re.IGNORECASE)


def demonym_role(text: str, start: int, end: int) -> tuple[str, str | None]:
    """The role of the demonym text[start:end]: ("target", None), ("actor", "Azerbaijani forces")
    when it names armed forces or their weapons, else ("other", None)."""
    if _TARGET_AFTER.match(text, end) or _TARGET_BEFORE.search(text, max(0, start - 25), start):
        return "target", None
    force = _FORCE_AFTER.match(text, end)
    if force is None:
        return "other", None
    # "Israeli jets" make Israel an actor, but only armed forces are reported as one.
    name = f"{text[start:end]} {force.group(1)}" if _FORCE_WORDS.match(force.group(1)) else None
    return "actor", name


def armed_groups(text: str, lowered: str | None = None) -> tuple[str, ...]:
    """The armed groups `text` names, by canonical name, in order of first mention. `lowered`:
    rules.lower_text(text), when known (the same as text.lower() but where that changes the length)."""
    if lowered is None or "\u0130" in text:  # the one character whose lower case is two characters
        lowered = text.lower()
    names, index = _group_index()
    candidates = index.scan(lowered)
    found = [(m.start(), names[i]) for i in index.present(candidates) if (m := index.search(i, lowered, candidates))]
    return tuple(name for _, name in sorted(found))


@functools.lru_cache(maxsize=1)
def _group_index() -> tuple[tuple[str, ...], PatternIndex]:
    """The groups' names and their patterns, indexed to be run only where they can match."""
    groups = _groups()
    return tuple(name for name, _ in groups), PatternIndex([regex for _, regex in groups])


@functools.lru_cache(maxsize=1)
def _groups() -> tuple[tuple[str, re.Pattern[str]], ...]:
    source = "monitor/data/gazetteer/actors.toml"
    try:
        data = tomllib.loads((resources.files("monitor") / "data" / "gazetteer" / "actors.toml").read_text("utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise MonitorError(f"{source}: cannot load ({e})") from e
    groups = []
    for name, patterns in data.get("groups", {}).items():
        if not isinstance(patterns, list) or not all(isinstance(p, str) and p for p in patterns):
            raise MonitorError(f"{source}: groups.{name} must be a list of patterns")
        try:
            groups.append((name, re.compile(r"(?<!\w)(?:" + "|".join(patterns) + r")(?!\w)")))
        except re.error as e:
            raise MonitorError(f"{source}: groups.{name} is not a valid regular expression ({e})") from e
    return tuple(groups)
