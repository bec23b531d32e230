"""The local place index: a SQLite file in the state directory, made from GeoNames dumps by
`ceasefire-monitor gazetteer import` (monitor.reading.geonames_import writes it).

It holds what the shipped index leaves out (villages, districts of one country) and is read by key,
never loaded whole: only the first words of its names are held in memory, so a text's words are
tested without a query and only words that start a known name cost one.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import NamedTuple

from monitor.errors import MonitorError

FORMAT = "1"
SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE place (
    id INTEGER PRIMARY KEY,  -- the GeoNames id
    name TEXT NOT NULL, country TEXT NOT NULL, lat REAL NOT NULL, lon REAL NOT NULL,
    population INTEGER NOT NULL,
    level INTEGER NOT NULL,  -- 0 a settlement, 1-3 an admin1-3 division
    a1 TEXT, a2 TEXT,  -- GeoNames admin1 and admin2 codes
    admin1 TEXT, admin2 TEXT  -- their names, from admin_code
);
CREATE TABLE admin_code (code TEXT PRIMARY KEY, name TEXT NOT NULL);  -- "UA.14", "UA.14.1234"
-- kind 0: a name key (gazetteer.name_key / exact_name_key); kind 1: a loose key (gazetteer.loose_key)
CREATE TABLE name (key TEXT NOT NULL, kind INTEGER NOT NULL, id INTEGER NOT NULL,
                   PRIMARY KEY (key, kind, id)) WITHOUT ROWID;
CREATE TABLE first_word (word TEXT NOT NULL, kind INTEGER NOT NULL, PRIMARY KEY (word, kind)) WITHOUT ROWID;
"""
_MAX_CACHED = 50_000


class LocalPlace(NamedTuple):
    geonameid: int
    name: str
    country: str
    lat: float
    lon: float
    population: int
    level: int
    admin1: str | None
    admin2: str | None


class LocalIndex:
    """Read-only access to one local index file; safe to share between threads."""

    def __init__(self, path: Path, db: sqlite3.Connection, first: frozenset[str], loose_first: frozenset[str],
                 meta: dict[str, str]) -> None:
        self.path = path
        self.first_words = first
        self.loose_first_words = loose_first
        self.meta = meta
        self._db = db
        self._lock = threading.Lock()
        self._cache: dict[tuple[str, int], tuple[LocalPlace, ...]] = {}
        self._continued: dict[tuple[str, int], bool] = {}

    @classmethod
    def open(cls, path: Path) -> LocalIndex:
        """Open `path`. Raises MonitorError naming the file when it is not a local place index."""
        hint = "re-create it with `ceasefire-monitor gazetteer import FILE`, or delete it"
        try:
            db = sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True, check_same_thread=False)
            meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
            if meta.get("format") != FORMAT:
                raise MonitorError(f"{path}: a local place index of another format ({meta.get('format')})",
                                   hint=hint)
            words = db.execute("SELECT word, kind FROM first_word").fetchall()
        except sqlite3.Error as e:
            raise MonitorError(f"{path}: not a local place index ({e})", hint=hint) from e
        first = frozenset(w for w, kind in words if kind == 0)
        loose = frozenset(w for w, kind in words if kind == 1)
        return cls(path, db, first, loose, meta)

    def lookup(self, key: str, kind: int = 0) -> tuple[LocalPlace, ...]:
        """Places with name key `key` (kind 0) or loose key `key` (kind 1): settlements, most populous
        first, then divisions, highest level first."""
        words = self.first_words if kind == 0 else self.loose_first_words
        if key.partition(" ")[0] not in words:
            return ()
        found = self._cache.get((key, kind))
        if found is not None:
            return found
        with self._lock:
            rows = self._db.execute(
                "SELECT p.id, p.name, p.country, p.lat, p.lon, p.population, p.level, p.admin1, p.admin2 "
                "FROM name n JOIN place p ON p.id = n.id WHERE n.key = ? AND n.kind = ? "
                "ORDER BY p.level > 0, p.level, p.population DESC, p.id LIMIT 20", (key, kind)).fetchall()
            if len(self._cache) >= _MAX_CACHED:
                self._cache.clear()
            found = self._cache[(key, kind)] = tuple(LocalPlace(*r) for r in rows)
        return found

    def has(self, key: str) -> bool:
        return bool(self.lookup(key))

    def continues(self, prefix: str, kind: int = 0) -> bool:
        """Whether some name key (kind 0) or loose key (kind 1) begins with `prefix` and a space. The
        keys that do sort between `prefix + " "` and `prefix + "!"` (the character after the space)."""
        words = self.first_words if kind == 0 else self.loose_first_words
        if prefix.partition(" ")[0] not in words:
            return False
        found = self._continued.get((prefix, kind))
        if found is not None:
            return found
        with self._lock:
            row = self._db.execute("SELECT 1 FROM name WHERE key >= ? AND key < ? AND kind = ? LIMIT 1",
                                   (prefix + " ", prefix + "!", kind)).fetchone()
            if len(self._continued) >= _MAX_CACHED:
                self._continued.clear()
            found = self._continued[(prefix, kind)] = row is not None
        return found

    def close(self) -> None:
        self._db.close()
