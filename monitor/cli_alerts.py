"""Commands about ceasefires and alert rules: `ceasefires`, `rules test`."""

from __future__ import annotations

import json

import click

from monitor.cli import App, main, pass_app
from monitor.cli_io import render_table


@main.command()
@click.option("--since", metavar="WHEN", default="30d", show_default=True, help="Count violations since.")
@pass_app
def ceasefires(app: App, since: str) -> None:
    """List the configured ceasefires with their violation counts.

    \b
    Example:
      ceasefire-monitor ceasefires --since 7d
    """
    from monitor.querying import parse_filter

    f = parse_filter({"since": since}, all_rows=True)
    counts: dict[str, int] = {}
    for v in app.store().incidents(f):
        if v.ceasefire:
            counts[v.ceasefire] = counts.get(v.ceasefire, 0) + 1
    rows = [(c.name, ",".join(c.countries + c.regions), c.start or "", c.end or "open", counts.get(c.name, 0))
            for c in app.settings.ceasefires]
    if not rows:
        click.echo("No ceasefires configured (add [[ceasefires]] to the configuration).")
        return
    click.echo(render_table(["NAME", "AREA", "FROM", "TO", f"VIOLATIONS ({since})"], rows))


@main.group(cls=type(main))
def rules() -> None:
    """Alert rules.

    \b
    Example:
      ceasefire-monitor rules test --since 7d
    """


@rules.command("test")
@click.option("--since", metavar="WHEN", default="7d", show_default=True)
@pass_app
def rules_test(app: App, since: str) -> None:
    """Replay stored incidents through the configured rules: who would get what. Sends nothing.

    \b
    Example:
      ceasefire-monitor --config config.toml rules test --since 7d
    """
    from monitor.alerts import plan_alerts
    from monitor.querying import parse_filter

    views = app.store().incidents(parse_filter({"since": since}, all_rows=True))
    lines = 0
    for v in views:
        targets = [p.target.name for p in plan_alerts(v, ["new incident"], app.settings.alerts)]
        click.echo(f"{v.id}  sev {v.severity:.1f}  {','.join(v.labels)}  -> "
                   f"{', '.join(targets) if targets else '(no target)'}  {v.title[:60]}")
        lines += 1
    click.echo(json.dumps({"incidents": lines}), err=True)
