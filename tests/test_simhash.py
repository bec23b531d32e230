"""simhash counts each bit's votes in C (bytes.translate/count) and terms skip the per-character digit check
for all-letter words; both must equal the textbook versions exactly, or stored incidents' copies and
signatures would stop matching new articles."""

from __future__ import annotations

from collections.abc import Iterable

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.incidents.similarity import (
    _STOP,
    _WORD,
    MIN_BODY_TERMS,
    STEM,
    _hash64,
    _terms,
    counts_of,
    near_duplicate,
    simhash,
    simhash_of,
    term_counts,
    term_lists,
)


def textbook_simhash(title: str, text: str) -> int:
    """The per-bit loop simhash replaced: +1 per feature with the bit set, -1 without; bits with a positive sum."""
    words = textbook_terms(text)
    if len(words) < MIN_BODY_TERMS:
        words = textbook_terms(f"{title} {text}")
    features: Iterable[str] = [f"{a} {b}" for a, b in zip(words, words[1:], strict=False)] if len(words) > 1 \
        else words
    acc = [0] * 64
    seen = False
    for feature in features:
        seen = True
        h = _hash64(feature)
        for bit in range(64):
            acc[bit] += 1 if h >> bit & 1 else -1
    if not seen:
        return 0
    value = sum(1 << bit for bit in range(64) if acc[bit] > 0)
    return value - (1 << 64) if value >= 1 << 63 else value


CASES = [
    ("", ""),
    ("Shelling", ""),  # one term: the term itself is the feature
    ("Two words", ""),
    ("Artillery hits depot", "Artillery fire hit a fuel depot near the river port overnight, officials said, "
     "and firefighters worked until morning to contain the blaze while residents were moved away."),
    ("Обстрел", "Артиллерия обстреляла окраину города ночью, сообщили местные власти; пострадали три дома."),
    ("x", " ".join(f"word{n} token{n % 7}" for n in range(400))),  # many features, ties in some columns
]


def test_simhash_equals_the_textbook_loop_on_made_up_reports() -> None:
    for title, text in CASES:
        assert simhash(title, text) == textbook_simhash(title, text), (title, text[:40])


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60), st.text(alphabet=st.sampled_from("abcdefghij клмнпр 0123 ,."), max_size=600))
def test_simhash_equals_the_textbook_loop_on_any_text(title: str, text: str) -> None:
    assert simhash(title, text) == textbook_simhash(title, text)


def test_simhash_is_a_signed_64_bit_value_and_copies_stay_near() -> None:
    body = ("Rockets struck a market in the northern district on Sunday, killing four people and wounding "
            "eleven, the regional governor said in a statement posted online.")
    a, b = simhash("Rockets strike market", body), simhash("Four killed as rockets hit market", body + " Updated.")
    assert -(1 << 63) <= a < (1 << 63)
    assert near_duplicate(a, b)


def textbook_terms(text: str) -> list[str]:
    """The term rule as first written (every word checked for digits character by character)."""
    out = []
    for word in _WORD.findall(text.lower()):
        if word.isdigit():
            if len(word) <= 6:
                out.append("#" + (word.lstrip("0") or "0"))
        elif len(word) >= 3 and word not in _STOP and not any(ch.isdigit() for ch in word):
            out.append(word[:STEM])
    return out


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80), st.text(alphabet=st.sampled_from("abcdeΣσς İ²½٣3 0,-_клм"), max_size=300))
def test_terms_and_their_uses_are_those_of_the_text_as_a_whole(title: str, text: str) -> None:
    assert _terms(text) == textbook_terms(text)
    title_terms, text_terms = term_lists(title, text)
    assert title_terms + text_terms == _terms(f"{title} {text}")  # no word spans the space between them
    assert simhash_of(title_terms, text_terms) == simhash(title, text) == textbook_simhash(title, text)
    assert counts_of(title_terms, text_terms) == term_counts(title, text)
