"""One scan of a text for every pattern classify runs on it: rules, weapons, scrub, context cues.

Each of these patterns is whole-word bounded, so a match begins at the start of a word, or a few
non-letters before it ("«Град»"). word_index.pattern_starts reads the word beginnings a match must
begin with. `RuleIndex.scan` finds, in one pass over a text, the words that begin like that, for all
the patterns at once; `finditer` then tries a pattern only at its words (not at every character),
and `near` tells whether a pattern can begin at all in a stretch of the text, so a cue is searched
for only where one of its words is. Both find exactly what the patterns' own finditer and search
find: the positions they skip are ones where no match can begin (tests/test_rule_index.py). A text
the starts cannot speak for (word_index: unusual digits or letter cases) gets every pattern run in full.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator, Sequence

from monitor.reading.word_index import UNINDEXABLE as _UNINDEXABLE
from monitor.reading.word_index import pattern_needs, pattern_starts, trie_pattern

_WORD = re.compile(r"\w")
_NOWHERE: list[int] = []  # (never changed)


class RuleIndex:
    """Many whole-word patterns to run over the same texts, each only where it can begin."""

    def __init__(self, patterns: Sequence[re.Pattern[str]]) -> None:
        self.patterns = tuple(patterns)
        plans, needs = [], []
        for regex in self.patterns:  # one after the other, so each pattern is parsed once (word_index._tree)
            plans.append(pattern_starts(regex))
            needs.append(pattern_needs(regex))
        self._needs = tuple(needs)
        self._leads = tuple(plan[1] if plan else 0 for plan in plans)
        # A pattern that may begin at any word ("(?-i:[A-Z])\w+ bombs": a start of one letter) is left
        # out of the scan, which would otherwise stop at every word of every text; it is run in full,
        # on the texts that hold one of the strings its matches need.
        broad = {i for i, plan in enumerate(plans) if plan and any(len(s) == 1 and s.isalpha() for s in plan[0])}
        self._unplanned = frozenset(i for i, plan in enumerate(plans) if plan is None or i in broad)
        starts_of = [plan[0] if plan and i not in broad else frozenset() for i, plan in enumerate(plans)]
        by_start: dict[str, set[int]] = {}
        for i, starts in enumerate(starts_of):
            for start in starts:
                by_start.setdefault(start, set()).add(i)
        heads = sorted(by_start)
        # The scan files a word under the longest start it begins with (its head); pattern i can
        # begin at the words whose head begins with one of its starts.
        patterns_of: dict[str, set[int]] = {}
        for head in heads:
            for n in range(1, len(head) + 1):
                for i in by_start.get(head[:n], ()):
                    patterns_of.setdefault(head, set()).add(i)
        self._patterns_of = {head: tuple(sorted(found)) for head, found in patterns_of.items()}
        # A word begins after a non-word character or at the start of the text: with a space put
        # before the text, `\W` then the head finds every one, and the regex engine skips straight
        # to the next non-word character instead of trying the pattern at every letter. The starts
        # begin with a letter or digit (word_index), so no word start is missed.
        self._padded = all(_WORD.match(head) for head in heads)
        trie = trie_pattern(heads)
        self._scan = (re.compile(r"\W(?=(" + trie + "))") if self._padded
                      else re.compile(r"(?<!\w)(?=(" + trie + "))")) if heads else None

    def scan(self, text: str) -> Scanned:
        """Where in `text` (lower-cased, see rules.lower_text) each pattern may begin."""
        if not text.isascii() and _UNINDEXABLE.search(text):
            return Scanned(self, text, None)
        # pattern -> the offsets of the words it may begin at, in order: filled hit by hit, so no list
        # needs sorting or merging afterwards
        where: dict[int, list[int]] = {}
        if self._scan is not None:
            patterns_of, get = self._patterns_of, where.get
            # padded: the match is the non-word character before the word, at the word's own offset
            for m in self._scan.finditer(" " + text if self._padded else text):
                at = m.start()
                for i in patterns_of[m.group(1)]:
                    found = get(i)
                    if found is None:
                        where[i] = [at]
                    else:
                        found.append(at)
        return Scanned(self, text, where)

    def matches(self, i: int, text: str, scanned: Scanned, limit: int = 0) -> list[re.Match[str]]:
        """The first `limit` (0: all) matches of `self.patterns[i].finditer(text)`. `text` is the scanned
        text or differs from it in letter case only (a case-sensitive rule run on the original text)."""
        regex = self.patterns[i]
        positions = scanned.positions(i)
        needs = self._needs[i] if scanned.where is not None else None  # (word_index: needs only then)
        if positions is None:
            if needs is not None and not any(need in scanned.text for need in needs):
                return []
            found = []
            for every in regex.finditer(text):
                found.append(every)
                if len(found) == limit:
                    break
            return found
        if not positions:
            return []
        # The needed strings are looked for when that costs less than trying the pattern's words.
        if needs is not None and len(needs) <= len(positions):
            lowered = scanned.text
            for need in needs:
                if need in lowered:
                    break
            else:
                return []
        found, end, match = [], 0, regex.match
        for pos in positions:
            if pos < end:
                continue
            m = match(text, pos)
            if m is not None:
                found.append(m)
                if len(found) == limit:
                    break
                end = m.end()  # never empty: a match holds at least the letters of its start
        return found

    def search(self, i: int, text: str, scanned: Scanned, start: int, end: int,
               regex: re.Pattern[str] | None = None) -> re.Match[str] | None:
        """`self.patterns[i].search(text, start, end)`, tried only at the words where it may begin; or
        `regex.search(...)` for a `regex` whose every match begins with a match of pattern i."""
        regex = regex or self.patterns[i]
        positions = scanned.positions(i)
        if positions is None:
            return regex.search(text, start, end)
        match = regex.match
        for k in range(bisect.bisect_left(positions, start), len(positions)):
            if positions[k] > end:
                break
            m = match(text, positions[k], end)
            if m is not None:
                return m
        return None

    def finditer_in(self, i: int, text: str, scanned: Scanned, start: int, end: int) -> Iterator[re.Match[str]]:
        """`self.patterns[i].finditer(text, start, end)`, tried only at the words where it may begin."""
        positions = scanned.positions(i)
        if positions is None:
            yield from self.patterns[i].finditer(text, start, end)
            return
        match, after = self.patterns[i].match, start
        for k in range(bisect.bisect_left(positions, start), len(positions)):
            pos = positions[k]
            if pos > end:
                break
            if pos < after:
                continue
            m = match(text, pos, end)
            if m is not None:
                yield m
                after = m.end()  # never empty (see finditer)


class Scanned:
    """One text's words where the patterns of a RuleIndex may begin (`where`: pattern -> word offsets,
    for the patterns with any; None when the text cannot be indexed)."""

    def __init__(self, index: RuleIndex, text: str, where: dict[int, list[int]] | None) -> None:
        self.index = index
        self.text = text
        self.where = where
        # the patterns that may match somewhere in the text
        self.found = index._unplanned.union(where) if where is not None else None
        self._leading: dict[int, list[int]] = {}  # positions of the patterns with a lead, worked out

    def present(self, i: int) -> bool:
        """False when pattern i cannot match anywhere in the text."""
        return self.found is None or i in self.found

    def near(self, i: int, start: int, end: int) -> bool:
        """False when no match of pattern i can begin at an offset in [start, end]."""
        positions = self.positions(i)
        if positions is None:
            return True
        k = bisect.bisect_left(positions, start)
        return k < len(positions) and positions[k] <= end

    def positions(self, i: int) -> list[int] | None:
        """The sorted offsets where a match of pattern i may begin; None: anywhere."""
        if self.where is None or i in self.index._unplanned:
            return None
        found = self.where.get(i, _NOWHERE)
        lead = self.index._leads[i]
        if lead and found:  # quotes or dashes may come before the first letter: "«Град»"
            leading = self._leading.get(i)
            if leading is None:
                leading = self._leading[i] = sorted({p - j for p in found for j in range(lead + 1) if p >= j})
            return leading
        return found
