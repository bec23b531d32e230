"""Routing and timing: which targets get an alert for an incident change, and when. Pure.

The store calls `plan_alerts` inside the transaction that writes the incident, so the outbox rows commit
with it. An incident's `score` (the best label score of its articles, 0-1, read by the store) is passed
alongside its view, for the rules' `min_score`. Rules are combined per target so that *the most
permissive matching rule wins*: a target gets an alert if any rule addressing it matches; it is held
(quiet hours, cooldown) only as long as every matching rule holds it; and it is capped only if every
matching rule has a per-hour cap (the largest applies). With no rules, every incident goes to every
target at once.

Timing never drops an alert: a held alert is written with a later `send_at`; a capped one is recorded
(status `capped`) and summarised in a burst digest instead of being sent on its own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from monitor.models import IncidentView
from monitor.settings import AlertSettings, QuietHours, RuleSettings, TargetSettings

# With no [[alerts.targets]] configured, alerts are "sent" to the log through this pseudo-target,
# so they still pass through the outbox and are never lost or repeated.
LOG_TARGET = TargetSettings(name="log", url="log://", tags=())
CAP_WINDOW = timedelta(hours=1)

# Config names of update triggers (update_on) -> the revision reasons group.merge records.
_TRIGGERS = {"sources": "new source", "labels": "label", "casualties": "casualties", "ceasefire": "ceasefire",
             "place": "place"}


@dataclass(frozen=True)
class TargetHistory:
    """What the outbox says about one target: the times alerts to it were (or are to be) sent.

    `times` holds the scheduled send times of its incident/update alerts that were not capped, newest
    last; only the last `CAP_WINDOW` before now and anything later matter.
    """

    times: tuple[datetime, ...] = ()

    @property
    def last(self) -> datetime | None:
        return max(self.times) if self.times else None

    def in_cap_window(self, at: datetime) -> tuple[datetime, ...]:
        """The alerts the per-hour cap counts for one sent at `at`: those in (at - CAP_WINDOW, at]."""
        return tuple(t for t in self.times if at - CAP_WINDOW < t <= at)

    def with_alert(self, at: datetime) -> TargetHistory:
        return TargetHistory(self.times + (at,))


@dataclass(frozen=True)
class PlannedAlert:
    kind: str  # "incident" | "update"
    target: TargetSettings
    idempotency_key: str
    send_at: datetime | None = None  # None: now
    held: str | None = None  # why it waits: "quiet hours" | "cooldown"
    capped: bool = False  # over the per-hour cap: summarised in a digest instead
    rules: tuple[str, ...] = field(default=())  # names of the matching rules


def targets_of(settings: AlertSettings) -> tuple[TargetSettings, ...]:
    return settings.targets or (LOG_TARGET,)


def addresses(names: Sequence[str], target: TargetSettings) -> bool:
    """Whether a list of target names/tags (empty: all) includes this target."""
    return not names or any(t == target.name or t in target.tags for t in names)


def rule_matches(rule: RuleSettings, incident: IncidentView, score: float) -> bool:
    """Whether an incident with this score passes a rule's filters (not its timing: quiet hours, cooldown,
    caps). The score is compared as `classify` prints it, to three decimals."""
    if round(score, 3) < rule.min_score:
        return False
    if rule.countries and incident.country not in rule.countries:
        return False
    if rule.labels and not set(rule.labels) & set(incident.labels):
        return False
    if incident.severity < rule.min_severity or incident.source_count < rule.min_sources:
        return False
    return not (rule.ceasefire and incident.ceasefire != rule.ceasefire)


def matching_rules(settings: AlertSettings, target: TargetSettings, incident: IncidentView,
                   score: float) -> list[RuleSettings] | None:
    """The rules that route this incident to this target; None when it must not go there. With no rules
    configured at all, [] (send, no timing constraints)."""
    if not settings.rules:
        return []
    matching = [r for r in settings.rules if addresses(r.targets, target) and rule_matches(r, incident, score)]
    return matching or None


def wants_update(rules: Sequence[RuleSettings], reasons: Sequence[str]) -> bool:
    """Whether a revision with these reasons is material for these rules (their `update_on`)."""
    if not rules:  # no rules: a new figure, a broken truce or a new kind of attack is material
        return bool({"casualties", "ceasefire", "label"} & set(reasons))
    return any(_TRIGGERS.get(t, t) in reasons for r in rules for t in r.update_on)


# -- timing ------------------------------------------------------------------------------------------


def _clock(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def quiet_until(quiet: QuietHours, now: datetime) -> datetime | None:
    """When the quiet window that contains `now` ends (UTC), or None if `now` is outside it."""
    zone = ZoneInfo(quiet.timezone)
    local = now.astimezone(zone)
    start, end, t = _clock(quiet.start), _clock(quiet.end), local.time()
    inside = start <= t < end if start < end else (t >= start or t < end)
    if not inside:
        return None
    day = local.date() if t < end else local.date() + timedelta(days=1)
    return datetime.combine(day, end, tzinfo=zone).astimezone(now.tzinfo)


def _rule_send_at(rule: RuleSettings, incident: IncidentView, now: datetime,
                  history: TargetHistory) -> tuple[datetime, str | None]:
    at, why = now, None
    last = history.last
    if rule.cooldown_s and last is not None and last + timedelta(seconds=rule.cooldown_s) > at:
        at, why = last + timedelta(seconds=rule.cooldown_s), "cooldown"
    quiet = rule.quiet_hours
    overridden = quiet is not None and quiet.override_severity is not None and \
        incident.severity >= quiet.override_severity
    if quiet is not None and not overridden:
        until = quiet_until(quiet, at)
        if until is not None:
            at, why = until, "quiet hours"
    return at, why


def _timing(rules: Sequence[RuleSettings], incident: IncidentView, now: datetime,
            history: TargetHistory) -> tuple[datetime, str | None, bool]:
    """(send_at, why held, capped) for one target under its matching rules."""
    if not rules:
        return now, None, False
    at, why = min((_rule_send_at(r, incident, now, history) for r in rules), key=lambda x: x[0])
    caps = [r.max_per_hour for r in rules]
    capped = False
    if all(c is not None for c in caps):
        cap = max(c for c in caps if c is not None)
        capped = len(history.in_cap_window(at)) >= cap
    return at, why if at > now else None, capped


def plan_alerts(incident: IncidentView, reasons: Sequence[str], settings: AlertSettings,
                already_alerted: frozenset[str] = frozenset(), *, score: float, now: datetime | None = None,
                history: Mapping[str, TargetHistory] | None = None) -> list[PlannedAlert]:
    """Alerts for revision `incident.revision`, one per target at most:

    - 'incident' for a target not yet alerted about it (`already_alerted` holds target names that were);
    - 'update' for one that was, when the revision's `reasons` hold a trigger of a matching rule.

    `score` is the incident's best label score (rules' `min_score`); `history` (per target name) drives
    cooldown and the per-hour cap; `now` defaults to the incident's `updated_at`.
    """
    now = now or incident.updated_at
    history = history or {}
    planned: list[PlannedAlert] = []
    for target in targets_of(settings):
        rules = matching_rules(settings, target, incident, score)
        if rules is None:
            continue
        names = tuple(r.name for r in rules)
        if target.name not in already_alerted:
            kind = "incident"
        elif wants_update(rules, reasons):
            kind = "update"
        else:
            continue
        at, why, capped = _timing(rules, incident, now, history.get(target.name, TargetHistory()))
        key = f"{kind}:{incident.id}:{incident.revision}:{target.name}"
        planned.append(PlannedAlert(kind, target, key, at, why, capped, names))
    return planned


def plan_revision_alerts(incident: IncidentView, reasons: Sequence[str], settings: AlertSettings,
                         already_alerted: frozenset[str], *, score: float, now: datetime,
                         history: Mapping[str, TargetHistory],
                         overrides: Mapping[str, Sequence[str] | None] | None = None,
                         ) -> list[tuple[PlannedAlert, Sequence[str]]]:
    """`plan_alerts` for a revision, with the reasons each alert shows. After a merge, `overrides` gives per
    target name the reasons that are news to that target (it was alerted about one of the merged incidents),
    or None for a target that gets nothing more: those targets are planned on their own reasons, as alerted
    ones; the others on `reasons`."""
    if not overrides:
        return [(p, reasons) for p in plan_alerts(incident, reasons, settings, already_alerted, score=score,
                                                  now=now, history=history)]
    groups: dict[tuple[str, ...] | None, list[TargetSettings]] = {}
    for target in targets_of(settings):
        key: tuple[str, ...] | None = None
        if target.name in overrides:
            own = overrides[target.name]
            if own is None:
                continue
            key = tuple(own)
        groups.setdefault(key, []).append(target)
    out: list[tuple[PlannedAlert, Sequence[str]]] = []
    for key, targets in groups.items():
        shown = reasons if key is None else key
        seen = already_alerted if key is None else already_alerted | {t.name for t in targets}
        out.extend((p, shown) for p in plan_alerts(incident, shown, replace(settings, targets=tuple(targets)),
                                                   seen, score=score, now=now, history=history))
    return out


@dataclass(frozen=True)
class BurstTiming:
    """The burst digest a capped alert goes into: the period it summarises and when it is sent."""

    period_start: datetime
    send_at: datetime


def burst_timing(history: TargetHistory, capped_at: datetime, now: datetime,
                 waiting_since: datetime | None = None) -> BurstTiming:
    """For an alert capped at `capped_at`: the target's burst digest goes out when the cap window has room
    again (an hour after the oldest alert the cap counted). A digest still waiting (`waiting_since`, its
    period start) keeps its period; a new one starts now."""
    window = history.in_cap_window(capped_at)
    return BurstTiming(period_start=waiting_since or now, send_at=(min(window) if window else capped_at) + CAP_WINDOW)


def health_targets(settings: AlertSettings) -> tuple[TargetSettings, ...]:
    """Targets that get feed down/up alerts (`alerts.feed_health_targets`, names or tags; empty: all)."""
    chosen = tuple(t for t in settings.targets if addresses(settings.feed_health_targets, t))
    return chosen or (() if settings.targets else (LOG_TARGET,))


def digest_targets(settings: AlertSettings) -> list[tuple[RuleSettings, TargetSettings]]:
    """(rule, target) pairs that get a scheduled digest: each rule with a `digest_cron`, each target it
    addresses."""
    return [(r, t) for r in settings.rules if r.digest_cron for t in targets_of(settings)
            if addresses(r.targets, t)]
