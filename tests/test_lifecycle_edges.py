"""Two edges of the incident lifecycle over a real store (SQLite and PostgreSQL):

- a merge re-decides the survivor's ceasefire from the merged facts (area, the earlier date, the earliest report
  of both incidents), instead of taking the absorbed incident's without the time rule of the start/end day;
- a re-publication by an outlet already counted (no new source) that lifts the incident's score across a rule's
  `min_score` revises it, so that rule alerts; a rise across no rule's `min_score` makes no revision.

Both need the store to pass the ceasefire registry, the earliest report time and the rules' thresholds to the
pure grouping code (monitor.store.ingest)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime

from sink_server import SinkServer
from test_lifecycle import Clock, deliver, make_deps, save, titles
from test_merge import ARMENIA, JERMUK, PRECISE, TARGETS, VAGUE, draft, live, render
from test_rule_score import LOOSE, STRICT, scores
from test_rule_score import draft as scored_draft

from monitor.incidents.group import ArticleDraft
from monitor.settings import CeasefireSettings
from monitor.store import IncidentFilter, Store

TRUCE = CeasefireSettings(name="AM-AZ 2022", countries=("AM", "AZ"), regions=("Vayots Dzor",),
                          start="2022-09-14T16:00:00Z", end="2022-09-30T12:00:00Z")
START = date(2022, 9, 14)


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(START.year, START.month, START.day, hour, minute, tzinfo=UTC)


def save_at(store: Store, drafts: Sequence[ArticleDraft]) -> None:
    now = max(d.published_at for d in drafts)
    store.save_feed_items(None, "test", drafts, None, alerts=TARGETS, ceasefires=(TRUCE,), render=render, now=now)


def test_a_merge_does_not_hand_the_survivor_a_ceasefire_its_earlier_report_rules_out(store: Store) -> None:
    # A vague report at 05:00 UTC on the day the truce starts (16:00 UTC): outside its area, no ceasefire.
    save_at(store, [draft(1, ARMENIA, VAGUE, source="A", day=START, published=at(5))])
    # A Jermuk report at 19:00, worded otherwise (its own incident): in the area, after the start, a violation.
    save_at(store, [draft(2, JERMUK, PRECISE, source="B", day=START, published=at(19))])
    assert sorted(str(v.ceasefire) for v in live(store)) == ["AM-AZ 2022", "None"]
    # A Jermuk report worded like the vague one joins it (first reported at 05:00: still none) and makes it match
    # the Jermuk incident: merged, the event was first reported before the truce began.
    save_at(store, [draft(3, JERMUK, VAGUE, source="C", day=START, published=at(19, 30))])
    [view] = live(store)
    assert view.place == "Jermuk" and view.source_count == 3 and view.ceasefire is None


def test_a_merge_takes_the_ceasefire_away_from_a_survivor_first_reported_before_the_start(store: Store) -> None:
    save_at(store, [draft(2, JERMUK, PRECISE, source="B", day=START, published=at(19))])  # the older: a violation
    save_at(store, [draft(1, ARMENIA, VAGUE, source="A", day=START, published=at(5))])  # published earlier
    save_at(store, [draft(3, JERMUK, VAGUE, source="C", day=START, published=at(19, 30))])
    [view] = live(store)
    assert view.source_count == 3 and view.ceasefire is None


def test_a_merge_first_reported_after_the_start_is_a_violation(store: Store) -> None:
    save_at(store, [draft(1, ARMENIA, VAGUE, source="A", day=START, published=at(17))])
    save_at(store, [draft(2, JERMUK, PRECISE, source="B", day=START, published=at(19))])
    save_at(store, [draft(3, JERMUK, VAGUE, source="C", day=START, published=at(19, 30))])
    [view] = live(store)
    assert view.source_count == 3 and view.ceasefire == "AM-AZ 2022"


def _reasons(store: Store, public_id: str) -> list[list[str]]:
    found = store.incident(public_id)
    assert found is not None
    return [r["reasons"] for r in found[1]]


def test_a_copy_that_lifts_the_score_over_a_min_score_lets_that_rule_alert_once(
        store: Store, sink: SinkServer) -> None:
    clock = Clock()
    deps = make_deps(store, sink, clock, STRICT, LOOSE)  # strict: desk, min_score 0.7; loose: ops, any score
    save(deps, [scored_draft(1, 0.55, source="A")])
    deliver(deps)
    assert titles(sink, "/desk") == [] and len(titles(sink, "/ops")) == 1
    clock.advance(minutes=10)
    save(deps, [scored_draft(2, 0.8, source="A")])  # the same outlet again (no new source), surer: over 0.7
    deliver(deps)
    [view] = store.incidents(IncidentFilter(limit=None))
    assert scores(store) == {view.id: 0.8} and view.source_count == 1 and view.revision == 2
    assert _reasons(store, view.id) == [["new incident"], ["score 0.55 -> 0.80"]]
    [row] = store.outbox_rows(target="desk")
    assert row["kind"] == "incident" and row["idempotency_key"] == f"incident:{view.id}:2:desk"
    assert len(titles(sink, "/desk")) == 1
    assert len(titles(sink, "/ops")) == 1  # ops was told already; a surer copy is no update for its rule
    clock.advance(minutes=10)
    save(deps, [scored_draft(3, 0.95, source="A")])  # higher again, across no rule's min_score: no revision
    deliver(deps)
    assert scores(store) == {view.id: 0.95}
    assert store.incidents(IncidentFilter(limit=None))[0].revision == 2
    assert len(titles(sink, "/desk")) == 1 and len(titles(sink, "/ops")) == 1


def test_a_copy_and_a_rise_in_one_batch_make_one_revision(store: Store, sink: SinkServer) -> None:
    clock = Clock()
    deps = make_deps(store, sink, clock, STRICT, LOOSE)
    save(deps, [scored_draft(1, 0.55, source="A")])
    clock.advance(minutes=10)
    # Grouped in canonical order (here by fingerprint): 0.6 crosses nothing, 0.75 crosses 0.7, 0.9 nothing more.
    save(deps, [scored_draft(4, 0.9, source="A"), scored_draft(2, 0.6, source="A"), scored_draft(3, 0.75, source="A")])
    [view] = store.incidents(IncidentFilter(limit=None))
    assert view.revision == 2 and _reasons(store, view.id)[-1] == ["score 0.60 -> 0.75"]
    deliver(deps)
    assert len(titles(sink, "/desk")) == 1 and len(titles(sink, "/ops")) == 1


def test_without_a_min_score_a_surer_copy_makes_no_revision(store: Store, sink: SinkServer) -> None:
    deps = make_deps(store, sink, Clock(), LOOSE)
    save(deps, [scored_draft(1, 0.55, source="A")])
    save(deps, [scored_draft(2, 0.99, source="A")])
    [view] = store.incidents(IncidentFilter(limit=None))
    assert view.revision == 1

