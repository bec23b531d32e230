"""The command line: a click group of thin commands. The one place errors become messages (exit 1)."""

from __future__ import annotations

import asyncio
import importlib
import os
import socket
import sys
from collections.abc import Callable
from functools import cached_property
from typing import IO, Any, TypeVar

import click

from monitor.errors import MonitorError
from monitor.settings import Settings

F = TypeVar("F", bound=Callable[..., Any])


class MonitorGroup(click.Group):
    """Turns domain errors into `Error: …` on stderr and exit 1; never prints a traceback.

    `lazy_modules` register more commands when imported: they are imported only when a command is not
    found among those already registered, or when the commands are listed (--help).
    """

    lazy_modules: tuple[str, ...] = ()

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        found = super().get_command(ctx, cmd_name)
        if found is None and self._load_lazy_modules():
            found = super().get_command(ctx, cmd_name)
        return found

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._load_lazy_modules()
        return super().list_commands(ctx)

    def _load_lazy_modules(self) -> bool:
        modules, self.lazy_modules = self.lazy_modules, ()
        for module in modules:
            importlib.import_module(module)
        return bool(modules)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except MonitorError as exc:
            click.echo(f"Error: {exc.user_message()}", err=True)
            sys.exit(1)
        except (click.exceptions.Exit, click.ClickException, click.Abort, SystemExit):
            raise
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            sys.exit(130)
        except BrokenPipeError:  # `… | head`: the reader left; not an error
            sys.stderr.close()
            sys.exit(0)
        except Exception as exc:
            if os.environ.get("CEASEFIRE_MONITOR_DEBUG"):
                raise
            click.echo(f"Error: internal error: {type(exc).__name__}: {str(exc)[:300]}\n"
                       "Hint: set CEASEFIRE_MONITOR_DEBUG=1 to see the traceback, and please report it",
                       err=True)
            sys.exit(1)


class App:
    """Lazily built dependencies of one CLI invocation."""

    def __init__(self, config_path: str | None) -> None:
        self.config_path = config_path

    @cached_property
    def settings(self) -> Settings:
        from monitor.config.loader import find_config_path, load_settings
        from monitor.reading.gazetteer import use_local_index

        settings = load_settings(find_config_path(self.config_path, os.environ), os.environ)
        use_local_index(settings.gazetteer.index)  # places imported with `gazetteer import`, when present
        return settings

    def configure_logging(self) -> None:
        from monitor.logs import configure

        configure(self.settings.log.level, self.settings.log.format)

    def store(self, *, migrate: bool = False, check: bool = True) -> Any:
        """The store; migrated to the newest schema when `migrate`, else checked to be current."""
        from monitor.store import Store

        store = Store.open(self.settings.database)
        if migrate:
            store.upgrade()
        elif check:
            store.ensure_current()
        return store

    def classifier(self) -> Any:
        import gc

        from monitor.reading.classify import Classifier

        classifier = Classifier.from_settings(self.settings.classify)
        # The gazetteer is hundreds of thousands of long-lived objects: keep them out of every later
        # garbage-collection pass (which otherwise adds ~200 ms pauses to API requests and polls).
        gc.freeze()
        return classifier

    def owner(self) -> str:
        return self.settings.daemon.instance or f"{socket.gethostname()}:{os.getpid()}"

    def deps(self, *, migrate: bool = True) -> Any:
        from monitor.pipeline import Deps

        return Deps(settings=self.settings, store=self.store(migrate=migrate), classifier=self.classifier(),
                    owner=self.owner())


pass_app = click.make_pass_decorator(App)


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    from monitor import __version__  # read from the package metadata only when asked for

    click.echo(f"ceasefire-monitor, version {__version__}")
    ctx.exit()


@click.group(cls=MonitorGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--config", "config_path", metavar="PATH", type=click.Path(dir_okay=False),
              help="TOML configuration file (default: $CEASEFIRE_MONITOR_CONFIG, else built-in defaults).")
@click.option("--version", is_flag=True, expose_value=False, is_eager=True, callback=_print_version,
              help="Show the version and exit.")
@click.pass_context
def main(ctx: click.Context, config_path: str | None) -> None:
    """Watch news feeds for shelling, air strikes, armed clashes and ceasefire violations.

    \b
    Examples:
      ceasefire-monitor run                      # the daemon, on the built-in defaults
      ceasefire-monitor --config /etc/ceasefire-monitor/config.toml run --once
      ceasefire-monitor incidents --since 7d
    """
    ctx.obj = App(config_path)


def open_input(path: str) -> IO[str]:
    if path == "-":
        return sys.stdin
    try:
        return open(path, encoding="utf-8")
    except OSError as exc:
        raise MonitorError(f"{path}: cannot read: {exc.strerror}") from exc


def run_async(coro: Any) -> Any:
    return asyncio.run(coro)

