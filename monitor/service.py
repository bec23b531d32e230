"""The daemon: APScheduler jobs that call the pipeline, signals, readiness. Holds no pipeline logic.

A tick job claims due feeds and starts one task per feed (bounded by fetch.concurrency, so one slow feed
never delays the next tick); a delivery job drains the outbox. SIGTERM/SIGINT stop the scheduler, wait
for in-flight polls and deliveries, and exit 0.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import time
from collections.abc import Awaitable
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from monitor import __version__, metrics
from monitor.alerts.digest import schedules
from monitor.errors import DatabaseError
from monitor.feeds.fetch import Fetcher
from monitor.logs import event
from monitor.pipeline import CycleReport, Deps, deliver_due, poll_feed, queue_digests
from monitor.store import FeedRow
from monitor.web.health import Health

log = logging.getLogger("monitor.service")
SHUTDOWN_GRACE_S = 30.0
STATISTICS_EVERY_H = 24  # how often the SQLite planner statistics are refreshed (Store.refresh_statistics)


def sd_notify(message: str) -> None:
    """Tell systemd (Type=notify) about readiness and liveness; a no-op outside systemd."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return
    if address.startswith("@"):
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.connect(address)
            sock.sendall(message.encode())
    except OSError as exc:
        event(log, "sd_notify_failed", logging.WARNING, error=str(exc))


class Daemon:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps
        self.health = Health()
        self.fetcher = Fetcher(deps.settings.fetch, version=__version__)
        self.scheduler = AsyncIOScheduler(timezone="UTC")
        self._inflight: dict[int, asyncio.Task[None]] = {}
        self._delivering: asyncio.Task[None] | None = None
        self._jobs: set[asyncio.Task[object]] = set()  # tick and digest runs under way
        self._stop = asyncio.Event()

    async def tick(self) -> None:
        """Claim due feeds (as many as free slots) and poll each in its own task."""
        started = time.perf_counter()
        try:
            await self._running(self._tick())
        finally:
            metrics.observe_tick(time.perf_counter() - started)

    async def _running(self, job: Awaitable[object]) -> None:
        """Run a scheduled job's work noted as under way, so a stop waits for it instead of cancelling it
        mid-claim (which would end it with a CancelledError traceback)."""
        task = asyncio.current_task()
        if task is not None:
            self._jobs.add(task)
        try:
            await job
        finally:
            self._jobs.discard(task)

    async def _tick(self) -> None:
        self.health.last_tick_at = time.time()
        sd_notify("WATCHDOG=1")
        if self._stop.is_set():
            return
        free = self.deps.settings.fetch.concurrency - len(self._inflight)
        if free <= 0:
            return
        f = self.deps.settings.fetch
        try:
            feeds = await asyncio.to_thread(self.deps.store.claim_due_feeds, self.deps.owner, self.deps.clock(),
                                            f.lease_s, free)
        except DatabaseError as exc:
            # The database is down or restarting: nothing was claimed; the next tick tries again (the engine
            # reconnects by itself). One line, no traceback: this is an outage, not a bug.
            event(log, "tick_failed", logging.ERROR, error=exc.message)
            return
        for feed in feeds:
            self._inflight[feed.id] = asyncio.create_task(self._poll(feed))
        self.health.inflight_feeds = len(self._inflight)

    async def _poll(self, feed: FeedRow) -> None:
        try:
            await poll_feed(feed, self.fetcher, self.deps, CycleReport())
        except DatabaseError as exc:
            # Even the failure could not be recorded: the database is unreachable. Nothing of this poll was
            # stored, so nothing is lost; the lease expires and the feed is polled again.
            event(log, "feed_store_failed", logging.ERROR, feed=feed.id, error=exc.message)
        except Exception:  # a bug: logged with its traceback; the lease expires and the feed is retried
            log.exception("feed_poll_crashed feed=%s", feed.id)
        finally:
            self._inflight.pop(feed.id, None)

    async def deliver(self) -> None:
        self.health.last_delivery_at = time.time()
        if self._stop.is_set() or (self._delivering and not self._delivering.done()):
            return
        self._delivering = asyncio.create_task(self._deliver())

    async def _deliver(self) -> None:
        try:
            report = await deliver_due(self.deps)
            if report.sent or report.failed or report.given_up:
                event(log, "delivery_round", sent=report.sent, failed=report.failed, given_up=report.given_up)
        except DatabaseError as exc:
            # Claims and outcomes live in the database: with it down this round stops; leased rows are
            # taken over when their lease ends (an alert in flight is then resent marked as a possible repeat).
            event(log, "delivery_failed", logging.ERROR, error=exc.message)
        except Exception:
            log.exception("delivery_crashed")

    async def refresh_statistics(self) -> None:
        """Daily, and once at start: the query planner's statistics follow the store as it grows."""
        started = time.perf_counter()
        try:
            refreshed = await asyncio.to_thread(self.deps.store.refresh_statistics)
        except DatabaseError as exc:  # an outage: tomorrow's run (or the next start) tries again
            event(log, "db_statistics_failed", logging.WARNING, error=exc.message)
            return
        if refreshed:
            event(log, "db_statistics_refreshed", seconds=round(time.perf_counter() - started, 3))

    async def digest(self) -> None:
        """Cron job: queue the digests whose period just ended. Every instance runs it; the outbox key and a
        once-only lock make exactly one digest per target and period."""
        if self._stop.is_set():
            return
        try:
            await self._running(asyncio.to_thread(queue_digests, self.deps))
        except DatabaseError as exc:
            # One line, no traceback. The job writes only the latest completed period, so a digest whose
            # run fell in an outage is not written later: the log line says so.
            event(log, "digest_failed", logging.ERROR, error=exc.message)
        except Exception:
            log.exception("digest_crashed")

    def _schedule_digests(self) -> None:
        for job_id, when in schedules(self.deps.settings.alerts):
            self.scheduler.add_job(self.digest, when, id=job_id, max_instances=1, coalesce=True,
                                   misfire_grace_time=3600)

    def request_stop(self, signame: str) -> None:
        if not self._stop.is_set():
            event(log, "stopping", signal=signame, inflight_feeds=len(self._inflight))
            self._stop.set()

    async def run(self) -> int:
        """Run until SIGTERM/SIGINT. Returns the exit status."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.request_stop, sig.name)
        d = self.deps.settings.daemon
        self.scheduler.add_job(self.tick, "interval", seconds=d.tick_s, id="tick", max_instances=1,
                               coalesce=True, next_run_time=_now())
        self.scheduler.add_job(self.deliver, "interval", seconds=d.delivery_s, id="deliver", max_instances=1,
                               coalesce=True, next_run_time=_now())
        self.scheduler.add_job(self.refresh_statistics, "interval", hours=STATISTICS_EVERY_H, id="statistics",
                               max_instances=1, coalesce=True, next_run_time=_now())
        self._schedule_digests()
        self.scheduler.start()
        self.health.scheduler_running = True
        api_task = await self._start_api()
        event(log, "started", version=__version__, owner=self.deps.owner, feeds=len(self.deps.settings.feeds),
              targets=len(self.deps.settings.alerts.targets), database=self.deps.store.dialect)
        sd_notify("READY=1")
        await self._stop.wait()
        sd_notify("STOPPING=1")
        self.scheduler.pause()  # no new runs; shutdown would cancel the ones under way, so it comes after them
        self.health.scheduler_running = False
        if self._jobs:  # a tick may still be claiming feeds: its polls join the in-flight ones below
            await asyncio.wait(list(self._jobs), timeout=SHUTDOWN_GRACE_S)
        self.scheduler.shutdown(wait=False)
        pending = list(self._inflight.values()) + ([self._delivering] if self._delivering else [])
        if pending:
            _, late = await asyncio.wait(pending, timeout=SHUTDOWN_GRACE_S)
            for task in late:
                task.cancel()
        if api_task is not None:
            api_task.cancel()
            await asyncio.gather(api_task, return_exceptions=True)
        await self.fetcher.aclose()
        event(log, "stopped", finished=len(pending))
        return 0

    async def _start_api(self) -> asyncio.Task[None] | None:
        api = self.deps.settings.api
        if not api.enabled:
            return None
        from monitor.web.api import serve_api  # imported lazily: the CLI's short commands need no web stack

        return asyncio.create_task(serve_api(self.deps, self.health))


def _now() -> datetime:
    return datetime.now(UTC)
