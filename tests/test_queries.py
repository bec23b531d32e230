"""The read side on SQLite and PostgreSQL: every filter, `near` by cells + exact distance, keyset pages,
the timeline, ceasefire counts and the /metrics counts. `add_incident` (used by the API, CLI and dashboard
tests too) writes rows directly, so these tests do not depend on how the pipeline groups articles."""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, insert, select, update

from monitor.geo import distance_km, geo_bucket
from monitor.settings import DatabaseSettings
from monitor.store import IncidentFilter, Store
from monitor.store.filtering import Near, near_cells
from monitor.store.json_pages import page_listed
from monitor.store.queries import (
    ceasefire_counts,
    count_incidents,
    export_incidents,
    list_incidents,
    page_incidents,
    store_stats,
    timeline,
)
from monitor.store.schema import articles, incident_revisions, incidents, outbox
from monitor.web.desk import incident_json, listed_page

T0 = datetime(2022, 9, 13, 8, 0, tzinfo=UTC)
JERMUK = (39.8414, 45.6703)
_serial = itertools.count(1)


def add_incident(store: Store, title: str, *, country: str | None = "AM", labels: Sequence[str] = ("shelling",),
                 at: tuple[float, float] | None = None, updated_at: datetime = T0, event_date: date | None = None,
                 severity: float = 5.0, sources: Sequence[str] = ("Outlet",), ceasefire: str | None = None,
                 evidence: Sequence[str] = (), killed: int | None = None, place: str | None = None,
                 actors: Sequence[str] = (), alert_status: str | None = None) -> str:
    """Write one incident with one article per source (and optionally one outbox alert); its public id."""
    n = next(_serial)
    public_id = f"INC-T{n:05d}"
    lat, lon = at if at else (None, None)
    with store.write() as conn:
        incident_id: int = conn.execute(insert(incidents).values(
            public_id=public_id, revision=1, event_date=event_date or updated_at.date(), first_seen_at=updated_at,
            updated_at=updated_at, country=country, admin1=None, place=place, geonameid=None, lat=lat, lon=lon,
            geo_precision="place" if at else None, geo_bucket=geo_bucket(lat, lon), labels=list(labels),
            killed=killed, injured=None, severity=severity, source_count=len(sources), ceasefire=ceasefire,
            title=title, evidence=list(evidence), signature="").returning(incidents.c.id)).scalar_one()
        conn.execute(insert(articles), [{
            "fingerprint": f"fp-{n}-{i}", "feed_id": None, "external_id": f"ext-{n}-{i}", "source": source,
            "url": f"https://{source.lower().replace(' ', '')}.example/{n}", "guid": None,
            "title": f"{source}: {title}", "summary": title, "lang": "en",
            "published_at": updated_at - timedelta(minutes=i),
            "first_seen_at": updated_at, "relevant": True, "score": 0.9, "labels": [],
            "extraction": {"actors": list(actors)}, "incident_id": incident_id} for i, source in enumerate(sources)])
        conn.execute(insert(incident_revisions).values(incident_id=incident_id, revision=1, created_at=updated_at,
                                                       reasons=["new incident"], snapshot={}))
        if alert_status:
            conn.execute(insert(outbox).values(
                kind="incident", incident_id=incident_id, revision=1, target="desk",
                idempotency_key=f"incident:{public_id}:1:desk", title=title, body=title, body_format="text",
                status=alert_status, attempts=1, next_attempt_at=updated_at, created_at=updated_at,
                sent_at=updated_at if alert_status == "sent" else None))
    return public_id


def ids(store: Store, **filters: Any) -> list[str]:
    with store.read() as conn:
        return [v.id for v in list_incidents(conn, IncidentFilter(limit=None, **filters))]


@pytest.fixture
def seeded(store: Store) -> dict[str, str]:
    """Six incidents around Armenia and one in Ukraine, one hour apart (a newest)."""
    h = timedelta(hours=1)
    return {
        "jermuk": add_incident(store, "Artillery shelled Jermuk", at=JERMUK, updated_at=T0 + 6 * h, severity=7,
                               sources=("A", "B", "C"), ceasefire="AM-AZ 2022", evidence=["mortars were fired at"],
                               killed=3, place="Jermuk", actors=["Azerbaijani forces", "Armenian army",
                                                                 "Azerbaijani forces"], alert_status="sent"),
        "near20": add_incident(store, "Drone strike near Jermuk", labels=("air_strike",), at=(39.98, 45.82),
                               updated_at=T0 + 5 * h, severity=4, sources=("A", "B"), alert_status="pending"),
        "far60": add_incident(store, "Clashes at Sotk", labels=("armed_clash", "ceasefire_violation"),
                              at=(40.20, 45.95), updated_at=T0 + 4 * h, severity=6, ceasefire="AM-AZ 2022"),
        "nowhere": add_incident(store, "Обстрел границы", country="AZ", updated_at=T0 + 3 * h,
                                evidence=["Обстреляли позиции"], severity=2),
        "kyiv": add_incident(store, "Air raid on Kyiv", country="UA", labels=("air_strike",), at=(50.45, 30.52),
                             updated_at=T0 + 2 * h, severity=9, sources=("X", "Y", "Z", "W")),
        "old": add_incident(store, "Old shelling of Jermuk", at=JERMUK, updated_at=T0 - timedelta(days=30)),
    }


def test_incidents_are_listed_newest_first_with_their_articles(store: Store, seeded: dict[str, str]) -> None:
    with store.read() as conn:
        views = list(list_incidents(conn, IncidentFilter(limit=None)))
    assert [v.id for v in views] == [seeded[k] for k in ("jermuk", "near20", "far60", "nowhere", "kyiv", "old")]
    assert [a.source for a in views[0].articles] == ["C", "B", "A"]  # oldest published first


@pytest.mark.parametrize(("filters", "expected"), [
    ({"country": "AM"}, ["jermuk", "near20", "far60", "old"]),
    ({"label": "ceasefire_violation"}, ["far60"]),
    ({"label": "air_strike"}, ["near20", "kyiv"]),
    ({"ceasefire": "am-az 2022"}, ["jermuk", "far60"]),
    ({"min_severity": 6.0}, ["jermuk", "far60", "kyiv"]),
    ({"min_sources": 3}, ["jermuk", "kyiv"]),
    ({"text": "JERMUK"}, ["jermuk", "near20", "old"]),
    ({"text": "were fired"}, ["jermuk"]),
    ({"text": "обстрел"}, ["nowhere"]),  # Cyrillic, other case: the title and the evidence
    ({"text": "обстреляли"}, ["nowhere"]),  # only in the evidence
    ({"text": "100%"}, []),  # LIKE wildcards are literal
    ({"since": T0 + timedelta(hours=3), "until": T0 + timedelta(hours=5)}, ["near20", "far60", "nowhere"]),
    ({"country": "AM", "label": "shelling", "since": T0}, ["jermuk"]),
], ids=lambda v: str(v) if isinstance(v, dict) else "")
def test_each_filter_narrows_the_list(store: Store, seeded: dict[str, str], filters: dict[str, Any],
                                      expected: list[str]) -> None:
    assert ids(store, **filters) == [seeded[k] for k in expected]


def test_near_keeps_only_incidents_inside_the_circle(store: Store, seeded: dict[str, str]) -> None:
    assert distance_km(*JERMUK, 39.98, 45.82) < 30 < distance_km(*JERMUK, 40.20, 45.95) < 60
    assert ids(store, near=Near(*JERMUK, 30)) == [seeded["jermuk"], seeded["near20"], seeded["old"]]
    assert ids(store, near=Near(*JERMUK, 60)) == [seeded[k] for k in ("jermuk", "near20", "far60", "old")]
    assert ids(store, near=Near(*JERMUK, 5), since=T0) == [seeded["jermuk"]]
    assert ids(store, near=Near(0.0, 0.0, 500)) == []


def test_near_with_a_limit_counts_only_incidents_inside_the_circle(store: Store, seeded: dict[str, str]) -> None:
    with store.read() as conn:
        views = list(list_incidents(conn, IncidentFilter(limit=2, near=Near(*JERMUK, 30))))
        pages = [page_incidents(conn, IncidentFilter(limit=n, near=Near(*JERMUK, 30))) for n in (1, 2, 3, 9)]
    assert [v.id for v in views] == [seeded["jermuk"], seeded["near20"]]
    inside = [seeded["jermuk"], seeded["near20"], seeded["old"]]  # a page checks the circle before reading rows
    assert [[v.id for v in p.items] for p in pages] == [inside[:1], inside[:2], inside, inside]
    assert [p.next_after is not None for p in pages] == [True, True, False, False]


def test_near_cells_cover_the_circle_and_wrap_the_antimeridian() -> None:
    assert near_cells(Near(39.84, 45.5, 20)) == ["39:45", "40:45"]
    cells = near_cells(Near(10.0, 179.9, 50))
    assert cells is not None and "10:179" in cells and "10:-180" in cells
    assert near_cells(Near(89.9, 0.0, 100)) is None  # at the pole every longitude: box only
    for lat, lon, km in [(39.84, 45.67, 30), (-33.9, 18.4, 120), (0.5, -0.5, 80)]:
        cells = near_cells(Near(lat, lon, km)) or []
        for bearing in range(0, 360, 15):  # a point on the circle lies in a listed cell
            dlat = km * 0.999 / 111.2 * math.cos(math.radians(bearing))
            dlon = km * 0.999 / (111.2 * math.cos(math.radians(lat + dlat))) * math.sin(math.radians(bearing))
            assert geo_bucket(lat + dlat, lon + dlon) in cells


def test_pages_follow_the_cursor_without_gaps_or_repeats(store: Store, seeded: dict[str, str]) -> None:
    same_time = [add_incident(store, f"tie {i}", updated_at=T0 + timedelta(hours=10)) for i in range(3)]
    expected = ids(store)
    seen: list[str] = []
    f = IncidentFilter(limit=2)
    with store.read() as conn:
        while True:
            page = page_incidents(conn, f)
            seen += [v.id for v in page.items]
            if page.next_after is None:
                break
            f = replace(f, after=page.next_after)
    assert seen == expected and len(seen) == len(seeded) + len(same_time)


def test_a_json_page_is_the_json_of_the_views_page(store: Store, seeded: dict[str, str]) -> None:
    """The API's page (articles written as JSON by the database, spliced in) says what the views' JSON says:
    times with and without microseconds, quotes, backslashes and non-ASCII text; the cursor too."""
    for n, micro in enumerate((1, 250, 500_000, 999_999)):
        add_incident(store, f"Микро {n}", sources=("A", "B"), updated_at=T0 + timedelta(days=n, microseconds=micro))
    add_incident(store, 'The "Vostok" unit \\ «A»\ttab', sources=('Outlet "Q" \\', "Ünïcode ✓"),
                 updated_at=T0 - timedelta(days=1))
    filters = (IncidentFilter(limit=3), IncidentFilter(limit=2, country="AM"), IncidentFilter(limit=50),
               IncidentFilter(near=Near(*JERMUK, 30)))
    for f in filters:
        with store.read() as conn:
            views, listed = page_incidents(conn, f), page_listed(conn, f)
        body = json.loads(listed_page(listed.items, "/next").body)
        assert body["incidents"] == [incident_json(v) for v in views.items]
        assert (body["ok"], body["count"], body["next"]) == (True, len(views.items), "/next")
        assert [len(i["articles"]) for i in body["incidents"]] == [v.source_count for v in views.items]  # 1 each
        assert listed.next_after == views.next_after


def test_count_timeline_and_ceasefire_counts(store: Store, seeded: dict[str, str]) -> None:
    undated = add_incident(store, "Undated shelling", updated_at=T0 + timedelta(hours=7))
    with store.write() as conn:  # counted on its first-seen day
        conn.execute(update(incidents).where(incidents.c.public_id == undated).values(event_date=None))
    with store.read() as conn:
        assert count_incidents(conn, IncidentFilter(country="AM", limit=1)) == 5
        days = timeline(conn, IncidentFilter(since=T0, limit=None))
        assert days == {"2022-09-13": {"shelling": 3, "air_strike": 2, "armed_clash": 1, "ceasefire_violation": 1}}
        near = timeline(conn, IncidentFilter(near=Near(*JERMUK, 30), limit=None))
        assert near == {"2022-08-14": {"shelling": 1}, "2022-09-13": {"shelling": 1, "air_strike": 1}}
        assert ceasefire_counts(conn) == {"AM-AZ 2022": 2}
        assert ceasefire_counts(conn, T0 + timedelta(hours=5)) == {"AM-AZ 2022": 1}


def test_timeline_by_event_dates_alone_counts_like_the_rest(store: Store, seeded: dict[str, str]) -> None:
    """An event-date (or no) filter is grouped in another order and form (SQLite: from the covering index of
    migration 0006) than a filter on other columns: both count the same incidents, undated ones included."""
    undated = add_incident(store, "Undated strike", labels=("air_strike", "shelling"),
                           updated_at=T0 + timedelta(days=2))
    with store.write() as conn:
        conn.execute(update(incidents).where(incidents.c.public_id == undated).values(event_date=None))
    start = (T0 - timedelta(days=60)).date()
    with store.read() as conn:
        pairs = [(IncidentFilter(limit=None), IncidentFilter(limit=None, since=T0 - timedelta(days=999))),
                 (IncidentFilter(limit=None, event_since=start, label="shelling"),
                  IncidentFilter(limit=None, event_since=start, label="shelling", min_severity=0))]
        for event_only, other in pairs:
            assert timeline(conn, event_only) == timeline(conn, other)
        everything = timeline(conn, IncidentFilter(limit=None))
        labelled = sum(len(v.labels) for v in list_incidents(conn, IncidentFilter(limit=None)))
    assert everything[(T0 + timedelta(days=2)).date().isoformat()] == {"air_strike": 1, "shelling": 1}
    assert sum(sum(c.values()) for c in everything.values()) == labelled


def test_sqlite_timeline_plans(tmp_path: Path) -> None:
    """Without statistics (as the daemon's SQLite runs): all the data and an event-date range are read from
    the covering index with no sort; a filter on update time still searches its own index."""
    store = Store.open(DatabaseSettings(url=f"sqlite:///{tmp_path / 'plans.db'}"))
    store.upgrade()
    plans: list[str] = []

    def explain(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        if "GROUP BY" in statement:
            plans.append(" | ".join(r[-1] for r in conn.connection.dbapi_connection.execute(
                f"EXPLAIN QUERY PLAN {statement}", parameters)))

    event.listen(store.engine, "before_cursor_execute", explain)
    try:
        with store.read() as conn:
            for f in (IncidentFilter(limit=None), IncidentFilter(limit=None, event_since=T0.date()),
                      IncidentFilter(limit=None, since=T0)):
                timeline(conn, f)
    finally:
        event.remove(store.engine, "before_cursor_execute", explain)
        store.close()
    covering = "USING COVERING INDEX ix_incidents_event_date_labels"
    assert covering in plans[0] and "TEMP B-TREE" not in plans[0], plans
    assert covering in plans[1] and "TEMP B-TREE" not in plans[1], plans
    assert "ix_incidents_updated_at" in plans[2], plans


def test_export_records_carry_the_most_named_actors(store: Store, seeded: dict[str, str]) -> None:
    with store.read() as conn:
        [rec] = list(export_incidents(conn, IncidentFilter(limit=1)))
    assert rec.view.id == seeded["jermuk"] and rec.actors == ("Azerbaijani forces", "Armenian army")


def test_store_stats_count_rows_and_the_oldest_pending_alert(store: Store, seeded: dict[str, str]) -> None:
    with store.write() as conn:  # merged away into another: an alias, not an incident (its article stays)
        survivor = conn.execute(select(incidents.c.id).where(incidents.c.public_id == seeded["jermuk"])).scalar_one()
        conn.execute(update(incidents).where(incidents.c.public_id == seeded["far60"]).values(merged_into=survivor))
    with store.read() as conn:
        stats = store_stats(conn)
    assert (stats.articles, stats.incidents) == (3 + 2 + 1 + 1 + 4 + 1, 5)
    assert stats.outbox == {"sent": 1, "pending": 1}
    assert stats.oldest_pending_at == T0 + timedelta(hours=5)
    assert (stats.feeds_enabled, stats.feeds_failing) == (0, 0)
