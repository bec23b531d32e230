"""Gazetteer.derived: answers worked out from the index are kept per key, and dropped when too many."""

from __future__ import annotations

import dataclasses

import pytest

from monitor.reading import gazetteer as gazetteer_module
from monitor.reading.gazetteer import load_gazetteer


def test_an_answer_is_worked_out_once_per_key() -> None:
    gazetteer = dataclasses.replace(load_gazetteer(), derived_cache={})
    calls: list[str] = []

    def make(word: str) -> str:
        calls.append(word)
        return word.upper()

    assert gazetteer.derived(("upper", "a"), lambda: make("a")) == "A"
    assert gazetteer.derived(("upper", "a"), lambda: make("a")) == "A"
    assert gazetteer.derived(("upper", "b"), lambda: make("b")) == "B"
    assert calls == ["a", "b"]


def test_a_kept_none_is_not_worked_out_again() -> None:
    gazetteer = dataclasses.replace(load_gazetteer(), derived_cache={})
    calls: list[int] = []
    for _ in range(3):
        assert gazetteer.derived(("nothing",), lambda: calls.append(1)) is None
    assert calls == [1]


def test_the_answers_are_dropped_when_the_cache_is_full(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gazetteer_module, "_DERIVED_KEPT", 2)
    gazetteer = dataclasses.replace(load_gazetteer(), derived_cache={})
    for word in ("a", "b", "c"):
        gazetteer.derived(("upper", word), word.upper)
    assert list(gazetteer.derived_cache) == [("upper", "c")]
