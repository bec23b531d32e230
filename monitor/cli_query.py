"""Read-only commands over the store: feeds, incidents, show, export, ceasefires, rules test."""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterable
from typing import IO, Any

import click

from monitor.cli import App, main, pass_app
from monitor.cli_io import ago, render_table, write_json_line
from monitor.errors import InputError, MonitorError
from monitor.models import LABELS, IncidentView


def _filter_options(func: Any) -> Any:
    for decorator in reversed([
        click.option("--since", metavar="WHEN", help="Updated since: a date, an ISO time or a span (7d, 24h)."),
        click.option("--until", metavar="WHEN", help="Updated until (same forms as --since)."),
        click.option("--country", metavar="CC", help="ISO 3166-1 alpha-2 code, e.g. AM."),
        click.option("--label", type=click.Choice(LABELS), help="Only incidents with this label."),
        click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True,
                     help="At most this many incidents, newest first."),
        click.option("--all", "all_rows", is_flag=True, help="No limit."),
    ]):
        func = decorator(func)
    return func


def _incidents(app: App, since: str | None, until: str | None, country: str | None, label: str | None,
               limit: int, all_rows: bool) -> list[IncidentView]:
    from monitor.querying import parse_filter

    f = parse_filter({"since": since, "until": until, "country": country, "label": label, "limit": str(limit)},
                     all_rows=all_rows)
    result: list[IncidentView] = app.store().incidents(f)
    return result


@main.command()
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@pass_app
def feeds(app: App, fmt: str) -> None:
    """Show each feed's state: last success, last error, consecutive failures, next fetch.

    \b
    Examples:
      ceasefire-monitor feeds
      ceasefire-monitor feeds --format json | jq 'select(.consecutive_failures > 0)'
    """
    from monitor.api import feed_json

    rows = app.store().list_feeds()
    if fmt == "json":
        for f in rows:
            write_json_line(feed_json(f))
        return
    table = [(f.id, "on" if f.enabled and not f.retired_at else ("retired" if f.retired_at else "off"),
              ago(f.last_success_at), f.consecutive_failures or "",
              ago(f.next_fetch_at), f.items_seen, f.name,
              f"{f.last_error_kind}: {f.last_error}" if f.last_error_kind else "") for f in rows]
    click.echo(render_table(["ID", "STATE", "LAST OK", "FAILS", "NEXT", "ITEMS", "NAME", "LAST ERROR"], table))


def _table_row(v: IncidentView) -> tuple[Any, ...]:
    where = ", ".join(p for p in (v.place, v.country) if p) or "?"
    return (v.id, v.event_date or "", where, ",".join(v.labels), "" if v.killed is None else v.killed,
            "" if v.injured is None else v.injured, v.source_count, f"{v.severity:.1f}", v.title)


@main.command()
@_filter_options
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@pass_app
def incidents(app: App, since: str | None, until: str | None, country: str | None, label: str | None,
              limit: int, all_rows: bool, fmt: str) -> None:
    """List incidents, most recently updated first.

    \b
    Examples:
      ceasefire-monitor incidents --since 7d
      ceasefire-monitor incidents --country AM --label shelling --format json
    """
    rows = _incidents(app, since, until, country, label, limit, all_rows)
    if fmt == "json":
        for v in rows:
            write_json_line(v.to_json())
        return
    click.echo(render_table(["ID", "DATE", "WHERE", "LABELS", "KILLED", "INJURED", "SRC", "SEV", "TITLE"],
                            [_table_row(v) for v in rows]))


@main.command()
@click.argument("incident_id", metavar="ID")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@pass_app
def show(app: App, incident_id: str, fmt: str) -> None:
    """Show one incident with its sources, revisions and alerts.

    \b
    Examples:
      ceasefire-monitor show INC-7Q2K9A
      ceasefire-monitor show INC-7Q2K9A --format json
    """
    found = app.store().incident(incident_id)
    if found is None:
        raise InputError(f"ID: no incident {incident_id!r}", hint="list them with `ceasefire-monitor incidents`")
    view, revisions, alerts = found
    if fmt == "json":
        write_json_line({**view.to_json(), "revisions": revisions, "alerts": alerts})
        return
    from monitor.render import render_incident

    click.echo(render_incident(view, kind="incident", body_format="text").body)
    click.echo("\nRevisions:")
    for r in revisions:
        click.echo(f"  r{r['revision']}  {r['created_at']}  {', '.join(r['reasons'])}")
    click.echo("Alerts:")
    for a in alerts or [{"kind": "-", "revision": "", "target": "(none)", "status": "", "attempts": 0,
                         "sent_at": None, "last_error": None}]:
        click.echo(f"  {a['kind']} r{a['revision']} -> {a['target']}: {a['status']} "
                   f"(attempts {a['attempts']}{', sent ' + a['sent_at'] if a['sent_at'] else ''})"
                   + (f" last error: {a['last_error']}" if a["last_error"] else ""))


CSV_COLUMNS = ["event_id", "event_date", "sub_event_type", "country", "admin1", "location", "latitude",
               "longitude", "geo_precision", "fatalities", "injured", "severity", "source_count", "ceasefire",
               "notes", "sources"]


def _csv_row(v: IncidentView) -> list[Any]:
    return [v.id, v.event_date or "", ";".join(v.labels), v.country or "", v.admin1 or "", v.place or "",
            v.lat if v.lat is not None else "", v.lon if v.lon is not None else "", v.geo_precision or "",
            "" if v.killed is None else v.killed, "" if v.injured is None else v.injured, v.severity,
            v.source_count, v.ceasefire or "", v.title, " ".join(a.url or a.source for a in v.articles)]


def write_export(rows: Iterable[IncidentView], fmt: str, out: IO[str]) -> int:
    count = 0
    writer = csv.writer(out) if fmt == "csv" else None
    if writer:
        writer.writerow(CSV_COLUMNS)
    for v in rows:
        count += 1
        if writer:
            writer.writerow(_csv_row(v))
        else:
            write_json_line(v.to_json(), out)
    return count


@main.command()
@_filter_options
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv", show_default=True)
@click.option("--output", "-o", metavar="FILE", default="-", help="Write here instead of stdout.")
@pass_app
def export(app: App, since: str | None, until: str | None, country: str | None, label: str | None,
           limit: int, all_rows: bool, fmt: str, output: str) -> None:
    """Export the incident log (CSV with ACLED-like columns, or JSON Lines).

    \b
    Examples:
      ceasefire-monitor export --all --format csv -o incidents.csv
      ceasefire-monitor export --since 30d --country AM --format json
    """
    rows = _incidents(app, since, until, country, label, limit, all_rows)
    if output == "-":
        write_export(rows, fmt, sys.stdout)
        return
    try:
        with open(output, "w", encoding="utf-8", newline="") as out:
            n = write_export(rows, fmt, out)
    except OSError as exc:
        raise MonitorError(f"--output: cannot write {output}: {exc.strerror}") from exc
    click.echo(f"wrote {n} incidents to {output}", err=True)
