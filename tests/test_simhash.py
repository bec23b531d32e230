"""simhash counts each bit's votes in C (bytes.translate/count); it must equal the textbook loop bit for bit,
or stored incidents' copies would stop matching new articles."""

from __future__ import annotations

from collections.abc import Iterable

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.incidents.similarity import MIN_BODY_TERMS, _hash64, _terms, near_duplicate, simhash


def textbook_simhash(title: str, text: str) -> int:
    """The per-bit loop simhash replaced: +1 per feature with the bit set, -1 without; bits with a positive sum."""
    words = _terms(text)
    if len(words) < MIN_BODY_TERMS:
        words = _terms(f"{title} {text}")
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
