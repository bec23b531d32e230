"""The bulk paths of a save: stored items are not classified again, and the candidate lists read for a
whole batch at once are the lists read key by key (store.batch)."""

from __future__ import annotations

import random
import threading
from datetime import UTC, date, datetime, timedelta

import pytest

from monitor.models import FeedItem
from monitor.pipeline import Deps, process_items
from monitor.reading.classify import Classifier
from monitor.settings import DatabaseSettings, Settings
from monitor.store import Store, batch

NOW = datetime.now(UTC).replace(microsecond=0)
# Made-up reports: three towns of one country and one of another, over a few days.
REPORTS = [
    ("Artillery shelling hit Kharkiv, Ukraine, killing two civilians.", 0),
    ("An air strike on Odesa, Ukraine, killed three people.", 1),
    ("Shelling of Sumy, Ukraine, wounded five people.", 3),
    ("An air strike hit a market in Khartoum, Sudan, killing six people.", 0),
]


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    return Classifier.from_settings()


class CountingClassifier:
    def __init__(self, inner: Classifier) -> None:
        self.inner, self.calls = inner, 0
        self.lock = threading.Lock()

    def classify(self, item: FeedItem) -> object:
        with self.lock:
            self.calls += 1
        return self.inner.classify(item)


def _items(n: int = len(REPORTS)) -> list[FeedItem]:
    return [FeedItem(source="Test wire", title=text.split(",")[0], text=text, url=f"https://wire.example/{i}",
                     guid=str(i), published_at=NOW - timedelta(days=days), lang="en", external_id=str(i))
            for i, (text, days) in enumerate(REPORTS[:n])]


def test_items_stored_already_are_counted_as_duplicates_without_classifying(store: Store,
                                                                            classifier: Classifier) -> None:
    counting = CountingClassifier(classifier)
    deps = Deps(settings=Settings(database=DatabaseSettings(url="unused")), store=store,
                classifier=counting, owner="test", rng=random.Random(1))  # type: ignore[arg-type]
    first = process_items(_items(2), deps)
    assert (first.read, first.new, first.duplicates) == (2, 2, 0)
    assert counting.calls == 2
    again = process_items(_items(), deps)  # the first two again, two new ones
    assert (again.read, again.new, again.duplicates) == (4, 2, 2)
    assert counting.calls == 4  # only the new ones were classified
    assert store.article_count() == 4
    assert again.relevant == 2 and first.relevant == 2


def test_candidate_lists_of_a_batch_are_those_read_key_by_key(store: Store, classifier: Classifier,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    deps = Deps(settings=Settings(database=DatabaseSettings(url="unused")), store=store, classifier=classifier,
                owner="test", rng=random.Random(1))
    report = process_items(_items(), deps)
    assert report.incidents_created >= 2
    today = NOW.date()
    keys: list[tuple[tuple[str, ...], date]] = [
        (("UA",), today), (("UA",), today - timedelta(days=2)), (("UA", "SD"), today), (("SD",), today),
        (("SD",), today - timedelta(days=5)), ((), today)]
    with store.read() as conn:
        one_by_one = {k: batch.candidate_ids(conn, *k) for k in keys}
        assert any(one_by_one.values()) and not all(one_by_one.values())  # a real mix of hits and misses
        assert batch.candidate_lists(conn, keys) == one_by_one
        # More incidents than the lists may hold: the caller is told to read key by key.
        monkeypatch.setattr(batch, "CANDIDATE_LIMIT", 1)
        busy = [(("UA",), today - timedelta(days=1))]
        assert len(batch.candidate_ids(conn, *busy[0])) == 1
        assert batch.candidate_lists(conn, busy) is None
