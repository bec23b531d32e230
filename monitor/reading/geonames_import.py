"""Build or extend the local place index (gazetteer_local) from GeoNames dump files.

Accepted (https://download.geonames.org/export/dump/, described in its readme.txt), plain or zipped:
  geoname tables     XX.txt of XX.zip, allCountries, cities500/1000/5000/15000: 19 tab-separated columns
  admin codes        admin1CodesASCII.txt, admin2Codes.txt: "CC.A1[.A2]", name, ascii name, geonameid
  alternate names    alternateNamesV2.txt or alternatenames/XX.txt: id, geonameid, language, name, ...
A file's kind is told by its columns, not its name. Settlements (feature class P, not historical or
abandoned) and admin1-3 divisions (ADM1-ADM3) are kept; alternate names join places already indexed,
so import a country's dump before its alternate names. Every import extends the index in place.
"""

from __future__ import annotations

import io
import re
import sqlite3
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from monitor.errors import InputError
from monitor.reading.gazetteer_local import FORMAT, SCHEMA
from monitor.reading.place_keys import LOOSE_MIN_LETTERS, exact_name_key, loose_key, name_key

Progress = Callable[[int, int], None]  # (bytes done, bytes in all) of the file being read
_SKIPPED_CODES = {"PPLH", "PPLQ", "PPLW", "PPLCH"}  # historical, abandoned, destroyed settlements
_LEVELS = {"ADM1": 1, "ADM2": 2, "ADM3": 3}
_NAME_LANGUAGES = {"", "en", "ru", "uk"}  # alternate names worth keys: news is in English and Russian
_ADMIN_CODE = re.compile(r"^[A-Z]{2}\.[^.\t]+(\.[^.\t]+)?$")
_MAX_ALIASES = 25
# Type words: a division is found by its name with one ("Velmora oblast", "Kelvashen district").
_TYPES = ("province", "region", "governorate", "oblast", "state", "district", "raion", "rayon", "county",
          "municipality", "lga", "область", "район", "провинция", "мухафаза")
_ADMIN1_SUFFIXES = ("province", "region", "governorate", "oblast", "state")
_LOWER_SUFFIXES = ("district", "raion", "rayon", "lga", "county")
_BATCH = 5000


@dataclass
class ImportReport:
    files: list[str] = field(default_factory=list)
    places: int = 0
    divisions: int = 0
    alternate_names: int = 0
    skipped_names: int = 0  # alternate names of places not in the index


def import_files(index: Path, files: list[Path], progress: Progress | None = None) -> ImportReport:
    """Add the places of `files` to the local index at `index` (created when missing).

    Raises InputError naming the file (and line) when a file is not a GeoNames dump or is damaged;
    the index is then left as it was.
    """
    try:
        index.parent.mkdir(mode=0o700, parents=True, exist_ok=True)  # like the state directory of the database
    except OSError as e:
        raise InputError(f"{index.parent}: cannot create the directory ({e.strerror or e})") from e
    new = not index.exists()
    db = _open(index)
    report = ImportReport()
    try:
        with db:
            for path in files:
                _import_one(db, path, progress, report)
                report.files.append(str(path))
            _finish(db)
    except sqlite3.Error as e:
        db.close()
        raise InputError(f"{index}: cannot write the local place index ({e})") from e
    except BaseException:
        db.close()
        if new:  # nothing was imported: leave no empty index behind
            index.unlink(missing_ok=True)
        raise
    db.close()
    return report


def _open(index: Path) -> sqlite3.Connection:
    new = not index.exists() or index.stat().st_size == 0
    try:
        db = sqlite3.connect(index, isolation_level=None if new else "DEFERRED")
        if new:
            db.executescript(SCHEMA)
            db.execute("INSERT INTO meta VALUES ('format', ?)", (FORMAT,))
            db.isolation_level = "DEFERRED"
        found = db.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()
    except sqlite3.Error as e:
        raise InputError(f"{index}: not a local place index ({e})",
                         hint="delete it, or name another file with [gazetteer] index") from e
    if found is None or found[0] != FORMAT:
        db.close()
        raise InputError(f"{index}: a local place index of another format", hint="delete it and import again")
    db.execute("PRAGMA synchronous = OFF")
    return db


def _import_one(db: sqlite3.Connection, path: Path, progress: Progress | None, report: ImportReport) -> None:
    with _Opened(path) as (stream, total):
        lines = _lines(path, stream, total, progress)
        first = next(lines, None)
        if first is None:
            raise InputError(f"{path}: empty file, not a GeoNames dump")
        kind = _kind(first[1])
        if kind is None:
            raise InputError(f"{path}: line {first[0]}: not a GeoNames dump (expected a geoname table, "
                             "admin codes or alternate names)")
        rows = _chain(first, lines)
        if kind == "geonames":
            _import_geonames(db, path, rows, report)
        elif kind == "admin":
            db.executemany("INSERT OR REPLACE INTO admin_code VALUES (?, ?)",
                           ((c[0], c[1]) for _, c in _checked(path, rows, 4, "admin codes")))
        else:
            _import_alternate_names(db, path, rows, report)


def _kind(cols: list[str]) -> str | None:
    if len(cols) == 19 and cols[0].isdigit():
        return "geonames"
    if len(cols) == 4 and _ADMIN_CODE.match(cols[0]) and cols[3].isdigit():
        return "admin"
    if 4 <= len(cols) <= 10 and cols[0].isdigit() and cols[1].isdigit():
        return "alternate"
    return None


def _import_geonames(db: sqlite3.Connection, path: Path, rows: Iterator[tuple[int, list[str]]],
                     report: ImportReport) -> None:
    places: list[tuple[object, ...]] = []
    names: list[tuple[str, int, int]] = []
    for number, c in _checked(path, rows, 19, "geoname table"):
        fclass, code = c[6], c[7]
        level = _LEVELS.get(code, 0) if fclass == "A" else 0
        if not (fclass == "P" and code not in _SKIPPED_CODES) and not level:
            continue
        try:
            gid, lat, lon = int(c[0]), float(c[4]), float(c[5])
            population = int(c[14] or 0)
        except ValueError as e:
            raise InputError(f"{path}: line {number}: bad number in a geoname row ({e})") from e
        places.append((gid, c[1], c[8], lat, lon, population, level, c[10], c[11] if level != 1 else ""))
        report.divisions += level > 0
        report.places += level == 0
        for key in _keys([c[1], c[2]], c[3].split(","), level):
            names.append((key, 0, gid))
        if len(places) >= _BATCH:
            _flush(db, places, names)
    _flush(db, places, names)


def _flush(db: sqlite3.Connection, places: list[tuple[object, ...]], names: list[tuple[str, int, int]]) -> None:
    db.executemany("INSERT OR REPLACE INTO place (id, name, country, lat, lon, population, level, a1, a2) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", places)
    loose = []
    for key, _, gid in names:
        lk = loose_key(key) if key.isascii() else ""
        if len(lk.replace(" ", "")) >= LOOSE_MIN_LETTERS:
            loose.append((lk, 1, gid))
    db.executemany("INSERT OR IGNORE INTO name VALUES (?, ?, ?)", names + loose)
    places.clear()
    names.clear()


def _import_alternate_names(db: sqlite3.Connection, path: Path, rows: Iterator[tuple[int, list[str]]],
                            report: ImportReport) -> None:
    known = {r[0]: r[1] for r in db.execute("SELECT id, level FROM place")}
    names: list[tuple[str, int, int]] = []
    for number, c in _checked(path, rows, 4, "alternate names"):
        if c[2] not in _NAME_LANGUAGES or (len(c) > 7 and c[7] == "1"):  # other languages, historic names
            continue
        try:
            gid = int(c[1])
        except ValueError as e:
            raise InputError(f"{path}: line {number}: bad geonameid {c[1]!r}") from e
        level = known.get(gid)
        if level is None:
            report.skipped_names += 1
            continue
        report.alternate_names += 1
        names.extend((key, 0, gid) for key in _keys([], [c[3]], level))
        if len(names) >= _BATCH:
            _flush(db, [], names)
    _flush(db, [], names)


def _keys(names: list[str], aliases: list[str], level: int) -> list[str]:
    """The keys a place is found by: its names, and of its aliases the Cyrillic ones and capitalised
    Latin ones (lower-case romanisations of other scripts meet ordinary words); for a district or
    lower, only names with a type word."""
    keys: list[str] = []
    latin = 0
    main = {n.strip() for n in names}
    for name in dict.fromkeys(n.strip() for n in (*names, *aliases) if n.strip()):
        cyrillic = bool(re.search("[А-яЁё]", name))
        if not cyrillic and name not in main:
            if not name[:1].isupper() or len(name) < 3 or latin >= _MAX_ALIASES or any(ch.isdigit() for ch in name):
                continue
            latin += 1
        words = name.split()
        typed = len(words) > 1 and words[-1].lower().strip(".'") in _TYPES
        base = " ".join(words[:-1]) if typed else name
        if level <= 1:
            keys += [name_key(name), exact_name_key(name)]
            if level == 1:
                keys += [name_key(base)] + [name_key(f"{base} {t}") for t in _ADMIN1_SUFFIXES]
        else:
            keys += [name_key(name), exact_name_key(name)] if typed else []
            keys += [name_key(f"{base} {t}") for t in (("район",) if cyrillic else _LOWER_SUFFIXES)]
    return [k for k in dict.fromkeys(keys) if len(k) >= 3]


def _finish(db: sqlite3.Connection) -> None:
    """Admin names from the codes (admin code files, or the dump's own ADM1/ADM2 rows), then the first
    words of every key."""
    db.execute("INSERT OR IGNORE INTO admin_code SELECT country || '.' || a1, name FROM place WHERE level = 1")
    db.execute("INSERT OR IGNORE INTO admin_code SELECT country || '.' || a1 || '.' || a2, name FROM place "
               "WHERE level = 2")
    db.execute("UPDATE place SET admin1 = (SELECT name FROM admin_code WHERE code = country || '.' || a1), "
               "admin2 = (SELECT name FROM admin_code WHERE code = country || '.' || a1 || '.' || a2)")
    db.execute("DELETE FROM first_word")
    db.execute("INSERT OR IGNORE INTO first_word SELECT DISTINCT substr(key, 1, instr(key || ' ', ' ') - 1), kind "
               "FROM name")
    db.execute("INSERT OR REPLACE INTO meta VALUES ('places', (SELECT count(*) FROM place))")


# ---------------------------------------------------------------------------------------- reading


class _Opened:
    """A dump file as text with its size in bytes, plain or the one data member of a zip archive."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._closers: list[IO[bytes] | zipfile.ZipFile] = []

    def __enter__(self) -> tuple[IO[str], int]:
        path = self.path
        try:
            if zipfile.is_zipfile(path):
                archive = zipfile.ZipFile(path)
                self._closers.append(archive)
                members = [m for m in archive.infolist() if m.filename.endswith(".txt")
                           and m.filename.lower() != "readme.txt"]
                if len(members) != 1:
                    raise InputError(f"{path}: a zip archive without exactly one GeoNames .txt table "
                                     f"(found {len(members)})")
                raw: IO[bytes] = archive.open(members[0])
                total = members[0].file_size
            else:
                raw = open(path, "rb")  # closed in __exit__
                total = path.stat().st_size
        except (OSError, zipfile.BadZipFile) as e:
            self.__exit__()
            raise InputError(f"{path}: cannot read ({getattr(e, 'strerror', None) or e})") from e
        self._closers.append(raw)
        return io.TextIOWrapper(raw, encoding="utf-8", errors="strict", newline="\n"), total

    def __exit__(self, *_: object) -> None:
        for c in reversed(self._closers):
            c.close()


def _lines(path: Path, stream: IO[str], total: int, progress: Progress | None) -> Iterator[tuple[int, list[str]]]:
    done = 0
    try:
        for number, line in enumerate(stream, start=1):
            done += len(line)
            if progress is not None and number % 20000 == 0:
                progress(min(done, total), total)
            line = line.rstrip("\r\n")
            if line and not line.startswith("#"):
                yield number, line.split("\t")
    except UnicodeDecodeError as e:
        raise InputError(f"{path}: not UTF-8 text ({e.reason}), not a GeoNames dump") from e
    except (OSError, zipfile.BadZipFile, EOFError) as e:
        raise InputError(f"{path}: cannot read: damaged ({e})") from e
    if progress is not None:
        progress(total, total)


def _chain(first: tuple[int, list[str]], rest: Iterator[tuple[int, list[str]]]) -> Iterator[tuple[int, list[str]]]:
    yield first
    yield from rest


def _checked(path: Path, rows: Iterator[tuple[int, list[str]]], columns: int, what: str,
             ) -> Iterator[tuple[int, list[str]]]:
    """Rows with at least `columns` columns; a shorter one is an error naming the line."""
    for number, cols in rows:
        if len(cols) < columns:
            raise InputError(f"{path}: line {number}: {len(cols)} columns, a GeoNames {what} has {columns}")
        yield number, cols
