"""Command line: arguments go in; commands run against the store, the pipeline or the daemon.

app holds the click group; importing commands, gazetteer, query and alerts registers their commands on
it. query and alerts import the store (SQLAlchemy, alembic: half a second), so they are imported only
when a command is not found among the others or the commands are listed: `classify` starts without them.
"""
from monitor.cli import commands, gazetteer  # noqa: F401  (registers the commands)
from monitor.cli.app import App, main

main.lazy_modules = ("monitor.cli.query", "monitor.cli.alerts")

__all__ = ["App", "main"]
