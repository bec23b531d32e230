"""Every Prometheus metric, defined once. Names are stable; labels are few.

Two kinds:
* process counters that only the pipeline can move (feeds polled, fetch errors by kind, tick duration):
  the pipeline and the service call `record_poll()` and `observe_tick()`; they live in REGISTRY;
* gauges read from the database at scrape time (articles, incidents, outbox by status, age of the oldest
  pending alert, failing feeds): `render(stats)` adds them to each scrape, so every instance of the
  daemon reports the same shared numbers, and `serve` alone reports them too.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, InfoMetricFamily, Metric
from prometheus_client.registry import Collector

from monitor import __version__
from monitor.store.queries import StoreStats

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
OUTBOX_STATUSES = ("pending", "sent", "failed")

REGISTRY = CollectorRegistry(auto_describe=True)

FEED_POLLS = Counter("cfm_feed_polls", "Feeds polled, by outcome (ok or error).", ["outcome"], registry=REGISTRY)
FETCH_ERRORS = Counter("cfm_fetch_errors", "Failed feed polls by error kind (timeout, http_503, parse_error, ...).",
                       ["kind"], registry=REGISTRY)
TICK_SECONDS = Histogram("cfm_tick_duration_seconds", "Duration of one scheduler tick (claim due feeds, start polls).",
                         buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30), registry=REGISTRY)


def record_poll(error_kind: str | None) -> None:
    """Count one finished feed poll: None for success (304 included), else the FeedError kind."""
    FEED_POLLS.labels(outcome="ok" if error_kind is None else "error").inc()
    if error_kind is not None:
        FETCH_ERRORS.labels(kind=error_kind[:40]).inc()


def observe_tick(seconds: float) -> None:
    """Record how long one scheduler tick took."""
    TICK_SECONDS.observe(max(0.0, seconds))


class _StoreCollector(Collector):
    """The database gauges of one scrape, from counts already read by the caller."""

    def __init__(self, stats: StoreStats, now: datetime, started_at: float | None) -> None:
        self.stats, self.now, self.started_at = stats, now, started_at

    def collect(self) -> Iterator[Metric]:
        s = self.stats
        yield GaugeMetricFamily("cfm_articles", "Articles stored.", value=s.articles)
        yield GaugeMetricFamily("cfm_incidents", "Incidents stored.", value=s.incidents)
        alerts = GaugeMetricFamily("cfm_alerts", "Outbox alerts by status (pending, sent, failed).",
                                   labels=["status"])
        for status in sorted(set(OUTBOX_STATUSES) | set(s.outbox)):
            alerts.add_metric([status], s.outbox.get(status, 0))
        yield alerts
        age = 0.0 if s.oldest_pending_at is None else max(0.0, (self.now - s.oldest_pending_at).total_seconds())
        yield GaugeMetricFamily("cfm_outbox_oldest_pending_age_seconds",
                                "Age of the oldest pending alert (0 when none is pending).", value=age)
        yield GaugeMetricFamily("cfm_feeds_enabled", "Feeds enabled and not retired.", value=s.feeds_enabled)
        yield GaugeMetricFamily("cfm_feeds_failing", "Enabled feeds whose last poll failed.", value=s.feeds_failing)
        yield InfoMetricFamily("cfm_build", "Version of ceasefire-monitor.", value={"version": __version__})
        if self.started_at is not None:
            yield GaugeMetricFamily("cfm_uptime_seconds", "Seconds since the daemon started.",
                                    value=round(max(0.0, time.time() - self.started_at), 1))


def render(stats: StoreStats, *, now: datetime | None = None, started_at: float | None = None) -> bytes:
    """The Prometheus text exposition: this process's counters plus the database gauges in `stats`."""
    scrape = CollectorRegistry(auto_describe=False)
    scrape.register(_StoreCollector(stats, now or datetime.now(UTC), started_at))
    return generate_latest(REGISTRY) + generate_latest(scrape)
