"""Merging two incidents that turned out to be one event, inside the grouping transaction.

Grouping (group.py) decides *that* two incidents match; this module moves what belongs to the absorbed
incident to the survivor (the older one, whose public id users already know):

- its articles and incident_articles links move at once (`move_members`);
- its row stays, with `merged_into` set to the survivor, so its public id still resolves (`show OLD-ID`);
  incidents merged into it earlier are re-pointed too, so an alias is always one hop from a live incident;
- its outbox rows move with the survivor's next revision (`settle_outbox`), so no row is lost or
  duplicated and each target hears about the merged incident at most once more; what each target is
  still owed is decided by `alerts.merges.plan_merge` (queued alerts made moot are kept with status
  `merged`, never sent).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.engine import Connection

from monitor.alerts.merges import OutboxEntry, plan_merge
from monitor.alerts.routing import targets_of
from monitor.incidents.group import IncidentState
from monitor.incidents.materiality import Facts, news_since
from monitor.models import IncidentView
from monitor.settings import AlertSettings
from monitor.store.alerting import ALERT_KINDS, Renderer
from monitor.store.schema import articles, incident_articles, incident_revisions, incidents, outbox

SUPERSEDED = "merged"  # outbox status of a queued alert made moot by a merge: kept, never sent



def move_members(conn: Connection, keep: int, gone: int, now: datetime) -> None:
    """Move incident `gone`'s articles and links to `keep` and make `gone` (and its aliases) aliases of
    `keep`. Indexed updates: articles by incident_id, links by their primary key prefix, aliases by
    merged_into."""
    conn.execute(update(articles).where(articles.c.incident_id == gone).values(incident_id=keep))
    conn.execute(update(incident_articles).where(incident_articles.c.incident_id == gone).values(incident_id=keep))
    conn.execute(update(incidents).where(incidents.c.merged_into == gone).values(merged_into=keep))
    conn.execute(update(incidents).where(incidents.c.id == gone).values(merged_into=keep, updated_at=now))


def highest_revision(conn: Connection, incident_ids: Sequence[int]) -> int:
    """The highest revision among these incidents (0 for none)."""
    if not incident_ids:
        return 0
    value = conn.execute(select(func.max(incidents.c.revision)).where(incidents.c.id.in_(incident_ids))).scalar()
    return int(value or 0)


def settle_outbox(conn: Connection, survivor: int, absorbed: Sequence[int], state: IncidentState,
                  view: IncidentView, now: datetime, alerts: AlertSettings,
                  render: Renderer) -> dict[str, list[str] | None]:
    """Move the absorbed incidents' outbox rows to the survivor, whose revision `view` was just written,
    and write what the merge still owes each target (alerts.merges.plan_merge decides it). Returns, for each target that
    had alerts about any merged incident, the reasons that are news to it (planned as an alerted target), or
    None when it gets nothing more."""
    group = [survivor, *absorbed]
    rows = {r.id: r for r in conn.execute(
        select(outbox.c.id, outbox.c.target, outbox.c.kind, outbox.c.status, outbox.c.incident_id,
               outbox.c.revision, outbox.c.detail, outbox.c.lease_until)
        .where(outbox.c.incident_id.in_(group), outbox.c.kind.in_(ALERT_KINDS)).order_by(outbox.c.id))}
    plan = plan_merge([OutboxEntry(r.id, r.target, r.kind, r.status, r.lease_until) for r in rows.values()],
                      alerts, now)
    overrides: dict[str, list[str] | None] = {}
    for target, seen in plan.settled.items():
        overrides[target] = news_since(_told(conn, [rows[i] for i in seen]), state)
    urls = {t.name: t.url for t in targets_of(alerts)}
    for target, row_id in plan.keep.items():
        title, body, body_format = render(view, "incident", (), urls[target])
        conn.execute(update(outbox).where(outbox.c.id == row_id, outbox.c.status == "pending").values(
            incident_id=survivor, title=title, body=body, body_format=body_format,
            detail={**(rows[row_id].detail or {}), "content_revision": view.revision}))
        overrides[target] = None
    if plan.superseded:
        conn.execute(update(outbox).where(outbox.c.id.in_(plan.superseded), outbox.c.status == "pending")
                     .values(status=SUPERSEDED, lease_owner=None, lease_until=None))
    if absorbed:
        conn.execute(update(outbox).where(outbox.c.incident_id.in_(list(absorbed))).values(incident_id=survivor))
    return overrides


def _content_revision(row: Any) -> int:
    detail: Mapping[str, Any] = row.detail or {}
    return int(detail.get("content_revision", row.revision or 0))


def _told(conn: Connection, rows: Sequence[Any]) -> list[Facts]:
    """What a target's delivered (or possibly delivered) alerts told it: the snapshot of the newest revision
    its alerts showed, per incident."""
    newest: dict[int, int] = {}
    for r in rows:
        newest[r.incident_id] = max(newest.get(r.incident_id, 0), _content_revision(r))
    if not newest:
        return []
    cond = or_(*(and_(incident_revisions.c.incident_id == i, incident_revisions.c.revision == rev)
                 for i, rev in newest.items()))
    return [Facts.of_snapshot(r.snapshot) for r in conn.execute(select(incident_revisions.c.snapshot).where(cond))
            if isinstance(r.snapshot, dict)]
