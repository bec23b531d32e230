"""Digests: which period a digest covers, and how it reads. Pure.

Two kinds, one idempotency key shape, `digest:{target}:{period start}`:

- **scheduled**: a rule's `digest_cron` fires, read on the wall clock of its `digest_timezone` (UTC by
  default); the digest covers the incidents updated between the previous fire time and this one
  (`cron_period`).
- **burst**: a target went over its per-hour cap; the capped alerts are summarised in one digest whose
  period starts at the first capped alert and which is sent when the cap window has room again.

Local schedules and daylight saving time (`LocalCron`), as cron does it: a time that occurs twice when the
clocks go back fires once, at its first occurrence; a time that does not exist when they go forward fires
at the moment of the change. So "0 6 * * *" in Europe/Kyiv fires at 06:00 local every day, 04:00 or 03:00
UTC, and the periods around a change are 23 or 25 hours long. APScheduler's own CronTrigger is only used
in UTC: with a zone that changes its clocks it can return the same time again and again (its issue #1021).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger

from monitor.alerts.render import (
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
    incident_link,
)
from monitor.models import IncidentView
from monitor.settings import AlertSettings

MAX_DIGEST_ITEMS = 30
_LOOKBACK = (timedelta(hours=1), timedelta(days=1), timedelta(days=32), timedelta(days=367))
_TICK = timedelta(microseconds=1)
_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_NUMERIC_DAYS = re.compile(r"(\*|\d+)(?:-(\d+))?(?:/(\d+))?")


def crontab_trigger(cron: str) -> CronTrigger:
    """APScheduler's trigger of a five-field crontab expression, in UTC, with crontab's weekday numbers.

    APScheduler 3 numbers weekdays from 0 = Monday (its issue #286), crontab from 0 (or 7) = Sunday, so
    numeric day-of-week items are given to it as day names: "0 8 * * 1" is Monday 08:00, "* * * * 5-7" Friday
    to Sunday. Raises ValueError, with a message saying what is wrong, for an invalid expression.
    """
    fields = cron.split()
    if len(fields) == 5:
        fields[4] = ",".join(_weekday_names(item) for item in fields[4].split(","))
    return CronTrigger.from_crontab(" ".join(fields), timezone=UTC)


def _weekday_names(item: str) -> str:
    """One crontab day-of-week item ("1", "1-5", "*/2", "mon-fri") as day names; names pass unchanged."""
    match = _NUMERIC_DAYS.fullmatch(item)
    if match is None or item == "*":
        return item
    first = 0 if match[1] == "*" else int(match[1])
    last = int(match[2]) if match[2] else (6 if match[1] == "*" or match[3] else first)  # "*", "*/2", "1/2"
    step = int(match[3]) if match[3] else 1
    if not (0 <= first <= 7 and 0 <= last <= 7) or first > last or step < 1:
        raise ValueError(f"day of week {item!r} is not valid (0-7, where 0 and 7 are Sunday)")
    return ",".join(dict.fromkeys(_DAYS[day % 7] for day in range(first, last + 1, step)))


class LocalCron(BaseTrigger):  # type: ignore[misc]  # APScheduler 3 has no type hints
    """A crontab expression read on the wall clock of an IANA time zone, as an APScheduler trigger.

    Wall-clock fire times come from a CronTrigger in UTC (which has no clock changes), each then placed in
    the zone: see the module doc for the times a clock change repeats or skips. Fire times are aware UTC
    datetimes, strictly increasing.
    """

    def __init__(self, cron: str, timezone: str = "UTC") -> None:
        self.cron, self.timezone = cron, timezone
        self._zone = ZoneInfo(timezone)
        self._wall = crontab_trigger(cron)  # wall-clock (naive local) times, carried as UTC

    def __str__(self) -> str:
        return f"cron[{self.cron!r} {self.timezone}]"

    def __repr__(self) -> str:
        return f"LocalCron({self.cron!r}, {self.timezone!r})"

    def _instant(self, wall: datetime) -> datetime:
        """The moment the zone's clocks show `wall` (first occurrence), or, for a time the clocks skip,
        the moment they skip it."""
        naive = wall.replace(tzinfo=None)
        early = naive.replace(tzinfo=self._zone, fold=0)
        if early.astimezone(UTC).astimezone(self._zone).replace(tzinfo=None) == naive:
            return early.astimezone(UTC)
        # In a gap: fold=1 reads it with the offset after the change (an instant before it), fold=0 with the
        # offset before (an instant after it). The change lies between; find it to the second.
        low = naive.replace(tzinfo=self._zone, fold=1).astimezone(UTC)
        high = early.astimezone(UTC)
        after = high.astimezone(self._zone).utcoffset()
        while high - low > timedelta(seconds=1):
            middle = low + (high - low) / 2
            if middle.astimezone(self._zone).utcoffset() == after:
                high = middle
            else:
                low = middle
        return high.replace(microsecond=0)

    def next_after(self, moment: datetime) -> datetime | None:
        """The first fire time strictly after `moment` (aware), or None if there is none."""
        local = moment.astimezone(self._zone).replace(tzinfo=UTC, fold=0)  # its wall clock, carried as UTC
        # Wall times place in order, so a fire time after `moment` has a wall time after `local`. Not every
        # such wall time is after `moment`: in the second pass of a repeated hour, the rest of the hour is
        # placed at its first pass, earlier; and the times a gap skips all fire at the same moment.
        wall = self._wall.get_next_fire_time(None, local + _TICK)
        while wall is not None:
            at = self._instant(wall)
            if at > moment:
                return at
            wall = self._wall.get_next_fire_time(wall, wall + _TICK)
        return None

    def fires(self, start: datetime, end: datetime) -> Iterator[datetime]:
        """Fire times in (start, end], oldest first."""
        at = self.next_after(start)
        while at is not None and at <= end:
            yield at
            at = self.next_after(at)

    def get_next_fire_time(self, previous_fire_time: datetime | None, now: datetime) -> datetime | None:
        """APScheduler's interface: the first fire time at or after `now`; after a previous one, the next
        (which may be before `now`: a missed run, which the scheduler then runs or coalesces)."""
        if previous_fire_time is not None:
            return self.next_after(previous_fire_time)
        return self.next_after(now - _TICK)


def trigger(cron: str, timezone: str = "UTC") -> LocalCron:
    """The trigger of a crontab expression ("0 6 * * *") on the wall clock of `timezone`."""
    return LocalCron(cron, timezone)


def schedules(settings: AlertSettings) -> list[tuple[str, LocalCron]]:
    """(job id, trigger) of each distinct digest schedule of the rules: what the daemon's cron jobs run on."""
    distinct = sorted({(r.digest_cron, r.digest_timezone) for r in settings.rules if r.digest_cron})
    return [(f"digest:{cron}" + ("" if zone == "UTC" else f"@{zone}"), trigger(cron, zone))
            for cron, zone in distinct]


def cron_period(cron: str, now: datetime, timezone: str = "UTC") -> tuple[datetime, datetime] | None:
    """(start, end) of the latest completed period of a cron schedule at `now`, in UTC: `end` is the latest
    fire time at or before `now`, `start` the one before it. None if the schedule has not fired twice in a
    year. `timezone` is the wall clock the expression is read on."""
    trig = trigger(cron, timezone)
    for window in _LOOKBACK:
        fires = list(trig.fires(now - window, now))
        if len(fires) >= 2:
            return fires[-2], fires[-1]
    return None


def digest_key(target: str, period_start: datetime) -> str:
    return f"digest:{target}:{period_start.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')}"


def _item(v: IncidentView, fmt: Formatter, public_url: str | None = None) -> str:
    line = f"[{_label_text(v.labels)}] {_place_text(v)}"
    casualties = _casualties(v)
    if casualties:
        line += f" — {casualties}"
    line += f" — severity {v.severity:.1f}, {v.source_count} source{'s' if v.source_count != 1 else ''}"
    if v.ceasefire:
        line += f" — ceasefire: {_clean(v.ceasefire, 80)}"
    text = fmt.esc(_clean(line, 400)) + " — "
    page = _safe_url(incident_link(public_url, v.id)) if public_url else None
    ident = f"{v.id} r{v.revision}"
    text += fmt.link(ident, page) if page else fmt.esc(ident)
    first = next((a for a in v.articles if _safe_url(a.url)), None)
    if first is not None:
        url = _safe_url(first.url)
        assert url is not None
        text += " — " + fmt.link(_clean(first.source, 60) or "source", url)
    return text


def render_digest(incidents: Sequence[IncidentView], *, period_start: datetime, period_end: datetime,
                  body_format: str, burst: bool = False, public_url: str | None = None) -> Message:
    """A summary of a period's incidents for one target, most severe first (at most MAX_DIGEST_ITEMS
    listed, the rest counted). `burst` marks a digest of alerts held back by the per-hour cap. With
    `public_url` (the dashboard's address) each incident's id links to its page."""
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
    items = [_item(v, fmt, public_url) for v in ordered[:MAX_DIGEST_ITEMS]]
    if len(ordered) > MAX_DIGEST_ITEMS:
        items.append(fmt.esc(f"… and {len(ordered) - MAX_DIGEST_ITEMS} more"))
    blocks.append(Block("List", items=tuple(items)))
    what = "Burst digest" if burst else "Digest"
    title = f"{what}: {len(incidents)} incident{'s' if len(incidents) != 1 else ''}, " \
            f"{_fmt_time(period_start)} – {_fmt_time(period_end)}"
    return Message(_clean(title, 250), fmt.render(blocks), body_format, "info")
