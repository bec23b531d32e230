"""A regex search run only when the text searched holds the words every match must hold.

The place stage searches short windows before and after each name for phrases ("talks in", "President",
"following a ... that"); most windows hold none of their words, and a search tries every position of
the window before it says so. `with_hints(regex, hints)` wraps such a pattern: `hints` are groups of
strings, and every match must hold at least one string of each group (written by hand from the pattern
and checked by the tests on made-up windows). A window lacking a group is answered None at the cost of
a few substring tests; any other is searched as before, so the answer is always the pattern's own.

For a case-insensitive pattern the window is compared in lower case (the hints are lower case). str.lower
folds case as re does only on ASCII and basic Cyrillic (re also equates "ſ" with "s", "ᲀ" with "в" ...):
a window with any other character is searched as it is.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

_UNPLAIN = re.compile(r"[^\x00-\x7f\u0400-\u04ff]")


class HintedSearch:
    """`regex.search`, skipped when the window lacks one of the `hints` groups (see the module)."""

    def __init__(self, regex: re.Pattern[str], hints: Sequence[Sequence[str]]) -> None:
        self.pattern = regex
        self.folds = bool(regex.flags & re.IGNORECASE)
        self.hints = tuple(tuple(h.lower() if self.folds else h for h in group) for group in hints)

    def search(self, text: str, pos: int = 0, endpos: int | None = None) -> re.Match[str] | None:
        window = text[pos:endpos] if pos or endpos is not None else text
        if self.may_match(window):
            return self.pattern.search(text, pos, len(text) if endpos is None else endpos)
        return None

    def may_match(self, window: str) -> bool:
        """False when no match can lie in `window`: it lacks every string of some group."""
        if self.folds:
            if not window.isascii() and _UNPLAIN.search(window) is not None:
                return True
            window = window.lower()
        return all(any(hint in window for hint in group) for group in self.hints)


def with_hints(regex: re.Pattern[str], *hints: Sequence[str]) -> HintedSearch:
    """`regex` searched only in windows holding a string of each group of `hints`."""
    return HintedSearch(regex, hints)
