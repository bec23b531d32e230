"""The configuration file's grammar: every section and key, declared once (read by config_reader).

Each `Key` names a TOML key, the Settings field it fills and the parser that checks it; each `Section`
lists the keys of one table and the frozen dataclass it builds; `finish` hooks check keys against each
other. `build_table` (config_reader) applies them to a document and records every problem.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from monitor.config import values as v
from monitor.config.checks import check_references
from monitor.config.reader import Context, Key, Section, build_table, current, join, resolve_secret
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
    GazetteerSettings,
    LogSettings,
    QuietHours,
    RuleSettings,
    Settings,
    TargetSettings,
)

# The declarations, and the reader's names that config.loader takes from here.
__all__ = ["ALERTS", "API", "CEASEFIRE", "CLASSIFY", "DAEMON", "DATABASE", "DATABASE_URL_ENV", "FEED", "FETCH",
           "GAZETTEER", "LOG",
           "LOG_LEVELS", "QUIET_HOURS", "RULE", "SECTIONS", "SETTINGS", "TARGET", "THRESHOLDS", "UPDATE_REASONS",
           "Context", "Key", "Section", "build_table"]

# What may trigger an alert for a revised incident (the reasons a revision records, DESIGN §3).
UPDATE_REASONS = ("casualties", "ceasefire", "labels", "place", "sources")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
DATABASE_URL_ENV = "CEASEFIRE_MONITOR_DATABASE_URL"


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
    # A plain end date covers its whole day: "end = 2022-09-14" is not before a 20:00 start that day.
    if start and end and v.instant_key(end) + (timedelta(days=1) if "T" not in end else timedelta()) \
            < v.instant_key(start):
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
    if "digest_timezone" in raw and "digest_cron" not in raw:  # it would silently do nothing
        ctx.add(join(where, "digest_timezone"), "has no effect without digest_cron (the schedule it applies to)")


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
    Key("digest_timezone", "digest_timezone", v.timezone_name),
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
    Key("tiles", "tiles", v.tile_template),
    Key("tiles_attribution", "tiles_attribution", v.text),
    Key("public_url", "public_url", v.http_url),
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


# [gazetteer] --------------------------------------------------------------------------------------

LOCAL_INDEX_FILE = "gazetteer.sqlite"


def _finish_gazetteer(kwargs: dict[str, Any], raw: dict[str, Any], ctx: Context, where: str) -> None:
    from monitor.config.loader import state_dir  # the loader imports this module

    index = kwargs.get("index")
    if index is None:  # the local place index lives in the state directory
        kwargs["index"] = str((state_dir(ctx.env) / LOCAL_INDEX_FILE).absolute())
    elif isinstance(index, str):
        kwargs["index"] = str(Path(index).expanduser())
    url = kwargs.get("download_url")
    if isinstance(url, str) and not url.endswith("/"):
        kwargs["download_url"] = url + "/"


GAZETTEER = Section("gazetteer", GazetteerSettings, (
    Key("download_url", "download_url", v.http_url),
    Key("index", "index", v.text),
), _finish_gazetteer)


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
    Key("gazetteer", "gazetteer", section=GAZETTEER),
), _finish_settings)

SECTIONS: tuple[Section, ...] = (SETTINGS, DATABASE, FEED, FETCH, CLASSIFY, THRESHOLDS, CEASEFIRE, ALERTS,
                                 TARGET, RULE, QUIET_HOURS, API, LOG, DAEMON, GAZETTEER)
