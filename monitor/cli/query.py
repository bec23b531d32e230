"""Read-only commands over the store: feeds, incidents, show, export.

Filters are validated by monitor.querying.parse_filter (the API uses the same), so a bad value is exit 1
with `Error: <parameter>: …`. Listings and exports stream from the store: `export --all` of a million
incidents holds one batch in memory. Tables use rich on a terminal and plain fixed-width text when piped.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any

import click

from monitor.cli.app import App, main, pass_app
from monitor.cli.io import ago, render_table, write_json_line
from monitor.errors import InputError, MonitorError
from monitor.models import IncidentView
from monitor.querying import FILTER_PARAMS
from monitor.store.filtering import IncidentFilter
from monitor.store.queries import ExportRecord

_HELP = {p.name: p.help for p in FILTER_PARAMS}
FILTER_NAMES = tuple(p.name for p in FILTER_PARAMS if p.name != "limit")
# ACLED's columns first (https://acleddata.com codebook), then what ACLED has no column for.
ACLED_COLUMNS = ["event_date", "sub_event_type", "actor1", "actor2", "country", "admin1", "location", "latitude",
                 "longitude", "geo_precision", "time_precision", "fatalities", "notes", "sources"]
CSV_COLUMNS = [*ACLED_COLUMNS, "event_id", "country_code", "labels", "injured", "severity", "source_count",
               "ceasefire", "source_urls"]
SUB_EVENT_TYPES = {"shelling": "Shelling/artillery/missile attack", "air_strike": "Air/drone strike",
                   "armed_clash": "Armed clash", "ceasefire_violation": "Ceasefire violation"}
GEO_PRECISION = {"place": 1, "region": 2, "country": 3}  # ACLED: 1 the town, 2 near it or a part, 3 a region


def _filter_options(func: Any) -> Any:
    options = [click.option(f"--{name.replace('_', '-')}", name, metavar="VALUE", help=_HELP[name])
               for name in FILTER_NAMES]
    for decorator in reversed(options):
        func = decorator(func)
    return func


def _filter(filters: dict[str, str | None], limit: str | None, all_rows: bool) -> IncidentFilter:
    from monitor.querying import parse_filter

    return parse_filter({**filters, "limit": limit}, all_rows=all_rows)


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
    from monitor.web.views import feed_json

    rows = app.store().list_feeds()
    if fmt == "json":
        for f in rows:
            write_json_line(feed_json(f))
        return
    table = [(f.id, "on" if f.enabled and not f.retired_at else ("retired" if f.retired_at else "off"),
              ago(f.last_success_at), f.consecutive_failures or "",
              ago(f.next_fetch_at), f.items_seen, f.name,
              f"{f.last_error_kind}: {f.last_error}" if f.last_error_kind else "") for f in rows]
    _print_table(["ID", "STATE", "LAST OK", "FAILS", "NEXT", "ITEMS", "NAME", "LAST ERROR"], table)


def _print_table(headers: list[str], rows: list[tuple[Any, ...]]) -> None:
    """rich on a terminal (wrapped to its width), plain fixed-width columns when piped."""
    if not sys.stdout.isatty():
        click.echo(render_table(headers, rows))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(*headers, header_style="bold", box=None, pad_edge=False)
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row))
    Console().print(table)


def _table_row(v: IncidentView) -> tuple[Any, ...]:
    where = ", ".join(p for p in (v.place, v.country) if p) or "?"
    return (v.id, v.event_date or "", where, ",".join(v.labels), "" if v.killed is None else v.killed,
            "" if v.injured is None else v.injured, v.source_count, f"{v.severity:.1f}", v.title)


# -- export formats ----------------------------------------------------------------------------------------
def acled_row(rec: ExportRecord) -> list[Any]:
    """One CSV row in CSV_COLUMNS order: ACLED's codes for precision, 0 fatalities when none was stated."""
    from monitor.alerts.render import country_name

    v = rec.view
    primary = next((lb for lb in SUB_EVENT_TYPES if lb in v.labels), None)
    outlets = list(dict.fromkeys(a.source for a in v.articles))
    return [v.event_date.isoformat() if v.event_date else v.first_seen_at.date().isoformat(),
            SUB_EVENT_TYPES.get(primary or "", ""), rec.actors[0] if rec.actors else "",
            rec.actors[1] if len(rec.actors) > 1 else "", country_name(v.country) or "", v.admin1 or "",
            v.place or "", "" if v.lat is None else v.lat, "" if v.lon is None else v.lon,
            GEO_PRECISION.get(v.geo_precision or "", ""), 1 if v.event_date else 2, v.killed or 0, v.title,
            "; ".join(outlets), v.id, v.country or "", ";".join(v.labels), "" if v.injured is None else v.injured,
            round(v.severity, 2), v.source_count, v.ceasefire or "", " ".join(a.url for a in v.articles if a.url)]


def geojson_feature(v: IncidentView) -> dict[str, Any]:
    """A GeoJSON Feature: the incident JSON as properties, a Point (lon, lat) or a null geometry."""
    props = v.to_json()
    geometry = None if v.lat is None or v.lon is None else {"type": "Point", "coordinates": [v.lon, v.lat]}
    return {"type": "Feature", "id": v.id, "geometry": geometry, "properties": props}


def write_export(records: Iterable[ExportRecord], fmt: str, out: IO[str],
                 tick: Callable[[], None] = lambda: None) -> int:
    """Write records as csv (CSV_COLUMNS), json (JSON Lines) or geojson (one FeatureCollection), one record
    at a time; calls `tick` after each. Returns how many were written."""
    count = 0
    writer = csv.writer(out) if fmt == "csv" else None
    if writer:
        writer.writerow(CSV_COLUMNS)
    elif fmt == "geojson":
        out.write('{"type": "FeatureCollection", "features": [\n')
    for rec in records:
        if writer:
            writer.writerow(acled_row(rec))
        elif fmt == "geojson":
            out.write((",\n" if count else "") + json.dumps(geojson_feature(rec.view), ensure_ascii=False))
        else:
            write_json_line(rec.view.to_json(), out)
        count += 1
        tick()
    if fmt == "geojson":
        out.write("\n]}\n")
    return count


def _records(views: Iterable[IncidentView]) -> Iterator[ExportRecord]:
    return (ExportRecord(v, ()) for v in views)


# -- commands ----------------------------------------------------------------------------------------------
@main.command()
@_filter_options
@click.option("--limit", metavar="N", help=_HELP["limit"])
@click.option("--all", "all_rows", is_flag=True, help="No limit: every matching incident.")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv", "geojson"]), default="table",
              show_default=True, help="json is JSON Lines; csv has ACLED-like columns.")
@pass_app
def incidents(app: App, /, limit: str | None, all_rows: bool, fmt: str, **filters: str | None) -> None:
    """List incidents, most recently updated first (50 unless --limit or --all).

    \b
    Examples:
      ceasefire-monitor incidents --since 7d
      ceasefire-monitor incidents --near Jermuk --km 30 --since 2022-09-12
      ceasefire-monitor incidents --country AM --label ceasefire_violation --format json | jq .title
      ceasefire-monitor incidents --near 39.84,45.67 --km 50 --min-sources 2 --format geojson > map.geojson
    """
    from monitor.store.queries import export_incidents, list_incidents

    f = _filter(filters, limit, all_rows)
    store = app.store()
    with store.read() as conn:
        if fmt in ("csv", "geojson"):
            write_export(export_incidents(conn, f) if fmt == "csv" else _records(list_incidents(conn, f)),
                         fmt, sys.stdout)
        elif fmt == "json":
            for v in list_incidents(conn, f):
                write_json_line(v.to_json())
        else:
            rows = [_table_row(v) for v in list_incidents(conn, f)]
            _print_table(["ID", "DATE", "WHERE", "LABELS", "KILLED", "INJURED", "SRC", "SEV", "TITLE"], rows)


@main.command()
@click.argument("incident_id", metavar="ID")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@pass_app
def show(app: App, incident_id: str, fmt: str) -> None:
    """Show one incident: revisions, every article (outlet, title, link, time), evidence, alerts.

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
    click.echo("\n".join(show_lines(view, revisions, alerts)))


def show_lines(v: IncidentView, revisions: list[dict[str, Any]], alerts: list[dict[str, Any]]) -> list[str]:
    """The text of `show`: one fact per line, then evidence, articles, revisions and alerts."""
    from monitor.alerts.render import country_name

    def stamp(moment: Any) -> str:
        return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "unknown time"

    where = ", ".join(dict.fromkeys(p for p in (v.place, v.admin1, country_name(v.country)) if p)) or "unknown"
    if v.lat is not None and v.lon is not None:
        where += f" ({v.lat:.4f}, {v.lon:.4f}; {v.geo_precision or 'unknown'} precision)"
    casualties = [f"{n} {what}" for n, what in ((v.killed, "killed"), (v.injured, "injured")) if n is not None]
    lines = [f"{v.id}  revision {v.revision}  {', '.join(v.labels)}", v.title, "",
             f"Date:       {v.event_date or 'unknown'} (first seen {stamp(v.first_seen_at)}, "
             f"updated {stamp(v.updated_at)})",
             f"Where:      {where}",
             f"Casualties: {'; '.join(casualties) or 'none stated'}",
             f"Severity:   {v.severity:.1f}/10    Sources: {v.source_count}"
             + (f"    Ceasefire violated: {v.ceasefire}" if v.ceasefire else ""),
             "", "Evidence:"]
    lines += [f"  - {phrase}" for phrase in v.evidence] or ["  (none recorded)"]
    lines += ["", f"Articles ({len(v.articles)}):"]
    for a in v.articles:
        lines.append(f"  {stamp(a.published)}  {a.source}: {a.title}")
        if a.url:
            lines.append(f"      {a.url}")
    lines += ["", "Revisions:"]
    lines += [f"  r{r['revision']}  {r['created_at']}  {', '.join(r['reasons'])}" for r in revisions]
    lines += ["", "Alerts:"]
    for al in alerts:
        sent = f", sent {al['sent_at']}" if al["sent_at"] else ""
        error = f"; last error: {al['last_error']}" if al["last_error"] else ""
        lines.append(f"  {al['kind']} r{al['revision']} -> {al['target']}: {al['status']} "
                     f"(attempts {al['attempts']}{sent}){error}")
    if not alerts:
        lines.append("  (none)")
    return lines


@main.command()
@_filter_options
@click.option("--limit", metavar="N", help="At most this many incidents (default: all).")
@click.option("--all", "all_rows", is_flag=True, help="Every matching incident (the default; kept for symmetry).")
@click.option("--format", "fmt", type=click.Choice(["csv", "json", "geojson"]), default="csv", show_default=True,
              help="csv: ACLED-like columns; json: JSON Lines; geojson: one FeatureCollection.")
@click.option("--output", "-o", metavar="FILE", default="-", help="Write here instead of stdout.")
@pass_app
def export(app: App, /, limit: str | None, all_rows: bool, fmt: str, output: str, **filters: str | None) -> None:
    """Export the incident log, streamed: CSV with ACLED-like columns, JSON Lines or GeoJSON.

    A progress bar is shown on stderr when it is a terminal.

    \b
    Examples:
      ceasefire-monitor export -o incidents.csv
      ceasefire-monitor export --ceasefire "AM-AZ 2022" --since 2022-09-01 --format csv -o violations.csv
      ceasefire-monitor export --since 30d --country AM --format geojson -o am.geojson
    """
    from monitor.store.queries import count_incidents, export_incidents

    f = _filter(filters, limit, all_rows=limit is None)
    store = app.store()
    with store.read() as conn, _Progress(lambda: count_incidents(conn, f), f.limit) as tick:
        if output == "-":
            write_export(export_incidents(conn, f), fmt, sys.stdout, tick)
            return
        try:
            with open(output, "w", encoding="utf-8", newline="") as out:
                n = write_export(export_incidents(conn, f), fmt, out, tick)
        except OSError as exc:
            raise MonitorError(f"--output: cannot write {output}: {exc.strerror}") from exc
    click.echo(f"wrote {n} incidents to {output}", err=True)


class _Progress:
    """A rich progress bar on stderr while exporting, only when stderr is a terminal; else a no-op tick."""

    def __init__(self, total: Callable[[], int], limit: int | None) -> None:
        self.total, self.limit = total, limit
        self.bar: Any = None

    def __enter__(self) -> Callable[[], None]:
        if not sys.stderr.isatty():
            return lambda: None
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        total = self.total()
        self.bar = Progress(TextColumn("exporting"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                            console=Console(stderr=True), transient=True)
        task = self.bar.add_task("export", total=min(total, self.limit) if self.limit else total)
        self.bar.start()
        return lambda: self.bar.advance(task)

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()
