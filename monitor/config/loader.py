"""The one place configuration is read: a TOML file (or built-in defaults) plus a few environment variables.

    path = find_config_path(cli_path, os.environ)   # --config, else $CEASEFIRE_MONITOR_CONFIG, else None
    settings = load_settings(path)                   # Settings, or ConfigError listing every problem

The grammar (sections, keys, parsers) is declared in config.schema; checks across sections are in
config.checks; single-value parsers in config.values. Nothing else reads os.environ for settings:
`Settings` is passed to whoever needs it.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from collections.abc import Mapping
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from monitor.config.describe import describe_settings
from monitor.config.schema import DATABASE_URL_ENV, FEED, SETTINGS, Context, build_table
from monitor.errors import ConfigError, DatabaseError
from monitor.settings import FeedSettings, Settings

__all__ = [
    "BUILTIN_SOURCE",
    "CONFIG_ENV",
    "DATABASE_URL_ENV",
    "default_database_url",
    "default_feeds",
    "describe_settings",
    "ensure_state_dir",
    "find_config_path",
    "load_settings",
    "settings_secrets",
    "sqlite_path",
    "state_dir",
]

CONFIG_ENV = "CEASEFIRE_MONITOR_CONFIG"
API_BIND_ENV = "CEASEFIRE_MONITOR_API_BIND"
BUILTIN_SOURCE = "<built-in defaults>"
APP_DIR = "ceasefire-monitor"
HINT = "config.example.toml documents every key; `ceasefire-monitor check-config` lists all problems."


def find_config_path(cli_path: str | None, env: Mapping[str, str]) -> Path | None:
    """The configuration file to read: --config, else $CEASEFIRE_MONITOR_CONFIG, else None (defaults).

    The path is returned as given, not resolved, so messages name it the way the user wrote it.
    """
    if cli_path is not None:
        return Path(cli_path).expanduser()
    from_env = env.get(CONFIG_ENV, "").strip()
    return Path(from_env).expanduser() if from_env else None


def state_dir(env: Mapping[str, str]) -> Path:
    """Where state lives by default: $STATE_DIRECTORY, else $XDG_STATE_HOME/ceasefire-monitor, else
    ~/.local/state/ceasefire-monitor. Only computed; see ensure_state_dir() for creating it.
    """
    # systemd sets STATE_DIRECTORY to a colon-separated list when a unit asks for several.
    systemd = env.get("STATE_DIRECTORY", "").split(":")[0].strip()
    if systemd:
        return Path(systemd)
    xdg = env.get("XDG_STATE_HOME", "").strip()
    if xdg and os.path.isabs(xdg):  # the XDG spec says relative paths are invalid and to be ignored
        return Path(xdg) / APP_DIR
    home = env.get("HOME", "").strip() or str(Path.home())
    return Path(home) / ".local" / "state" / APP_DIR


def default_database_url(env: Mapping[str, str]) -> str:
    """SQLite in the state directory: `sqlite:////…/monitor.db`."""
    return f"sqlite:///{(state_dir(env) / 'monitor.db').absolute()}"


def sqlite_path(settings: Settings) -> Path | None:
    """The database file when the database is SQLite on disk, else None."""
    url = settings.database.url
    if not url.startswith("sqlite:///"):
        return None
    name = url.removeprefix("sqlite:///").split("?", 1)[0]
    return None if name in ("", ":memory:") else Path(name)


def ensure_state_dir(settings: Settings) -> Path | None:
    """Create the directory of a SQLite database file if it is missing (mode 0700); return it.

    Called by the store before opening the database, never at import. Returns None for PostgreSQL.
    Raises DatabaseError naming the directory if it cannot be created.
    """
    path = sqlite_path(settings)
    if path is None:
        return None
    directory = path.parent
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as e:
        raise DatabaseError(f"{settings.source}: database.url: cannot create directory {directory}: "
                            f"{e.strerror or e}", hint="Create it, or point database.url elsewhere.") from e
    return directory


def load_settings(path: Path | str | None, env: Mapping[str, str] | None = None) -> Settings:
    """Read, check and build the settings. `path` None means built-in defaults (plus the environment).

    `env` defaults to os.environ. Raises ConfigError whose `problems` holds every problem found, one
    line each, naming the file and the key (`config.toml: feeds[2].url: …`) or the line of a TOML
    syntax error. Secret values never appear in problems.
    """
    env = os.environ if env is None else env
    if path is None:
        source, document = BUILTIN_SOURCE, {}
    else:
        source, document = str(path), _read_toml(Path(path), str(path))
    ctx = Context(source, env, default_database_url(env), default_feeds)
    settings = build_table(SETTINGS, document, ctx, "")
    if ctx.problems or not isinstance(settings, Settings):
        raise ConfigError(ctx.problems or [f"{source}: invalid configuration"], hint=HINT)
    return _api_bind_override(settings, env)


def _api_bind_override(settings: Settings, env: Mapping[str, str]) -> Settings:
    """$CEASEFIRE_MONITOR_API_BIND: containers must listen on 0.0.0.0 whatever the mounted file says."""
    bind = env.get(API_BIND_ENV, "").strip()
    if not bind:
        return settings
    return dataclasses.replace(settings, api=dataclasses.replace(settings.api, bind=bind))


def _read_toml(path: Path, source: str) -> dict[str, Any]:
    """The parsed document, or ConfigError with the one problem that stops reading it."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError([f"{source}: file not found"], hint=f"Create it, or unset ${CONFIG_ENV}.") from None
    except IsADirectoryError:
        raise ConfigError([f"{source}: is a directory, not a file"]) from None
    except OSError as e:
        raise ConfigError([f"{source}: cannot read: {e.strerror or e}"]) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise ConfigError([f"{source}: line {line}: not valid UTF-8 text"]) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError([_toml_problem(source, str(e))], hint=HINT) from None


def _toml_problem(source: str, message: str) -> str:
    # tomllib ends its messages with "(at line 7, column 10)"; lead with the line, as editors do.
    match = re.search(r"\(at line (\d+), column (\d+)\)$", message)
    if not match:
        return f"{source}: invalid TOML: {message}"
    what = message[: match.start()].strip()
    return f"{source}: line {match.group(1)}: invalid TOML: {what} (column {match.group(2)})"


@cache
def default_feeds() -> tuple[FeedSettings, ...]:
    """The curated feeds of monitor/data/default_feeds.toml, used when a file has no [[feeds]]."""
    text = resources.files("monitor").joinpath("data/default_feeds.toml").read_text(encoding="utf-8")
    document = tomllib.loads(text)
    ctx = Context("default_feeds.toml", {}, "", lambda: ())
    feeds = [build_table(FEED, entry, ctx, f"feeds[{i}]") for i, entry in enumerate(document["feeds"])]
    if ctx.problems:  # a packaging bug, caught by the tests; refuse rather than run with half the list
        raise ConfigError(ctx.problems)
    return tuple(feed for feed in feeds if isinstance(feed, FeedSettings))


def settings_secrets(settings: Settings) -> tuple[str, ...]:
    """Every secret in the settings, for redact.redact_text(): target URLs, the API token, the
    database URL when it is not a SQLite file name.
    """
    secrets = [target.url for target in settings.alerts.targets]
    if settings.api.token:
        secrets.append(settings.api.token)
    if not settings.database.url.startswith("sqlite"):
        secrets.append(settings.database.url)
    return tuple(secrets)
