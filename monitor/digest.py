"""Digests: which period a digest covers, and how it reads. Pure.

Two kinds, one idempotency key shape, `digest:{target}:{period start}`:

- **scheduled**: a rule's `digest_cron` (APScheduler `CronTrigger`, UTC) fires; the digest covers the
  incidents updated between the previous fire time and this one (`cron_period`).
- **burst**: a target went over its per-hour cap; the capped alerts are summarised in one digest whose
  period starts at the first capped alert and which is sent when the cap window has room again.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from apscheduler.triggers.cron import CronTrigger

from monitor.models import IncidentView
from monitor.render import (
    Block,
    Formatter,
    Message,
    _casualties,
    _clean,
    _fmt_time,
    _label_text,
    _place_text,
    _safe_url,
    formatter,
)

MAX_DIGEST_ITEMS = 30
_LOOKBACK = (timedelta(hours=1), timedelta(days=1), timedelta(days=32), timedelta(days=367))


def trigger(cron: str) -> CronTrigger:
    """The APScheduler trigger of a crontab expression ("0 6 * * *"), in UTC."""
    return CronTrigger.from_crontab(cron, timezone=UTC)


def _fires_before(trig: CronTrigger, moment: datetime, window: timedelta, limit: int = 2) -> list[datetime]:
    """The last `limit` fire times at or before `moment`, looking back at most `window`."""
    out: list[datetime] = []
    t = trig.get_next_fire_time(None, moment - window)
    while t is not None and t <= moment:
        out = [*out[-(limit - 1):], t] if limit > 1 else [t]
        t = trig.get_next_fire_time(t, t + timedelta(microseconds=1))
    return out


def cron_period(cron: str, now: datetime) -> tuple[datetime, datetime] | None:
    """(start, end) of the latest completed period of a cron schedule at `now`: `end` is the latest fire
    time at or before `now`, `start` the one before it. None if the schedule has not fired in a year."""
    trig = trigger(cron)
    for window in _LOOKBACK:
        fires = _fires_before(trig, now, window)
        if len(fires) == 2:
            return fires[0].astimezone(UTC), fires[1].astimezone(UTC)
    return None


def digest_key(target: str, period_start: datetime) -> str:
    return f"digest:{target}:{period_start.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')}"


def _item(v: IncidentView, fmt: Formatter) -> str:
    line = f"[{_label_text(v.labels)}] {_place_text(v)}"
    casualties = _casualties(v)
    if casualties:
        line += f" — {casualties}"
    line += f" — severity {v.severity:.1f}, {v.source_count} source{'s' if v.source_count != 1 else ''}"
    if v.ceasefire:
        line += f" — ceasefire: {_clean(v.ceasefire, 80)}"
    text = fmt.esc(_clean(line, 400)) + " — " + fmt.esc(f"{v.id} r{v.revision}")
    first = next((a for a in v.articles if _safe_url(a.url)), None)
    if first is not None:
        url = _safe_url(first.url)
        assert url is not None
        text += " — " + fmt.link(_clean(first.source, 60) or "source", url)
    return text


def render_digest(incidents: Sequence[IncidentView], *, period_start: datetime, period_end: datetime,
                  body_format: str, burst: bool = False) -> Message:
    """A summary of a period's incidents for one target, most severe first (at most MAX_DIGEST_ITEMS
    listed, the rest counted). `burst` marks a digest of alerts held back by the per-hour cap."""
    fmt = formatter(body_format)
    ordered = sorted(incidents, key=lambda v: (-v.severity, v.id))
    killed = sum(v.killed or 0 for v in incidents)
    truces: dict[str, int] = {}
    for v in incidents:
        if v.ceasefire:
            truces[v.ceasefire] = truces.get(v.ceasefire, 0) + 1
    blocks = [
        Block("Period", fmt.esc(f"{_fmt_time(period_start)} – {_fmt_time(period_end)}")),
        Block("Incidents", fmt.esc(f"{len(incidents)}" + (" (over the hourly alert cap)" if burst else ""))),
        Block("Killed (reported)", fmt.esc(str(killed))),
    ]
    if truces:
        blocks.append(Block("Ceasefire violations", items=tuple(
            fmt.esc(f"{_clean(name, 120)}: {n}") for name, n in sorted(truces.items()))))
    items = [_item(v, fmt) for v in ordered[:MAX_DIGEST_ITEMS]]
    if len(ordered) > MAX_DIGEST_ITEMS:
        items.append(fmt.esc(f"… and {len(ordered) - MAX_DIGEST_ITEMS} more"))
    blocks.append(Block("List", items=tuple(items)))
    what = "Burst digest" if burst else "Digest"
    title = f"{what}: {len(incidents)} incident{'s' if len(incidents) != 1 else ''}, " \
            f"{_fmt_time(period_start)} – {_fmt_time(period_end)}"
    return Message(_clean(title, 250), fmt.render(blocks), body_format, "info")
