"""Feed health: when a feed counts as down, and when as back up. Pure.

A feed whose failures reach `down_after` in a row (or that is retired by a 410 Gone before that) is reported
down once per failure episode; its first success after that, recovered once. An episode is named by when
its failures began (`down_since`), which keys both alerts, so a repeated call decides the same thing.
The store calls `health_change` inside the transaction that records the poll.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

REASON_LIMIT = 300  # characters of the reason an alert shows


@dataclass(frozen=True)
class HealthChange:
    """A feed_down (`down`) or feed_up alert owed for one failure episode."""

    down: bool
    reason: str
    episode_start: datetime  # when the episode's failures began: the alerts' key
    since: datetime  # down: since the episode began; up: since now


def health_change(*, failures_before: int, down_since: datetime | None, last_error: str | None, ok: bool,
                  now: datetime, down_after: int, retired: bool = False, error_kind: str | None = None,
                  error: str | None = None) -> HealthChange | None:
    """What one poll's outcome changes in a feed's health, given the feed as it was before the poll
    (`failures_before` in a row, failing since `down_since`, `last_error`); None when nothing is owed."""
    failures = failures_before + (0 if ok else 1)
    episode = down_since or now
    if ok:
        if failures_before < down_after or down_since is None:
            return None
        return HealthChange(down=False, reason=(last_error or "")[:REASON_LIMIT], episode_start=episode, since=now)
    if not (failures == down_after or (retired and failures < down_after)):
        return None
    reason = f"{failures} failed polls in a row; last: {error_kind or 'error'}: {error or ''}"
    if retired:
        reason = f"retired: the feed answered 410 Gone; {reason}"
    return HealthChange(down=True, reason=reason[:REASON_LIMIT], episode_start=episode, since=episode)
