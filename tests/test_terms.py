"""Document frequencies (store/terms.py) on both engines: a save's counts go in as one value the database
unpacks, and they add up with what is stored."""

from __future__ import annotations

from sqlalchemy import select

from monitor.store import Store, terms
from monitor.store.schema import term_df


def test_bump_df_counts_each_bag_once_per_term_and_adds_to_the_stored_counts(store: Store) -> None:
    bags = [["shell", "strik", "#3", "shell", "x" * 70, "ünï"], ["shell", "it's \"quoted\"", terms.DOCS_TERM], []]
    with store.write() as conn:
        terms.bump_df(conn, bags)
        terms.bump_df(conn, bags[:1])
        terms.bump_df(conn, [])  # nothing to count: no row changes
    with store.read() as conn:
        stored = {r.term: r.df for r in conn.execute(select(term_df))}
        idf = terms.load_idf(conn, ["shell", "ünï", "never seen", "it's \"quoted\""])
    # A term too long for the column and the document-count term itself are not counted as terms.
    assert stored == {"shell": 3, "strik": 2, "#3": 2, "ünï": 2, "it's \"quoted\"": 1, terms.DOCS_TERM: 4}
    assert idf.docs == 4 and dict(idf.df) == {"shell": 3, "ünï": 2, "it's \"quoted\"": 1}


def test_load_idf_reads_more_terms_than_one_statement_binds(store: Store) -> None:
    many = [f"t{i}" for i in range(2500)]
    with store.write() as conn:
        terms.bump_df(conn, [many, many[:10]])
    with store.read() as conn:
        idf = terms.load_idf(conn, many)
    assert idf.docs == 2 and len(idf.df) == 2500 and idf.df["t5"] == 2 and idf.df["t2000"] == 1
