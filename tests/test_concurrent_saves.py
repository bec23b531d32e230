"""Concurrent saves on PostgreSQL: grouping bucket locks (monitor/store/locks.py) instead of one global lock.

Reports of one event saved at once by several threads (each its own engine and connection, as instances
are) still make exactly one incident with every source, merges are not lost, and nothing deadlocks; saves
of different events hold their locks at the same time (shown by a barrier both pass while holding them,
and by pg_locks), not one after the other.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Any

import psycopg
import pytest
from conftest import _pg_conninfo
from sqlalchemy import func, select, text

from monitor.incidents.group import ArticleDraft
from monitor.models import Casualties, Classification, FeedItem, IncidentView, LabelHit, Place
from monitor.settings import AlertSettings, DatabaseSettings, QuietHours, RuleSettings, TargetSettings
from monitor.store import IncidentFilter, SaveReport, Store, locks
from monitor.store import batch as batch_state
from monitor.store.schema import articles, incidents, term_df
from monitor.store.terms import DOCS_TERM, bump_df

T0 = datetime(2022, 9, 13, 8, 0, tzinfo=UTC)
DAY = date(2022, 9, 13)
JERMUK = Place("Jermuk", "AM", "Vayots Dzor", 39.84, 45.67, "place", 616629)
ARMENIA = Place("Armenia", "AM", None, 40.0, 45.0, "country", None)
GOMA = Place("Goma", "CD", "North Kivu", -1.68, 29.22, "place", 217831)
KHARTOUM = Place("Khartoum", "SD", "Khartoum", 15.55, 32.53, "place", 379252)
TARGETS = AlertSettings(targets=(TargetSettings(name="a", url="json://127.0.0.1:1/a"),
                                 TargetSettings(name="b", url="json://127.0.0.1:1/b")))
SHELLING = ("Artillery shells hit resort town of Jermuk",
            "Mortar rounds landed near sanatoriums in Jermuk, damaging houses; residents sheltered in basements.")
LOOSE = ("Armenia says Azerbaijani artillery hit Jermuk", SHELLING[1])  # country-level, worded as SHELLING
VAGUE = ("Armenia accuses Azerbaijan of violating truce overnight",
         "Yerevan said Azerbaijani units breached the truce along the border overnight, calling it provocation.")


def render(view: IncidentView, kind: str, reasons: Sequence[str], url: str) -> tuple[str, str, str]:
    return f"{kind} {view.id} r{view.revision}", ",".join(reasons), "text"


def draft(key: str, place: Place | None, words: tuple[str, str] = SHELLING, *, source: str, day: date = DAY,
          killed: int | None = None) -> ArticleDraft:
    item = FeedItem(title=words[0], text=words[1], url=f"https://news.example/{key}", source=source,
                    published_at=T0)
    c = Classification(labels=(LabelHit("shelling", 0.9, ("shelled",)),), score=0.9,
                       countries=(place.country,) if place and place.country else (), place=place,
                       places=(place,) if place else (), killed=Casualties(count=killed), event_date=day)
    return ArticleDraft(item=item, fingerprint=f"fp-{key}", classification=c, published_at=T0, first_seen_at=T0)


def save(store: Store, drafts: list[ArticleDraft], now: datetime = T0) -> SaveReport:
    return store.save_feed_items(None, "test", drafts, None, alerts=TARGETS, ceasefires=(), render=render, now=now)


@pytest.fixture
def stores(pg_url: str) -> Iterator[list[Store]]:
    """Six stores on one PostgreSQL database: six engines, as six instances (or threads) have."""
    opened = [Store.open(DatabaseSettings(url=pg_url)) for _ in range(6)]
    opened[0].upgrade()
    yield opened
    for s in opened:
        s.close()


def run_threads(work: Sequence[Callable[[], Any]], timeout: float = 120) -> list[Any]:
    """Run each callable in its own thread, released together; re-raise the first failure."""
    start = threading.Barrier(len(work))
    results: list[Any] = [None] * len(work)
    errors: list[BaseException] = []

    def one(i: int) -> None:
        try:
            start.wait(30)
            results[i] = work[i]()
        except BaseException as exc:  # handed to the test thread
            errors.append(exc)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(work))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
        assert not t.is_alive(), "a save hung"
    if errors:
        raise errors[0]
    return results


def live(store: Store) -> list[IncidentView]:
    return store.incidents(IncidentFilter(limit=None))


def retries(stores: Sequence[Store]) -> dict[str, int]:
    out: dict[str, int] = {}
    for s in stores:
        for reason, n in s.retries.items():
            out[reason] = out.get(reason, 0) + n
    return out


def advisory_holders(url: str) -> tuple[set[int], set[int]]:
    """(pids holding, pids waiting for) advisory locks in this test's database."""
    from sqlalchemy.engine import make_url

    with psycopg.connect(_pg_conninfo(url), autocommit=True) as conn:
        rows = conn.execute("SELECT l.pid, l.granted FROM pg_locks l JOIN pg_database d ON d.oid = l.database "
                            "WHERE l.locktype = 'advisory' AND d.datname = %s",
                            (make_url(url).database,)).fetchall()
    return {pid for pid, granted in rows if granted}, {pid for pid, granted in rows if not granted}


# -- one event from many feeds --------------------------------------------------------------------------------


def test_reports_of_one_event_saved_at_once_from_six_feeds_make_one_incident(stores: list[Store]) -> None:
    # Each feed's batch: three reports of the shelling of Jermuk (its own outlets), one country-level report of it,
    # and a report of an unrelated event elsewhere; all six saved at once, three rounds.
    outlets: list[str] = []
    for rnd in range(3):
        work = []
        for f, store in enumerate(stores):
            names = [f"Outlet {rnd}-{f}-{k}" for k in range(3)]
            outlets += names
            batch = [draft(f"{rnd}-{f}-{k}", JERMUK, source=name) for k, name in enumerate(names)]
            batch.append(draft(f"{rnd}-{f}-loose", ARMENIA, LOOSE, source=names[0]))
            batch.append(draft(f"{rnd}-{f}-goma", GOMA, source=f"Goma outlet {f}", day=DAY + timedelta(days=rnd * 5)))
            work.append(lambda store=store, batch=batch: save(store, batch))
        reports = run_threads(work)
        assert all(r.late_locks == 0 for r in reports)  # the up-front lock covered every bucket read
    views = live(stores[0])
    jermuk = [v for v in views if v.country == "AM"]
    assert len(jermuk) == 1, [(v.id, v.place, v.source_count) for v in jermuk]
    [incident] = jermuk
    assert incident.source_count == len(outlets)
    with stores[0].read() as conn:
        linked = conn.execute(select(func.count()).select_from(articles).where(
            articles.c.incident_id == select(incidents.c.id).where(incidents.c.public_id == incident.id)
            .scalar_subquery())).scalar_one()
    assert linked == len(outlets) + 18  # three shelling and one country-level report per feed and round
    assert len([v for v in views if v.country == "CD"]) == 3  # Goma: one incident per round (dates 5 days apart)
    assert retries(stores).get("deadlock", 0) == 0
    # Every incident's alerts: one first alert per target, whatever the interleaving.
    for target in ("a", "b"):
        firsts = [r for r in stores[0].outbox_rows(target=target, kind="incident") if r["status"] == "pending"]
        assert sorted(r["incident_id"] for r in firsts) == sorted({r["incident_id"] for r in firsts})


def test_concurrent_reports_do_not_lose_a_merge(stores: list[Store]) -> None:
    # A vague incident and a precise one, unlike in wording; then at once: a precise report worded like the
    # vague one (it joins the vague incident, sharpens it to Jermuk and merges the two), more precise
    # reports, more vague ones.
    save(stores[0], [draft("v", ARMENIA, VAGUE, source="A")])
    save(stores[0], [draft("p", JERMUK, source="B")], T0 + timedelta(minutes=10))
    assert len(live(stores[0])) == 2
    later = T0 + timedelta(minutes=20)
    work = [
        lambda: save(stores[1], [draft("bridge", JERMUK, VAGUE, source="C")], later),
        lambda: save(stores[2], [draft("p2", JERMUK, source="D", killed=3)], later),
        lambda: save(stores[3], [draft("v2", ARMENIA, VAGUE, source="E")], later),
        lambda: save(stores[4], [draft("p3", JERMUK, source="F")], later),
        lambda: save(stores[5], [draft("v3", ARMENIA, VAGUE, source="G")], later),
    ]
    assert all(r.late_locks == 0 for r in run_threads(work))
    [view] = live(stores[0])
    assert view.place == "Jermuk" and view.source_count == 7 and len(view.articles) == 7 and view.killed == 3
    assert retries(stores).get("deadlock", 0) == 0


# -- taking turns, and not ------------------------------------------------------------------------------------


def _pause_after_candidates(monkeypatch: pytest.MonkeyPatch, barrier: threading.Barrier) -> list[bool]:
    """Make each save wait at `barrier` right after it read its candidates; returns a list that gets one
    entry per save that passed the barrier (i.e. two saves had read their candidates at the same time)."""
    passed: list[bool] = []

    def spying(read: Any) -> Any:
        def spy(*args: Any) -> Any:
            ids = read(*args)
            try:
                barrier.wait()
                passed.append(True)
            except threading.BrokenBarrierError:
                pass
            return ids
        return spy

    # A save reads its candidates key by key (candidate_ids) or a batch's keys at once (candidate_lists).
    monkeypatch.setattr(batch_state, "candidate_ids", spying(batch_state.candidate_ids))
    monkeypatch.setattr(batch_state, "candidate_lists", spying(batch_state.candidate_lists))
    return passed


def test_two_saves_of_one_event_take_turns_reading_candidates(stores: list[Store],
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    # Each save waits (up to 1.5 s) for the other to have read its candidates too. With the bucket locks the
    # second cannot read before the first commits: the wait times out, and the second sees the first's
    # incident and joins it.
    passed = _pause_after_candidates(monkeypatch, threading.Barrier(2, timeout=1.5))
    run_threads([lambda: save(stores[1], [draft("x", JERMUK, source="A")]),
                 lambda: save(stores[2], [draft("y", JERMUK, source="B")])])
    assert passed == []
    [view] = live(stores[0])
    assert view.source_count == 2


def test_without_bucket_locks_the_same_race_makes_two_incidents(stores: list[Store],
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    # The control of the test above: the locks are what keeps the event whole.
    monkeypatch.setattr(locks.BucketLocks, "lock_for", lambda self, drafts: None)
    monkeypatch.setattr(locks.BucketLocks, "cover", lambda self, countries, first, last: None)
    passed = _pause_after_candidates(monkeypatch, threading.Barrier(2, timeout=10))
    run_threads([lambda: save(stores[1], [draft("x", JERMUK, source="A")]),
                 lambda: save(stores[2], [draft("y", JERMUK, source="B")])])
    assert passed == [True, True]
    assert len(live(stores[0])) == 2


def test_saves_of_different_events_hold_their_locks_at_once(stores: list[Store], pg_url: str,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    # Each save waits, right after taking its bucket locks, until the other has taken its own: both get
    # there only if neither waits for the other. pg_locks, read then, shows both sessions holding advisory
    # locks and none waiting.
    seen: list[tuple[set[int], set[int]]] = []
    both = threading.Barrier(2, timeout=30, action=lambda: seen.append(advisory_holders(pg_url)))
    take = locks.BucketLocks.lock_for

    def lock_then_wait(self: locks.BucketLocks, drafts: Any) -> None:
        take(self, drafts)
        both.wait()

    monkeypatch.setattr(locks.BucketLocks, "lock_for", lock_then_wait)
    reports = run_threads([lambda: save(stores[1], [draft("am", JERMUK, source="A")]),
                           lambda: save(stores[2], [draft("sd", KHARTOUM, source="B")])])
    [(holding, waiting)] = seen
    assert len(holding) == 2 and not waiting
    assert all(r.incidents_created == 1 for r in reports)
    assert sorted(v.country or "" for v in live(stores[0])) == ["AM", "SD"]


def test_a_save_of_the_same_event_waits_for_the_lock_holder(stores: list[Store], pg_url: str,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    # The first save stops right after taking its locks; the second (same place, the next day: its buckets
    # overlap) must then be seen waiting for an advisory lock, and joins the first's incident once it goes on.
    first_locked, go_on = threading.Event(), threading.Event()
    take = locks.BucketLocks.lock_for

    def lock_then_hold(self: locks.BucketLocks, drafts: Any) -> None:
        take(self, drafts)
        if not first_locked.is_set():
            first_locked.set()
            assert go_on.wait(30)

    monkeypatch.setattr(locks.BucketLocks, "lock_for", lock_then_hold)
    results: list[SaveReport] = []
    first = threading.Thread(target=lambda: results.append(save(stores[1], [draft("x", JERMUK, source="A")])))
    first.start()
    assert first_locked.wait(30)
    second = threading.Thread(target=lambda: results.append(
        save(stores[2], [draft("y", JERMUK, source="B", day=DAY + timedelta(days=1))])))
    second.start()
    waiting: set[int] = set()
    for _ in range(300):  # until the second save is seen waiting (at most 30 s)
        holding, waiting = advisory_holders(pg_url)
        if waiting:
            break
        threading.Event().wait(0.1)
    go_on.set()
    first.join(60)
    second.join(60)
    assert len(holding) == 1 and len(waiting) == 1 and holding != waiting
    assert sorted((r.incidents_created, r.incidents_updated) for r in results) == [(0, 1), (1, 0)]
    [view] = live(stores[0])
    assert view.source_count == 2


# -- alert timing -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("rule", [RuleSettings(name="calm", cooldown_s=3600),
                                  RuleSettings(name="few", max_per_hour=1)], ids=["cooldown", "cap"])
def test_alerts_of_different_events_saved_at_once_keep_a_targets_cooldown_and_cap(
        stores: list[Store], rule: RuleSettings, monkeypatch: pytest.MonkeyPatch) -> None:
    # Two events in two countries, saved at once: their grouping runs side by side (both pass a barrier after
    # taking their bucket locks), but a target's cooldown or cap is decided from its alerts about any incident:
    # the second save to plan alerts must see the first's. One alert goes now; the other waits out the
    # cooldown, or is capped (summarised in a burst digest).
    alerts = AlertSettings(targets=(TargetSettings(name="desk", url="json://127.0.0.1:1/desk"),), rules=(rule,))
    both = threading.Barrier(2, timeout=30)
    take = locks.BucketLocks.lock_for

    def lock_then_wait(self: locks.BucketLocks, drafts: Any) -> None:
        take(self, drafts)
        both.wait()

    monkeypatch.setattr(locks.BucketLocks, "lock_for", lock_then_wait)
    run_threads([partial(stores[1].save_feed_items, None, "t", [draft("am", JERMUK, source="A")], None,
                         alerts=alerts, ceasefires=(), render=render, now=T0),
                 partial(stores[2].save_feed_items, None, "t", [draft("sd", KHARTOUM, source="B")], None,
                         alerts=alerts, ceasefires=(), render=render, now=T0)])
    rows = [r for r in stores[0].outbox_rows(target="desk") if r["kind"] == "incident"]
    assert len(rows) == 2
    if rule.cooldown_s:
        assert sorted(r["next_attempt_at"] - T0 for r in rows) == [timedelta(0), timedelta(hours=1)]
    else:
        assert sorted(r["status"] for r in rows) == ["capped", "pending"]
        assert len([r for r in stores[0].outbox_rows(target="desk") if r["kind"] == "digest"]) == 1


def test_targets_without_cooldown_or_cap_take_no_timing_lock() -> None:
    desk = TargetSettings(name="desk", url="json://127.0.0.1:1/desk")
    ops = TargetSettings(name="ops", url="json://127.0.0.1:1/ops", tags=("night",))
    assert locks.timed_targets(AlertSettings(targets=(desk, ops))) == []
    quiet = RuleSettings(name="q", quiet_hours=QuietHours(start="22:00", end="06:00"))
    assert locks.timed_targets(AlertSettings(targets=(desk, ops), rules=(quiet,))) == []
    calm = RuleSettings(name="c", targets=("night",), cooldown_s=60)
    assert locks.timed_targets(AlertSettings(targets=(desk, ops), rules=(quiet, calm))) == ["ops"]
    assert locks.timed_targets(AlertSettings(rules=(RuleSettings(name="f", max_per_hour=5),))) == ["log"]


# -- rows every save touches ----------------------------------------------------------------------------------


def test_the_same_stories_saved_at_once_in_opposite_orders_do_not_deadlock(stores: list[Store]) -> None:
    # One outlet's stories in two of its feeds, listed in opposite orders: the article inserts wait for each
    # other's uncommitted rows, in fingerprint order, never in a cycle.
    stories = [draft(f"s{i}", None, ("Council approves budget", f"Story {i} of the day."), source="Daily")
               for i in range(40)]
    stories = [ArticleDraft(item=d.item, fingerprint=d.fingerprint,
                            classification=Classification(labels=(), score=0.0), published_at=T0,
                            first_seen_at=T0) for d in stories]
    for rnd in range(5):
        batch = stories[rnd * 8:(rnd + 1) * 8]
        reports = run_threads([partial(save, store, batch if s % 2 else batch[::-1])
                               for s, store in enumerate(stores)])
        assert sum(r.new for r in reports) == 8 and sum(r.duplicates for r in reports) == 5 * 8
    assert stores[0].article_count() == 40
    assert retries(stores).get("deadlock", 0) == 0


def test_document_frequencies_are_bumped_in_term_order_with_the_document_count_last(stores: list[Store]) -> None:
    statements: list[Any] = []
    with stores[0].write() as conn:
        from sqlalchemy import event

        def spy(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, many: bool) -> None:
            if "term_df" in statement and statement.lstrip().upper().startswith("INSERT"):
                statements.append(parameters)

        event.listen(conn, "before_cursor_execute", spy)
        bump_df(conn, [{"zulu": 1, "alpha": 2}, {"mike": 1, "alpha": 1}])
        event.remove(conn, "before_cursor_execute", spy)
        rows = {r.term: r.df for r in conn.execute(select(term_df.c.term, term_df.c.df))}
    flat = [p for params in statements for p in (params if isinstance(params, list) else [params])]
    values = [v for p in flat for k, v in (p.items() if isinstance(p, dict) else enumerate(p))]
    # The rows are bound row by row, or as one array of terms in their order (terms.bump_df on PostgreSQL).
    terms = [t for v in values for t in (v if isinstance(v, list) else [v]) if isinstance(t, str)]
    assert terms == ["alpha", "mike", "zulu", DOCS_TERM]
    assert rows == {"alpha": 2, "mike": 1, "zulu": 1, DOCS_TERM: 2}


# -- the buckets ---------------------------------------------------------------------------------------------


def test_a_draft_locks_its_countries_over_the_days_grouping_may_read() -> None:
    two = draft("b", JERMUK, source="A")
    two = ArticleDraft(item=two.item, fingerprint="fp-b", published_at=T0, first_seen_at=T0,
                       classification=Classification(labels=two.classification.labels, score=0.9,
                                                     countries=("AM", "AZ"), place=JERMUK, places=(JERMUK,),
                                                     event_date=DAY))
    days = [DAY + timedelta(days=n) for n in (-2, -1, 0, 1)]
    assert locks.draft_buckets(two) == {(c, d) for c in ("AM", "AZ") for d in days}
    assert locks.draft_buckets(draft("n", None, source="A")) == {(None, d) for d in days}
    assert locks.bucket_key("AM", DAY) != locks.bucket_key("AZ", DAY) != locks.bucket_key(None, DAY)
    assert -(2 ** 63) <= locks.bucket_key("AM", DAY) < 2 ** 63


def test_sqlite_takes_no_bucket_locks(tmp_path: Any) -> None:
    store = Store.open(DatabaseSettings(url=f"sqlite:///{tmp_path / 'm.db'}"))
    store.upgrade()
    executed: list[str] = []
    from sqlalchemy import event

    event.listen(store.engine, "before_cursor_execute",
                 lambda _c, _cur, statement, *_: executed.append(statement))
    report = save(store, [draft("x", JERMUK, source="A"), draft("y", JERMUK, source="B")])
    assert report.incidents_created == 1 and report.late_locks == 0
    assert not any("advisory" in s for s in executed)
    store.close()


def test_the_lock_statement_takes_every_key(pg_url: str) -> None:
    store = Store.open(DatabaseSettings(url=pg_url))
    try:
        with store.write() as conn:
            keys = [5, -3, 2 ** 62, -(2 ** 62), 5]
            locks.lock_keys(conn, keys)
            held = [int(r[0]) for r in conn.execute(text(
                "SELECT (classid::bigint << 32) | objid::bigint FROM pg_locks "
                "WHERE locktype = 'advisory' AND objsubid = 1 AND pid = pg_backend_pid()"))]
        assert sorted(held) == sorted(set(keys))
    finally:
        store.close()
