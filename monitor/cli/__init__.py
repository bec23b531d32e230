"""Command line: arguments go in; commands run against the store, the pipeline or the daemon.

app holds the click group; importing commands, query and alerts registers their commands on it.
"""
from monitor.cli import alerts, commands, query  # noqa: F401  (registers the commands)
from monitor.cli.app import App, main

__all__ = ["App", "main"]
