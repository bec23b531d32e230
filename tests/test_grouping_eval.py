"""Replays of the shared feed snapshots through the real pipeline: one outlet's five polls never make a
duplicate article, incident or alert. Reads ../shared/eval at run time only (it is for measuring), and
skips when it is absent."""

from __future__ import annotations

import json
import random
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from monitor.feeds.parse import parse_feed
from monitor.pipeline import Deps, process_items
from monitor.reading.classify import Classifier
from monitor.settings import AlertSettings, DatabaseSettings, Settings, TargetSettings
from monitor.store import Store
from monitor.store.schema import articles, outbox

SNAPSHOTS = Path(__file__).resolve().parents[2] / "shared" / "eval" / "feeds" / "snapshots"


def _outlets() -> list[dict[str, Any]]:
    manifest = SNAPSHOTS / "manifest.json"
    if not manifest.exists():
        return []
    return list(json.loads(manifest.read_text(encoding="utf-8"))["outlets"])


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    return Classifier.from_settings()


@pytest.mark.timeout(600)
@pytest.mark.parametrize("outlet", _outlets() or [pytest.param(None, marks=pytest.mark.skip(
    reason=f"no feed snapshots at {SNAPSHOTS}"))], ids=lambda o: o["folder"] if o else "absent")
def test_replaying_one_outlets_five_polls_makes_no_duplicate_incident_or_alert(
        outlet: dict[str, Any], tmp_path: Path, classifier: Classifier) -> None:
    store = Store.open(DatabaseSettings(url=f"sqlite:///{tmp_path / 'replay.db'}"))
    store.upgrade()
    now = [datetime.fromisoformat(outlet["polls"][0]["fetched_at"].replace("Z", "+00:00"))]
    alerts = AlertSettings(targets=(TargetSettings("desk", "json://127.0.0.1:9/desk"),))
    deps = Deps(settings=Settings(database=DatabaseSettings(url="x"), alerts=alerts), store=store,
                classifier=classifier, owner="t", clock=lambda: now[0], rng=random.Random(1))
    distinct: set[str] = set()
    for poll in outlet["polls"]:
        now[0] = datetime.fromisoformat(poll["fetched_at"].replace("Z", "+00:00"))
        items = parse_feed((SNAPSHOTS / outlet["folder"] / poll["file"]).read_bytes(), {}, source=outlet["name"])
        distinct.update(poll["ids"])
        process_items(items, deps)
    with store.read() as conn:
        stored = conn.execute(select(func.count()).select_from(articles)).scalar_one()
        by_incident = conn.execute(select(outbox.c.incident_id, outbox.c.target, func.count().label("n"))
                                   .where(outbox.c.kind == "incident")
                                   .group_by(outbox.c.incident_id, outbox.c.target)).all()
        incidents = conn.execute(select(func.count(func.distinct(articles.c.incident_id)))).scalar_one()
    store.close()
    assert stored == len(distinct), "an item seen in several polls was stored more than once"
    assert all(r.n == 1 for r in by_incident), "an incident was alerted twice to one target"
    assert len(by_incident) == incidents, "every incident has its one alert"
