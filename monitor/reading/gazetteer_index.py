"""The compact on-disk form of the GeoNames part of the gazetteer, read with one file read.

File layout (written by scripts/build_gazetteer.py through write_index):
  line 1   JSON header: {"format": 2, "source": ..., "bbox": {...}, "sections": {name: [offset, length]}}
  rest     zlib-compressed UTF-8 sections, one after another (offsets count from the end of line 1)

A section is text split on "\n": a sorted list of keys, the row lists of those keys ("3,17,40"), or
tab-separated rows. Nothing is decompressed until first used and nothing is parsed into objects
until looked up: keys are found by bisection in the sorted list, rows are split when asked for. So
start-up costs one read of the file and the parts a command touches, not 400,000 dict entries.
"""

from __future__ import annotations

import bisect
import json
import threading
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, overload

from monitor.errors import MonitorError

FORMAT = 2
# Key sections in pairs "<name>_keys" / "<name>_rows"; row sections; word lists.
KEY_SECTIONS = ("names", "admin_names", "loose_names", "loose_admin_names")
ROW_SECTIONS = ("places", "admin")
WORD_SECTIONS = ("first_words", "loose_first_words")
# Column types of the row sections (see build_gazetteer for their meaning).
PLACE_TYPES: tuple[Callable[[str], Any], ...] = (int, str, str, int, float, float, int, int, int)
ADMIN_TYPES: tuple[Callable[[str], Any], ...] = (str, str, float, float, int, int, int, int)


def write_index(path: Path, header: dict[str, Any], keys: Mapping[str, Mapping[str, list[int]]],
                rows: Mapping[str, list[list[Any]]], words: Mapping[str, set[str]]) -> int:
    """Write the index file; return its size in bytes."""
    texts: dict[str, str] = {}
    for name, mapping in keys.items():
        ordered = sorted(mapping)
        texts[f"{name}_keys"] = "\n".join(ordered)
        texts[f"{name}_rows"] = "\n".join(",".join(map(str, mapping[k])) for k in ordered)
    for name, table in rows.items():
        texts[name] = "\n".join("\t".join(str(v) for v in row) for row in table)
    for name, found in words.items():
        texts[name] = "\n".join(sorted(found))
    blobs, sections, offset = [], {}, 0
    for name, text in texts.items():
        if any(ch in text for ch in "\x00") or (name in rows and "\r" in text):
            raise ValueError(f"section {name}: a value holds a control character")
        blob = zlib.compress(text.encode("utf-8"), 9)
        sections[name] = [offset, len(blob)]
        offset += len(blob)
        blobs.append(blob)
    head = json.dumps({**header, "format": FORMAT, "sections": sections}, ensure_ascii=False,
                      separators=(",", ":"))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(head.encode("utf-8") + b"\n" + b"".join(blobs))
    tmp.replace(path)
    return path.stat().st_size


class IndexFile:
    """An opened index file: its header, and its sections decompressed on first use (thread-safe)."""

    def __init__(self, data: bytes, where: str) -> None:
        self.where = where
        head, sep, self._body = data.partition(b"\n")
        try:
            self.header: dict[str, Any] = json.loads(head) if sep else {}
        except ValueError:
            self.header = {}
        if self.header.get("format") != FORMAT or not isinstance(self.header.get("sections"), dict):
            raise MonitorError(f"{where}: not a place index of format {FORMAT}",
                               hint="rebuild it with scripts/build_gazetteer.py")
        self._texts: dict[str, list[str]] = {}
        self._lock = threading.Lock()

    @classmethod
    def read(cls, path: Path, where: str) -> IndexFile:
        try:
            return cls(path.read_bytes(), where)
        except OSError as e:
            raise MonitorError(f"{where}: cannot load the place index ({e.strerror or e})",
                               hint="rebuild it with scripts/build_gazetteer.py") from e

    def lines(self, name: str) -> list[str]:
        """The lines of section `name` (an empty list for an empty section)."""
        found = self._texts.get(name)
        if found is not None:
            return found
        with self._lock:
            if name not in self._texts:
                self._texts[name] = self._decode(name)
            return self._texts[name]

    def _decode(self, name: str) -> list[str]:
        try:
            offset, length = self.header["sections"][name]
            text = zlib.decompress(self._body[offset:offset + length]).decode("utf-8")
        except (KeyError, TypeError, ValueError, zlib.error) as e:
            raise MonitorError(f"{self.where}: section {name} is missing or damaged ({e})",
                               hint="rebuild it with scripts/build_gazetteer.py") from e
        return text.split("\n") if text else []


_MEMO_SIZE = 200_000
_UNSEEN = object()


class KeyIndex(Mapping[str, list[int]]):
    """Key -> row numbers, over a sorted key section and its parallel row-list section. Keys looked up
    are remembered (found or not), as the same words come back in text after text."""

    def __init__(self, index: IndexFile | None, name: str) -> None:
        self._index, self._name = index, name
        self._memo: dict[str, list[int] | None] = {}

    def _keys(self) -> list[str]:
        return self._index.lines(f"{self._name}_keys") if self._index is not None else []

    def _find(self, key: str) -> int:
        keys = self._keys()
        i = bisect.bisect_left(keys, key)
        return i if i < len(keys) and keys[i] == key else -1

    def get(self, key: str, default: Any = None) -> Any:
        try:
            found = self._memo[key]
        except KeyError:
            found = self._parse(key)
            if len(self._memo) >= _MEMO_SIZE:
                self._memo.clear()
            self._memo[key] = found
        return default if found is None else found

    def _parse(self, key: str) -> list[int] | None:
        i = self._find(key)
        if i < 0 or self._index is None:
            return None
        rows = self._index.lines(f"{self._name}_rows")[i]
        return [int(v) for v in rows.split(",")] if rows else []

    def continues(self, prefix: str) -> bool:
        """Whether some key begins with `prefix` and a space: a longer name goes on from it. The keys
        that begin so stand together in the sorted list, right where `prefix + " "` would go."""
        keys, head = self._keys(), prefix + " "
        i = bisect.bisect_left(keys, head)
        return i < len(keys) and keys[i].startswith(head)

    def __getitem__(self, key: str) -> list[int]:
        found: list[int] | None = self.get(key)
        if found is None:
            raise KeyError(key)
        return found

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        found = self._memo.get(key, _UNSEEN)
        return (self.get(key) if found is _UNSEEN else found) is not None

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys())

    def __len__(self) -> int:
        return len(self._keys())


class RowTable(Sequence[list[Any]]):
    """The rows of a tab-separated section, split and typed when one is first asked for."""

    def __init__(self, index: IndexFile | None, name: str, types: tuple[Callable[[str], Any], ...]) -> None:
        self._index, self._name, self._types = index, name, types
        self._memo: dict[int, list[Any]] = {}

    def _lines(self) -> list[str]:
        return self._index.lines(self._name) if self._index is not None else []

    @overload
    def __getitem__(self, i: int) -> list[Any]: ...

    @overload
    def __getitem__(self, i: slice) -> list[list[Any]]: ...

    def __getitem__(self, i: int | slice) -> list[Any] | list[list[Any]]:
        if isinstance(i, slice):
            return [self._parse(line) for line in self._lines()[i]]
        found = self._memo.get(i)
        if found is None:
            found = self._parse(self._lines()[i])
            if i >= 0:
                self._memo[i] = found
        return found

    def _parse(self, line: str) -> list[Any]:
        return [t(v) for t, v in zip(self._types, line.split("\t"), strict=False)]

    def __len__(self) -> int:
        return len(self._lines())

    def __iter__(self) -> Iterator[list[Any]]:
        return (self._parse(line) for line in self._lines())
