"""Run many whole-word patterns over a text, each only where a match of it can begin.

Every rule and weapon pattern is whole-word bounded (rules._bounded), so a match begins at the start
of a word. `pattern_starts` reads, once per pattern, the first letters a match must begin with ("art",
"mor", "shell" ...). `PatternIndex.scan` finds, in one pass over a text, the words that begin like
that, for all patterns at once; `PatternIndex.finditer` then tries a pattern only at its words instead
of at every character, and yields exactly what `regex.finditer` would: the positions skipped are ones
where no match can begin. When either side cannot tell (an unusual pattern, unusual characters in the
text), the pattern is run as usual.
"""

from __future__ import annotations

import functools
import importlib
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

_LEN = 6  # characters kept per start: enough to tell "forces" from "for", "is fig" from "is"
_MAX_STARTS = 4096  # a pattern with more starts than this is simply run
_MAX_RANGE = 64  # a character class range wider than this is not spelled out
_WORD = re.compile(r"\w")
_ASCII_DIGITS = "0123456789"
_PLAIN_LETTERS = "abcdefghijklmnopqrstuvwxyzабвгдеёжзийклмнопрстуфхцчшщъыьэюя"


def _odd_characters() -> str:
    """Characters a case-insensitive pattern equates with letters other than their lower case ("ſ"
    with "s", "ᲀ" with "в"; see re._casefix), and "İ", whose lower case is two characters."""
    try:
        casefix: Any = importlib.import_module("re._casefix")
        odd = {chr(c) for key, values in casefix._EXTRA_CASES.items() for c in (key, *values)}
    except (ImportError, AttributeError):
        return ""
    return "\u0130" + "".join(sorted(odd - set(_PLAIN_LETTERS)))


_ODD = _odd_characters()
# A text with these is run with every pattern: digits other than 0-9 (a pattern's \d is read as 0-9
# here) and the odd characters above (for the rules run case-insensitively on the original text).
# ("[^\D0-9]": a digit other than 0-9, one class test per character where "(?![0-9])\d" took two.)
UNINDEXABLE = re.compile(r"[^\D0-9]|[" + re.escape(_ODD) + "]" if _ODD else r"[^\x00-\x7f]")


class PatternIndex:
    """Many whole-word patterns to run over the same texts: one scan of a text finds, for all of
    them at once, the words where a match can begin, and each pattern is tried only there."""

    def __init__(self, patterns: Sequence[re.Pattern[str]]) -> None:
        self.patterns = tuple(patterns)
        plans, needs = [], []
        for regex in self.patterns:  # one after the other, so each pattern is parsed once (_tree)
            plans.append(pattern_starts(regex))
            needs.append(pattern_needs(regex))
        self._needs = tuple(needs)
        self._leads = tuple(plan[1] if plan else 0 for plan in plans)
        self._unplanned = frozenset(i for i, plan in enumerate(plans) if plan is None)
        by_start: dict[str, set[int]] = {}
        for i, plan in enumerate(plans):
            for start in plan[0] if plan else ():
                by_start.setdefault(start, set()).add(i)
        # A word is filed under the longest start it begins with (`head`); pattern i is tried at the
        # words filed under a head that begins with one of its starts.
        heads_of: list[set[str]] = [set() for _ in plans]
        for head in by_start:
            for n in range(1, len(head) + 1):
                for i in by_start.get(head[:n], ()):
                    heads_of[i].add(head)
        self._heads_of = tuple(frozenset(h) for h in heads_of)
        patterns_of: dict[str, set[int]] = {}
        for i, heads in enumerate(heads_of):
            for head in heads:
                patterns_of.setdefault(head, set()).add(i)
        self._patterns_of = {head: frozenset(ids) for head, ids in patterns_of.items()}
        starts = sorted(by_start)
        # a look-ahead, so a start running over several words ("u.s. d") hides none of them
        self._heads = re.compile(r"(?<!\w)(?=(" + trie_pattern(starts) + "))") if starts else None

    def scan(self, text: str) -> Candidates:
        """The words of `text` (lower-cased) where some pattern may match, filed by their head."""
        if not text.isascii() and UNINDEXABLE.search(text):
            return Candidates(None, text)
        at: dict[str, list[int]] = {}
        if self._heads is not None:
            for m in self._heads.finditer(text):
                at.setdefault(m.group(1), []).append(m.start())
        return Candidates(at, text)

    def present(self, candidates: Candidates) -> list[int]:
        """The numbers of the patterns that may match the scanned text, in order: the others cannot."""
        if candidates.at is None:
            return list(range(len(self.patterns)))
        found = set(self._unplanned).union(*(self._patterns_of[head] for head in candidates.at))
        return sorted(found)

    def finditer(self, i: int, text: str, candidates: Candidates) -> Iterator[re.Match[str]]:
        """The matches of `self.patterns[i].finditer(text)`, found by trying the pattern only at its
        candidates. `text` may differ from the scanned one in letter case only."""
        regex = self.patterns[i]
        if candidates.at is None or i in self._unplanned:
            yield from regex.finditer(text)
            return
        heads = self._heads_of[i].intersection(candidates.at)
        needs = self._needs[i]
        if not heads or (needs is not None and not any(need in candidates.text for need in needs)):
            return
        # a word has one head, so the heads' positions do not overlap
        positions = sorted(p for head in heads for p in candidates.at[head]) if len(heads) > 1 \
            else candidates.at[next(iter(heads))]
        lead = self._leads[i]
        if lead:  # quotes or dashes may come before the first letter: "«Град»"
            positions = sorted({p - j for p in positions for j in range(lead + 1) if p >= j})
        end = 0
        for pos in positions:
            if pos < end:
                continue
            m = regex.match(text, pos)
            if m is not None:
                yield m
                end = m.end()  # never empty: a match holds at least the letters of its start

    def search(self, i: int, text: str, candidates: Candidates) -> re.Match[str] | None:
        """`self.patterns[i].search(text)`, tried only at its candidates."""
        return next(self.finditer(i, text, candidates), None)


@dataclass(frozen=True)
class Candidates:
    """For one text: head -> the starts of the words filed under it, in order; None when the text
    cannot be indexed (see UNINDEXABLE) and every pattern is run in full."""

    at: dict[str, list[int]] | None
    text: str  # the scanned text


def trie_pattern(words: list[str]) -> str:
    """An alternation of `words` factored by common prefixes ("t(?:wo|hree|en)"), longest match first.

    The regex engine tries alternatives one by one at every position; hundreds of number words
    made the casualty patterns the slowest part of classification. A prefix tree fails at the
    first letter that no word continues with.
    """
    tree: dict[str, Any] = {}
    for word in words:
        node = tree
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def render(node: dict[str, Any]) -> str:
        branches = [re.escape(ch) + render(child) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if "" in node else body

    return "(?:" + render(tree) + ")"


@functools.cache
def pattern_starts(regex: re.Pattern[str]) -> tuple[frozenset[str], int] | None:
    """The word beginnings a match of `regex` must start with, and how many non-letters (a quote, a
    dash) may come before them; None when a match may begin anywhere.

    A pattern compiled with IGNORECASE (rules.Rule.cased) gets lower-case starts, to be compared with
    the lower-cased text."""
    try:
        out = _Starts()
        _walk(_tree(regex), "", 0, out, False, bool(regex.flags & re.IGNORECASE))
    except (_Unknown, ImportError, AttributeError, TypeError, ValueError, RecursionError):
        return None
    return frozenset(out.prefixes), out.lead


@functools.cache
def pattern_needs(regex: re.Pattern[str]) -> frozenset[str] | None:
    """Strings one of which every match of `regex` contains ("bomb" for "bombed|bombs? fell|[A-Z]\\w+
    bombs"), lower-cased for a case-insensitive pattern; None when none is known."""
    try:
        return _needs(_tree(regex), bool(regex.flags & re.IGNORECASE))
    except (_Unknown, ImportError, AttributeError, TypeError, ValueError, RecursionError):
        return None


def _needs(seq: list[Any], fold: bool) -> frozenset[str] | None:
    """The best set of strings one of which a match of `seq` contains: of each literal run and each
    group, alternation or repetition that must match, the set whose shortest string is longest."""
    options: list[frozenset[str]] = []
    run = ""
    for op, av in [*seq, (None, None)]:
        name = str(op)
        if name == "LITERAL":
            run += _char(av, fold)
            continue
        if run:
            options.append(frozenset({run}))
            run = ""
        found: frozenset[str] | None = None
        if name == "SUBPATTERN":
            found = _needs(list(av[3].data), fold or bool(av[1] & re.IGNORECASE))
        elif name == "BRANCH":
            alternatives = [_needs(list(alt), fold) for alt in av[1]]
            found = frozenset().union(*(a for a in alternatives if a)) if all(alternatives) else None
        elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT") and av[0] >= 1:
            found = _needs(list(av[2].data), fold)
        if found:
            options.append(found)
    return max(options, key=lambda o: (min(map(len, o)), -len(o)), default=None)


@functools.lru_cache(maxsize=1)
def _tree(regex: re.Pattern[str]) -> list[Any]:
    """The parsed items of `regex` (re's own parser), for pattern_starts and pattern_needs in turn."""
    parser: Any = importlib.import_module("re._parser")
    return list(parser.parse(regex.pattern, regex.flags).data)


class _Unknown(Exception):
    """A match of the pattern may begin with anything."""


class _Starts:
    def __init__(self) -> None:
        self.prefixes: set[str] = set()
        self.lead = 0

    def end(self, prefix: str, lead: int) -> None:
        if not prefix or len(self.prefixes) >= _MAX_STARTS:
            raise _Unknown
        self.prefixes.add(prefix)
        self.lead = max(self.lead, lead)


def _walk(seq: list[Any], prefix: str, lead: int, out: _Starts, bounded: bool, fold: bool) -> None:
    """Record every prefix a match of the parsed sequence `seq` can begin with, after `prefix`.
    `lead`: non-letters matched before the prefix; `bounded`: a `(?<!\\w)` has been passed, so the
    match begins at the start of a word (or of a run of non-letters); `fold`: case-insensitive."""
    for i, (op, av) in enumerate(seq):
        if len(prefix) >= _LEN:
            break
        name = str(op)
        if name == "ASSERT_NOT" and not prefix and not lead and _is_word_boundary(av):
            bounded = True
            continue
        if name in ("ASSERT", "ASSERT_NOT", "AT"):
            continue  # zero-width: skipping it only widens the set
        if not bounded:
            raise _Unknown  # the match may begin inside a word
        if name == "LITERAL":
            ch = _char(av, fold)
            if prefix or _WORD.match(ch):
                prefix += ch
            else:
                lead += 1  # a quote or a dash before the first letter: a word begins after it
            continue
        if name in _BRANCHING:
            _branch(name, av, seq[i + 1:], prefix, lead, out, fold)
            return
        break  # any other item (., \\w, a back-reference ...): the known prefix ends here
    out.end(prefix, lead)


_BRANCHING = ("IN", "BRANCH", "SUBPATTERN", "MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT")


def _branch(name: str, av: Any, rest: list[Any], prefix: str, lead: int, out: _Starts, fold: bool) -> None:
    """_walk on through a class, an alternation, a group or a repetition, then `rest`."""
    if name == "IN":
        chars = _class_chars(av)
        if chars is None:
            out.end(prefix, lead)
            return
        for ch in dict.fromkeys(_char(ord(c), fold) for c in chars):
            if prefix or _WORD.match(ch):
                _walk(rest, prefix + ch, lead, out, True, fold)
            else:
                _walk(rest, prefix, lead + 1, out, True, fold)
    elif name == "BRANCH":
        for alternative in av[1]:
            _walk(list(alternative) + rest, prefix, lead, out, True, fold)
    elif name == "SUBPATTERN":
        _, add_flags, _, body = av
        if add_flags & re.IGNORECASE and not fold:
            raise _Unknown  # a case-insensitive part in a pattern run on lower-cased text
        _walk(list(body.data) + rest, prefix, lead, out, True, fold)
    else:
        low, high, body = av
        if low == 0:
            _walk(rest, prefix, lead, out, True, fold)
        # an optional item is followed by the rest; a longer repetition ends the prefix
        _walk(list(body.data) + (rest if high == 1 else []), prefix, lead, out, True, fold)


def _char(code: int, fold: bool) -> str:
    ch = chr(code)
    if not fold:
        return ch
    lower = ch.lower()
    if lower in _ODD:
        raise _Unknown
    return lower if len(lower) == 1 else ch


def _is_word_boundary(av: Any) -> bool:
    """True for the parsed `(?<!\\w)`: a look-behind that no word character precedes."""
    direction, body = av
    return bool(direction == -1 and len(body.data) == 1 and str(body.data[0][0]) == "IN"
                and [str(x) for item in body.data[0][1] for x in item] == ["CATEGORY", "CATEGORY_WORD"])


def _class_chars(items: list[Any]) -> str | None:
    """The characters a character class matches, when it is a short explicit list."""
    chars: list[str] = []
    for op, av in items:
        name = str(op)
        if name == "LITERAL":
            chars.append(chr(av))
        elif name == "RANGE" and av[1] - av[0] <= _MAX_RANGE:
            chars.extend(chr(c) for c in range(av[0], av[1] + 1))
        elif name == "CATEGORY" and str(av) == "CATEGORY_DIGIT":
            chars.extend(_ASCII_DIGITS)
        else:
            return None  # negated, a wide range, \w, \s ...
    return "".join(chars)


def with_first_characters(regex: re.Pattern[str]) -> re.Pattern[str]:
    """`regex` with a look-ahead for the characters a match can begin with, when they are few and
    known: the same matches, but a search turns the other positions away with one test instead of
    trying every alternative there (the case-insensitive alternations of place_scan, ~2x faster).
    The look-ahead takes the pattern's own flags, so it folds case exactly as the pattern does."""
    try:
        first, empty = _first_characters(_tree(regex))
        if empty or not first:
            return regex  # a match may be empty, or begin with anything
        chars = "".join(re.escape(ch) for ch in sorted(first))
        return re.compile(f"(?=[{chars}])(?:{regex.pattern})", regex.flags)
    except (_Unknown, re.error, ImportError, AttributeError, TypeError, ValueError, RecursionError):
        return regex


def _first_characters(seq: list[Any]) -> tuple[set[str], bool]:
    """The characters a match of the parsed sequence `seq` can begin with, and whether it can match
    the empty string (then what follows it may begin the match too). Raises _Unknown when a match
    may begin with a character class that is not a short explicit list."""
    first: set[str] = set()
    for op, av in seq:
        name = str(op)
        if name in ("AT", "ASSERT", "ASSERT_NOT"):
            continue  # zero-width: skipping it only widens the set
        if name == "LITERAL":
            first.add(chr(av))
            return first, False
        if name == "IN":
            listed = _class_chars(av)
            if listed is None or any(str(item) == "CATEGORY" for item, _ in av):
                raise _Unknown  # \d is more than 0-9 here: the text is not checked for other digits
            first.update(listed)
            return first, False
        if name == "SUBPATTERN":
            if (av[1] | av[2]) & re.IGNORECASE:
                raise _Unknown  # a part folding case otherwise than the look-ahead would
            found, empty = _first_characters(list(av[3].data))
        elif name == "BRANCH":
            found, empty = set(), False
            for alternative in av[1]:
                begins, alt_empty = _first_characters(list(alternative))
                found.update(begins)
                empty = empty or alt_empty
        elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            found, empty = _first_characters(list(av[2].data))
            empty = empty or av[0] == 0
        else:
            raise _Unknown  # ., \w, a back-reference ...
        first.update(found)
        if not empty:
            return first, False
    return first, True
