"""Where an article's evidence phrases stand in its text, for highlighting them on the incident page.

An evidence phrase is quoted from the text, but may skip words with an ellipsis ("mortars … fired at"):
each part is found on its own. Matching ignores case and treats any run of white space as one space.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_ELLIPSIS = re.compile(r"\s*(?:…|\.\.\.)\s*")
MIN_PART = 3  # shorter fragments ("at") would light up half the text


def _pattern(part: str) -> re.Pattern[str]:
    words = [re.escape(w) for w in part.split()]
    return re.compile(r"\s+".join(words), re.IGNORECASE)


def mark_spans(text: str, phrases: Iterable[str]) -> list[tuple[int, int]]:
    """Sorted, non-overlapping (start, end) offsets of every occurrence of the phrases (or their parts)."""
    spans: list[tuple[int, int]] = []
    for phrase in phrases:
        for part in _ELLIPSIS.split(phrase):
            if len(part.strip()) < MIN_PART:
                continue
            spans.extend(m.span() for m in _pattern(part.strip()).finditer(text) if m.end() > m.start())
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged
