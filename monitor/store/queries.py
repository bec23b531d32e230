"""The read side: incidents and their sources as IncidentView, for alerts, the CLI and the API."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.engine import Connection

from monitor.models import ArticleRef, IncidentView
from monitor.store.schema import articles, incident_revisions, incidents, outbox

MAX_ARTICLES_PER_VIEW = 200


@dataclass(frozen=True)
class IncidentFilter:
    since: datetime | None = None  # updated at or after
    until: datetime | None = None
    country: str | None = None
    label: str | None = None
    limit: int | None = 50


def _refs(conn: Connection, incident_ids: list[int]) -> dict[int, list[ArticleRef]]:
    out: dict[int, list[ArticleRef]] = {i: [] for i in incident_ids}
    if not incident_ids:
        return out
    rows = conn.execute(
        select(articles.c.incident_id, articles.c.external_id, articles.c.url, articles.c.source,
               articles.c.title, articles.c.published_at)
        .where(articles.c.incident_id.in_(incident_ids))
        .order_by(articles.c.published_at, articles.c.id))
    for r in rows:
        refs = out[r.incident_id]
        if len(refs) < MAX_ARTICLES_PER_VIEW:
            refs.append(ArticleRef(external_id=r.external_id, url=r.url, source=r.source, title=r.title,
                                   published=r.published_at))
    return out


def _view(m: Any, refs: list[ArticleRef]) -> IncidentView:
    return IncidentView(
        id=m["public_id"], revision=m["revision"], title=m["title"], event_date=m["event_date"],
        first_seen_at=m["first_seen_at"], updated_at=m["updated_at"], country=m["country"],
        admin1=m["admin1"], place=m["place"], lat=m["lat"], lon=m["lon"], geo_precision=m["geo_precision"],
        labels=tuple(m["labels"]), killed=m["killed"], injured=m["injured"],
        killed_civilian=m["killed_civilian"], killed_military=m["killed_military"],
        injured_civilian=m["injured_civilian"], injured_military=m["injured_military"],
        severity=m["severity"], source_count=m["source_count"], ceasefire=m["ceasefire"],
        evidence=tuple(m["evidence"]), articles=tuple(refs))


def incident_view(conn: Connection, incident_id: int) -> IncidentView:
    row = conn.execute(select(incidents).where(incidents.c.id == incident_id)).one()
    return _view(row._mapping, _refs(conn, [incident_id])[incident_id])


def _filtered(f: IncidentFilter) -> Select[Any]:
    q = select(incidents)
    if f.since is not None:
        q = q.where(incidents.c.updated_at >= f.since)
    if f.until is not None:
        q = q.where(incidents.c.updated_at <= f.until)
    if f.country:
        q = q.where(incidents.c.country == f.country)
    q = q.order_by(incidents.c.updated_at.desc(), incidents.c.id.desc())
    if f.label is None and f.limit is not None:
        q = q.limit(f.limit)
    return q


def list_incidents(conn: Connection, f: IncidentFilter, batch: int = 500) -> Iterator[IncidentView]:
    """Incidents newest first, streamed in batches (an export of many rows holds one batch in memory)."""
    result = conn.execution_options(stream_results=True, yield_per=batch).execute(_filtered(f))
    emitted = 0
    for part in result.partitions(batch):
        rows = [r._mapping for r in part if f.label is None or f.label in r._mapping["labels"]]
        refs = _refs(conn, [m["id"] for m in rows])
        for m in rows:
            if f.limit is not None and emitted >= f.limit:
                return
            emitted += 1
            yield _view(m, refs[m["id"]])


def find_incident(conn: Connection, public_id: str) -> tuple[IncidentView, list[dict[str, Any]],
                                                             list[dict[str, Any]]] | None:
    """(view, revisions, alerts) of one incident by public id (case-insensitive), or None."""
    row = conn.execute(select(incidents).where(incidents.c.public_id == public_id.upper())).first()
    if row is None:
        return None
    view = _view(row._mapping, _refs(conn, [row.id])[row.id])
    revisions = [
        {"revision": r.revision, "created_at": _iso(r.created_at), "reasons": r.reasons}
        for r in conn.execute(select(incident_revisions).where(incident_revisions.c.incident_id == row.id)
                              .order_by(incident_revisions.c.revision))]
    alerts = [
        {"kind": r.kind, "revision": r.revision, "target": r.target, "status": r.status, "attempts": r.attempts,
         "created_at": _iso(r.created_at), "sent_at": _iso(r.sent_at), "last_error": r.last_error}
        for r in conn.execute(select(outbox).where(outbox.c.incident_id == row.id).order_by(outbox.c.id))]
    return view, revisions, alerts


def _iso(value: datetime | date | None) -> str | None:
    if value is None:
        return None
    return value.isoformat().replace("+00:00", "Z")
