"""Text similarity for grouping: TF-IDF cosine over title and summary, and SimHash for copies. Pure.

- `term_counts(title, text)` turns an item into a bag of terms: lower-cased word stems (the first
  `STEM` letters, which folds most English and Russian inflection), numbers as `#n`, stop words out.
  The title is counted twice: it is the densest statement of what happened.
- `cosine(a, b, idf)` is the cosine of the two TF-IDF vectors. The IDF comes from the store's document
  frequencies over *relevant* articles, so the vocabulary every conflict report shares ("shelling",
  "killed", "forces") weighs little and what tells events apart (places, actors, figures) weighs much.
  With no statistics (`Idf.uniform()`), it is plain TF cosine.
- `simhash(title, text)` is a 64-bit SimHash over word pairs of the summary (or, when that is short, of
  title and summary): wire copy republished by another outlet, or one outlet's item re-published under a
  new URL or a retouched title, lands within a few bits.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

STEM = 6
NEAR_DUPLICATE_BITS = 6  # SimHash distance (of 64) under which two texts are copies of one story

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_STOP = frozenset(
    "the and for with from that this was were are has have had said says say after over into near its their "
    "been than more also who which while when what where amid about against people least there they them "
    "will would could should not but new one two out off all any can did does our his her him she you "
    "a an of in on at to by as is it be or if no so up we he i "
    "и в во на по из за от до что как это для при его их был была были они она он не но же к с со у о об "
    "а то ли бы уже ещё еще также этом этой этого после около более".split()
)


def _terms(text: str) -> list[str]:
    out: list[str] = []
    for word in _WORD.findall(text.lower()):
        if word.isalpha():  # most words: no digit in them (letters are never digits), checked in C
            if len(word) >= 3 and word not in _STOP:
                out.append(word[:STEM])
        elif word.isdigit():
            if len(word) <= 6:  # figures and years: "#49"; longer digit runs are ids, not content
                out.append("#" + (word.lstrip("0") or "0"))
        elif len(word) >= 3 and word not in _STOP and not any(ch.isdigit() for ch in word):
            out.append(word[:STEM])
    return out


def term_lists(title: str, text: str) -> tuple[list[str], list[str]]:
    """The terms of the title and of the summary, in order: what `term_counts` and `simhash` are made of
    (`counts_of`, `simhash_of`), worked out once for both."""
    return _terms(title), _terms(text)


def term_counts(title: str, text: str) -> dict[str, int]:
    """The bag of terms of an item (title counted twice)."""
    return counts_of(*term_lists(title, text))


def counts_of(title_terms: list[str], text_terms: list[str]) -> dict[str, int]:
    """`term_counts` of an item's `term_lists`."""
    counts = Counter(title_terms)
    for term in counts:
        counts[term] *= 2
    counts.update(text_terms)
    return dict(counts)


@dataclass(frozen=True)
class Idf:
    """Inverse document frequencies: `docs` relevant articles seen, `df[term]` of them held the term.

    Smoothed as log((1 + docs) / (1 + df)) + 1, so an unseen term weighs most and none weighs zero.
    """

    docs: int = 0
    df: Mapping[str, int] = field(default_factory=dict)
    # Weights worked out so far (a batch compares one draft with up to CANDIDATE_LIMIT incidents).
    _weights: dict[str, float] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def uniform(cls) -> Idf:
        return cls()

    def weight(self, term: str) -> float:
        w = self._weights.get(term)
        if w is None:
            w = self._weights[term] = math.log((1 + self.docs) / (1 + self.df.get(term, 0))) + 1.0
        return w


@dataclass(frozen=True)
class Vector:
    """A bag's TF-IDF weights and their sum of squares (`tfidf`): worked out once per side when one side
    is compared with many (`vector_cosine`)."""

    weights: dict[str, float]
    squares: float


def _vector(counts: Mapping[str, int], idf: Idf) -> dict[str, float]:
    # Sub-linear TF: a term repeated in a long text should not drown the others.
    return {t: (1.0 + math.log(n)) * idf.weight(t) for t, n in counts.items() if n > 0}


def tfidf(counts: Mapping[str, int], idf: Idf) -> Vector:
    weights = _vector(counts, idf)
    return Vector(weights, sum(w * w for w in weights.values()))


def cosine(a: Mapping[str, int], b: Mapping[str, int], idf: Idf) -> float:
    """Cosine similarity (0..1) of two term bags under TF-IDF weighting; 0 when either is empty."""
    if not a or not b:
        return 0.0
    return vector_cosine(tfidf(a, idf), tfidf(b, idf))


def vector_cosine(a: Vector, b: Vector) -> float:
    """`cosine` of two bags' `tfidf` vectors (the same value, to the last bit)."""
    va, vb, sa, sb = a.weights, b.weights, a.squares, b.squares
    if len(va) > len(vb):  # iterate the smaller one
        va, vb, sa, sb = vb, va, sb, sa
    dot = sum(w * vb[t] for t, w in va.items() if t in vb)
    if dot == 0.0:
        return 0.0
    return min(1.0, dot / (math.sqrt(sa) * math.sqrt(sb)))


def add_counts(a: Mapping[str, int], b: Mapping[str, int], cap: int) -> dict[str, int]:
    """The sum of two bags, keeping the `cap` most frequent terms (ties broken by term, so it is
    deterministic): an incident's centroid stays bounded however many reports join it."""
    total = Counter(a)
    total.update(b)
    if len(total) <= cap:
        return dict(total)
    return dict(sorted(total.items(), key=lambda kv: (-kv[1], kv[0]))[:cap])


def _hash64(feature: str) -> int:
    return int.from_bytes(hashlib.blake2b(feature.encode(), digest_size=8).digest(), "big")


MIN_BODY_TERMS = 12  # a summary at least this long identifies the story without its (often rewritten) title


def simhash(title: str, text: str) -> int:
    """A 64-bit SimHash (as a signed integer, to fit a BIGINT column) of the item's word pairs: of the
    summary alone when it is long enough (outlets re-title wire copy and their own updates), else of
    title and summary."""
    words = _terms(text)
    return simhash_of(_terms(title) if len(words) < MIN_BODY_TERMS else [], words)


def simhash_of(title_terms: list[str], text_terms: list[str]) -> int:
    """`simhash` of an item's `term_lists` (the title's terms are read only when the summary is short; the
    terms of "title summary" are the title's then the summary's, as no word spans the space)."""
    words = text_terms if len(text_terms) >= MIN_BODY_TERMS else title_terms + text_terms
    features = [f"{a} {b}" for a, b in zip(words, words[1:], strict=False)] if len(words) > 1 else words
    if not features:
        return 0
    # The classic SimHash votes bit by bit in a Python loop (64 steps per feature). The same votes are
    # counted here in C: every feature's 8 hash bytes in one buffer, each of the 8 byte columns sliced out
    # once, and a bit's votes counted by translating the column to 0/1 (see _BIT_TABLES). Same value.
    digests = b"".join([hashlib.blake2b(f.encode(), digest_size=8).digest() for f in features])
    n = len(features)
    value = 0
    for position in range(8):  # digest byte 0 is the most significant (int.from_bytes(..., "big"))
        column = digests[position::8]
        shift = (7 - position) * 8
        for bit, table in enumerate(_BIT_TABLES):
            if 2 * column.translate(table).count(1) > n:  # more features with the bit set than without
                value |= 1 << (shift + bit)
    return value - (1 << 64) if value >= 1 << 63 else value


# _BIT_TABLES[b] maps a byte to 1 when its bit b is set, else to 0 (for bytes.translate).
_BIT_TABLES = [bytes(v >> bit & 1 for v in range(256)) for bit in range(8)]


def hamming(a: int, b: int) -> int:
    return ((a ^ b) & ((1 << 64) - 1)).bit_count()


def near_duplicate(a: int, b: int) -> bool:
    """Whether two SimHashes are of copies of one text (0 means 'no text' and matches nothing)."""
    return a != 0 and b != 0 and hamming(a, b) <= NEAR_DUPLICATE_BITS


# Pigeonhole: two 64-bit hashes within NEAR_DUPLICATE_BITS bits agree exactly on at least one of
# NEAR_DUPLICATE_BITS + 1 disjoint blocks, so candidate pairs come from a dictionary, not a cross product.
_BLOCKS = tuple((lo, hi) for lo, hi in zip(
    [round(64 * i / (NEAR_DUPLICATE_BITS + 1)) for i in range(NEAR_DUPLICATE_BITS + 1)],
    [round(64 * i / (NEAR_DUPLICATE_BITS + 1)) for i in range(1, NEAR_DUPLICATE_BITS + 2)], strict=True))


def _block_keys(h: int) -> list[tuple[int, int]]:
    u = h & ((1 << 64) - 1)
    return [(i, (u >> lo) & ((1 << (hi - lo)) - 1)) for i, (lo, hi) in enumerate(_BLOCKS)]


def any_near_duplicate(a: Iterable[int], b: Iterable[int]) -> bool:
    """Whether some hash of `a` and some hash of `b` are copies (`near_duplicate`), in time linear in their
    sizes."""
    return NearIndex(b).any_near(a)


class NearIndex:
    """SimHashes indexed by their blocks, to ask of other hashes whether one is a copy of one of them: built
    once when one incident's copies are checked against many incidents'."""

    def __init__(self, hashes: Iterable[int]) -> None:
        self._index: dict[tuple[int, int], list[int]] = {}
        for h in set(hashes):
            if h != 0:
                for key in _block_keys(h):
                    self._index.setdefault(key, []).append(h)

    def any_near(self, hashes: Iterable[int]) -> bool:
        index = self._index
        if not index:
            return False
        for h in set(hashes):
            if h != 0 and any(near_duplicate(h, other) for key in _block_keys(h) for other in index.get(key, ())):
                return True
        return False


def encode_counts(counts: Mapping[str, int]) -> str:
    """Serialise a bag for the incidents.signature column: "term:n term:n …", sorted."""
    return " ".join(f"{t}:{n}" for t, n in sorted(counts.items()))


def decode_counts(text: str) -> dict[str, int]:
    """Read `encode_counts` output; a bare "term" (the first schema's token sets) counts once."""
    out: dict[str, int] = {}
    for part in text.split():
        term, sep, n = part.rpartition(":")
        if sep and n.isdigit() and term:
            out[term] = int(n)
        else:
            out[part] = 1
    return out
