"""The questions the name scan (monitor.reading.place_scan) asks the gazetteer about a text's keys,
answered once per key and remembered, as news repeats its words:

* does the key name something (a country, a demonym or a place)?
* does a longer name go on from it ("north" -> "north kivu")? Most words begin no longer name, so
  the scan looks up one length at such a word instead of every length up to the longest name.
* the same for loose keys (gazetteer.loose_key), in the second pass;
* what a word in lower case may begin: only a demonym or a curated phrase (see place_scan._take);
* the candidates of a key (Gazetteer.lookup, lookup_loose), made into entries once.

The answers are exactly the gazetteer's (tests/test_name_lookup.py compares them); only the work is
saved. The memory is bounded: each question forgets its keys at once when it holds too many.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

from monitor.reading.gazetteer import Entry, Gazetteer
from monitor.reading.gazetteer_index import KeyIndex

_MEMO_SIZE = 100_000  # keys remembered per question, then forgotten at once (as gazetteer_index)
_ENTRIES_MEMO_SIZE = 20_000  # keys whose candidates are remembered (a few kB each at most)
_KEPT = 4  # gazetteers whose lookups are kept (load_gazetteer keeps as many)


class NameLookup:
    """Remembered answers about the keys of one gazetteer."""

    def __init__(self, gazetteer: Gazetteer) -> None:
        self._gazetteer = gazetteer
        # Mappings that are not a sorted index file (the curated names, countries, demonyms; plain
        # dicts in tests) are small: the strings their keys go on from are listed once.
        small: list[Iterable[str]] = [gazetteer.curated, gazetteer.countries, gazetteer.demonyms]
        self._sorted = [m for m in (gazetteer.geonames, gazetteer.division_names) if isinstance(m, KeyIndex)]
        small += [m for m in (gazetteer.geonames, gazetteer.division_names) if not isinstance(m, KeyIndex)]
        self._heads = _heads(key for keys in small for key in keys)
        self._lower_heads = _heads((*gazetteer.curated, *gazetteer.demonyms))
        self._loose_sorted = [m for m in (gazetteer.loose_names, gazetteer.loose_division_names)
                              if isinstance(m, KeyIndex)]
        self._loose_heads = _heads(key for m in (gazetteer.loose_names, gazetteer.loose_division_names)
                                   if not isinstance(m, KeyIndex) for key in m)
        self._names: dict[str, bool] = {}
        self._has: dict[str, bool] = {}
        self._goes_on: dict[str, bool] = {}
        self._loose_goes_on: dict[str, bool] = {}
        self._candidates: dict[str, tuple[Entry, ...]] = {}
        self._loose_candidates: dict[str, tuple[Entry, ...]] = {}
        self.memo: dict[str, Any] = {}  # for the scan's own per-word answers (place_scan._marks)

    def remember(self, key: str, value: Any) -> None:
        """Keep the scan's `value` for `key` in `memo`."""
        _remember(self.memo, key, value)

    def names(self, key: str, length: int = 1) -> bool:
        """Whether `key` (of `length` words) names a country, a demonym or a place."""
        found = self._names.get(key)
        if found is None:
            g = self._gazetteer
            found = key in g.countries or key in g.demonyms or g.has(key)
            _remember(self._names, key, found)
        return found

    def names_in_lower_case(self, key: str, length: int) -> bool:
        """Whether `key` of `length` words names what words in lower case may name: a demonym of one or
        two words ("российских"), or a curated phrase of more ("southern lebanon")."""
        g = self._gazetteer
        return (length <= 2 and key in g.demonyms) or (length > 1 and key in g.curated)

    def goes_on_in_lower_case(self, key: str) -> bool:
        """Whether a demonym or a curated name begins with `key` and a space."""
        return key in self._lower_heads

    def has(self, key: str) -> bool:
        """Gazetteer.has: whether `key` names a place."""
        found = self._has.get(key)
        if found is None:
            found = self._gazetteer.has(key)
            _remember(self._has, key, found)
        return found

    def candidates(self, key: str) -> tuple[Entry, ...]:
        """Gazetteer.lookup: the places named `key`."""
        found = self._candidates.get(key)
        if found is None:
            found = self._gazetteer.lookup(key)
            _remember(self._candidates, key, found, _ENTRIES_MEMO_SIZE)
        return found

    def loose_candidates(self, key: str) -> tuple[Entry, ...]:
        """Gazetteer.lookup_loose: the places whose loose key is that of `key`."""
        found = self._loose_candidates.get(key)
        if found is None:
            found = self._gazetteer.lookup_loose(key)
            _remember(self._loose_candidates, key, found, _ENTRIES_MEMO_SIZE)
        return found

    def goes_on(self, key: str) -> bool:
        """Whether some key of a country, demonym or place begins with `key` and a space."""
        found = self._goes_on.get(key)
        if found is None:
            local = self._gazetteer.local
            found = key in self._heads or any(m.continues(key) for m in self._sorted) or (
                local is not None and local.continues(key))
            _remember(self._goes_on, key, found)
        return found

    def loose_goes_on(self, loose: str) -> bool:
        """Whether some loose key of a place begins with the loose key `loose` and a space."""
        found = self._loose_goes_on.get(loose)
        if found is None:
            local = self._gazetteer.local
            found = loose in self._loose_heads or any(m.continues(loose) for m in self._loose_sorted) or (
                local is not None and local.continues(loose, kind=1))
            _remember(self._loose_goes_on, loose, found)
        return found


def _heads(keys: Iterable[str]) -> frozenset[str]:
    """Every string that a key goes on from: "a b c" -> "a", "a b"."""
    out: set[str] = set()
    for key in keys:
        at = key.find(" ")
        while at >= 0:
            out.add(key[:at])
            at = key.find(" ", at + 1)
    return frozenset(out)


def _remember(memo: dict[str, Any], key: str, found: Any, size: int = _MEMO_SIZE) -> None:
    if len(memo) >= size:
        memo.clear()
    memo[key] = found


_lookups: tuple[tuple[Gazetteer, NameLookup], ...] = ()
_lock = threading.Lock()


def lookup_for(gazetteer: Gazetteer) -> NameLookup:
    """The NameLookup of `gazetteer`, made on first use (the last few gazetteers' are kept)."""
    global _lookups
    for g, lookup in _lookups:
        if g is gazetteer:
            return lookup
    with _lock:
        for g, lookup in _lookups:
            if g is gazetteer:
                return lookup
        lookup = NameLookup(gazetteer)
        _lookups = ((gazetteer, lookup), *_lookups[:_KEPT - 1])
        return lookup
