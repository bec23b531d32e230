"""Classifications of recently seen item contents, shared by the polls of one process.

A feed lists its recent items at every poll and outlets carry each other's reports, so one cycle meets the
same item many times. The pipeline skips items whose fingerprint is stored already, but polls that run at
the same time (or an outlet's copy under another URL) would each classify theirs: here the second waits for
the first's result, and a finished result is kept for later polls (a bounded LRU).

The key is what `Classifier.classify` reads of an item: title, text, language and publication time (not its
source, URL or ids; tests/test_classify_memo.py checks that those change nothing). Classification is
deterministic and immutable, so sharing one is the same as computing it again.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future

from monitor.models import Classification, FeedItem

DEFAULT_SIZE = 4096  # finished results kept: a few cycles' worth of distinct items, a few MB


def content_key(item: FeedItem) -> bytes:
    published = item.published_at.isoformat() if item.published_at else ""
    data = "\x1f".join((item.title, item.text, item.lang or "", published))
    return hashlib.blake2b(data.encode("utf-8", "surrogatepass"), digest_size=16).digest()


class ClassificationMemo:
    def __init__(self, size: int = DEFAULT_SIZE) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._done: OrderedDict[bytes, Classification] = OrderedDict()
        self._running: dict[bytes, Future[Classification]] = {}
        self.computed = 0  # classifications actually worked out (for tests and benchmarks)
        self.shared = 0  # answered from another poll's work

    def __len__(self) -> int:
        return len(self._done)

    def classify(self, item: FeedItem, classify: Callable[[FeedItem], Classification]) -> Classification:
        """`classify(item)`, unless an item with the same content was classified (or is being) already."""
        key = content_key(item)
        with self._lock:
            found = self._done.get(key)
            if found is not None:
                self._done.move_to_end(key)
                self.shared += 1
                return found
            running = self._running.get(key)
            if running is None:
                mine: Future[Classification] = Future()
                self._running[key] = mine
        if running is not None:  # another thread is on it: its result (or its exception) is ours
            result = running.result()
            with self._lock:
                self.shared += 1
            return result
        try:
            result = classify(item)
        except BaseException as exc:
            with self._lock:
                del self._running[key]
            mine.set_exception(exc)
            raise
        with self._lock:
            del self._running[key]
            self.computed += 1
            if self._size > 0:
                self._done[key] = result
                while len(self._done) > self._size:
                    self._done.popitem(last=False)
        mine.set_result(result)
        return result
