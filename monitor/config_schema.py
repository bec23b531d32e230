"""The configuration file's grammar: every section and key, declared once, and the reader that applies it.

Each `Key` names a TOML key, the Settings field it fills and the parser that checks it; each `Section`
lists the keys of one table and the frozen dataclass it builds. `build_table` walks the TOML document
against these declarations and records every problem instead of stopping at the first, so
`check-config` can list them all. Keys the declarations do not know are problems too: a typo that
passes silently is worse than a refusal to start.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, field, fields
from typing import Any

from monitor import config_values as v
from monitor.config_checks import check_references
from monitor.models import LABELS
from monitor.settings import (
    AlertSettings,
    ApiSettings,
    CeasefireSettings,
    ClassifySettings,
    DaemonSettings,
    DatabaseSettings,
    FeedSettings,
    FetchSettings,
    LogSettings,
    QuietHours,
    RuleSettings,
    Settings,
    TargetSettings,
)

# What may trigger an alert for a revised incident (the reasons a revision records, DESIGN §3).
UPDATE_REASONS = ("casualties", "ceasefire", "labels", "place", "sources")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
DATABASE_URL_ENV = "CEASEFIRE_MONITOR_DATABASE_URL"


@dataclass
class Context:
    """What the reader needs besides the document, and where it collects problems."""

    source: str  # the file name that starts every problem
    env: Mapping[str, str]
    default_database_url: str
    default_feeds: Callable[[], tuple[FeedSettings, ...]]
    problems: list[str] = field(default_factory=list)

    def add(self, where: str, message: str) -> None:
        self.problems.append(f"{self.source}: {where}: {message}" if where else f"{self.source}: {message}")


Finish = Callable[[dict[str, Any], dict[str, Any], Context, str], None]


@dataclass(frozen=True)
class Key:
    """One TOML key. `field` is the Settings field it fills; None for keys a finish hook consumes."""

    name: str
    field: str | None
    parse: v.Parser[Any] | None = None
    required: bool = False
    section: Section | None = None  # a sub-table, or with `array` an array of tables
    array: bool = False
    optional: bool = False  # a sub-table whose absence leaves the field None, rather than all defaults


@dataclass(frozen=True)
class Section:
    """One TOML table: `path` as written in a header (`alerts.targets`), the class it builds, its keys.

    `finish(kwargs, raw, ctx, where)` runs after the keys are read, to check keys against each other
    and to fill fields that do not come from one key (secrets read from the environment, defaults).
    """

    path: str
    cls: Callable[..., Any]
    keys: tuple[Key, ...]
    finish: Finish | None = None


_FAILED = object()  # a key whose problem is already recorded


def join(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name


def build_table(section: Section, raw: Any, ctx: Context, where: str) -> Any | None:
    """Build `section.cls` from one TOML table; record every problem in ctx; None if there was any."""
    if not isinstance(raw, dict):
        ctx.add(where or section.path, f"expected a table, got {v.type_name(raw)}")
        return None
    before = len(ctx.problems)
    known = {key.name: key for key in section.keys}
    kwargs: dict[str, Any] = {}
    for name, value in raw.items():
        key = known.get(name)
        if key is None:
            ctx.add(join(where, name), f"unknown key{v.suggest(name, known)}")
            continue
        parsed = _read_key(key, value, ctx, join(where, name))
        if parsed is not _FAILED:
            kwargs[key.field or key.name] = parsed
    for key in section.keys:
        if key.name in raw:
            continue
        if key.required:
            ctx.add(where, f"missing required key {key.name!r}")
        elif key.section is not None and not (key.array or key.optional):  # absent: defaults + finish hook
            sub = build_table(key.section, {}, ctx, join(where, key.name))
            if sub is not None:
                kwargs[key.field or key.name] = sub
    if section.finish is not None:
        section.finish(kwargs, raw, ctx, where)
    return section.cls(**kwargs) if len(ctx.problems) == before else None


def _read_key(key: Key, value: Any, ctx: Context, where: str) -> Any:
    if key.section is not None and key.array:
        if not isinstance(value, list):
            ctx.add(where, f"expected an array of tables ([[{key.section.path}]]), got {v.type_name(value)}")
            return _FAILED
        built = [build_table(key.section, item, ctx, f"{where}[{i}]") for i, item in enumerate(value)]
        return tuple(item for item in built if item is not None)
    if key.section is not None:
        table = build_table(key.section, value, ctx, where)
        return _FAILED if table is None else table
    assert key.parse is not None, key.name
    try:
        return key.parse(value)
    except v.Invalid as e:
        ctx.add(where, str(e))
        return _FAILED


def current(kwargs: Mapping[str, Any], cls: Any, name: str) -> Any:
    """A field's value as it will be built: the one read, else the dataclass default."""
    if name in kwargs:
        return kwargs[name]
    spec = {f.name: f for f in fields(cls)}[name]
    return spec.default_factory() if spec.default_factory is not MISSING else spec.default


def resolve_secret(kwargs: dict[str, Any], ctx: Context, where: str, key: str, *, owner: str) -> str | None:
    """The secret given by `key` or read from the variable named by `key`_env; None if neither is set.

    Problems name the key and the variable, never the value.
    """
    env_key = f"{key}_env"
    direct, variable = kwargs.pop(key, None), kwargs.pop(env_key, None)
    if direct is not None and variable is not None:
        ctx.add(where, f"set either {key!r} or {env_key!r}, not both")
        return None
    if variable is None:
        return str(direct) if direct is not None else None
    try:
        value = v.read_env_secret(ctx.env, variable)
    except v.Invalid as e:
        ctx.add(join(where, env_key), str(e))
        return None
    if value is None:
        ctx.add(join(where, env_key), f"environment variable {variable} is not set ({owner}; "
                f"or set {variable}_FILE to a file holding it)")
    return value


# [database] ---------------------------------------------------------------------------------------


def _finish_database(kwargs: dict[str, Any], raw: dict[str, Any], ctx: Context, where: str) -> None:
    try:
        override = v.read_env_secret(ctx.env, DATABASE_URL_ENV)
    except v.Invalid as e:
        ctx.problems.append(str(e))
        return
    if override is not None:  # the environment wins over the file (twelve-factor deployments)
        kwargs.pop("url", None), kwargs.pop("url_env", None)
        try:
            kwargs["url"] = v.database_url(override)
        except v.Invalid as e:
            ctx.problems.append(f"${DATABASE_URL_ENV}: {e}")
        return
    variable = kwargs.get("url_env")
    url = resolve_secret(kwargs, ctx, where, "url", owner="the database URL")
    if url is None:
        kwargs["url"] = ctx.default_database_url  # no URL anywhere: SQLite in the state directory
        return
    try:
        kwargs["url"] = v.database_url(url) if variable else url
    except v.Invalid as e:
        ctx.add(join(where, "url_env"), f"${variable}: {e}")


DATABASE = Section("database", DatabaseSettings, (
    Key("url", "url", v.database_url),
    Key("url_env", None, v.env_name),
    Key("busy_timeout", "busy_timeout_s", v.duration()),
), _finish_database)


# [[feeds]] ----------------------------------------------------------------------------------------

FEED = Section("feeds", FeedSettings, (
    Key("name", "name", v.text, required=True),
    Key("url", "url", v.http_url, required=True),
    Key("interval", "interval_s", v.duration()),
    Key("tags", "tags", v.str_list()),
    Key("language", "language", v.language_code),
    Key("enabled", "enabled", v.boolean),
))


# [fetch] ------------------------------------------------------------------------------------------


def _finish_fetch(kwargs: dict[str, Any], raw: dict[str, Any], ctx: Context, where: str) -> None:
    try:
        current(kwargs, FetchSettings, "user_agent").format(version="0")
    except (KeyError, IndexError, ValueError):
        ctx.add(join(where, "user_agent"), "may contain only the placeholder {version} in braces")
    if current(kwargs, FetchSettings, "backoff_max_s") < current(kwargs, FetchSettings, "backoff_base_s"):
        ctx.add(join(where, "backoff_max"), "must not be less than backoff_base")
    # A lease shorter than a fetch lets a second instance claim a feed that is still being fetched.
    if current(kwargs, FetchSettings, "lease_s") < current(kwargs, FetchSettings, "total_timeout_s"):
        ctx.add(join(where, "lease"), "must not be less than timeout (the whole-fetch deadline)")


FETCH = Section("fetch", FetchSettings, (
    Key("default_interval", "default_interval_s", v.duration()),
    Key("connect_timeout", "connect_timeout_s", v.duration()),
    Key("read_timeout", "read_timeout_s", v.duration()),
    Key("timeout", "total_timeout_s", v.duration()),
    Key("max_bytes", "max_bytes", v.size),
    Key("max_redirects", "max_redirects", v.integer(0, 30)),
    Key("per_host_concurrency", "per_host_concurrency", v.integer(1, 100)),
    Key("concurrency", "concurrency", v.integer(1, 1000)),
    Key("user_agent", "user_agent", v.text),
    Key("allow_private_addresses", "allow_private_addresses", v.boolean),
    Key("backoff_base", "backoff_base_s", v.duration()),
    Key("backoff_max", "backoff_max_s", v.duration()),
    Key("lease", "lease_s", v.duration()),
), _finish_fetch)


# [classify] ---------------------------------------------------------------------------------------

THRESHOLDS = Section("classify.thresholds", dict, tuple(Key(label, label, v.fraction) for label in LABELS))

CLASSIFY = Section("classify", ClassifySettings, (
    Key("thresholds", "thresholds", section=THRESHOLDS),
    Key("default_threshold", "default_threshold", v.fraction),
    Key("languages", "languages", v.str_list(v.language_code)),
))


# [[ceasefires]] -----------------------------------------------------------------------------------


def _finish_ceasefire(kwargs: dict[str, Any], raw: dict[str, Any], ctx: Context, where: str) -> None:
    start, end = kwargs.get("start"), kwargs.get("end")
    if start and end and v.instant_key(end) < v.instant_key(start):
        ctx.add(join(where, "end"), f"{end} is before start {start}")


CEASEFIRE = Section("ceasefires", CeasefireSettings, (
    Key("name", "name", v.text, required=True),
    Key("parties", "parties", v.str_list()),
    Key("countries", "countries", v.str_list(v.country)),
    Key("regions", "regions", v.str_list()),
    Key("start", "start", v.instant),
    Key("end", "end", v.instant),
), _finish_ceasefire)


# [[alerts.targets]], [[alerts.rules]], [alerts] --------------------------------------------------


def _finish_target(kwargs: dict[str, Any], raw: dict[str, Any], ctx: Context, where: str) -> None:
    owner = f"target {kwargs['name']!r}" if "name" in kwargs else "this target"
    key = "url_env" if "url_env" in kwargs else "url"
    if "url" not in kwargs and "url_env" not in kwargs and "url" not in raw and "url_env" not in raw:
        ctx.add(where, "missing required key 'url' (or 'url_env')")
        return
    url = resolve_secret(kwargs, ctx, where, "url", owner=owner)
    if url is None:
        return
    try:
        kwargs["url"] = v.apprise_url(url)
    except v.Invalid as e:
        ctx.add(join(where, key), f"${raw['url_env']}: {e}" if key == "url_env" else str(e))


TARGET = Section("alerts.targets", TargetSettings, (
    Key("name", "name", v.text, required=True),
    Key("url", "url", v.text),
    Key("url_env", None, v.env_name),
    Key("tags", "tags", v.str_list()),
), _finish_target)


def _finish_quiet_hours(kwargs: dict[str, Any], raw: dict[str, Any], ctx: Context, where: str) -> None:
    if kwargs.get("start") is not None and kwargs.get("start") == kwargs.get("end"):
        ctx.add(join(where, "end"), "equals start; quiet hours need a window (e.g. 22:00 to 07:00)")


QUIET_HOURS = Section("alerts.rules.quiet_hours", QuietHours, (
    Key("start", "start", v.clock, required=True),
    Key("end", "end", v.clock, required=True),
    Key("timezone", "timezone", v.timezone_name),
    Key("override_severity", "override_severity", v.number(0, 10)),
), _finish_quiet_hours)


def _finish_rule(kwargs: dict[str, Any], raw: dict[str, Any], ctx: Context, where: str) -> None:
    if "name" not in raw:
        kwargs["name"] = where.rpartition(".")[2]  # "rules[2]": the rule is still identifiable in logs


RULE = Section("alerts.rules", RuleSettings, (
    Key("name", "name", v.text),
    Key("targets", "targets", v.str_list()),
    Key("countries", "countries", v.str_list(v.country)),
    Key("labels", "labels", v.str_list(v.label)),
    Key("min_score", "min_score", v.fraction),
    Key("min_severity", "min_severity", v.number(0, 10)),
    Key("min_sources", "min_sources", v.integer(1)),
    Key("ceasefire", "ceasefire", v.text),
    Key("quiet_hours", "quiet_hours", section=QUIET_HOURS, optional=True),
    Key("cooldown", "cooldown_s", v.duration(allow_zero=True)),
    Key("max_per_hour", "max_per_hour", v.integer(1)),
    Key("update_on", "update_on", v.str_list(v.choice(UPDATE_REASONS))),
    Key("digest_cron", "digest_cron", v.cron),
), _finish_rule)


def _finish_alerts(kwargs: dict[str, Any], raw: dict[str, Any], ctx: Context, where: str) -> None:
    if current(kwargs, AlertSettings, "retry_max_s") < current(kwargs, AlertSettings, "retry_base_s"):
        ctx.add(join(where, "retry_max"), "must not be less than retry_base")


ALERTS = Section("alerts", AlertSettings, (
    Key("targets", "targets", section=TARGET, array=True),
    Key("rules", "rules", section=RULE, array=True),
    Key("max_attempts", "max_attempts", v.integer(1)),
    Key("retry_base", "retry_base_s", v.duration()),
    Key("retry_max", "retry_max_s", v.duration()),
    Key("send_timeout", "send_timeout_s", v.duration()),
    Key("feed_down_after", "feed_down_after", v.integer(1)),
    Key("feed_health_targets", "feed_health_targets", v.str_list()),
), _finish_alerts)


# [api], [log], [daemon] ---------------------------------------------------------------------------


def _finish_api(kwargs: dict[str, Any], raw: dict[str, Any], ctx: Context, where: str) -> None:
    token = resolve_secret(kwargs, ctx, where, "token", owner="the API token")
    if token is not None:
        kwargs["token"] = token


API = Section("api", ApiSettings, (
    Key("bind", "bind", v.bind_address),
    Key("port", "port", v.integer(1, 65535)),
    Key("token", "token", v.text),
    Key("token_env", None, v.env_name),
    Key("cors_origins", "cors_origins", v.str_list(v.origin)),
    Key("enabled", "enabled", v.boolean),
), _finish_api)

LOG = Section("log", LogSettings, (
    Key("level", "level", v.choice(LOG_LEVELS, fold=str.upper)),
    Key("format", "format", v.choice(("text", "json"), fold=str.lower)),
))

DAEMON = Section("daemon", DaemonSettings, (
    Key("tick", "tick_s", v.duration()),
    Key("delivery", "delivery_s", v.duration()),
    Key("instance", "instance", v.text),
))


# The document ------------------------------------------------------------------------------------


def _finish_settings(kwargs: dict[str, Any], raw: dict[str, Any], ctx: Context, where: str) -> None:
    classify = kwargs.get("classify")
    languages = classify.languages if isinstance(classify, ClassifySettings) else ClassifySettings().languages
    if "feeds" not in raw:  # no [[feeds]] at all: the curated list, in the languages classified
        kwargs["feeds"] = tuple(f for f in ctx.default_feeds() if f.language in (None, *languages))
    check_references(raw, languages, ctx)
    kwargs["source"] = ctx.source


SETTINGS = Section("", Settings, (
    Key("database", "database", section=DATABASE),
    Key("feeds", "feeds", section=FEED, array=True),
    Key("fetch", "fetch", section=FETCH),
    Key("classify", "classify", section=CLASSIFY),
    Key("ceasefires", "ceasefires", section=CEASEFIRE, array=True),
    Key("alerts", "alerts", section=ALERTS),
    Key("api", "api", section=API),
    Key("log", "log", section=LOG),
    Key("daemon", "daemon", section=DAEMON),
), _finish_settings)

SECTIONS: tuple[Section, ...] = (SETTINGS, DATABASE, FEED, FETCH, CLASSIFY, THRESHOLDS, CEASEFIRE, ALERTS,
                                 TARGET, RULE, QUIET_HOURS, API, LOG, DAEMON)
