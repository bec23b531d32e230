"""Grouping bucket locks: what keeps concurrent saves on PostgreSQL from splitting or tangling incidents.

Grouping reads candidate incidents by (country, event date) and then creates or revises them (ingest.py).
Two transactions grouping reports of one event must not run side by side: neither would see the other's
uncommitted incident, and the event would get two incidents (or their revisions would deadlock). SQLite's
BEGIN IMMEDIATE serialises every writer anyway; on PostgreSQL a saving transaction takes, before it reads
any candidate, a transaction-level advisory lock on every *grouping bucket* - a (country, day) - it may read
or write, and holds them until it commits:

- a draft of event date d reads candidates of its countries dated d ± DAY_WINDOW (the draft's join), and an
  incident it joined - now dated within [d - DAY_WINDOW, d] - reads those dated within DAY_WINDOW of that
  date (the merge check after a join; merged incidents stay within DAY_WINDOW of the draft, group.py
  `incident_match`): days [d - 2 * DAY_WINDOW, d + DAY_WINDOW] in all, of each of the draft's countries
  (an incident's country is one of the countries it was found by, or the draft's own);
- a draft without a country reads and writes the incidents without one (`country IS NULL`): its own bucket.

Every write to an incident row that grouping reads (create, join, move to another date or country, merge
away) happens in a bucket the writer holds, and every candidate read happens under the lock of each bucket
it reads: two transactions that could see each other's incidents take turns (two-phase locking over
buckets), and a transaction sees, in READ COMMITTED, everything its predecessors in a bucket committed (the
locks are released after the commit is visible). Saves of different events - other countries, or days
farther apart - run side by side.

The locks are taken in one statement, in ascending key order, so two saves never wait for each other in a
cycle. A bucket the prediction above missed (grouping rules changed) is still locked when first read or
written (`BucketLocks.cover`), just out of order: correct, but it may deadlock, which `Store._transact`
retries; `late` counts such locks so tests can check that the prediction covers them.

Alert timing is the other thing a save decides from rows beyond its buckets: a target's cooldown and
per-hour cap are decided from the target's recent alerts about *any* incident (alerting.history), and a
capped alert rewrites the target's pending burst digest. So before the first revision's alerts are planned,
a save that has revisions to write also locks each target whose timing reads that history - a target some
rule with a cooldown or a per-hour cap addresses (`timed_targets`) - in one ordered statement: two saves of
different events queue there (only the tail of the transaction), and the second sees the first's alerts.
Targets without such rules (quiet hours and routing do not read the history) take no lock.

Lock order, the same in every save: its new articles (inserted first, in fingerprint order: a save inserting
a story another has inserted but not committed waits for it), then buckets (one statement, before grouping
reads anything), then targets (one statement), then term_df rows (sorted terms, the document count last: the
last statement of grouping, terms.bump_df; the hot rows are held only until the COMMIT right after). A
save never waits for a lock of an earlier class while holding one of a later class (late bucket locks
aside), so no wait cycle forms across classes either. Other rows a save writes are its feed's (leased to
this instance), its incidents' (under their buckets) and their outbox rows (ditto).

Keys are 64-bit hashes of "group:{country}:{day}" and "alert-timing:{target}" (a collision only makes two
locks one), in the same key space as `alerting.try_lock`'s, whose names (digest keys) start with neither.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from datetime import date, timedelta

from sqlalchemy import text
from sqlalchemy.engine import Connection

from monitor.alerts.routing import addresses, targets_of
from monitor.incidents.group import DAY_WINDOW, ArticleDraft
from monitor.settings import AlertSettings

NO_COUNTRY = "-"  # the bucket of incidents without a country


def bucket_key(country: str | None, day: date) -> int:
    """The advisory lock key of a grouping bucket (a signed 64-bit integer, as PostgreSQL's bigint)."""
    return advisory_key(f"group:{country or NO_COUNTRY}:{day.isoformat()}")


def advisory_key(name: str) -> int:
    """The 64-bit advisory lock key of a lock name (a signed bigint, as PostgreSQL takes it)."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True)


def target_key(target: str) -> int:
    """The advisory lock key of a target's alert timing."""
    return advisory_key(f"alert-timing:{target}")


def timed_targets(alerts: AlertSettings) -> list[str]:
    """Targets whose alert timing depends on their earlier alerts: addressed by a rule with a cooldown or
    a per-hour cap."""
    return [t.name for t in targets_of(alerts)
            if any(addresses(r.targets, t) and (r.cooldown_s or r.max_per_hour is not None) for r in alerts.rules)]


def draft_buckets(draft: ArticleDraft) -> set[tuple[str | None, date]]:
    """Every bucket grouping `draft` may read or write (see the module doc)."""
    d = draft.event_date
    countries: Sequence[str | None] = draft.countries or (None,)
    return {(c, d + timedelta(days=n)) for c in countries for n in range(-2 * DAY_WINDOW, DAY_WINDOW + 1)}


def lock_keys(conn: Connection, keys: Iterable[int]) -> None:
    """Take these transaction-level advisory locks, in ascending order, in one round trip."""
    ordered = sorted(set(keys))
    if ordered:
        # unnest yields the array's order, and the aggregate calls the function row by row in that order
        conn.execute(text("SELECT count(pg_advisory_xact_lock(k)) FROM unnest(CAST(:keys AS bigint[])) AS k"),
                     {"keys": ordered})


class BucketLocks:
    """The grouping buckets (and alert timing targets) one saving transaction holds on PostgreSQL; on SQLite,
    whose write lock serialises saves, nothing to do."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.enabled = conn.dialect.name == "postgresql"
        self.held: set[int] = set()
        self.late = 0  # buckets locked after the first lock statement (out of order)

    def lock_for(self, drafts: Iterable[ArticleDraft]) -> None:
        """Lock every bucket that grouping these drafts may touch, in key order (call before reading any)."""
        self._take({bucket_key(c, d) for draft in drafts for c, d in draft_buckets(draft)})

    def lock_targets(self, alerts: AlertSettings) -> None:
        """Lock the alert timing of every target in `timed_targets` (call before reading their history)."""
        self._take({target_key(t) for t in timed_targets(alerts)})

    def cover(self, countries: Sequence[str | None], first: date, last: date) -> None:
        """Make sure the buckets of these countries (none: the no-country bucket) and days are held
        before they are read or written; any missing is locked now."""
        self.late += self._take({bucket_key(c, first + timedelta(days=n)) for c in (countries or (None,))
                                 for n in range((last - first).days + 1)})

    def _take(self, keys: set[int]) -> int:
        """Lock the keys not held yet, in key order; returns how many that was (none on SQLite)."""
        if not self.enabled:
            return 0
        missing = keys - self.held
        lock_keys(self.conn, missing)
        self.held |= missing
        return len(missing)
