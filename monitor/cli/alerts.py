"""Commands about ceasefires and alert rules: `ceasefires`, `rules test`."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import click

from monitor.cli.app import App, main, pass_app
from monitor.cli.io import render_table


@main.command()
@click.option("--since", metavar="WHEN", default="30d", show_default=True,
              help="Count violations with event dates from this date, ISO time or span (7d, 24h).")
@click.option("--until", metavar="WHEN", default=None, help="... up to this one (default: today).")
@pass_app
def ceasefires(app: App, since: str, until: str | None) -> None:
    """List the configured ceasefires with their violation counts over a period.

    An incident in a ceasefire's area (countries, regions) and period is counted as its violation,
    whether or not the reports say "ceasefire".

    \b
    Example:
      ceasefire-monitor ceasefires --since 7d
    """
    from monitor.querying import parse_when

    start = parse_when(since, "since").date()
    end = parse_when(until, "until").date() if until else None
    if not app.settings.ceasefires:
        click.echo("No ceasefires configured (add [[ceasefires]] to the configuration).")
        return
    counts = app.store().ceasefire_violations(start, end)
    rows = [(c.name, ", ".join(c.parties), ",".join(c.countries + c.regions), c.start or "", c.end or "open",
             counts.get(c.name, 0)) for c in app.settings.ceasefires]
    click.echo(render_table(["NAME", "PARTIES", "AREA", "FROM", "TO", f"VIOLATIONS ({since})"], rows))


@main.group(cls=type(main))
def rules() -> None:
    """Alert rules.

    \b
    Example:
      ceasefire-monitor rules test --since 7d
    """


@rules.command("test")
@click.option("--since", metavar="WHEN", default="7d", show_default=True,
              help="Replay incidents updated since this date, ISO time or span.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@pass_app
def rules_test(app: App, since: str, fmt: str) -> None:
    """Replay stored incidents through the configured rules: who would get what, and when. Sends nothing.

    Incidents are replayed oldest first, as first seen, with the rules' filters (min_score on the
    incident's best label score as it is now) and timing applied as they would have been: quiet hours
    and cooldowns hold an alert ("held until"), the per-hour cap turns the rest of a burst into a digest
    ("capped").

    \b
    Example:
      ceasefire-monitor --config config.toml rules test --since 7d
    """
    from monitor.alerts.routing import TargetHistory, digest_targets, plan_alerts
    from monitor.querying import parse_filter
    from monitor.store.alerting import incident_scores

    store = app.store()
    views = sorted(store.incidents(parse_filter({"since": since}, all_rows=True)),
                   key=lambda v: (v.first_seen_at, v.id))
    with store.read() as conn:
        scores = incident_scores(conn, [v.id for v in views])
    histories: dict[str, TargetHistory] = {}
    sends = 0
    for v in views:
        score = scores.get(v.id, 0.0)
        plans = plan_alerts(v, ["new incident"], app.settings.alerts, score=score, now=v.first_seen_at,
                            history=histories)
        decisions = []
        for p in plans:
            at = p.send_at or v.first_seen_at
            if p.capped:
                what = "capped -> burst digest"
            elif p.held:
                what = f"held until {at.astimezone(UTC):%Y-%m-%d %H:%M}Z ({p.held})"
                histories[p.target.name] = histories.get(p.target.name, TargetHistory()).with_alert(at)
            else:
                what = "send"
                histories[p.target.name] = histories.get(p.target.name, TargetHistory()).with_alert(at)
            sends += not p.capped
            decisions.append({"target": p.target.name, "decision": what, "rules": list(p.rules)})
        if fmt == "json":
            click.echo(json.dumps({"id": v.id, "first_seen_at": v.first_seen_at.isoformat(),
                                   "severity": v.severity, "score": round(score, 3), "labels": list(v.labels),
                                   "alerts": decisions}))
            continue
        routed = "; ".join(f"{d['target']}: {d['decision']}" for d in decisions) or "(no target)"
        click.echo(f"{v.id}  {v.first_seen_at.astimezone(UTC):%Y-%m-%d %H:%M}Z  sev {v.severity:4.1f}  "
                   f"score {score:.2f}  {','.join(v.labels)}  -> {routed}  | {v.title[:60]}")
    for rule, target in digest_targets(app.settings.alerts):
        click.echo(f"digest: {target.name} on '{rule.digest_cron}' ({rule.digest_timezone}) from rule {rule.name}",
                   err=fmt == "json")
    click.echo(json.dumps({"incidents": len(views), "alerts": sends,
                           "checked_at": datetime.now(UTC).isoformat(timespec="seconds")}), err=True)
