"""Merging two incidents that turned out to be one event, inside the grouping transaction.

Grouping (group.py) decides *that* two incidents match; this module moves what belongs to the absorbed
incident to the survivor (the older one, whose public id users already know):

- its articles and incident_articles links move at once (`move_members`);
- its row stays, with `merged_into` set to the survivor, so its public id still resolves (`show OLD-ID`);
  incidents merged into it earlier are re-pointed too, so an alias is always one hop from a live incident;
- its outbox rows move with the survivor's next revision (`settle_outbox`), so no row is lost or
  duplicated and each target hears about the merged incident at most once more:
  - a target that had (or may have had: sent, in flight, capped, failed) an alert about any of the merged
    incidents gets no new first alert; its still-queued alerts about them are superseded (status
    `merged`, never sent), and it gets an update only when the merged incident says something material
    it was not told (compared with the revision snapshots its alerts showed);
  - a target whose only alerts are queued first alerts keeps the oldest one, re-rendered with the merged
    incident; the others are superseded;
  - a target never alerted about any of them is planned as for any revision.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.engine import Connection

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
    and decide per target what the merge still owes it (see the module doc). Returns, for each target that
    had alerts about any merged incident, the reasons that are news to it (planned as an alerted target), or
    None when it gets nothing more."""
    group = [survivor, *absorbed]
    rows = conn.execute(select(outbox.c.id, outbox.c.target, outbox.c.kind, outbox.c.status, outbox.c.incident_id,
                               outbox.c.revision, outbox.c.detail, outbox.c.lease_until)
                        .where(outbox.c.incident_id.in_(group), outbox.c.kind.in_(ALERT_KINDS))
                        .order_by(outbox.c.id)).all()
    urls = {t.name: t.url for t in targets_of(alerts)}
    by_target: dict[str, list[Any]] = {}
    for r in rows:
        by_target.setdefault(r.target, []).append(r)
    overrides: dict[str, list[str] | None] = {}
    superseded: list[int] = []
    for target, rs in by_target.items():
        queued = [r for r in rs if r.status == "pending" and (r.lease_until is None or r.lease_until < now)]
        settled = [r for r in rs if r not in queued]
        if settled:
            superseded.extend(r.id for r in queued)
            overrides[target] = news_since(_told(conn, settled), state)
            continue
        firsts = [r for r in queued if r.kind == "incident"]
        if not firsts or target not in urls:
            continue
        keep = firsts[0]
        superseded.extend(r.id for r in queued if r.id != keep.id)
        title, body, body_format = render(view, "incident", (), urls[target])
        conn.execute(update(outbox).where(outbox.c.id == keep.id, outbox.c.status == "pending").values(
            incident_id=survivor, title=title, body=body, body_format=body_format,
            detail={**(keep.detail or {}), "content_revision": view.revision}))
        overrides[target] = None
    if superseded:
        conn.execute(update(outbox).where(outbox.c.id.in_(superseded), outbox.c.status == "pending")
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
