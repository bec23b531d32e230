"""Indexed text search (migration 0004) on SQLite and PostgreSQL: a case-insensitive substring of the title or
an evidence phrase, answered from the FTS5 trigram table / pg_trgm GIN indexes, kept in step with the rows by
triggers (SQLite) and built for rows already there when the database is upgraded."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, delete, inspect, select, text, update
from sqlalchemy import event as sqlalchemy_event
from test_queries import add_incident, ids

from monitor.settings import DatabaseSettings
from monitor.store import IncidentFilter, Store, text_search
from monitor.store.filtering import conditions as _conditions
from monitor.store.filtering import filtered as _filtered
from monitor.store.queries import count_incidents, list_incidents
from monitor.store.schema import incidents

MIGRATIONS = Path(__file__).resolve().parent.parent / "monitor" / "migrations"


def _migrate(store: Store, revision: str, *, down: bool = False) -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with store.engine.connect().execution_options(write=True) as conn, conn.begin():
        cfg.attributes["connection"] = conn
        (command.downgrade if down else command.upgrade)(cfg, revision)


@pytest.fixture
def texts(store: Store) -> dict[str, str]:
    return {
        "jermuk": add_incident(store, "Artillery shelled JERMUK overnight", evidence=["mortar rounds were fired"]),
        "sotk": add_incident(store, "Clashes near Sotk", evidence=["sniper fire at 100% of positions [1]"]),
        "ru": add_incident(store, "Обстрел Джермука", evidence=["Обстреляли позиции «Восток», ночью", "ещё"]),
        "quote": add_incident(store, 'The "Wagner" column',
                              evidence=[r"back\slash and under_score", 'the "Vostok" unit']),
        "none": add_incident(store, "Quiet day", evidence=[]),
    }


@pytest.mark.parametrize(("needle", "expected"), [
    ("jermuk", ["jermuk"]),  # title, other case
    ("shelled jermuk over", ["jermuk"]),  # spanning words
    ("ROUNDS WERE", ["jermuk"]),  # evidence only
    ("ire", ["jermuk", "sotk"]),  # inside words, three characters: indexed
    ("джермук", ["ru"]),  # Cyrillic, other case
    ("ОБСТРЕЛЯЛИ", ["ru"]),  # Cyrillic, evidence only
    ("«восток»", ["ru"]),
    ('"wagner"', ["quote"]),  # a double quote is a character, not FTS syntax
    ('"vostok" unit', ["quote"]),  # ... in the evidence too
    ("100%", ["sotk"]),  # LIKE wildcards are literal
    ("der_s", ["quote"]),
    ("k\\s", ["quote"]),
    ("0%", ["sotk"]),  # shorter than a trigram: scanned, same answer
    ("fi", ["jermuk", "sotk"]),
    ("дж", ["ru"]),
    ("_", ["quote"]),
    ("u0", []),  # not the JSON escape of a Cyrillic letter
    ("[", ["sotk"]),  # nor the JSON around the phrases
    (", ", ["ru"]),
    ("[1]", ["sotk"]),
    ("shelled sotk", []),
    ("zzzqqq", []),
    ("jermuk mortar", []),  # title and evidence are not one text
], ids=lambda v: repr(v) if isinstance(v, str) else "")
def test_text_is_a_case_insensitive_substring_of_title_or_evidence(
        store: Store, texts: dict[str, str], needle: str, expected: list[str]) -> None:
    got = ids(store, text=needle)
    assert sorted(got) == sorted(texts[k] for k in expected)
    with store.read() as conn:
        assert count_incidents(conn, IncidentFilter(text=needle)) == len(expected)


def test_a_needle_with_many_matches_is_checked_row_by_row_with_the_same_answers(
        store: Store, texts: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite: from DENSE_TEXT matches on, a listing with a limit walks its order and checks each row instead
    of listing the matches first; counts and unlimited lists keep the index. Same answers either way."""
    needles = ["jermuk", "ROUNDS WERE", "ire", "джермук", "«восток»", '"vostok" unit', "100%", "k\\s", "[1]", "zzzqqq"]
    expected = {n: sorted(ids(store, text=n)) for n in needles}
    monkeypatch.setattr(text_search, "DENSE_TEXT", 1)
    for needle in needles:
        with store.read() as conn:
            limited = [v.id for v in list_incidents(conn, IncidentFilter(text=needle, limit=10))]
            assert count_incidents(conn, IncidentFilter(text=needle, limit=1)) == len(expected[needle])
            if store.dialect == "sqlite" and expected[needle]:
                assert "incidents_fts" not in str(_conditions(conn, IncidentFilter(text=needle, limit=10))[-1])
        assert sorted(limited) == expected[needle], needle


def test_updates_and_deletes_reach_the_index(store: Store, texts: dict[str, str]) -> None:
    with store.write() as conn:
        conn.execute(update(incidents).where(incidents.c.public_id == texts["jermuk"]).values(
            title="Drone strike on Vardenis", evidence=["a Shahed drone"]))
        conn.execute(update(incidents).where(incidents.c.public_id == texts["sotk"]).values(severity=9.0))
        conn.execute(delete(incidents).where(incidents.c.public_id == texts["ru"]))
    assert ids(store, text="jermuk") == []
    assert ids(store, text="mortar") == []
    assert ids(store, text="vardenis") == [texts["jermuk"]]
    assert ids(store, text="shahed") == [texts["jermuk"]]
    assert ids(store, text="sniper") == [texts["sotk"]]  # an update of other columns keeps it indexed
    assert ids(store, text="обстрел") == []
    if store.dialect == "sqlite":
        with store.read() as conn:
            conn.execute(text("INSERT INTO incidents_fts(incidents_fts, rank) VALUES ('integrity-check', 0)"))


def _plan(conn: Connection, needle: str) -> str:
    q = _filtered(conn, IncidentFilter(text=needle, limit=50))
    if conn.dialect.name == "postgresql":
        # the text condition alone: in a five-row table with sequential scans off, the merged_into index
        # (every row, under the live condition) is the cheapest index of all
        q = select(incidents.c.id).where(text_search.text_condition(conn, needle, bounded=True))
    compiled = q.compile(conn, compile_kwargs={"literal_binds": True})
    if conn.dialect.name == "sqlite":
        return " | ".join(str(r[-1]) for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}"))
    conn.exec_driver_sql("SET LOCAL enable_seqscan = off")  # a five-row table: ask whether the index can serve
    conn.exec_driver_sql("SET LOCAL enable_indexscan = off")
    return " | ".join(str(r[0]) for r in conn.exec_driver_sql(f"EXPLAIN {compiled}".replace("%", "%%")))


def test_the_query_uses_the_text_index(store: Store, texts: dict[str, str]) -> None:
    with store.read() as conn:
        plan = _plan(conn, "Jermuk")
        assert len(_conditions(conn, IncidentFilter(text="Jermuk"))) == 2
    if store.dialect == "sqlite":
        assert "VIRTUAL TABLE INDEX" in plan and "incidents_fts" in plan, plan
    else:
        assert "ix_incidents_title_trgm" in plan and "ix_incidents_evidence_trgm" in plan, plan


@pytest.fixture
def store_at_0003(db_url: str) -> Iterator[Store]:
    s = Store.open(DatabaseSettings(url=db_url))
    _migrate(s, "0003")
    yield s
    s.close()


def _text_objects(store: Store) -> set[str]:
    with store.read() as conn:
        if store.dialect == "sqlite":
            return {r[0] for r in conn.execute(text(
                "SELECT name FROM sqlite_master WHERE name LIKE 'incidents_fts%' AND type IN ('table', 'trigger')"))}
    return {i["name"] for i in inspect(store.engine).get_indexes("incidents") if i["name"] and "trgm" in i["name"]}


def test_upgrade_indexes_existing_rows_and_downgrade_removes_the_indexes(store_at_0003: Store) -> None:
    store = store_at_0003
    before = add_incident(store, "Shelling of Jermuk before the upgrade", evidence=["Обстреляли позиции"])
    assert _text_objects(store) == set()
    store.upgrade()
    after = add_incident(store, "Shelling of Jermuk after the upgrade")
    assert sorted(ids(store, text="jermuk")) == sorted([before, after])
    assert ids(store, text="обстреляли") == [before]
    expected = ({"incidents_fts", "incidents_fts_insert", "incidents_fts_delete", "incidents_fts_update"}
                if store.dialect == "sqlite" else {"ix_incidents_title_trgm", "ix_incidents_evidence_trgm"})
    assert expected <= _text_objects(store)

    _migrate(store, "0003", down=True)
    assert _text_objects(store) == set()
    if store.dialect == "postgresql":  # the same query, without its index, still answers
        assert sorted(ids(store, text="jermuk")) == sorted([before, after])
    _migrate(store, "head")
    assert sorted(ids(store, text="jermuk")) == sorted([before, after])


def _rows_from_title_index(conn: Connection, needle: str) -> int:
    """How many rows PostgreSQL's title trigram index hands over for `title ILIKE %needle%` (each then
    rechecked): every row when the needle gives pg_trgm no trigram to look up."""
    conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
    conn.exec_driver_sql("SET LOCAL enable_indexscan = off")
    plan = conn.execute(text("EXPLAIN (ANALYZE, FORMAT JSON) SELECT id FROM incidents WHERE title ILIKE :p"),
                        {"p": text_search._like_pattern(needle)}).scalar_one()
    node = plan[0]["Plan"]
    while node["Node Type"] != "Bitmap Index Scan":
        node = node["Plans"][0]
    assert node["Index Name"] == "ix_incidents_title_trgm"
    return int(node["Actual Rows"])


@pytest.mark.parametrize(("needle", "taken"), [
    ("qz", False), ("---", False), ("...", False), ("a b", False), ("x-1", False), ("д ж", False),
    ("qzx", True), ("q-19", True), ("a.b.c", True), ("джм", True), ("7 5 3", True), ("zz «x»", True),
])
def test_the_api_takes_only_needles_both_indexes_can_look_up(store: Store, texts: dict[str, str], needle: str,
                                                             taken: bool) -> None:
    """indexable: three letters or digits. Without them PostgreSQL's trigram index has nothing to look up and
    hands over every row (a full scan); with them it hands over only rows holding the needle's trigrams."""
    assert text_search.indexable(needle) is taken
    if store.dialect != "postgresql" or needle in ("a b", "x-1", "д ж"):  # these have a trigram or two
        return  # (`  b`, `  1`: a word starting so), too common to be worth an index lookup
    with store.read() as conn:
        everything = len(texts)
        assert _rows_from_title_index(conn, needle) == (0 if taken else everything)


def test_postgresql_is_given_the_pattern_and_the_limit_in_the_sql(store: Store, texts: dict[str, str]) -> None:
    """psycopg prepares a statement run five times and PostgreSQL then plans it for any value of its
    parameters: for a needle no row holds it walked every incident. The pattern and the LIMIT are written
    into the SQL (by the dialect, escaped), so each needle is planned as itself; the answers stay the same."""
    sent: list[tuple[str, Any]] = []

    def seen(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        sent.append((statement, parameters))

    sqlalchemy_event.listen(store.engine, "before_cursor_execute", seen)
    try:
        for _ in range(7):
            assert ids(store, text="ROUNDS WERE") == [texts["jermuk"]]
            assert ids(store, text="100%") == [texts["sotk"]]
            with store.read() as conn:
                assert [v.id for v in list_incidents(conn, IncidentFilter(text="k\\s", limit=3))] == [texts["quote"]]
    finally:
        sqlalchemy_event.remove(store.engine, "before_cursor_execute", seen)
    listed = [(s, p) for s, p in sent if "LIMIT" in s]
    assert listed
    if store.dialect == "postgresql":
        for statement, parameters in listed:
            assert "LIMIT 3" in statement and "k\\\\s" in statement, statement
            assert not any("k\\" in str(v) or v == 3 for v in (parameters or {}).values()), parameters
