"""JSON views of stored rows shared by the CLI (`feeds --json`) and the HTTP API."""

from __future__ import annotations

from typing import Any

from monitor.redact import redact_text
from monitor.settings import CeasefireSettings
from monitor.store import FeedRow


def iso(v: Any) -> str | None:
    return v.isoformat().replace("+00:00", "Z") if v else None


def feed_json(f: FeedRow) -> dict[str, Any]:
    # A private feed may carry a token or password in its URL: shown redacted (path and host kept).
    return {"id": f.id, "name": f.name, "url": redact_text(f.url), "enabled": f.enabled, "tags": list(f.tags),
            "last_fetch_at": iso(f.last_fetch_at), "last_success_at": iso(f.last_success_at),
            "last_status": f.last_status, "last_error": f.last_error, "last_error_kind": f.last_error_kind,
            "consecutive_failures": f.consecutive_failures, "next_fetch_at": iso(f.next_fetch_at),
            "retired_at": iso(f.retired_at), "items_seen": f.items_seen,
            "healthy": f.consecutive_failures == 0 and f.retired_at is None}


def ceasefire_json(c: CeasefireSettings, total: int, recent: int | None) -> dict[str, Any]:
    return {"name": c.name, "parties": list(c.parties), "countries": list(c.countries), "regions": list(c.regions),
            "start": c.start, "end": c.end, "violations": total, "violations_since": recent}
