"""Commands that do work: run, check-config, db upgrade, classify, ingest, notify test, serve."""

from __future__ import annotations

import sys
from typing import Any

import click

from monitor.cli.app import App, main, open_input, pass_app, run_async
from monitor.cli.io import BadLine, item_from_json, read_jsonl, write_json_line
from monitor.errors import InputError, MonitorError
from monitor.models import FeedItem

INGEST_BATCH = 500


@main.command()
@click.option("--once", is_flag=True, help="Poll every due feed once, deliver due alerts, and exit.")
@pass_app
def run(app: App, once: bool) -> None:
    """Run the daemon: poll feeds on schedule, store incidents, send alerts.

    Upgrades the database first. Stops cleanly on SIGTERM or SIGINT (exit 0).

    \b
    Examples:
      ceasefire-monitor run
      ceasefire-monitor --config config.toml run --once     # one cycle, for cron and tests
    """
    app.configure_logging()
    deps = app.deps(migrate=True)
    from monitor.pipeline import utcnow

    deps.store.sync_feeds(app.settings.feeds, utcnow())
    _take_back_leases(app, deps)
    if once:
        run_async(_run_once(deps))
        return
    from monitor.service import Daemon

    async def _daemon() -> int:
        return await Daemon(deps).run()

    sys.exit(run_async(_daemon()))


def _take_back_leases(app: App, deps: Any) -> None:
    """What earlier lives of this instance leased and never finished (a crash) resumes at once."""
    import socket

    from monitor.logs import event
    from monitor.pipeline import crashed_owners, log

    single = deps.store.dialect == "sqlite" or not app.settings.daemon.instance
    gone = crashed_owners(deps.store.lease_owners(), me=deps.owner, host=socket.gethostname(), single=single,
                          alive=_pid_alive)
    feeds, alerts = deps.store.take_back_leases(gone)
    if feeds or alerts:
        event(log, "leases_taken_back", owner=deps.owner, earlier=",".join(sorted(gone)), feeds=feeds,
              alerts=alerts)


def _pid_alive(pid: int) -> bool:
    import os

    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


async def _run_once(deps: Any) -> None:
    from monitor import __version__
    from monitor.feeds.fetch import Fetcher
    from monitor.logs import event
    from monitor.pipeline import deliver_due, log, run_cycle

    async with Fetcher(deps.settings.fetch, version=__version__) as fetcher:
        report = await run_cycle(deps, fetcher, limit=100_000)
    delivered = await deliver_due(deps, limit=100_000)
    event(log, "cycle_done", feeds=report.feeds, fetched=report.fetched, unchanged=report.unchanged,
          failed=report.failed, new=report.saved.new, relevant=report.saved.relevant,
          incidents_created=report.saved.incidents_created, incidents_updated=report.saved.incidents_updated,
          alerts_queued=report.saved.alerts_queued, alerts_sent=delivered.sent, alerts_failed=delivered.failed)


@main.command("check-config")
@pass_app
def check_config(app: App) -> None:
    """Validate the configuration and print a summary (secrets redacted). Exit 1 listing every problem.

    \b
    Examples:
      ceasefire-monitor --config /etc/ceasefire-monitor/config.toml check-config
      CEASEFIRE_MONITOR_CONFIG=config.toml ceasefire-monitor check-config
    """
    from monitor.config.loader import describe_settings
    from monitor.errors import ConfigError

    try:
        settings = app.settings
    except ConfigError as exc:
        for problem in exc.problems:
            click.echo(f"Error: {problem}", err=True)
        sys.exit(1)
    from monitor.alerts.deliver import validate_target_url

    problems = [f"{settings.source}: alerts.targets[{i}] ({t.name}): {msg}"
                for i, t in enumerate(settings.alerts.targets) if (msg := validate_target_url(t.url))]
    for problem in problems:
        click.echo(f"Error: {problem}", err=True)
    if problems:
        sys.exit(1)
    click.echo(describe_settings(settings))
    click.echo("Configuration OK.")


@main.group(cls=type(main))
def db() -> None:
    """Database maintenance.

    \b
    Example:
      ceasefire-monitor db upgrade
    """


@db.command("upgrade")
@pass_app
def db_upgrade(app: App) -> None:
    """Create or migrate the database schema to the newest version (safe to run any time).

    \b
    Example:
      CEASEFIRE_MONITOR_DATABASE_URL=postgresql+psycopg://monitor@db/monitor ceasefire-monitor db upgrade
    """
    before, after = app.store(migrate=False, check=False).upgrade()
    click.echo(f"database at revision {after}" + (f" (was {before or 'empty'})" if before != after else
                                                  " (already current)"))


@main.command()
@click.argument("file", default="-", metavar="[FILE|-]")
@click.option("--text", help="Classify this text instead of reading JSON Lines.")
@click.option("--title", help="Title of the --text item.")
@click.option("--published", metavar="ISO", help="Publication time of the --text item (ISO 8601).")
@click.option("--lang", type=click.Choice(["en", "ru"]), help="Language of the --text item.")
@pass_app
def classify(app: App, file: str, text: str | None, title: str | None, published: str | None,
             lang: str | None) -> None:
    """Label news items and extract place, casualties and date (JSON Lines in, JSON Lines out).

    Each input line: {"id", "title", "text" (or "summary"), "published", "lang"}. Output: one JSON object
    per line, in order; a bad line yields {"line": N, "error": ...} and exit status 1.

    \b
    Examples:
      ceasefire-monitor classify items.jsonl > labels.jsonl
      ceasefire-monitor classify --title "Shelling kills 4 in Donetsk" --published 2024-05-01T08:00:00Z
    """
    classifier = app.classifier()
    if text is not None or title is not None:
        obj = {"id": None, "title": title or "", "text": text or "", "published": published, "lang": lang}
        rows: Any = [(1, obj)]
    else:
        rows = read_jsonl(open_input(file))
    failed = False
    for number, obj in rows:
        if isinstance(obj, BadLine):
            write_json_line(obj.to_json())
            failed = True
            continue
        try:
            item, warnings = item_from_json(obj, line=number, default_source="")
        except ValueError as exc:
            write_json_line(BadLine(number, str(exc)).to_json())
            failed = True
            continue
        for warning in warnings:
            click.echo(f"Warning: {warning}", err=True)
        write_json_line(classifier.classify(item).to_json(obj.get("id")))
    sys.stdout.flush()
    if failed:
        sys.exit(1)


@main.command()
@click.argument("file", default="-", metavar="[FILE|-]")
@click.option("--dry-run", is_flag=True, help="Classify and group, report what would change, write nothing.")
@pass_app
def ingest(app: App, file: str, dry_run: bool) -> None:
    """Feed articles from JSON Lines through the pipeline (store, group, queue alerts).

    Each line: {"id", "title", "text"|"summary", "url", "published", "source", "lang"}. Prints one JSON
    summary line; bad lines are reported on stderr with their number and skipped (exit 1).

    \b
    Examples:
      ceasefire-monitor ingest articles.jsonl
      cat articles.jsonl | ceasefire-monitor ingest --dry-run -
    """
    from monitor.feeds.parse import canonical_url
    from monitor.pipeline import process_items
    from monitor.store import SaveReport

    app.configure_logging()
    deps = app.deps(migrate=True)
    total, errors = SaveReport(), 0
    batch: list[FeedItem] = []

    def flush() -> None:
        if batch:
            total.add(process_items(batch, deps, dry_run=dry_run))
            batch.clear()

    for number, obj in read_jsonl(open_input(file)):
        try:
            if isinstance(obj, BadLine):
                raise InputError(obj.error)
            item, warnings = item_from_json(obj, line=number, default_source="ingest")
        except (ValueError, InputError) as exc:
            click.echo(f"Error: line {number}: {getattr(exc, 'message', exc)}", err=True)
            errors += 1
            continue
        for warning in warnings:
            click.echo(f"Warning: {warning}", err=True)
        if item.url:
            item = type(item)(**{**item.__dict__, "url": canonical_url(item.url)})
        batch.append(item)
        if len(batch) >= INGEST_BATCH:
            flush()
    flush()
    write_json_line({"read": total.read, "new": total.new, "duplicates": total.duplicates,
                     "relevant": total.relevant, "incidents_created": total.incidents_created,
                     "incidents_updated": total.incidents_updated, "alerts_queued": total.alerts_queued,
                     "errors": errors})
    if errors:
        sys.exit(1)


@main.group(cls=type(main))
def notify() -> None:
    """Alert targets.

    \b
    Example:
      ceasefire-monitor notify test
    """


@notify.command("test")
@pass_app
def notify_test(app: App) -> None:
    """Send a test message to every configured alert target and report each result (exit 1 if any failed).

    \b
    Example:
      DESK_SLACK_URL=slack://T000/B000/XXXX ceasefire-monitor --config config.toml notify test
    """
    from monitor.alerts.deliver import send
    from monitor.alerts.render import body_format_for, render_test_message
    from monitor.errors import DeliveryError
    from monitor.redact import redact_url

    targets = app.settings.alerts.targets
    if not targets:
        click.echo("No alert targets configured: alerts go to the log. Add [[alerts.targets]] to send them.")
        return
    failed = 0
    for target in targets:
        try:
            send(target, render_test_message(body_format_for(target.url)),
                 timeout_s=app.settings.alerts.send_timeout_s)
            click.echo(f"ok      {target.name}  {redact_url(target.url)}")
        except DeliveryError as exc:
            failed += 1
            click.echo(f"FAILED  {target.name}  {redact_url(target.url)}  {exc.message}")
    if failed:
        raise MonitorError(f"{failed} of {len(targets)} targets failed")


@main.command()
@click.option("--bind", help="Address to listen on (default: api.bind, 127.0.0.1).")
@click.option("--port", type=click.IntRange(1, 65535), help="Port (default: api.port, 8080).")
@pass_app
def serve(app: App, bind: str | None, port: int | None) -> None:
    """Serve the read-only HTTP API without polling feeds.

    \b
    Examples:
      ceasefire-monitor serve
      ceasefire-monitor serve --bind 0.0.0.0 --port 9000
    """
    import uvicorn

    from monitor.web.api import create_app

    app.configure_logging()
    api = app.settings.api
    web = create_app(app.store(migrate=True), None, token=api.token, cors_origins=api.cors_origins,
                     ceasefires=app.settings.ceasefires)
    uvicorn.run(web, host=bind or api.bind, port=port or api.port, log_level="warning", access_log=False)
