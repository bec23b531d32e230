"""The store on SQLite and PostgreSQL alike: insert-if-new, grouping into incidents, leases, the outbox."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

import pytest

from monitor.incidents.group import ArticleDraft
from monitor.models import Casualties, Classification, FeedItem, IncidentView, LabelHit, Place
from monitor.settings import AlertSettings, CeasefireSettings, FeedSettings, TargetSettings
from monitor.store import FetchOutcome, Store

T0 = datetime(2022, 9, 13, 8, 0, tzinfo=UTC)
JERMUK = Place(name="Jermuk", country="AM", admin1="Vayots Dzor", lat=39.84, lon=45.67, precision="place",
               geonameid=616629)
SOTK = Place(name="Sotk", country="AM", admin1="Gegharkunik", lat=40.20, lon=45.95, precision="place",
             geonameid=616000)
TARGETS = AlertSettings(targets=(TargetSettings(name="a", url="json://127.0.0.1:1/a"),
                                 TargetSettings(name="b", url="json://127.0.0.1:1/b")))


def render(view: IncidentView, kind: str, reasons: Sequence[str], url: str) -> tuple[str, str, str]:
    return f"{kind} {view.id} r{view.revision}", ",".join(reasons), "text"


def draft(n: int, *, place: Place | None = JERMUK, source: str = "Outlet", killed: int | None = None,
          labels: tuple[str, ...] = ("shelling",), day: date = date(2022, 9, 13),
          title: str = "Azerbaijani artillery shelled Jermuk overnight") -> ArticleDraft:
    item = FeedItem(title=title, text="Mortars and artillery hit the town of Jermuk.",
                    url=f"https://news.example/{n}", source=source, published_at=T0)
    c = Classification(labels=tuple(LabelHit(label, 0.9, ("shelled",)) for label in labels), score=0.9,
                       countries=(place.country,) if place and place.country else (), place=place,
                       places=(place,) if place else (), killed=Casualties(count=killed), event_date=day)
    return ArticleDraft(item=item, fingerprint=f"fp-{n}", classification=c, published_at=T0, first_seen_at=T0)


def save(store: Store, drafts: list[ArticleDraft], *, alerts: AlertSettings = TARGETS,
         ceasefires: tuple[CeasefireSettings, ...] = (), now: datetime = T0) -> object:
    return store.save_feed_items(None, "test", drafts, None, alerts=alerts, ceasefires=ceasefires,
                                 render=render, now=now)


def test_insert_if_new_stores_each_fingerprint_once(store: Store) -> None:
    first = save(store, [draft(1), draft(2, source="Other")])
    again = save(store, [draft(1), draft(2, source="Other"), draft(3, source="Third")])
    assert (first.new, first.duplicates) == (2, 0)  # type: ignore[attr-defined]
    assert (again.new, again.duplicates) == (1, 2)  # type: ignore[attr-defined]
    assert store.article_count() == 3


def test_reports_of_one_event_make_one_incident_with_one_alert_per_target(store: Store) -> None:
    report = save(store, [draft(1, source="A"), draft(2, source="B"), draft(3, source="C")])
    assert report.incidents_created == 1 and report.alerts_queued == 2  # type: ignore[attr-defined]
    [view] = store.incidents(_all())
    assert view.source_count == 3 and view.revision == 1 and len(view.articles) == 3
    assert store.outbox_counts() == {"pending": 2}


def test_same_place_on_another_day_and_another_place_same_day_stay_apart(store: Store) -> None:
    save(store, [draft(1), draft(2, day=date(2022, 9, 16)), draft(3, place=SOTK, title="Shelling hit Sotk")])
    assert len(store.incidents(_all())) == 3


def test_a_higher_casualty_figure_revises_and_sends_an_update(store: Store) -> None:
    save(store, [draft(1, source="A", killed=3)])
    report = save(store, [draft(2, source="B", killed=49)], now=T0 + timedelta(hours=1))
    assert report.incidents_updated == 1 and report.alerts_queued == 2  # type: ignore[attr-defined]
    [view] = store.incidents(_all())
    assert view.killed == 49 and view.revision == 2
    found = store.incident(view.id)
    assert found is not None
    _, revisions, alerts = found
    assert [r["reasons"] for r in revisions] == [["new incident"], ["new source", "casualties"]]
    assert sorted((a["kind"], a["target"]) for a in alerts) == [
        ("incident", "a"), ("incident", "b"), ("update", "a"), ("update", "b")]


def test_a_new_source_alone_revises_without_an_update_alert(store: Store) -> None:
    save(store, [draft(1, source="A")])
    report = save(store, [draft(2, source="B")], now=T0 + timedelta(hours=1))
    assert report.incidents_updated == 1 and report.alerts_queued == 0  # type: ignore[attr-defined]


def test_incident_in_a_declared_ceasefire_is_marked_as_its_violation(store: Store) -> None:
    truce = CeasefireSettings(name="AM-AZ 2022", countries=("AM", "AZ"), start="2022-09-01")
    save(store, [draft(1)], ceasefires=(truce,))
    [view] = store.incidents(_all())
    assert view.ceasefire == "AM-AZ 2022"


def test_with_no_targets_alerts_go_to_the_log_target(store: Store) -> None:
    save(store, [draft(1)], alerts=AlertSettings())
    rows = store.claim_due_alerts("me", T0, 60, 10)
    assert [r.target for r in rows] == ["log"]


def test_outbox_rows_are_claimed_once_and_lost_leases_are_taken_over(store: Store) -> None:
    save(store, [draft(1)])
    mine = store.claim_due_alerts("me", T0, 60, 10)
    assert len(mine) == 2
    assert store.claim_due_alerts("other", T0 + timedelta(seconds=30), 60, 10) == []
    taken = store.claim_due_alerts("other", T0 + timedelta(seconds=61), 60, 10)
    assert [r.id for r in taken] == [r.id for r in mine]
    assert store.mark_alert_sent(mine[0].id, "me", T0) is False  # lease lost: not recorded twice
    assert store.mark_alert_sent(taken[0].id, "other", T0) is True
    assert store.mark_alert_failed(taken[1].id, "other", error="HTTP 500", next_attempt_at=T0 + timedelta(
        minutes=5), final=False)
    assert store.outbox_counts() == {"sent": 1, "pending": 1}
    assert store.claim_due_alerts("x", T0 + timedelta(minutes=2), 60, 10) == []
    retry = store.claim_due_alerts("x", T0 + timedelta(minutes=6), 60, 10)
    assert [r.attempts for r in retry] == [1]


def test_feed_leases_keep_a_second_instance_off_a_feed(store: Store) -> None:
    store.sync_feeds([FeedSettings(name="A", url="https://a.example/feed"),
                      FeedSettings(name="B", url="https://b.example/feed")], T0)
    first = store.claim_due_feeds("one", T0, 300, 10)
    assert len(first) == 2
    assert store.claim_due_feeds("two", T0 + timedelta(seconds=10), 300, 10) == []
    assert len(store.claim_due_feeds("two", T0 + timedelta(seconds=301), 300, 10)) == 2


def test_a_failed_fetch_keeps_what_was_seen_and_backs_off(store: Store) -> None:
    store.sync_feeds([FeedSettings(name="A", url="https://a.example/feed")], T0)
    [feed] = store.claim_due_feeds("one", T0, 300, 10)
    store.record_fetch(feed, "one", FetchOutcome(ok=True, now=T0, next_fetch_at=T0 + timedelta(minutes=10),
                                                 status=200, etag='"v1"', body_hash="h1", items=5))
    [feed] = store.claim_due_feeds("one", T0 + timedelta(minutes=11), 300, 10)
    store.record_fetch(feed, "one", FetchOutcome(ok=False, now=T0, next_fetch_at=T0 + timedelta(hours=1),
                                                 status=503, error="unavailable", error_kind="unavailable"))
    [row] = store.list_feeds()
    assert (row.etag, row.body_hash, row.items_seen) == ('"v1"', "h1", 5)
    assert row.consecutive_failures == 1 and row.last_error_kind == "unavailable"
    assert row.next_fetch_at == T0 + timedelta(hours=1)
    assert store.claim_due_feeds("one", T0 + timedelta(minutes=30), 300, 10) == []


def test_removing_a_feed_from_config_disables_it_but_keeps_its_history(store: Store) -> None:
    store.sync_feeds([FeedSettings(name="A", url="https://a.example/feed")], T0)
    store.sync_feeds([FeedSettings(name="B", url="https://b.example/feed")], T0)
    rows = {r.name: r for r in store.list_feeds()}
    assert rows["A"].enabled is False and rows["B"].enabled is True


def test_dry_run_writes_nothing(store: Store) -> None:
    report = store.save_feed_items(None, "t", [draft(1)], None, alerts=TARGETS, ceasefires=(), render=render,
                                   now=T0, dry_run=True)
    assert report.incidents_created == 1
    assert store.article_count() == 0 and store.incidents(_all()) == []


def _all() -> object:
    from monitor.store import IncidentFilter

    return IncidentFilter(limit=None)


@pytest.mark.parametrize("attempt", range(2))
def test_upgrade_is_idempotent(store: Store, attempt: int) -> None:
    before, after = store.upgrade()
    assert before == after is not None


def test_two_feeds_moved_to_one_url_keep_it_unique(store: Store) -> None:
    store.sync_feeds([FeedSettings(name="A", url="https://a.example/feed"),
                      FeedSettings(name="B", url="https://b.example/feed")], T0)
    a, b = sorted(store.claim_due_feeds("one", T0, 300, 10), key=lambda f: f.url)
    moved = "https://example.org/all.xml"
    for feed in (a, b):
        store.record_fetch(feed, "one", FetchOutcome(ok=True, now=T0, next_fetch_at=T0 + timedelta(minutes=10),
                                                     status=200, new_url=moved, items=1))
    urls = {f.url: f for f in store.list_feeds()}
    assert set(urls) == {moved, "https://b.example/feed"}  # the second keeps its URL ...
    assert urls["https://b.example/feed"].last_status == 200  # ... and the rest of its poll is recorded


def test_a_concurrent_move_to_a_taken_url_does_not_fail_the_save(store: Store) -> None:
    # Another instance moves feed A to the URL inside an open transaction; feed B's poll, moved to the same
    # URL, finds it free, waits on the unique index until A commits, and then keeps its own URL.
    import threading

    from sqlalchemy import update

    from monitor.store.schema import feeds

    if store.engine.dialect.name != "postgresql":
        pytest.skip("SQLite serialises writers: the race needs two concurrent writing transactions")
    store.sync_feeds([FeedSettings(name="A", url="https://a.example/feed"),
                      FeedSettings(name="B", url="https://b.example/feed")], T0)
    a, b = sorted(store.claim_due_feeds("one", T0, 300, 10), key=lambda f: f.url)
    moved = "https://example.org/all.xml"
    errors: list[BaseException] = []
    with store.engine.connect() as other:
        other.execute(update(feeds).where(feeds.c.id == a.id).values(url=moved))  # not committed yet

        def poll_b() -> None:
            try:
                store.record_fetch(b, "one", FetchOutcome(ok=True, now=T0, status=200, new_url=moved, items=1,
                                                          next_fetch_at=T0 + timedelta(minutes=10)))
            except BaseException as e:  # reported by the assertion below
                errors.append(e)

        worker = threading.Thread(target=poll_b)
        worker.start()
        worker.join(timeout=1.0)
        assert worker.is_alive()  # B waits on the unique index for A's transaction
        other.commit()
        worker.join(timeout=30)
    assert not worker.is_alive() and errors == []
    urls = {f.url: f for f in store.list_feeds()}
    assert set(urls) == {moved, "https://b.example/feed"}
    assert urls["https://b.example/feed"].last_status == 200
