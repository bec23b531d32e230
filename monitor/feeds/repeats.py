"""Parsing only the entries of a feed body that are not stored already.

A feed lists its recent items at every poll: most of a changed body is entries this process has parsed
before, whose articles are stored. feedparser is most of the pipeline's cost on such bodies, so each entry's
bytes (`<item>…</item>` / `<entry>…</entry>`, found by a plain scan) are remembered with the fingerprint they
gave; at the next poll the entries whose fingerprint is stored are cut out of the document and feedparser
reads the rest. The pipeline would have counted those entries as duplicates without classifying them.

Only when that is safe: a body whose entries are consecutive elements of the root followed only by closing
tags, a remembered entry came from a clean parse (no recovery from bad XML or a wrong charset) of a body
with the same preamble (the part before the first entry, less the feed's own timestamps) under the same
headers, source and language, and it had a URL or guid (a fingerprint by title reads the date, which the
clock bounds). A cut document that does not parse clean into one item per entry left is parsed whole.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from monitor.errors import FeedError
from monitor.feeds.parse import PASSED_HEADERS, fingerprint, parse_entries, unique_items
from monitor.models import FeedItem

DEFAULT_SIZE = 32_768  # entries remembered (~250 bytes each): about one cycle of 1,000 feeds of 30 items

_ENTRY = re.compile(rb"<(item|entry)[\s>].*?</\1\s*>", re.S)
_CLOSING_ONLY = re.compile(rb"\s*(?:</(?:channel|rss|feed)\s*>\s*)+\Z")
# Feed-level timestamps change at every poll and say nothing about the entries.
_FEED_DATES = re.compile(rb"<(lastBuildDate|pubDate|updated|dc:date)>[^<]*</\1>")


@dataclass(frozen=True)
class Layout:
    head: bytes
    entries: list[bytes]
    tail: bytes


def split_entries(body: bytes) -> Layout | None:
    """The body as preamble, entries and closing tags; None when it is not laid out that plainly."""
    found = list(_ENTRY.finditer(body))
    if not found:
        return None
    for a, b in zip(found, found[1:], strict=False):
        if body[a.end():b.start()].strip():  # text between entries: a cut in the wrong place (CDATA, comments)
            return None
    tail = body[found[-1].end():]
    if not _CLOSING_ONLY.match(tail):
        return None
    return Layout(body[:found[0].start()], [m.group(0) for m in found], tail)


class RepeatIndex:
    """Fingerprints of entries parsed before, by (context, entry bytes): a bounded LRU shared by threads."""

    def __init__(self, size: int = DEFAULT_SIZE) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._prints: OrderedDict[bytes, str] = OrderedDict()

    def __len__(self) -> int:
        return len(self._prints)

    def get(self, keys: Sequence[bytes]) -> dict[int, str]:
        with self._lock:
            found = {i: p for i, k in enumerate(keys) if (p := self._prints.get(k)) is not None}
            for i in found:
                self._prints.move_to_end(keys[i])
        return found

    def remember(self, pairs: Sequence[tuple[bytes, str]]) -> None:
        if self._size <= 0:
            return
        with self._lock:
            for key, value in pairs:
                self._prints[key] = value
                self._prints.move_to_end(key)
            while len(self._prints) > self._size:
                self._prints.popitem(last=False)


def _keys(layout: Layout, headers: Mapping[str, str], source: str, lang: str | None, url: str) -> list[bytes]:
    # Only the headers feedparser reads (others, such as Date or ETag, change at every poll)
    passed = sorted((k.lower(), v) for k, v in headers.items() if k.lower() in PASSED_HEADERS)
    context = repr((passed, source, lang, url)).encode()
    head = _FEED_DATES.sub(b"", layout.head)
    base = hashlib.blake2b(context + b"\0" + head, digest_size=16).digest()
    return [hashlib.blake2b(base + entry, digest_size=16).digest() for entry in layout.entries]


def _remember(index: RepeatIndex, keys: Sequence[bytes], items: Sequence[FeedItem | None]) -> None:
    index.remember([(k, fingerprint(item)) for k, item in zip(keys, items, strict=True)
                    if item is not None and (item.url or item.guid)])


def parse_unseen(body: bytes, headers: Mapping[str, str], *, source: str, lang: str | None = None, url: str = "",
                 now: datetime | None = None, index: RepeatIndex,
                 stored: Callable[[Sequence[str]], Collection[str]]) -> tuple[list[FeedItem], int]:
    """`parse_feed`, less the entries remembered in `index` whose fingerprint `stored` says is stored:
    (the items, how many entries were left out). Raises FeedError as `parse_feed` does."""
    layout = split_entries(body)
    if layout is None:
        return unique_items(parse_entries(body, headers, source=source, lang=lang, url=url, now=now)[0]), 0
    keys = _keys(layout, headers, source, lang, url)
    known = index.get(keys)
    in_store = set(stored(sorted(set(known.values())))) if known else set()
    skip = {i for i, p in known.items() if p in in_store}
    if skip:
        kept = [i for i in range(len(keys)) if i not in skip]
        cut = layout.head + b"".join(layout.entries[i] for i in kept) + layout.tail
        try:
            items, clean = parse_entries(cut, headers, source=source, lang=lang, url=url, now=now)
        except FeedError:
            clean = False
        if clean and len(items) == len(kept):
            _remember(index, [keys[i] for i in kept], items)
            return unique_items(items), len(skip)
    items, clean = parse_entries(body, headers, source=source, lang=lang, url=url, now=now)
    if clean and len(items) == len(keys):  # entries and feedparser's items match one to one
        _remember(index, keys, items)
    return unique_items(items), 0
