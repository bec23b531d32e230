"""Routing: which targets get an alert for an incident change. Pure; the store calls it inside the
transaction that writes the incident, so the outbox rows commit with it.
"""

from __future__ import annotations

from dataclasses import dataclass

from monitor.models import IncidentView
from monitor.settings import AlertSettings, RuleSettings, TargetSettings

# With no [[alerts.targets]] configured, alerts are "sent" to the log through this pseudo-target,
# so they still pass through the outbox and are never lost or repeated.
LOG_TARGET = TargetSettings(name="log", url="log://", tags=())


@dataclass(frozen=True)
class PlannedAlert:
    kind: str  # "incident" | "update"
    target: TargetSettings
    idempotency_key: str


def targets_of(settings: AlertSettings) -> tuple[TargetSettings, ...]:
    return settings.targets or (LOG_TARGET,)


def _addresses(rule: RuleSettings, target: TargetSettings) -> bool:
    return not rule.targets or any(t == target.name or t in target.tags for t in rule.targets)


def rule_matches(rule: RuleSettings, incident: IncidentView) -> bool:
    """Whether an incident passes a rule's filters (not its timing: quiet hours, cooldown, caps)."""
    if rule.countries and incident.country not in rule.countries:
        return False
    if rule.labels and not set(rule.labels) & set(incident.labels):
        return False
    if incident.severity < rule.min_severity or incident.source_count < rule.min_sources:
        return False
    return not (rule.ceasefire and incident.ceasefire != rule.ceasefire)


def _wants_update(rule: RuleSettings, reasons: list[str]) -> bool:
    wanted = {"sources": "new source", "labels": "label"}  # config names -> revision reasons
    return any(wanted.get(trigger, trigger) in reasons for trigger in rule.update_on)


def plan_alerts(incident: IncidentView, reasons: list[str], settings: AlertSettings,
                already_alerted: frozenset[str] = frozenset()) -> list[PlannedAlert]:
    """Alerts for revision `incident.revision`: 'incident' for a target not yet alerted about it,
    'update' for one that was, when the reasons hold a trigger it asked for.

    `already_alerted` holds names of targets that already had an alert for this incident.
    """
    planned: list[PlannedAlert] = []
    for target in targets_of(settings):
        rules = [r for r in settings.rules if _addresses(r, target)]
        if settings.rules and not rules:
            continue
        matching = [r for r in rules if rule_matches(r, incident)]
        if settings.rules and not matching:
            continue
        if target.name not in already_alerted:
            kind = "incident"
        elif (not settings.rules and _default_update(reasons)) or any(_wants_update(r, reasons) for r in matching):
            kind = "update"
        else:
            continue
        key = f"{kind}:{incident.id}:{incident.revision}:{target.name}"
        planned.append(PlannedAlert(kind=kind, target=target, idempotency_key=key))
    return planned


def _default_update(reasons: list[str]) -> bool:
    # Without rules: a new figure, a broken truce or a new kind of attack is material; a new source is not.
    return bool({"casualties", "ceasefire", "label"} & set(reasons))
