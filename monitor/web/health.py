"""What /healthz reports: the daemon's liveness and readiness, kept by the daemon, read by the API."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

STALE_TICK_S = 120.0


@dataclass
class Health:
    """Liveness and readiness of the daemon, updated by its scheduler ticks and deliveries."""

    started_at: float = field(default_factory=time.time)
    last_tick_at: float | None = None
    last_delivery_at: float | None = None
    scheduler_running: bool = False
    inflight_feeds: int = 0


def readiness(health: Health | None) -> dict[str, Any]:
    """Readiness of the daemon: scheduler running and a tick within STALE_TICK_S. `serve` alone is ready."""
    if health is None:
        return {"ready": True}
    tick_age = None if health.last_tick_at is None else round(time.time() - health.last_tick_at, 1)
    ready = health.scheduler_running and tick_age is not None and tick_age < STALE_TICK_S
    return {"ready": ready, "scheduler_running": health.scheduler_running, "last_tick_age_s": tick_age,
            "inflight_feeds": health.inflight_feeds, "uptime_s": round(time.time() - health.started_at, 1)}
