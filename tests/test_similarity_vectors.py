"""Grouping compares one side with many: its TF-IDF vector and copy index are worked out once, and the text
similarity only when the joining rule reads it. Each must give the value the one-pair functions give."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.incidents.similarity import (
    Idf,
    NearIndex,
    _vector,
    any_near_duplicate,
    cosine,
    near_duplicate,
    tfidf,
    vector_cosine,
)

TERMS = st.sampled_from(["shell", "strik", "villag", "#3", "drone", "market", "bridg", "port", "kill", "wound"])
BAGS = st.dictionaries(TERMS, st.integers(min_value=1, max_value=9), max_size=8)
IDFS = st.builds(Idf, docs=st.integers(min_value=0, max_value=5000),
                 df=st.dictionaries(TERMS, st.integers(min_value=0, max_value=5000)))


def textbook_cosine(a: dict[str, int], b: dict[str, int], idf: Idf) -> float:
    """cosine as first written: both vectors and norms worked out for the pair."""
    if not a or not b:
        return 0.0
    va, vb = _vector(a, idf), _vector(b, idf)
    if len(va) > len(vb):
        va, vb = vb, va
    dot = sum(w * vb[t] for t, w in va.items() if t in vb)
    if dot == 0.0:
        return 0.0
    return min(1.0, dot / (math.sqrt(sum(w * w for w in va.values())) * math.sqrt(sum(w * w for w in vb.values()))))


@settings(max_examples=400, deadline=None)
@given(BAGS, BAGS, IDFS)
def test_vector_cosine_is_the_pair_cosine_to_the_last_bit(a: dict[str, int], b: dict[str, int], idf: Idf) -> None:
    expected = textbook_cosine(a, b, idf)
    assert cosine(a, b, idf) == expected
    if a and b:
        assert vector_cosine(tfidf(a, idf), tfidf(b, idf)) == expected
        assert vector_cosine(tfidf(b, idf), tfidf(a, idf)) == textbook_cosine(b, a, idf)


def test_idf_weights_are_the_formula_whether_worked_out_or_remembered() -> None:
    idf = Idf(docs=100, df={"shell": 40})
    for _ in range(2):
        assert idf.weight("shell") == math.log(101 / 41) + 1.0
        assert idf.weight("unseen") == math.log(101) + 1.0
    assert idf == Idf(docs=100, df={"shell": 40})  # remembered weights are no part of its value


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(min_value=-(1 << 63), max_value=(1 << 63) - 1), max_size=5),
       st.lists(st.integers(min_value=0, max_value=63), max_size=4), st.integers(min_value=0, max_value=4))
def test_near_index_finds_what_the_pairwise_check_finds(hashes: list[int], flips: list[int], pick: int) -> None:
    others = [h ^ (1 << bit) for h in hashes[:1] for bit in flips] + hashes[pick:pick + 1] + [12345, 0]
    pairwise = any(near_duplicate(x, y) for x in hashes for y in others)
    assert NearIndex(hashes).any_near(others) == NearIndex(others).any_near(hashes) == pairwise
    assert any_near_duplicate(others, hashes) == any_near_duplicate(hashes, others) == pairwise
