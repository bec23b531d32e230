"""Name keys: how the gazetteer indexes a place name and how a text's words are looked up.

Every name is keyed by name_key(): lower case, no diacritics, hyphens as spaces and, for Cyrillic
words, the inflectional ending cut off, so "Донецке", "Донецка" and "Донецк" share one key and text
can be looked up word by word without a morphological analyser. A second, looser key (loose_key)
meets Latin transliterations that the index lacks ("Kharkov" for Kharkiv, "Ein" for ‘Ayn).
"""

from __future__ import annotations

import functools
import re
import unicodedata

# Russian case endings, longest first. Cutting the ending from both the indexed name and the word in
# the text makes them meet: Харьков/Харькову/Харьковом -> "харьков", Москва/Москве -> "москв".
_RU_ENDINGS = ("ами", "ями", "ого", "его", "ому", "ему", "ыми", "ими", "ая", "яя", "ое", "ее", "ой", "ей", "ий",
               "ый", "ые", "ие", "ых", "их", "ым", "им", "ую", "юю", "ом", "ем", "ах", "ях", "ью", "а", "я", "о",
               "е", "у", "ю", "ы", "и", "ь", "й")
_MIN_STEM = 3
# Apostrophes, and the letters that romanise the Arabic ʿayn and hamza ("Dar‘a", "Ṣanʿāʾ").
_APOSTROPHES = re.compile(r"['’‘ʼ`ʻʿʾ´]")
_SEPARATORS = re.compile(r"[\s\-‐‑–—_.,/()]+")
_CYRILLIC = re.compile(r"[а-яё]")


def ru_stem(word: str) -> str:
    """`word` (lower case) without its Russian inflectional ending, if enough of it is left."""
    for ending in _RU_ENDINGS:
        if word.endswith(ending) and len(word) - len(ending) >= _MIN_STEM:
            return word[: -len(ending)]
    return word


def word_key(word: str) -> str:
    """The key of one word: lower case, no diacritics or apostrophes, Cyrillic endings cut off."""
    word = _APOSTROPHES.sub("", word.lower().replace("ё", "е"))
    if word.isascii():
        return word
    if _CYRILLIC.search(word):
        return ru_stem(word)
    decomposed = unicodedata.normalize("NFKD", word)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def name_key(name: str) -> str:
    """The key of a (possibly multi-word) place name, as the index and the text lookup use it."""
    return " ".join(word_key(w) for w in _SEPARATORS.split(name.strip()) if w)


# Spellings that transliterations of one name differ by, folded to one: Russian/Ukrainian "dzh"/"zh"/"kh",
# French "ou" and "dj", "q"/"k", "w"/"v", "ph"/"f". Applied left to right.
_LOOSE_FOLDS = (("dzh", "j"), ("zh", "j"), ("dj", "j"), ("kh", "h"), ("ph", "f"), ("ou", "u"), ("q", "k"),
                ("w", "v"))
_DOUBLED = re.compile(r"([a-z])\1+")
_VOWELS = re.compile(r"[aeiouy]+")
LOOSE_MIN_LETTERS = 5  # shorter loose keys meet too many names to be worth a guess


@functools.lru_cache(maxsize=1 << 16)  # news repeats its words
def loose_word(word: str) -> str:
    """The loose key of one Latin word key: folded spellings, no doubled letters, every run of vowels
    one "a", a final vowel of a longer word dropped. "issa" and "isa" -> "as"; "kharkov" and "kharkiv"
    -> "harkav"; "guerdan" and "gardane" -> "gardan". Non-Latin keys are returned unchanged."""
    if not word.isascii():
        return word
    for spelling, folded in _LOOSE_FOLDS:
        if spelling in word:
            word = word.replace(spelling, folded)
    word = _VOWELS.sub("a", _DOUBLED.sub(r"\1", word))
    return word[:-1] if len(word) >= 5 and word.endswith("a") else word


def loose_key(key: str) -> str:
    """The loose key of a name key (see loose_word): what a transliteration variant is looked up by."""
    return " ".join(loose_word(w) for w in key.split(" "))


def exact_word_key(word: str) -> str:
    """A word's key without cutting Russian endings: "крымское" stays apart from "крымск"."""
    word = _APOSTROPHES.sub("", word.lower().replace("ё", "е"))
    return word if word.isascii() or _CYRILLIC.search(word) else word_key(word)


def exact_name_key(name: str) -> str:
    """The exact key of a Cyrillic name (indexed beside its stemmed key, looked up first)."""
    return " ".join(exact_word_key(w) for w in _SEPARATORS.split(name.strip()) if w)
