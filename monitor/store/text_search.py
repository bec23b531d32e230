"""The `text` filter: a case-insensitive substring of an incident's title or of one of its evidence phrases,
answered from a trigram index (pg_trgm on PostgreSQL, FTS5 on SQLite) when the needle is long enough."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Select, String, Text, and_, cast, func, literal, literal_column, or_, select
from sqlalchemy import text as sql_text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from monitor.store.schema import incidents

MIN_INDEXED_TEXT = 3  # trigram indexes answer needles of at least this many characters; shorter ones scan
DENSE_TEXT = 2_000  # SQLite: from this many matching incidents on, walk the list order instead (see below)


def indexable(text: str) -> bool:
    """Whether both engines' trigram indexes answer `text`: MIN_INDEXED_TEXT characters, as many of them
    letters or digits. pg_trgm takes its trigrams from the runs of letters and digits (padded with blanks
    where another character bounds them): a needle with fewer than three has none to look up (`---`) or only
    one such as `  b` (`a b`), which nearly every row holds; PostgreSQL would read every incident. With three,
    a run is three long or a later run is padded to three. FTS5 indexes every character."""
    return len(text) >= MIN_INDEXED_TEXT and sum(ch.isalnum() for ch in text) >= MIN_INDEXED_TEXT


def _text_matches(title: str | None, evidence: str | None, needle: str) -> int:
    """SQLite helper: 1 when `needle` (already casefolded) is in the title or an evidence phrase."""
    if title and needle in title.casefold():
        return 1
    try:
        phrases = json.loads(evidence or "[]")
    except ValueError:
        return 0
    return int(any(isinstance(p, str) and needle in p.casefold() for p in phrases))


def fts_phrase(text: str) -> str:
    """`text` as one FTS5 phrase: with the trigram tokenizer, a case-insensitive substring match."""
    return '"' + text.replace('"', '""') + '"'


def text_condition(conn: Connection, text: str, *, bounded: bool = False) -> ColumnElement[bool]:
    """Case-insensitive substring of the title or an evidence phrase, from a trigram index (migration 0004)
    when the needle has at least MIN_INDEXED_TEXT characters. `bounded`: the query stops at a limit.

    PostgreSQL: ILIKE on the title and on the evidence rendered as jsonb text (non-ASCII unescaped, `"` and
    `\\` escaped, so the needle is escaped the same way), the very expressions of the pg_trgm GIN indexes; a
    needle with JSON punctuation ([ ] ,) is also checked against each phrase.
    SQLite: a phrase query on the FTS5 trigram table `incidents_fts` (rowid = incidents.id, the evidence
    phrases decoded), the plan chosen by a bounded count of its matches (see below). A shorter needle, which
    no trigram index answers, is looked for in each row (_row_condition)."""
    if conn.dialect.name == "postgresql":
        rendered = cast(cast(incidents.c.evidence, JSONB), Text)
        as_json = json.dumps(text, ensure_ascii=False)[1:-1]
        in_evidence: ColumnElement[bool] = rendered.ilike(_inline(_like_pattern(as_json)), escape="\\")
        if any(ch in text for ch in "[],"):  # could match the JSON around the phrases: ask each phrase too
            phrase = func.json_array_elements_text(incidents.c.evidence).table_valued("value").alias("phrase")
            in_evidence = and_(in_evidence, select(phrase.c.value).where(
                phrase.c.value.ilike(_inline(_like_pattern(text)), escape="\\")).exists())
        return or_(incidents.c.title.ilike(_inline(_like_pattern(text)), escape="\\"), in_evidence)
    if len(text) < MIN_INDEXED_TEXT:
        return _row_condition(conn, text)
    matching: Select[Any] = select(literal_column("rowid")).select_from(sql_text("incidents_fts")).where(
        sql_text("incidents_fts MATCH :fts_phrase").bindparams(fts_phrase=fts_phrase(text)))
    probe = select(func.count()).select_from(matching.limit(DENSE_TEXT).subquery())
    if conn.execute(probe).scalar_one() < DENSE_TEXT:
        return incidents.c.id.in_(matching)  # few matches: fetch them by id, then sort those
    if bounded:
        # many, and a limit: SQLite walks the list order (or another filter's) index and checks each row,
        # stopping at the limit, about limit x incidents / matches rows (a few thousand at 100,000 incidents,
        # well under a millisecond each), where listing every match first (the IN below) took 10-20 ms
        return _row_condition(conn, text)
    # many, every one wanted (counts, timeline, exports): `id + 0` is no index key, so SQLite walks the
    # filter's index and looks each row up in the matches instead of sorting every match
    return (incidents.c.id + 0).in_(matching)


def _inline(pattern: str) -> ColumnElement[Any]:
    """A pattern written into the SQL (escaped by the dialect) rather than bound. psycopg prepares a statement
    run five times, and PostgreSQL then plans it once for any pattern, which it cannot estimate: it walked the
    list order's index through all 100,000 incidents for a needle no row holds (`text=zzzqqq` 16 -> 200 ms,
    with the LIMIT written in as well, filtering.limited); from the pattern it sees the trigram indexes'
    answer is small."""
    return literal(pattern, String, literal_execute=True)


def _row_condition(conn: Connection, text: str) -> ColumnElement[bool]:
    """The substring test on each row, by a Python function (evidence is stored as JSON text with non-ASCII
    escaped, and SQLite's LIKE folds ASCII only), after a LIKE that finds a superset when it can. Case is
    folded by str.casefold, which the FTS trigram index matches but for a few expansions (ß is ss here)."""
    conn.connection.driver_connection.create_function(  # type: ignore[union-attr]
        "cfm_text_match", 3, _text_matches, deterministic=True)
    exact = func.cfm_text_match(incidents.c.title, cast(incidents.c.evidence, Text), text.casefold()) == 1
    if text.isascii() and text.isprintable() and '"' not in text and "\\" not in text:  # the same in JSON text
        # LIKE (ASCII case folding) on the title and the JSON text finds a superset; Python checks only those
        pattern = _like_pattern(text)
        return and_(or_(incidents.c.title.like(pattern, escape="\\"),
                        cast(incidents.c.evidence, Text).like(pattern, escape="\\")), exact)
    return exact


def _like_pattern(text: str) -> str:
    """`%text%` with LIKE's wildcards (and its escape character, backslash) taken literally."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
