"""Entries parsed before and stored are left out of the next parse (monitor.feeds.repeats): the items that
are left are exactly parse_feed's, less the stored ones, and whatever is not plainly laid out, or reads
differently in another context, is parsed whole."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from feed_server import ATOM_TYPE, RSS_TYPE, make_atom, make_rss

from monitor.errors import FeedError
from monitor.feeds.parse import fingerprint, parse_feed
from monitor.feeds.repeats import RepeatIndex, parse_unseen, split_entries
from monitor.models import FeedItem

NOW = datetime(2024, 5, 1, 12, tzinfo=UTC)
HEADERS = {"content-type": RSS_TYPE}


def _entries(n: int, start: int = 0, **extra: Any) -> list[dict[str, Any]]:
    return [{"title": f"Report {i}", "link": f"https://news.example.org/{i}", "guid": f"g{i}",
             "description": f"<p>Made-up report number {i} on the <b>situation</b>.</p>",
             "pub_date": NOW - timedelta(hours=i), **extra} for i in range(start, start + n)]


class Store:
    """Fingerprints 'stored', and how many the parser asked about."""

    def __init__(self) -> None:
        self.prints: set[str] = set()
        self.asked = 0

    def stored(self, prints: Sequence[str]) -> Collection[str]:
        self.asked += len(prints)
        return self.prints & set(prints)

    def save(self, items: list[FeedItem]) -> None:
        self.prints |= {fingerprint(i) for i in items}


def poll(body: bytes, index: RepeatIndex, store: Store, headers: dict[str, str] = HEADERS,
         **kw: Any) -> tuple[list[FeedItem], int]:
    args: dict[str, Any] = {"source": "Wire", "url": "https://news.example.org/feed.xml", "now": NOW, **kw}
    items, skipped = parse_unseen(body, headers, index=index, stored=store.stored, **args)
    whole = parse_feed(body, headers, **args)
    # The guarantee: what is left out was stored; the rest is parse_feed's, in its order.
    assert [i for i in items if fingerprint(i) not in store.prints] == \
        [i for i in whole if fingerprint(i) not in store.prints]
    assert skipped + len(items) >= len(whole)
    store.save(whole)
    return items, skipped


def test_the_next_poll_parses_only_the_new_entry() -> None:
    index, store = RepeatIndex(), Store()
    items, skipped = poll(make_rss(_entries(5)), index, store)
    assert (len(items), skipped, len(index)) == (5, 0, 5)
    items, skipped = poll(make_rss(_entries(1, start=5) + _entries(5)), index, store)
    assert [i.title for i in items] == ["Report 5"] and skipped == 5


def test_headers_feedparser_does_not_read_change_nothing() -> None:
    index, store = RepeatIndex(), Store()
    poll(make_rss(_entries(3)), index, store, {**HEADERS, "Date": "Mon, 01 Jan 2024 00:00:00 GMT", "ETag": '"a"'})
    items, skipped = poll(make_rss(_entries(3)), index, store,
                          {**HEADERS, "Date": "Mon, 01 Jan 2024 00:05:00 GMT", "ETag": '"b"'})
    assert (items, skipped) == ([], 3)
    items, skipped = poll(make_rss(_entries(3)), index, store, {"content-type": "application/xml; charset=utf-8"})
    assert skipped == 0  # the charset feedparser reads is part of the context


def test_an_atom_feed_whose_own_updated_time_changes_still_skips() -> None:
    index, store = RepeatIndex(), Store()
    entries = [{"title": f"Entry {i}", "id": f"urn:e:{i}", "link": f"https://news.example.org/a{i}",
                "summary": "A made-up summary.", "updated": NOW - timedelta(hours=i)} for i in range(3)]
    poll(make_atom(entries, updated=NOW), index, store, {"content-type": ATOM_TYPE})
    items, skipped = poll(make_atom(entries, updated=NOW + timedelta(minutes=5)), index, store,
                          {"content-type": ATOM_TYPE})
    assert (items, skipped) == ([], 3)


def test_an_entry_remembered_but_not_stored_is_parsed() -> None:
    index, store = RepeatIndex(), Store()
    body = make_rss(_entries(3))
    parse_unseen(body, HEADERS, source="Wire", index=index, stored=store.stored, now=NOW)  # remembered only
    items, skipped = parse_unseen(body, HEADERS, source="Wire", index=index, stored=store.stored, now=NOW)
    assert (len(items), skipped) == (3, 0) and store.asked == 3


@pytest.mark.parametrize("change", [
    {"language": "ru"},  # the preamble says another language: the items read otherwise
    {"title": "Another feed"},
])
def test_another_preamble_is_another_context(change: dict[str, str]) -> None:
    index, store = RepeatIndex(), Store()
    poll(make_rss(_entries(3)), index, store)
    items, skipped = poll(make_rss(_entries(3), **change), index, store)
    assert (len(items), skipped) == (3, 0)


@pytest.mark.parametrize("kw", [{"source": "Other outlet"}, {"lang": "ru"}, {"url": "https://other.example/f"}])
def test_another_source_language_or_feed_url_is_another_context(kw: dict[str, str]) -> None:
    index, store = RepeatIndex(), Store()
    poll(make_rss(_entries(3)), index, store)
    items, skipped = poll(make_rss(_entries(3)), index, store, **kw)
    assert skipped == 0


def test_an_entry_known_by_its_title_only_is_never_skipped() -> None:
    # Its fingerprint reads its date, which the clock bounds: it is parsed every time.
    index, store = RepeatIndex(), Store()
    body = make_rss([{"title": "Untitled wire copy", "guid": None, "description": "Made-up text."}])
    poll(body, index, store)
    items, skipped = poll(body, index, store)
    assert (len(items), skipped, len(index)) == (1, 0, 0)


def test_entries_not_plainly_laid_out_are_parsed_whole() -> None:
    tricky = _entries(2) + [{"title": "Quoted", "link": "https://news.example.org/q", "guid": "q",
                             "description": "a literal </item> inside CDATA", "cdata": True}]
    body = make_rss(tricky)
    assert split_entries(body) is None
    index, store = RepeatIndex(), Store()
    poll(body, index, store)
    items, skipped = poll(body, index, store)
    assert (len(items), skipped) == (3, 0)


def test_a_cut_document_that_does_not_parse_clean_is_parsed_whole() -> None:
    index, store = RepeatIndex(), Store()
    poll(make_rss(_entries(3)), index, store)
    # The new entry is bad XML (an undefined entity): the cut document is not clean, the whole is read.
    body = make_rss(_entries(3)).replace(b"<item>", b"<item><title>New &nbsp; one</title><guid>n</guid></item><item>",
                                         1)
    items, skipped = poll(body, index, store)
    assert skipped == 0 and "New" in items[0].title


def test_a_truncated_body_fails_or_yields_as_parse_feed_does() -> None:
    index, store = RepeatIndex(), Store()
    body = make_rss(_entries(4))
    poll(body, index, store)
    cut = body[: len(body) * 2 // 3]
    assert split_entries(cut) is None
    items, skipped = parse_unseen(cut, HEADERS, source="Wire", url="https://news.example.org/feed.xml",
                                  index=index, stored=store.stored, now=NOW)
    assert skipped == 0 and items == parse_feed(cut, HEADERS, source="Wire", url="https://news.example.org/feed.xml",
                                                 now=NOW)
    with pytest.raises(FeedError):
        parse_unseen(b"<html><body>not a feed</body></html>", {"content-type": "text/html"}, source="Wire",
                     index=index, stored=store.stored)


def test_the_index_is_bounded() -> None:
    index, store = RepeatIndex(size=4), Store()
    poll(make_rss(_entries(10)), index, store)
    assert len(index) == 4
    items, skipped = poll(make_rss(_entries(10)), index, store)
    assert skipped == 4 and len(items) == 6
