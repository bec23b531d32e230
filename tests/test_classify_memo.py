"""Items met again are classified once (monitor.reading.classify_memo): across polls, outlets and concurrent
threads, with the same result as classifying each, and a failure is nobody's cached answer."""

from __future__ import annotations

import random
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from monitor.models import Classification, FeedItem
from monitor.pipeline import Deps, process_items
from monitor.reading.classify import Classifier
from monitor.reading.classify_memo import ClassificationMemo, content_key
from monitor.settings import DatabaseSettings, Settings
from monitor.store import Store

NOW = datetime.now(UTC).replace(microsecond=0)
# Made-up reports (one a label fires on, one it does not).
TEXTS = ["Artillery shelling hit Kharkiv, Ukraine, killing two civilians.",
         "The city council approved a new budget for parks on Tuesday."]


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    return Classifier.from_settings()


def _item(text: str, **kw: object) -> FeedItem:
    base = FeedItem(title=text.split(",")[0], text=text, url="https://wire.example/1", guid="1",
                    published_at=NOW - timedelta(hours=2), source="Wire", lang="en", external_id="1")
    return replace(base, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("text", TEXTS)
def test_what_the_key_leaves_out_changes_no_classification(classifier: Classifier, text: str) -> None:
    # The memo shares a result between items that differ only in source, URL and ids: the classifier
    # must not read them (if it starts to, content_key must take them in).
    item = _item(text)
    other = _item(text, source="Another outlet", url="https://other.example/x?id=9", guid="g-77", external_id="e")
    assert content_key(item) == content_key(other)
    assert classifier.classify(item) == classifier.classify(other)
    if text == TEXTS[0]:
        assert classifier.classify(item).relevant


def test_what_the_classifier_reads_is_in_the_key() -> None:
    item = _item(TEXTS[0])
    keys = {content_key(x) for x in (item, replace(item, title="Other"), replace(item, text=TEXTS[1]),
                                     replace(item, lang="ru"), replace(item, lang=None),
                                     replace(item, published_at=NOW), replace(item, published_at=None))}
    assert len(keys) == 7


class Counting:
    def __init__(self, inner: Classifier, gate: threading.Event | None = None) -> None:
        self.inner, self.gate, self.calls = inner, gate, 0
        self.started = threading.Event()
        self.lock = threading.Lock()

    def classify(self, item: FeedItem) -> Classification:
        with self.lock:
            self.calls += 1
        self.started.set()
        if self.gate is not None:
            assert self.gate.wait(10)
        return self.inner.classify(item)


def test_a_second_thread_waits_for_the_first_and_shares_its_result(classifier: Classifier) -> None:
    gate = threading.Event()
    counting = Counting(classifier, gate)
    memo = ClassificationMemo()
    got: list[Classification] = []
    first = threading.Thread(target=lambda: got.append(memo.classify(_item(TEXTS[0]), counting.classify)))
    second = threading.Thread(target=lambda: got.append(memo.classify(_item(TEXTS[0], source="B"),
                                                                      counting.classify)))
    first.start()
    assert counting.started.wait(10)  # the first is inside classify, holding the key
    second.start()
    gate.set()
    first.join(10)
    second.join(10)
    assert counting.calls == 1 and memo.computed == 1 and memo.shared == 1
    assert got[0] is got[1] and got[0] == classifier.classify(_item(TEXTS[0]))


def test_a_failed_classification_is_raised_to_its_waiters_and_not_kept() -> None:
    memo = ClassificationMemo()
    calls = []

    def broken(item: FeedItem) -> Classification:
        calls.append(item)
        raise RuntimeError("boom")

    for _ in range(2):
        with pytest.raises(RuntimeError):
            memo.classify(_item(TEXTS[1]), broken)
    assert len(calls) == 2 and len(memo) == 0  # tried again, nothing cached
    assert memo.classify(_item(TEXTS[1]), lambda item: Classification(score=0.5)).score == 0.5


def test_the_memo_is_bounded_and_forgets_the_least_recent() -> None:
    memo = ClassificationMemo(size=2)
    seen: list[str] = []

    def fake(item: FeedItem) -> Classification:
        seen.append(item.title)
        return Classification(score=len(seen) / 10)

    for title in ("a", "b", "a", "c", "a", "b"):  # "b" is the least recent when "c" comes in
        memo.classify(_item(TEXTS[1], title=title), fake)
    assert seen == ["a", "b", "c", "b"] and len(memo) == 2


def test_the_pipeline_classifies_a_repeated_item_once(store: Store, classifier: Classifier) -> None:
    counting = Counting(classifier)
    deps = Deps(settings=Settings(database=DatabaseSettings(url="unused")), store=store,
                classifier=counting, owner="test", rng=random.Random(1))  # type: ignore[arg-type]
    # One outlet's copy of another's report under its own URL, in the same poll and in a later one.
    items = [_item(TEXTS[0]), _item(TEXTS[0], source="Copy", url="https://copy.example/7", guid="7")]
    first = process_items(items, deps, dry_run=True)  # nothing stored: the next poll meets both again
    assert (first.read, first.new, first.relevant) == (2, 2, 2)
    again = process_items(items, deps)
    assert (again.read, again.new, again.relevant) == (2, 2, 2)
    assert counting.calls == 1 and store.article_count() == 2
