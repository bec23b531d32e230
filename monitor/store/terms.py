"""Document frequencies for TF-IDF similarity (the `term_df` table), inside the caller's transaction."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import BigInteger, String, any_, bindparam, func, select, true
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from monitor.incidents.similarity import Idf
from monitor.store.schema import term_df

DOCS_TERM = "*"  # the term_df row counting documents


def load_idf(conn: Connection, terms: Iterable[str]) -> Idf:
    """Document frequencies of these terms (one indexed lookup per term) and the document count."""
    wanted = sorted(set(terms) | {DOCS_TERM})
    # The terms (hundreds a save) are bound as one value: one JSON array on SQLite, one array on PostgreSQL.
    if conn.dialect.name == "postgresql":
        rows = conn.execute(_LOAD_PG, {"terms": wanted})
    else:
        rows = conn.execute(_LOAD_SQLITE, {"terms": json.dumps(wanted)})
    got: dict[str, int] = {r.term: int(r.df) for r in rows}
    return Idf(docs=got.pop(DOCS_TERM, 0), df=got)


# Built once (building a statement and its cache key per call cost more than running it).
_LOAD_SQLITE = select(term_df.c.term, term_df.c.df).where(term_df.c.term.in_(
    select(func.json_each(bindparam("terms", type_=String)).table_valued("value").c.value)))
_LOAD_PG = select(term_df.c.term, term_df.c.df).where(
    term_df.c.term == any_(bindparam("terms", type_=postgresql.ARRAY(String))))


def bump_df(conn: Connection, bags: Sequence[Iterable[str]]) -> None:
    """Count one more document for each bag's terms. One statement, its rows in sorted term order and the
    document count row (DOCS_TERM, which every save updates) last: concurrent transactions on PostgreSQL take
    the row locks in the same order, so they queue but cannot deadlock, and the hottest row is held the
    shortest. Call it last in the transaction (ingest.save_drafts): the locks are held until COMMIT."""
    if not bags:
        return
    counts: dict[str, int] = {}
    for bag in bags:
        for term in set(bag):
            if len(term) <= 64 and term != DOCS_TERM:
                counts[term] = counts.get(term, 0) + 1
    rows = [*sorted(counts.items()), (DOCS_TERM, len(bags))]
    # The rows go in as one value (hundreds of terms a save): the database unpacks them, where an executemany
    # bound every row's parameters in Python.
    if conn.dialect.name == "postgresql":
        conn.execute(_BUMP_PG, {"terms": [t for t, _ in rows], "dfs": [n for _, n in rows]})
    else:
        conn.execute(_BUMP_SQLITE, {"rows": json.dumps(dict(rows))})


def _upsert(stmt: Any) -> Any:
    return stmt.on_conflict_do_update(index_elements=["term"], set_={"df": term_df.c.df + stmt.excluded.df})


# SQLite: a JSON object {term: df} (one writer at a time: no lock order); "WHERE true" is how SQLite parses
# an upsert from a SELECT.
_PAIRS = func.json_each(bindparam("rows", type_=String)).table_valued("key", "value")
_BUMP_SQLITE = _upsert(sqlite.insert(term_df).from_select(["term", "df"], select(
    _PAIRS.c.key, _PAIRS.c.value).where(true())))
# PostgreSQL: two arrays, unnested in their order (sorted terms, the document count last: the lock order).
_UNNESTED = func.unnest(bindparam("terms", type_=postgresql.ARRAY(String)),
                        bindparam("dfs", type_=postgresql.ARRAY(BigInteger))
                        ).table_valued("term", "df").render_derived("rows")
_BUMP_PG = _upsert(postgresql.insert(term_df).from_select(["term", "df"], select(_UNNESTED.c.term, _UNNESTED.c.df)))
