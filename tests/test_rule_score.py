"""`min_score` of [[alerts.rules]] over a real store (SQLite and PostgreSQL): an incident's score is the best
label score of its articles, read from them (one seek on the index of migration 0005), so it follows reports
that join and incidents that merge, and incidents stored before the upgrade have theirs; rules compare it
when routing alerts, in scheduled digests and in `rules test`."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from click.testing import CliRunner
from sink_server import SinkServer
from sqlalchemy import select
from sqlalchemy.engine import Connection
from test_lifecycle import PLACES, T0, Clock, deliver, make_deps, save, titles
from test_lifecycle import draft as lifecycle_draft
from test_merge import ARMENIA, JERMUK, PRECISE, VAGUE, live
from test_merge import draft as merge_draft
from test_merge import save as merge_save

from monitor.cli import main
from monitor.incidents.group import ArticleDraft
from monitor.models import LabelHit
from monitor.pipeline import queue_digests
from monitor.settings import DatabaseSettings, RuleSettings
from monitor.store import IncidentFilter, Store
from monitor.store.alerting import incident_score, incident_scores, scores_of
from monitor.store.engine import _alembic_config, head_revision
from monitor.store.schema import incidents


def scored(d: ArticleDraft, score: float) -> ArticleDraft:
    """The draft with its labels (and so its best label score) scored `score`."""
    c = d.classification
    return replace(d, classification=replace(c, labels=tuple(LabelHit(h.label, score, h.evidence) for h in c.labels),
                                             score=score))


def draft(n: int, score: float, **kw: object) -> ArticleDraft:
    return scored(lifecycle_draft(n, **kw), score)  # type: ignore[arg-type]


def scores(store: Store) -> dict[str, float]:
    """Every incident's score, by public id."""
    with store.read() as conn:
        return incident_scores(conn, list(conn.execute(select(incidents.c.public_id)).scalars()))


STRICT = RuleSettings(name="strict", targets=("desk",), min_score=0.7)
LOOSE = RuleSettings(name="loose", targets=("ops",))


def test_an_incident_below_a_rules_min_score_is_not_alerted_by_it_and_one_above_is(
        store: Store, sink: SinkServer) -> None:
    clock = Clock()
    deps = make_deps(store, sink, clock, STRICT, LOOSE)
    save(deps, [draft(1, 0.6, place=PLACES[0], source="A")])  # Jermuk, 0.6: below strict's 0.7
    clock.advance(minutes=5)
    save(deps, [draft(2, 0.8, place=PLACES[2], source="B")])  # Goris, 0.8
    clock.advance(minutes=5)
    save(deps, [draft(3, 0.7, place=PLACES[4], source="C")])  # Ijevan, exactly 0.7
    deliver(deps)
    assert sorted(scores(store).values()) == [0.6, 0.7, 0.8]
    assert [t.split("] ")[1].split(",")[0] for t in titles(sink, "/desk")] == ["Goris", "Ijevan"]
    assert len(titles(sink, "/ops")) == 3  # the rule without min_score routes every one
    assert {r["incident_id"] for r in store.outbox_rows(target="desk")} != \
        {r["incident_id"] for r in store.outbox_rows(target="ops")}


def test_the_score_is_the_best_of_the_reports_and_a_better_report_lets_the_rule_alert(
        store: Store, sink: SinkServer) -> None:
    clock = Clock()
    deps = make_deps(store, sink, clock, STRICT, LOOSE)
    save(deps, [draft(1, 0.6, source="A")])
    deliver(deps)
    assert titles(sink, "/desk") == [] and len(titles(sink, "/ops")) == 1
    clock.advance(minutes=10)
    save(deps, [draft(2, 0.85, source="B")])  # a second outlet, surer: a revision the strict rule now passes
    deliver(deps)
    [view] = store.incidents(IncidentFilter(limit=None))
    assert scores(store) == {view.id: 0.85}
    [first] = store.outbox_rows(target="desk")
    assert first["kind"] == "incident" and first["idempotency_key"] == f"incident:{view.id}:2:desk"
    assert len(titles(sink, "/desk")) == 1
    clock.advance(minutes=10)
    save(deps, [draft(3, 0.5, source="C")])  # a weaker report never lowers it
    assert scores(store) == {view.id: 0.85}
    save(deps, [draft(4, 0.95, source="A")])  # an outlet already counted: no revision, but the score counts
    assert scores(store) == {view.id: 0.95}
    assert store.incidents(IncidentFilter(limit=None))[0].revision == 3


def test_a_merged_incident_keeps_the_best_score_of_both(store: Store) -> None:
    # The vague incident (0.6) survives; the precise one (0.95) is absorbed when a bridging report (0.7)
    # joins the vague one and makes it match (see test_merge).
    merge_save(store, [scored(merge_draft(1, ARMENIA, VAGUE, source="A"), 0.6)], T0)
    merge_save(store, [scored(merge_draft(2, JERMUK, PRECISE, source="B"), 0.95)], T0 + timedelta(minutes=10))
    assert sorted(scores(store).values()) == [0.6, 0.95]
    merge_save(store, [scored(merge_draft(3, JERMUK, VAGUE, source="C"), 0.7)], T0 + timedelta(minutes=20))
    [view] = live(store)
    assert view.source_count == 3 and scores(store)[view.id] == 0.95


def test_a_scheduled_digest_lists_only_incidents_at_or_over_the_rules_min_score(
        store: Store, sink: SinkServer) -> None:
    clock = Clock()
    rule = RuleSettings(name="daily", targets=("ops",), digest_cron="0 6 * * *", min_score=0.7, update_on=())
    deps = make_deps(store, sink, clock, rule)
    clock.now = datetime(2022, 9, 13, 7, 0, tzinfo=UTC)
    save(deps, [draft(1, 0.65, place=PLACES[0], source="A")])
    save(deps, [draft(2, 0.9, place=PLACES[2], source="B")])
    clock.now = datetime(2022, 9, 14, 6, 0, 5, tzinfo=UTC)
    assert queue_digests(deps) == 1
    [row] = store.outbox_rows(kind="digest")
    assert "1 incident," in row["title"] and "Goris" in row["body"] and "Jermuk" not in row["body"]
    assert len(store.outbox_rows(kind="incident")) == 1  # the rule routes the same one alone, too
    deps = make_deps(store, sink, clock, replace(rule, min_score=0.0, digest_cron="0 7 * * *"))
    clock.now = datetime(2022, 9, 14, 7, 0, 5, tzinfo=UTC)
    assert queue_digests(deps) == 1  # without min_score the digest holds both
    assert "2 incidents" in store.outbox_rows(kind="digest")[1]["title"]


def test_rules_test_replays_incidents_with_their_scores(tmp_path: Path, sink: SinkServer) -> None:
    db = tmp_path / "m.db"
    config = tmp_path / "config.toml"
    config.write_text(f"""
[database]
url = "sqlite:///{db}"

[[alerts.targets]]
name = "desk"
url = "json://127.0.0.1:9/desk"

[[alerts.targets]]
name = "ops"
url = "json://127.0.0.1:9/ops"

[[alerts.rules]]
name = "strict"
targets = ["desk"]
min_score = 0.7

[[alerts.rules]]
name = "loose"
targets = ["ops"]
""")
    store = Store.open(DatabaseSettings(url=f"sqlite:///{db}"))
    try:
        store.upgrade()
        deps = make_deps(store, sink, Clock())
        save(deps, [draft(1, 0.6, place=PLACES[0], source="A"), draft(2, 0.8, place=PLACES[2], source="B")])
        with store.read() as conn:
            by_id = incident_scores(conn, [v.id for v in store.incidents(IncidentFilter(limit=None))])
    finally:
        store.close()
    result = CliRunner().invoke(main, ["--config", str(config), "rules", "test", "--since", "2022-09-01",
                                       "--format", "json"], env={"CEASEFIRE_MONITOR_DATABASE_URL": None},
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert {line["id"]: line["score"] for line in lines} == by_id and sorted(by_id.values()) == [0.6, 0.8]
    routed = {line["score"]: [a["target"] for a in line["alerts"]] for line in lines}
    assert routed == {0.6: ["ops"], 0.8: ["desk", "ops"]}


# -- migration 0005 -----------------------------------------------------------------------------------------------


def test_migration_0005_indexes_scores_of_incidents_stored_before_it(db_url: str) -> None:
    engine = sa.create_engine(db_url)
    cfg = _alembic_config()
    incident = ("INSERT INTO incidents (public_id, revision, event_date, first_seen_at, updated_at, country, place, "
                "labels, severity, source_count, title, evidence, signature) VALUES "
                "(:pid, 1, '2022-09-13', '2022-09-13 08:00:00', '2022-09-13 08:00:00', 'AM', 'Jermuk', "
                "'[\"shelling\"]', 2.0, 1, :title, '[]', '')")
    article = ("INSERT INTO articles (fingerprint, source, title, summary, published_at, first_seen_at, relevant, "
               "score, labels, extraction, incident_id) VALUES (:fp, 'Outlet', 't', 's', '2022-09-13 08:00:00', "
               "'2022-09-13 08:00:00', :relevant, :score, '[]', '{}', "
               "(SELECT id FROM incidents WHERE public_id = :pid))")

    def indexes() -> set[str]:
        return {str(i["name"]) for i in sa.inspect(engine).get_indexes("articles")}

    def migrate(revision: str, *, down: bool = False) -> None:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            (command.downgrade if down else command.upgrade)(cfg, revision)

    try:
        migrate("0004")
        with engine.begin() as conn:
            for pid in ("INC-AAAAAA", "INC-BBBBBB", "INC-CCCCCC"):
                conn.execute(sa.text(incident), {"pid": pid, "title": f"Shelling {pid}"})
            for fp, pid, score in (("a1", "INC-AAAAAA", 0.62), ("a2", "INC-AAAAAA", 0.91), ("b1", "INC-BBBBBB", 0.55)):
                conn.execute(sa.text(article), {"fp": fp, "pid": pid, "score": score, "relevant": True})
            conn.execute(sa.text(article), {"fp": "x", "pid": "nobody", "score": 0.99, "relevant": False})
        assert "ix_articles_incident_id" in indexes()
        store = Store.open(DatabaseSettings(url=db_url))
        try:
            assert store.upgrade()[1] == head_revision()
            assert scores(store) == {"INC-AAAAAA": 0.91, "INC-BBBBBB": 0.55, "INC-CCCCCC": 0.0}
        finally:
            store.close()
        assert "ix_articles_incident_id_score" in indexes() and "ix_articles_incident_id" not in indexes()
        migrate("0004", down=True)
        assert "ix_articles_incident_id" in indexes() and "ix_articles_incident_id_score" not in indexes()
        if engine.dialect.name == "sqlite":  # no table was rebuilt: the text index of 0004 still follows the rows
            with engine.begin() as conn:
                conn.execute(sa.text("UPDATE incidents SET title = 'Renamed' WHERE public_id = 'INC-AAAAAA'"))
                found = conn.execute(sa.text("SELECT rowid FROM incidents_fts WHERE incidents_fts MATCH 'renamed'"))
                assert len(found.all()) == 1
        migrate("head")
        assert "ix_articles_incident_id_score" in indexes()
    finally:
        engine.dispose()


def _plans_of_store_queries(store: Store, work: Callable[[Connection], object]) -> list[str]:
    """The query plans of the statements `work` sends, as the store's code builds them (captured at the
    cursor), explained with their own parameters."""
    sent: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        sent.append((statement, parameters))

    plans = []
    with store.read() as conn:
        if store.dialect == "postgresql":
            conn.exec_driver_sql("SET LOCAL enable_seqscan = off")  # an empty table: say what it would use
        sa.event.listen(conn, "before_cursor_execute", capture)
        try:
            work(conn)
        finally:
            sa.event.remove(conn, "before_cursor_execute", capture)
        assert sent, "the store sent no query"
        for statement, parameters in sent:
            if store.dialect == "sqlite":
                rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
                plans.append(" | ".join(str(r[-1]) for r in rows))
            else:
                plans.append(" | ".join(str(r[0]) for r in conn.exec_driver_sql(f"EXPLAIN {statement}", parameters)))
    return plans


def test_an_incidents_score_is_read_from_the_index(store: Store) -> None:
    """One seek on (incident_id, score), not a scan of the incident's articles: the store's own queries."""
    for work in (lambda conn: incident_score(conn, 1), lambda conn: scores_of(conn, [1, 2, 3])):
        plans = _plans_of_store_queries(store, work)
        assert plans and all("ix_articles_incident_id_score" in plan for plan in plans), plans
