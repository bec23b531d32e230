"""The poll cycle against a real loopback server: bad feeds fail alone, with the right next fetch time."""

from __future__ import annotations

import asyncio
import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from feed_server import FeedServer, make_rss

from monitor.feeds.fetch import Fetcher
from monitor.pipeline import Deps, deliver_due, run_cycle
from monitor.reading.classify import Classifier
from monitor.settings import (
    AlertSettings,
    ApiSettings,
    DatabaseSettings,
    FeedSettings,
    FetchSettings,
    Settings,
    TargetSettings,
)
from monitor.store import IncidentFilter, Store

NOW = datetime.now(UTC).replace(microsecond=0)
GOOD = make_rss([{"title": "Shelling kills 4 civilians in Donetsk", "link": "https://n.example/1",
                  "guid": "1", "pub_date": NOW - timedelta(hours=1),
                  "description": "Artillery shelling hit Donetsk, Ukraine, killing four civilians."}])
FETCH = FetchSettings(connect_timeout_s=1.0, read_timeout_s=1.0, total_timeout_s=2.0, max_bytes=200_000,
                      max_redirects=3, default_interval_s=600, backoff_base_s=60, backoff_max_s=4 * 3600)

BAD = {
    "html": ("html_page", {}, "not_a_feed"),
    "malformed": ("truncated_xml", {"fraction": 0.15}, "parse_error"),  # nothing usable left
    "404": ("status", {"code": 404}, "http_404"),
    "500": ("status", {"code": 500}, "http_500"),
    "429": ("status", {"code": 429, "retry_after": "7200"}, None),
    "timeout": ("hang", {}, "timeout"),
    "loop": ("redirect_loop", {}, "too_many_redirects"),
    "huge": ("oversized", {"size": 5_000_000}, "too_large"),
}


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    return Classifier.from_settings()


def _deps(store: Store, classifier: Classifier, feeds: list[FeedSettings],
          alerts: AlertSettings | None = None) -> Deps:
    alerts = alerts or AlertSettings()
    settings = Settings(database=DatabaseSettings(url="unused"), feeds=tuple(feeds), fetch=FETCH, alerts=alerts)
    return Deps(settings=settings, store=store, classifier=classifier, owner="test", rng=random.Random(1))


async def _cycle(deps: Deps) -> object:
    async with Fetcher(deps.settings.fetch, version="test") as fetcher:
        return await run_cycle(deps, fetcher)


def test_each_bad_feed_fails_alone_and_is_backed_off(store: Store, classifier: Classifier) -> None:
    with FeedServer() as srv:
        srv.set_feed("/good.xml", GOOD)
        feeds = [FeedSettings(name="good", url=srv.url("/good.xml"))]
        for name, (kind, params, _) in BAD.items():
            srv.set_behaviour(f"/{name}.xml", kind, **params)
            feeds.append(FeedSettings(name=name, url=srv.url(f"/{name}.xml")))
        deps = _deps(store, classifier, feeds)
        store.sync_feeds(feeds, NOW)
        report = asyncio.run(_cycle(deps))
    assert report.fetched == 1 and report.failed == len(BAD)  # type: ignore[attr-defined]
    rows = {r.name: r for r in store.list_feeds()}
    good = rows["good"]
    assert good.consecutive_failures == 0 and good.last_error is None and good.items_seen == 1
    for name, (_, _, kind) in BAD.items():
        row = rows[name]
        assert row.consecutive_failures == 1, name
        assert row.last_error_kind is not None and row.last_error, name
        if kind:
            assert row.last_error_kind == kind, (name, row.last_error_kind, row.last_error)
        wait = (row.next_fetch_at - row.last_fetch_at).total_seconds()  # type: ignore[operator]
        assert wait >= FETCH.default_interval_s - 1, name  # never sooner than the feed's interval
        assert wait <= FETCH.backoff_max_s + 1, name
    wait_429 = (rows["429"].next_fetch_at - rows["429"].last_fetch_at).total_seconds()  # type: ignore[operator]
    assert wait_429 >= 7200 - 1  # Retry-After honoured
    assert len(store.incidents(IncidentFilter())) == 1


def test_a_failing_target_does_not_block_the_others(store: Store, classifier: Classifier) -> None:
    from sink_server import SinkServer

    with FeedServer() as srv, SinkServer() as sink:
        srv.set_feed("/good.xml", GOOD)
        feeds = [FeedSettings(name="good", url=srv.url("/good.xml"))]
        alerts = AlertSettings(targets=(TargetSettings(name="down", url="json://127.0.0.1:9/x"),
                                        TargetSettings(name="up", url=sink.url("/up"))),
                               retry_base_s=1, retry_max_s=1, send_timeout_s=3)
        deps = _deps(store, classifier, feeds, alerts)
        store.sync_feeds(feeds, NOW)
        asyncio.run(_cycle(deps))
        delivered = asyncio.run(deliver_due(deps))
        assert delivered.sent == 1 and delivered.failed == 1
        assert [r.path for r in sink.delivered] == ["/up"]
        assert store.outbox_counts() == {"sent": 1, "pending": 1}


def test_polls_and_fetch_errors_are_counted_for_metrics(store: Store, classifier: Classifier) -> None:
    from monitor import metrics

    def value(name: str, **labels: str) -> float:
        return metrics.REGISTRY.get_sample_value(name, labels) or 0.0

    before_ok = value("cfm_feed_polls_total", outcome="ok")
    before_404 = value("cfm_fetch_errors_total", kind="http_404")
    with FeedServer() as srv:
        srv.set_feed("/good.xml", GOOD)
        srv.set_behaviour("/gone.xml", "status", code=404)
        feeds = [FeedSettings(name="good", url=srv.url("/good.xml")),
                 FeedSettings(name="bad", url=srv.url("/gone.xml"))]
        store.sync_feeds(feeds, NOW)
        asyncio.run(_cycle(_deps(store, classifier, feeds)))
    assert value("cfm_feed_polls_total", outcome="ok") == before_ok + 1
    assert value("cfm_fetch_errors_total", kind="http_404") == before_404 + 1


def test_with_a_public_url_each_alert_links_to_its_incident_page(store: Store, classifier: Classifier) -> None:
    with FeedServer() as srv:
        srv.set_feed("/good.xml", GOOD)
        feeds = [FeedSettings(name="good", url=srv.url("/good.xml"))]
        alerts = AlertSettings(targets=(TargetSettings(name="chat", url="json://127.0.0.1:9/x"),
                                        TargetSettings(name="mail", url="mailto://u:p@mail.example.org")))
        deps = _deps(store, classifier, feeds, alerts)
        deps.settings = replace(deps.settings, api=ApiSettings(public_url="https://desk.example.org/cfm"))
        store.sync_feeds(feeds, NOW)
        asyncio.run(_cycle(deps))
    [incident] = store.incidents(IncidentFilter())
    rows = store.outbox_rows(kind="incident")
    assert sorted(r["target"] for r in rows) == ["chat", "mail"]
    for row in rows:  # plain text and HTML alike
        assert f"https://desk.example.org/cfm/incidents/{incident.id}" in row["body"], row["body"]
