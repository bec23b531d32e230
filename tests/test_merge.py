"""Incident merging: two incidents that a later report shows to be one event become one, on SQLite and
PostgreSQL; the older public id survives and the other resolves to it; alerts are neither lost nor repeated.
Also the pure rules (group.incident_match, merge_incidents, news_since) and migration 0003 on old data."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from sqlalchemy import select

from monitor.incidents.group import ArticleDraft, group_batch, incident_match, merge_incidents, new_incident
from monitor.incidents.materiality import Facts, news_since
from monitor.incidents.similarity import Idf, any_near_duplicate, near_duplicate
from monitor.models import Casualties, Classification, FeedItem, IncidentView, LabelHit, Place
from monitor.settings import AlertSettings, CeasefireSettings, DatabaseSettings, TargetSettings
from monitor.store import IncidentFilter, Store
from monitor.store.engine import _alembic_config, head_revision
from monitor.store.schema import incidents

T0 = datetime(2022, 9, 13, 8, 0, tzinfo=UTC)
JERMUK = Place("Jermuk", "AM", "Vayots Dzor", 39.84, 45.67, "place", 616629)
ARMENIA = Place("Armenia", "AM", None, 40.0, 45.0, "country", None)
TARGETS = AlertSettings(targets=(TargetSettings(name="a", url="json://127.0.0.1:1/a"),
                                 TargetSettings(name="b", url="json://127.0.0.1:1/b")))

# Two wordings with little in common: the vague report and the precise one do not join on their own.
VAGUE = ("Armenia accuses Azerbaijan of violating truce overnight",
         "Yerevan said Azerbaijani units breached the truce along the border overnight, calling it provocation.")
PRECISE = ("Artillery shells hit resort town of Jermuk",
           "Mortar rounds landed near sanatoriums in Jermuk, damaging houses; residents sheltered in basements.")


def render(view: IncidentView, kind: str, reasons: Sequence[str], url: str) -> tuple[str, str, str]:
    return f"{kind} {view.id} r{view.revision}", ",".join(reasons), "text"


def draft(n: int, place: Place, text: tuple[str, str], *, source: str, killed: int | None = None,
          day: date = date(2022, 9, 13), published: datetime = T0) -> ArticleDraft:
    item = FeedItem(title=text[0], text=text[1], url=f"https://news.example/{n}", source=source,
                    published_at=published)
    c = Classification(labels=(LabelHit("shelling", 0.9, ("shelled",)),), score=0.9, countries=("AM",),
                       place=place, places=(place,), killed=Casualties(count=killed), event_date=day)
    return ArticleDraft(item=item, fingerprint=f"fp-{n}", classification=c, published_at=published,
                        first_seen_at=published)


def save(store: Store, drafts: list[ArticleDraft], now: datetime) -> object:
    return store.save_feed_items(None, "test", drafts, None, alerts=TARGETS, ceasefires=(), render=render, now=now)


def live(store: Store) -> list[IncidentView]:
    return store.incidents(IncidentFilter(limit=None))


def two_incidents_then_a_bridge(store: Store, *, deliver_between: bool, killed: int | None = None) -> tuple[str, str]:
    """A vague report, then a precise one unlike it (two incidents), then a precise report worded like the
    vague one: it joins the vague incident and sharpens it to Jermuk, which now matches the precise one."""
    save(store, [draft(1, ARMENIA, VAGUE, source="A")], T0)
    save(store, [draft(2, JERMUK, PRECISE, source="B")], T0 + timedelta(minutes=10))
    older, newer = sorted((v.id for v in live(store)), key=lambda pid: _row_id(store, pid))
    if deliver_between:
        for row in store.claim_due_alerts("sender", T0 + timedelta(minutes=15), 60, 100):
            assert store.mark_alert_sent(row.id, "sender", T0 + timedelta(minutes=15))
    save(store, [draft(3, JERMUK, VAGUE, source="C", killed=killed)], T0 + timedelta(minutes=20))
    return older, newer


def _row_id(store: Store, public_id: str) -> int:
    with store.read() as conn:
        return int(conn.execute(select(incidents.c.id).where(incidents.c.public_id == public_id)).scalar_one())


def test_a_report_that_sharpens_a_vague_incident_merges_it_with_the_precise_one(store: Store) -> None:
    older, newer = two_incidents_then_a_bridge(store, deliver_between=False)
    [view] = live(store)
    assert view.id == older and view.place == "Jermuk" and view.source_count == 3 and len(view.articles) == 3
    found = store.incident(newer)  # the absorbed id is an alias of the survivor
    assert found is not None and found[0].id == older
    assert found[1][-1]["reasons"][0] == "merged"
    # Nobody had received anything yet: each target keeps one first alert (the older, now showing the merged
    # incident); the other is superseded, not deleted; no update, no second first alert.
    for target in ("a", "b"):
        rows = store.outbox_rows(target=target)
        assert sorted(r["status"] for r in rows) == ["merged", "pending"]
        [pending] = [r for r in rows if r["status"] == "pending"]
        assert pending["kind"] == "incident" and pending["title"].startswith(f"incident {older} ")


def test_targets_told_about_both_get_no_new_first_alert_and_an_update_only_when_material(store: Store) -> None:
    two_incidents_then_a_bridge(store, deliver_between=True)
    rows = store.outbox_rows()
    assert [r["kind"] for r in rows] == ["incident"] * 4 and {r["status"] for r in rows} == {"sent"}
    assert len(live(store)) == 1


def test_a_merge_that_brings_a_higher_figure_sends_one_update_per_target(store: Store) -> None:
    older, _ = two_incidents_then_a_bridge(store, deliver_between=True, killed=4)
    rows = store.outbox_rows()
    updates = [r for r in rows if r["kind"] == "update"]
    assert sorted(r["target"] for r in updates) == ["a", "b"]
    assert all(r["idempotency_key"].startswith(f"update:{older}:") for r in updates)
    assert len({r["idempotency_key"] for r in rows}) == len(rows)


def test_the_survivor_revision_passes_the_absorbed_ones(store: Store) -> None:
    older, newer = two_incidents_then_a_bridge(store, deliver_between=False)
    found = store.incident(older)
    assert found is not None
    revisions = [r["revision"] for r in found[1]]
    assert revisions == sorted(revisions) and found[0].revision == revisions[-1] >= 2


# -- pure rules ------------------------------------------------------------------------------------------------


def test_incident_match_is_symmetric_and_same_place_same_day_matches() -> None:
    a = new_incident(draft(1, JERMUK, VAGUE, source="A"), None)
    b = new_incident(draft(2, JERMUK, PRECISE, source="B"), None)
    far = new_incident(draft(3, ARMENIA, PRECISE, source="C"), None)
    assert incident_match(a, b, Idf.uniform()) is not None
    assert incident_match(a, b, Idf.uniform()) == incident_match(b, a, Idf.uniform())
    assert incident_match(far, a, Idf.uniform()) is None  # country-level, texts unlike


def test_days_of_reports_from_one_place_do_not_chain_into_one_incident() -> None:
    d13, d14, d15 = (draft(i, JERMUK, PRECISE, source=s, day=date(2022, 9, d))
                     for i, s, d in ((1, "A", 13), (2, "B", 14), (3, "C", 15)))
    early = merge_incidents(new_incident(d13, None), new_incident(d14, None))[0]
    assert incident_match(early, new_incident(d15, None), Idf.uniform()) is None
    assert len(group_batch([d13, d15, d14])) == 2


def test_merge_incidents_keeps_the_survivor_and_names_what_changed() -> None:
    vague = new_incident(draft(1, ARMENIA, VAGUE, source="A", killed=2), None)
    precise = new_incident(draft(2, JERMUK, PRECISE, source="B", killed=5), None)
    merged, reasons = merge_incidents(vague, precise)
    assert (merged.place, merged.killed, merged.title, merged.source_count) == ("Jermuk", 5, VAGUE[0], 2)
    assert reasons == ["merged", "new source", "casualties", "place"]


# A truce from 16:00 UTC on 14 September to 12:00 UTC on 30 September, in Vayots Dzor (Jermuk's region): on those
# two days the earliest report of an incident decides whether it falls inside (monitor.ceasefires.in_period).
TRUCE = CeasefireSettings(name="AM-AZ 2022", countries=("AM", "AZ"), regions=("Vayots Dzor",),
                          start="2022-09-14T16:00:00Z", end="2022-09-30T12:00:00Z")
START, END = date(2022, 9, 14), date(2022, 9, 30)


def utc(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def test_a_merge_re_decides_the_ceasefire_by_the_earliest_report_of_both() -> None:
    # Country-level, reported at 05:00 on the start day (no ceasefire: outside its area); Jermuk reported at
    # 19:00 (a violation). Merged, the event is in Jermuk and was first reported before the truce began.
    vague = new_incident(draft(1, ARMENIA, VAGUE, source="A", day=START), None)
    precise = new_incident(draft(2, JERMUK, PRECISE, source="B", day=START), TRUCE.name)
    merged, reasons = merge_incidents(vague, precise, ceasefires=(TRUCE,), reported_at=utc(START, 5))
    assert merged.place == "Jermuk" and merged.ceasefire is None and "ceasefire" not in reasons
    # The survivor loses a ceasefire the absorbed incident's earlier report rules out.
    merged, reasons = merge_incidents(precise, vague, ceasefires=(TRUCE,), reported_at=utc(START, 5))
    assert merged.ceasefire is None and reasons == ["merged", "new source"]
    # Both first reported after the start: the merged incident is a violation, news to the vague survivor.
    merged, reasons = merge_incidents(vague, precise, ceasefires=(TRUCE,), reported_at=utc(START, 17))
    assert merged.ceasefire == TRUCE.name and reasons == ["merged", "new source", "place", "ceasefire"]
    assert merge_incidents(precise, vague, ceasefires=(TRUCE,), reported_at=utc(START, 17))[1] == \
        ["merged", "new source"]


def test_a_merge_can_fall_under_a_ceasefire_neither_incident_did() -> None:
    # On the last day (until 12:00): a vague report at 10:00 (outside the area) and a Jermuk report at 14:00
    # (after the end). Merged, the event in Jermuk was reported before the end: a violation.
    vague = new_incident(draft(1, ARMENIA, VAGUE, source="A", day=END), None)
    precise = new_incident(draft(2, JERMUK, PRECISE, source="B", day=END), None)
    merged, reasons = merge_incidents(vague, precise, ceasefires=(TRUCE,), reported_at=utc(END, 10))
    assert merged.ceasefire == TRUCE.name and reasons[-1] == "ceasefire"
    # The earlier date of the two decides the day: Jermuk on the day after the end, vague on the last day.
    later = new_incident(draft(3, JERMUK, PRECISE, source="B", day=END + timedelta(days=1)), None)
    assert merge_incidents(vague, later, ceasefires=(TRUCE,), reported_at=utc(END, 10))[0].ceasefire == TRUCE.name
    assert merge_incidents(vague, later, ceasefires=(TRUCE,), reported_at=utc(END, 13))[0].ceasefire is None


def test_without_a_ceasefire_registry_a_merge_keeps_a_recorded_ceasefire() -> None:
    vague = new_incident(draft(1, ARMENIA, VAGUE, source="A", day=START), None)
    precise = new_incident(draft(2, JERMUK, PRECISE, source="B", day=START), TRUCE.name)
    assert merge_incidents(vague, precise)[0].ceasefire == TRUCE.name
    assert merge_incidents(precise, vague)[0].ceasefire == TRUCE.name


def test_news_since_compares_with_everything_a_reader_was_told() -> None:
    vague = new_incident(draft(1, ARMENIA, VAGUE, source="A", killed=2), None)
    precise = new_incident(draft(2, JERMUK, PRECISE, source="B", killed=5), None)
    merged = merge_incidents(vague, precise)[0]
    # Told about both: only that they are one event confirmed by two outlets is new (material only to rules
    # with update_on = ["sources"]).
    assert news_since([Facts.of(vague), Facts.of(precise)], merged) == ["new source"]
    assert news_since([Facts.of(merged)], merged) == []
    assert news_since([Facts.of(vague)], merged) == ["new source", "casualties", "place"]
    assert news_since([Facts.of(precise)], merged) == ["new source"]
    assert Facts.of_snapshot({"labels": ["shelling"], "killed": 5, "geo_precision": "place",
                              "source_count": 1}) == Facts.of(precise)


def test_any_near_duplicate_agrees_with_the_pairwise_check() -> None:
    base = 0x5DEECE66D1234567
    close, far = base ^ 0b101101, base ^ ((1 << 40) - 1)
    assert any_near_duplicate([1, base], [close]) and near_duplicate(base, close)
    assert not any_near_duplicate([base], [far, 0]) and not any_near_duplicate([], [base])


# -- migration 0003 -----------------------------------------------------------------------------------------------


def test_migration_0003_upgrades_old_data_and_old_incidents_still_group(db_url: str) -> None:
    engine = sa.create_engine(db_url)
    cfg = _alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0002")
        conn.execute(sa.text(
            "INSERT INTO incidents (public_id, revision, event_date, first_seen_at, updated_at, country, place, "
            "lat, lon, geo_precision, labels, severity, source_count, title, evidence, signature) VALUES "
            "('INC-OLD001', 1, '2022-09-13', '2022-09-13 08:00:00', '2022-09-13 08:00:00', 'AM', 'Jermuk', "
            "39.84, 45.67, 'place', '[\"shelling\"]', 2.0, 1, 'Old incident', '[]', 'jermuk:2')"))
    engine.dispose()
    store = Store.open(DatabaseSettings(url=db_url))
    try:
        assert store.upgrade()[1] == head_revision()
        save(store, [draft(1, JERMUK, PRECISE, source="A")], T0)
        [view] = live(store)
        assert view.id == "INC-OLD001" and view.source_count == 1 and len(view.articles) == 1
        with store.read() as conn:
            row = conn.execute(select(incidents).where(incidents.c.public_id == "INC-OLD001")).one()
        assert row.sources == ["A"] and row.merged_into is None and row.last_event_date == date(2022, 9, 13)
    finally:
        store.close()


def test_upgrade_from_empty_reaches_the_newest_migration(tmp_path: Path) -> None:
    store = Store.open(DatabaseSettings(url=f"sqlite:///{tmp_path / 'fresh.db'}"))
    try:
        assert store.upgrade() == (None, head_revision())
    finally:
        store.close()
