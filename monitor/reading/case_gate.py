"""Cheap pre-scans for case-insensitive patterns: a literal word a pattern's every match holds, looked
for in the lower-cased text before the pattern itself is run (an IGNORECASE scan costs many times more).

A gate is a necessary condition, never a replacement: where it finds its word the original pattern
decides, so the result is the pattern's own. It holds because for the letters, digits and spaces gates
are made of, every character `re.IGNORECASE` matches to one lower-cases to it (`str.lower`), with the
few exceptions below: a text that has one of those is scanned by the patterns alone (`lowered_for`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from monitor.reading.word_index import trie_pattern

# Characters IGNORECASE matches to a gate's ASCII or Cyrillic letter that str.lower() does not turn into
# it: dotted and dotless i, the long s, the old Cyrillic letter forms (and "İ" lower-cases to two).
UNSAFE = re.compile("[\u0130\u0131\u017f\u1c80-\u1c88]")
# What gates may be made of: the characters whose IGNORECASE matches were checked (tests/test_case_gate.py).
GATE_CHARS = "abcdefghijklmnopqrstuvwxyzабвгдеёжзийклмнопрстуфхцчшщъыьэюя0123456789 ,'’-"


def gate(words: list[str]) -> re.Pattern[str]:
    """A pre-scan for any of `words` (lower-case) in lower-cased text."""
    bad = {ch for word in words for ch in word if ch not in GATE_CHARS}
    if bad:
        raise ValueError(f"gate words may hold only {GATE_CHARS!r}, not {sorted(bad)}")
    return re.compile(trie_pattern(words))


def lowered_for(text: str) -> str | None:
    """The lower-cased text the gates scan, or None where they cannot be trusted (every gate passes)."""
    return None if UNSAFE.search(text) else text.lower()


def may_match(scan: re.Pattern[str], lowered: str | None, start: int = 0, end: int | None = None) -> bool:
    """Whether the gate lets the pattern run on lowered[start:end] (always, without a lowered text)."""
    if lowered is None:
        return True
    return scan.search(lowered, start, len(lowered) if end is None else end) is not None


_CASED_CAPITAL = "(?-i:[A-Z])"


def loose_twin(pattern: re.Pattern[str]) -> re.Pattern[str]:
    """The IGNORECASE `pattern` as a case-sensitive one for the lower-cased text that matches wherever
    the original matches (the letters it wants capitalised, `(?-i:[A-Z])`, it takes in lower case:
    it may match where the original does not, never the other way). Scanning without IGNORECASE costs
    a third as much."""
    if not pattern.flags & re.IGNORECASE:
        raise ValueError("only an IGNORECASE pattern has a loose twin")
    source = pattern.pattern.replace(_CASED_CAPITAL, "[a-z]")
    unescaped = re.sub(r"\\.", "", source).replace("(?P<", "(?<")
    if "(?-i" in source or any(ch.isupper() for ch in unescaped):
        raise ValueError(f"a loose twin needs lower-case literals: {pattern.pattern[:60]!r}")
    return re.compile(source)


def finditer(pattern: re.Pattern[str], loose: re.Pattern[str], text: str,
             lowered: str | None) -> Iterator[re.Match[str]]:
    """pattern.finditer(text) for a pattern that matches no empty string, with the original pattern
    tried only where its loose twin matches in `lowered` (text lower-cased; None: no twin used).
    Every match of the original starts where its twin matches, so trying those places in order finds
    the original's matches in order."""
    if lowered is None:
        yield from pattern.finditer(text)
        return
    pos = 0
    while (hint := loose.search(lowered, pos)) is not None:
        m = pattern.match(text, hint.start())
        if m is None:
            pos = hint.start() + 1
        else:
            yield m
            pos = max(m.end(), hint.start() + 1)
