"""monitor.config: finding, reading and checking the configuration; defaults; the example file."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from monitor.config.loader import (
    BUILTIN_SOURCE,
    default_feeds,
    describe_settings,
    ensure_state_dir,
    find_config_path,
    load_settings,
    settings_secrets,
    state_dir,
)
from monitor.config.schema import SECTIONS, SETTINGS
from monitor.errors import ConfigError
from monitor.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "config.example.toml"

SLACK_URL = "slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ/#desk"
EMAIL_PASSWORD = "Sup3rSecretPw"
EMAIL_URL = f"mailtos://alerts:{EMAIL_PASSWORD}@smtp.example.org:587?from=alerts@example.org&to=desk@example.org"
API_TOKEN = "tok-4f8a9c2e1b7d"
EXAMPLE_ENV = {"DESK_SLACK_URL": SLACK_URL, "DESK_EMAIL_URL": EMAIL_URL,
               "CEASEFIRE_MONITOR_API_TOKEN": API_TOKEN}

MINIMAL = """\
[database]
url = "sqlite:////var/lib/ceasefire-monitor/monitor.db"   # or postgresql+psycopg://…

[[feeds]]
name = "OC Media"
url = "https://oc-media.org/feed/"

[[alerts.targets]]
name = "desk-slack"
url_env = "DESK_SLACK_URL"        # or url = "slack://…", "mailtos://…", "json://127.0.0.1:9000/hook"

[api]
bind = "127.0.0.1"
port = 8080
"""


@pytest.fixture(autouse=True)
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Relative file names keep the expected messages short: "config.toml: …".
    monkeypatch.chdir(tmp_path)


def load(text: str, env: dict[str, str] | None = None) -> Settings:
    Path("config.toml").write_text(text, encoding="utf-8")
    return load_settings("config.toml", env or {})


def problems(text: str, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load(text, env)
    return info.value.problems


# Finding the file ------------------------------------------------------------------------------


def test_the_command_line_path_wins_over_the_environment() -> None:
    env = {"CEASEFIRE_MONITOR_CONFIG": "/etc/from-env.toml"}
    assert find_config_path("cli.toml", env) == Path("cli.toml")
    assert find_config_path(None, env) == Path("/etc/from-env.toml")


def test_no_path_anywhere_means_built_in_defaults() -> None:
    assert find_config_path(None, {}) is None
    assert find_config_path(None, {"CEASEFIRE_MONITOR_CONFIG": "  "}) is None


# File-level problems ---------------------------------------------------------------------------


def test_a_missing_file_is_one_problem_naming_it() -> None:
    with pytest.raises(ConfigError) as info:
        load_settings("nope.toml", {})
    assert info.value.problems == ["nope.toml: file not found"]


def test_a_directory_is_not_a_config_file(tmp_path: Path) -> None:
    (tmp_path / "conf.d").mkdir()
    with pytest.raises(ConfigError) as info:
        load_settings("conf.d", {})
    assert info.value.problems == ["conf.d: is a directory, not a file"]


def test_invalid_toml_names_the_line() -> None:
    assert problems('[api]\nport = 8080\nbind = \n') == [
        "config.toml: line 3: invalid TOML: Invalid value (column 8)"]


def test_a_file_that_is_not_utf8_names_the_line() -> None:
    Path("config.toml").write_bytes(b'[api]\nbind = "caf\xe9"\n')
    with pytest.raises(ConfigError) as info:
        load_settings("config.toml", {})
    assert info.value.problems == ["config.toml: line 2: not valid UTF-8 text"]


# Unknown keys ------------------------------------------------------------------------------------


def test_unknown_keys_are_errors_with_a_suggestion_at_every_level() -> None:
    found = problems("""
feed = []
[fetch]
timout = 5
[[feeds]]
name = "a"
urll = "https://a.example/feed"
[alerts]
max_atempts = 3
[[alerts.rules]]
[alerts.rules.quiet_hours]
start = "22:00"
end = "07:00"
time_zone = "UTC"
[classify.thresholds]
shellng = 0.4
""")
    assert sorted(found) == sorted([
        "config.toml: feed: unknown key (did you mean 'feeds'?)",
        "config.toml: feeds[0].urll: unknown key (did you mean 'url'?)",
        "config.toml: feeds[0]: missing required key 'url'",
        "config.toml: fetch.timout: unknown key (did you mean 'timeout'?)",
        "config.toml: classify.thresholds.shellng: unknown key (did you mean 'shelling'?)",
        "config.toml: alerts.rules[0].quiet_hours.time_zone: unknown key (did you mean 'timezone'?)",
        "config.toml: alerts.max_atempts: unknown key (did you mean 'max_attempts'?)",
    ])


def test_an_unknown_key_far_from_any_known_one_gets_no_suggestion() -> None:
    assert problems("[api]\nzzz = 1\n") == ["config.toml: api.zzz: unknown key"]


# Values --------------------------------------------------------------------------------------------


def test_a_feed_url_must_be_http() -> None:
    assert problems('[[feeds]]\nname = "x"\nurl = "htp://x"\n') == [
        "config.toml: feeds[0].url: 'htp://x' is not an http(s) URL"]


@pytest.mark.parametrize(("text", "expected"), [
    ('[api]\nport = "8080"', "api.port: expected an integer, got a string"),
    ("[api]\nport = 8080.0", "api.port: expected an integer, got a float"),
    ("[api]\nport = 0", "api.port: 0 is out of range (1–65535)"),
    ("[api]\nport = 70000", "api.port: 70000 is out of range (1–65535)"),
    ('[api]\nenabled = "yes"', "api.enabled: expected true or false, got a string"),
    ("[alerts]\nmax_attempts = true", "alerts.max_attempts: expected an integer, got a boolean"),
    ("[classify]\ndefault_threshold = 1.5", "classify.default_threshold: 1.5 is out of range (0.0–1.0)"),
    ('[classify]\nlanguages = "en"', "classify.languages: expected an array of strings, got a string"),
    ('[classify]\nlanguages = ["en", 3]', "classify.languages: item 1: expected a string, got an integer"),
    ("[fetch]\ntimeout = 0", "fetch.timeout: 0 must be more than zero"),
    ('[fetch]\ntimeout = "-5s"', "fetch.timeout: '-5s': expected seconds or a duration such as \"90s\", "
     "\"15m\", \"2h\", \"1d\""),
    ('[fetch]\ntimeout = "5 minutes"', "fetch.timeout: '5 minutes': expected seconds or a duration such as "
     "\"90s\", \"15m\", \"2h\", \"1d\""),
    ('[fetch]\nmax_bytes = "10 parsecs"', "fetch.max_bytes: '10 parsecs': expected bytes or a size such as "
     "\"512KiB\", \"10MB\""),
    ('[fetch]\nuser_agent = "bot/{ver}"',
     "fetch.user_agent: may contain only the placeholder {version} in braces"),
    ('[fetch]\nbackoff_base = "2h"\nbackoff_max = "1h"',
     "fetch.backoff_max: must not be less than backoff_base"),
    ('[log]\nlevel = "verbose"', "log.level: 'verbose' is not one of CRITICAL, DEBUG, ERROR, INFO, WARNING"),
    ('[log]\nformat = "jsn"', "log.format: 'jsn' is not one of json, text (did you mean 'json'?)"),
    ('[api]\nbind = "not an address"', "api.bind: 'not an address' is not an IP address or host name"),
    ('[api]\ncors_origins = ["https://a.org/path"]', "api.cors_origins: item 0: 'https://a.org/path' is not "
     "an origin (\"*\" or scheme://host[:port], without a path)"),
    ('[database]\nurl = "sqlite://relative.db"', "database.url: 'sqlite://relative.db' is not a supported "
     "database URL (use sqlite:////absolute/path.db or postgresql+psycopg://user@host/dbname)"),
])
def test_wrong_types_and_ranges_are_named_by_key(text: str, expected: str) -> None:
    assert problems(text) == [f"config.toml: {expected}"]


@pytest.mark.parametrize(("written", "seconds"), [
    (45, 45.0), (2.5, 2.5), ('"90s"', 90.0), ('"15m"', 900.0), ('"2h"', 7200.0), ('"1d"', 86400.0),
    ('"1h30m"', 5400.0), ('"1H"', 3600.0),
])
def test_durations_are_seconds_or_strings_with_units(written: object, seconds: float) -> None:
    assert load(f"feeds = []\n[daemon]\ntick = {written}\n").daemon.tick_s == seconds


def test_sizes_accept_units() -> None:
    assert load('[fetch]\nmax_bytes = "512KiB"').fetch.max_bytes == 512 * 1024
    assert load("[fetch]\nmax_bytes = 1000").fetch.max_bytes == 1000


def test_keys_map_to_their_settings_fields() -> None:
    settings = load("""
[fetch]
timeout = "2m"
default_interval = "5m"
[[feeds]]
name = "a"
url = "https://a.example/feed"
interval = "1m"
language = "RU"
[[alerts.rules]]
cooldown = "15m"
labels = ["shelling"]
countries = ["am", "AZ"]
[log]
level = "debug"
""")
    assert settings.fetch.total_timeout_s == 120.0
    assert settings.fetch.default_interval_s == 300.0
    assert settings.feeds[0].interval_s == 60.0
    assert settings.feeds[0].language == "ru"
    rule = settings.alerts.rules[0]
    assert (rule.name, rule.cooldown_s, rule.labels, rule.countries) == ("rules[0]", 900.0, ("shelling",),
                                                                         ("AM", "AZ"))
    assert settings.log.level == "DEBUG"
    assert settings.source == "config.toml"


def test_every_problem_is_collected_not_just_the_first() -> None:
    found = problems("""
[api]
port = 0
[log]
format = "xml"
[[feeds]]
name = "a"
url = "ftp://a"
""")
    assert len(found) == 3
    assert all(p.startswith("config.toml: ") and "\n" not in p for p in found)


@pytest.mark.parametrize(("text", "expected"), [
    ('[[ceasefires]]\nname = "c"\ncountries = ["Armenia"]',
     "ceasefires[0].countries: item 0: 'Armenia' is a country name; use its ISO code 'AM'"),
    ('[[ceasefires]]\nname = "c"\ncountries = ["XX"]',
     "ceasefires[0].countries: item 0: 'XX' is not an ISO 3166-1 alpha-2 country code "
     "(e.g. \"AM\", \"AZ\", \"UA\")"),
    ('[[ceasefires]]\nname = "c"\nstart = "2022-09-31"',
     "ceasefires[0].start: '2022-09-31' is not an ISO 8601 date or date-time "
     "(e.g. \"2022-09-14\" or \"2022-09-14T20:00:00Z\")"),
    ('[[ceasefires]]\nname = "c"\nstart = 2022-09-14\nend = 2022-09-01',
     "ceasefires[0].end: 2022-09-01 is before start 2022-09-14"),
    ('[[ceasefires]]\nparties = ["AM"]', "ceasefires[0]: missing required key 'name'"),
    ('[[alerts.rules]]\nlabels = ["sheling"]',
     "alerts.rules[0].labels: item 0: 'sheling' is not one of air_strike, armed_clash, ceasefire_violation, "
     "shelling (did you mean 'shelling'?)"),
    ('[[alerts.rules]]\ndigest_cron = "0 25 * * *"',
     "alerts.rules[0].digest_cron: '0 25 * * *' is not a valid cron expression: Error validating "
     "expression '25': the last value (25) is higher than the maximum value (23)"),
    ('[[alerts.rules]]\nupdate_on = ["casualty"]',
     "alerts.rules[0].update_on: item 0: 'casualty' is not one of casualties, "
     "ceasefire, labels, place, sources (did you mean 'casualties'?)"),
    ('[[alerts.rules]]\nmin_sources = 0', "alerts.rules[0].min_sources: 0 must be at least 1"),
    ('[[alerts.rules]]\nquiet_hours = { start = "22:00", end = "7:00" }',
     "alerts.rules[0].quiet_hours.end: '7:00' is not a time of day HH:MM (24-hour, e.g. \"22:00\")"),
    ('[[alerts.rules]]\nquiet_hours = { start = "22:00", end = "22:00" }',
     "alerts.rules[0].quiet_hours.end: equals start; quiet hours need a window (e.g. 22:00 to 07:00)"),
    ('[[alerts.rules]]\nquiet_hours = { start = "22:00", end = "06:00", timezone = "Mars/Olympus" }',
     "alerts.rules[0].quiet_hours.timezone: 'Mars/Olympus' is not a known time zone "
     "(e.g. \"UTC\", \"Asia/Yerevan\")"),
    ('[[alerts.rules]]\nquiet_hours = { start = "22:00", end = "06:00", timezone = "asia/yerevan" }',
     "alerts.rules[0].quiet_hours.timezone: 'asia/yerevan' is not a known time zone (did you mean 'Asia/Yerevan'?)"),
    ('[[alerts.rules]]\ndigest_cron = "0 6 * * *"\ndigest_timezone = "Europe/Kyev"',
     "alerts.rules[0].digest_timezone: 'Europe/Kyev' is not a known time zone (did you mean 'Europe/Kyiv'?)"),
    ('[[alerts.rules]]\ndigest_cron = "0 6 * * *"\ndigest_timezone = "Yerevan"',
     "alerts.rules[0].digest_timezone: 'Yerevan' is not a known time zone (did you mean 'Asia/Yerevan'?)"),
    ('[[alerts.rules]]\ndigest_cron = "0 6 * * *"\ndigest_timezone = "Mars/Olympus"',
     "alerts.rules[0].digest_timezone: 'Mars/Olympus' is not a known time zone (e.g. \"UTC\", \"Asia/Yerevan\")"),
    ('[[alerts.rules]]\ndigest_cron = "0 6 * * *"\ndigest_timezone = 4',
     "alerts.rules[0].digest_timezone: expected a string, got an integer"),
    ('[[alerts.rules]]\ndigest_timezone = "Europe/Kyiv"',
     "alerts.rules[0].digest_timezone: has no effect without digest_cron (the schedule it applies to)"),
    ('[[alerts.rules]]\ndigest_cron = "0 6 * * 8"',
     "alerts.rules[0].digest_cron: '0 6 * * 8' is not a valid cron expression: day of week '8' is not valid "
     "(0-7, where 0 and 7 are Sunday)"),
    ('[[alerts.rules]]\nmin_score = 1.5', "alerts.rules[0].min_score: 1.5 is out of range (0.0–1.0)"),
    ('[[alerts.rules]]\nmin_score = "high"', "alerts.rules[0].min_score: expected a number, got a string"),
    ('[api]\ntiles = "https://tile.example.org/{z}/{x}.png"',
     "api.tiles: 'https://tile.example.org/{z}/{x}.png' is not a tile URL template with {z}, {x} and {y} "
     "(e.g. \"https://tile.example.org/{z}/{x}/{y}.png\")"),
    ('[api]\ntiles = "ftp://tile.example.org/{z}/{x}/{y}.png"',
     "api.tiles: 'ftp://tile.example.org/{z}/{x}/{y}.png' is not an http(s) URL"),
    ("[api]\ntiles = \"https://tile.example.org/{z}/{x}/{y}.png'; script-src *\"",
     "api.tiles: \"https://tile.example.org/{z}/{x}/{y}.png'; script-src *\" is not an http(s) URL"),
    ('[api]\ntiles = "https://tile{s}.example.org/{z}/{x}/{y}.png"',
     "api.tiles: 'https://tile{s}.example.org/{z}/{x}/{y}.png': {s} may only stand for the first part of the host "
     "({s}.tile.example.org)"),
    ('[api]\npublic_url = "desk.example.org"', "api.public_url: 'desk.example.org' is not an http(s) URL"),
    ("feeds = {}", "feeds: expected an array of tables ([[feeds]]), got a table"),
    ('database = "sqlite:///x"', "database: expected a table, got a string"),
])
def test_domain_values_are_checked(text: str, expected: str) -> None:
    assert problems(text) == [f"config.toml: {expected}"]


def test_ceasefire_times_are_normalised_to_utc() -> None:
    settings = load("""
[[ceasefires]]
name = "AM-AZ 2022"
start = 2022-09-14T20:00:00+04:00
end = "2022-09-20"
[[ceasefires]]
name = "naive"
start = "2022-09-14T20:00:00"
""")
    first = settings.ceasefires[0]
    assert (first.start, first.end) == ("2022-09-14T16:00:00Z", "2022-09-20")
    assert settings.ceasefires[1].start == "2022-09-14T20:00:00Z"


# Cross-references ------------------------------------------------------------------------------


def test_names_and_urls_must_be_unique() -> None:
    found = problems("""
[[feeds]]
name = "a"
url = "https://a.example/feed"
[[feeds]]
name = "a"
url = "https://a.example/feed"
[[alerts.targets]]
name = "hook"
url = "json://127.0.0.1:9000/hook"
[[alerts.targets]]
name = "hook"
url = "json://127.0.0.1:9001/hook"
""")
    assert found == [
        "config.toml: feeds[1].name: 'a' is already used by feeds[0]",
        "config.toml: feeds[1].url: 'https://a.example/feed' is already used by feeds[0]",
        "config.toml: alerts.targets[1].name: 'hook' is already used by alerts.targets[0]",
    ]


def test_rule_targets_must_name_a_target_or_a_tag() -> None:
    base = '[[alerts.targets]]\nname = "ops-hook"\nurl = "json://127.0.0.1:9000/hook"\ntags = ["ops"]\n'
    assert load(base + '[[alerts.rules]]\ntargets = ["ops", "ops-hook"]\n').alerts.rules[0].targets == (
        "ops", "ops-hook")
    assert problems(base + '[[alerts.rules]]\ntargets = ["ops-hok"]\n') == [
        "config.toml: alerts.rules[0].targets: 'ops-hok' is neither a target name nor a target tag "
        "(did you mean 'ops-hook'?)"]
    assert problems('[[alerts.rules]]\ntargets = ["desk"]\n') == [
        "config.toml: alerts.rules[0].targets: 'desk' names no target: no [[alerts.targets]] are configured"]


def test_a_rule_naming_a_target_with_its_own_problem_gets_no_second_problem() -> None:
    found = problems('[[alerts.targets]]\nname = "desk"\nurl_env = "UNSET_VAR"\n'
                     '[[alerts.rules]]\ntargets = ["desk"]\n')
    assert len(found) == 1 and "UNSET_VAR" in found[0]


def test_a_rule_ceasefire_must_be_declared() -> None:
    assert problems('[[ceasefires]]\nname = "AM-AZ 2022"\n[[alerts.rules]]\nceasefire = "AM-AZ 2020"\n') == [
        "config.toml: alerts.rules[0].ceasefire: 'AM-AZ 2020' is not the name of a [[ceasefires]] entry "
        "(did you mean 'AM-AZ 2022'?)"]


def test_a_feed_language_must_be_classified() -> None:
    assert problems('[classify]\nlanguages = ["en"]\n[[feeds]]\nname = "a"\nurl = "https://a.example/"\n'
                    'language = "ru"\n') == [
        "config.toml: feeds[0].language: 'ru' is not among classify.languages (en)"]


# Environment and secrets --------------------------------------------------------------------------


def test_the_minimal_file_of_the_design_loads() -> None:
    settings = load(MINIMAL, {"DESK_SLACK_URL": SLACK_URL})
    assert settings.database.url == "sqlite:////var/lib/ceasefire-monitor/monitor.db"
    assert [(f.name, f.url) for f in settings.feeds] == [("OC Media", "https://oc-media.org/feed/")]
    assert [(t.name, t.url) for t in settings.alerts.targets] == [("desk-slack", SLACK_URL)]
    assert (settings.api.bind, settings.api.port) == ("127.0.0.1", 8080)


def test_url_env_names_target_and_variable_when_unset() -> None:
    assert problems(MINIMAL) == [
        "config.toml: alerts.targets[0].url_env: environment variable DESK_SLACK_URL is not set "
        "(target 'desk-slack'; or set DESK_SLACK_URL_FILE to a file holding it)"]


def test_url_env_reads_a_docker_secret_file(tmp_path: Path) -> None:
    secret = tmp_path / "slack_url"
    secret.write_text(SLACK_URL + "\n", encoding="utf-8")
    settings = load(MINIMAL, {"DESK_SLACK_URL_FILE": str(secret)})
    assert settings.alerts.targets[0].url == SLACK_URL
    found = problems(MINIMAL, {"DESK_SLACK_URL_FILE": str(tmp_path / "missing")})
    assert found == [f"config.toml: alerts.targets[0].url_env: $DESK_SLACK_URL_FILE: cannot read "
                     f"{tmp_path / 'missing'}: No such file or directory"]


def test_a_target_needs_exactly_one_of_url_and_url_env() -> None:
    assert problems('[[alerts.targets]]\nname = "t"\n') == [
        "config.toml: alerts.targets[0]: missing required key 'url' (or 'url_env')"]
    assert problems('[[alerts.targets]]\nname = "t"\nurl = "json://127.0.0.1/x"\nurl_env = "X"\n',
                    {"X": "json://127.0.0.1/y"}) == [
        "config.toml: alerts.targets[0]: set either 'url' or 'url_env', not both"]


def test_secrets_never_appear_in_problems() -> None:
    token = "xoxbSECRETTOKEN1234567"
    text = f"""
[database]
url = "mysql://monitor:{EMAIL_PASSWORD}@db.example.org/monitor"
[[alerts.targets]]
name = "bad-inline"
url = "slack://{token}"
[[alerts.targets]]
name = "bad-env"
url_env = "BAD_URL"
[[alerts.targets]]
name = "unknown-service"
url = "slakc://{token}/{token}"
"""
    with pytest.raises(ConfigError) as info:
        load(text, {"BAD_URL": f"tgram://{token}", "CEASEFIRE_MONITOR_API_TOKEN": API_TOKEN})
    assert len(info.value.problems) == 4
    shown = "\n".join(info.value.problems) + str(info.value)
    for secret in (token, EMAIL_PASSWORD):
        assert secret not in shown
    assert "config.toml: alerts.targets[0].url: invalid apprise URL slack://***" in shown
    assert "config.toml: alerts.targets[1].url_env: $BAD_URL: invalid apprise URL tgram://***" in shown
    assert "config.toml: alerts.targets[2].url: unsupported apprise URL scheme in slakc://***" in shown
    assert "'mysql://***@db.example.org/***' is not a supported database URL" in shown


def test_the_database_url_from_the_environment_overrides_the_file() -> None:
    env = {"CEASEFIRE_MONITOR_DATABASE_URL": f"postgresql://monitor:{EMAIL_PASSWORD}@db:5432/monitor"}
    settings = load(MINIMAL, env | {"DESK_SLACK_URL": SLACK_URL})
    assert settings.database.url == f"postgresql+psycopg://monitor:{EMAIL_PASSWORD}@db:5432/monitor"


def test_a_bad_database_url_in_the_environment_names_the_variable_not_the_password() -> None:
    env = {"CEASEFIRE_MONITOR_DATABASE_URL": f"mysql://monitor:{EMAIL_PASSWORD}@db.example.org/x"}
    found = problems("feeds = []", env)
    assert found == ["$CEASEFIRE_MONITOR_DATABASE_URL: 'mysql://***@db.example.org/***' is not a supported "
                     "database URL (use sqlite:////absolute/path.db or postgresql+psycopg://user@host/dbname)"]


@pytest.mark.parametrize(("url", "expected"), [
    ("sqlite:////var/lib/m.db", "sqlite:////var/lib/m.db"),
    ("postgresql://u@h/db", "postgresql+psycopg://u@h/db"),
    ("postgres://u@h/db", "postgresql+psycopg://u@h/db"),
    ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
])
def test_database_urls_are_normalised_to_their_driver(url: str, expected: str) -> None:
    assert load(f'[database]\nurl = "{url}"').database.url == expected


def test_the_database_url_may_come_from_a_named_variable() -> None:
    settings = load('[database]\nurl_env = "PG"', {"PG": "postgresql://u:pw@h/db"})
    assert settings.database.url == "postgresql+psycopg://u:pw@h/db"


def test_the_api_token_comes_from_token_env() -> None:
    assert load('[api]\ntoken_env = "TOKEN"', {"TOKEN": API_TOKEN}).api.token == API_TOKEN
    assert problems('[api]\ntoken_env = "TOKEN"') == [
        "config.toml: api.token_env: environment variable TOKEN is not set (the API token; "
        "or set TOKEN_FILE to a file holding it)"]


# Defaults ------------------------------------------------------------------------------------------


def test_state_dir_prefers_systemd_then_xdg_then_home() -> None:
    assert state_dir({"STATE_DIRECTORY": "/var/lib/cm:/var/lib/other", "XDG_STATE_HOME": "/x"}) == Path(
        "/var/lib/cm")
    assert state_dir({"XDG_STATE_HOME": "/xdg", "HOME": "/home/u"}) == Path("/xdg/ceasefire-monitor")
    assert state_dir({"XDG_STATE_HOME": "relative", "HOME": "/home/u"}) == Path(
        "/home/u/.local/state/ceasefire-monitor")
    assert state_dir({"HOME": "/home/u"}) == Path("/home/u/.local/state/ceasefire-monitor")


def test_built_in_defaults_use_sqlite_in_the_state_dir_without_creating_it(tmp_path: Path) -> None:
    state = tmp_path / "state"
    settings = load_settings(None, {"STATE_DIRECTORY": str(state)})
    assert settings.database.url == f"sqlite:///{state}/monitor.db"
    assert not state.exists()
    assert settings.source == BUILTIN_SOURCE
    assert settings.alerts.targets == () and settings.alerts.rules == ()
    assert (settings.api.bind, settings.api.port) == ("127.0.0.1", 8080)
    assert settings.feeds == default_feeds()
    assert ensure_state_dir(settings) == state
    assert state.is_dir()


def test_the_default_feeds_are_a_curated_list_in_english_and_russian() -> None:
    feeds = default_feeds()
    assert 10 <= len(feeds) <= 20
    assert {f.language for f in feeds} == {"en", "ru"}
    assert len({f.name for f in feeds}) == len({f.url for f in feeds}) == len(feeds)
    assert all(f.url.startswith("https://") and f.tags for f in feeds)


def test_a_file_without_feeds_gets_the_defaults_in_its_languages() -> None:
    assert load("[api]\nport = 9000\n").feeds == default_feeds()
    assert load("feeds = []\n").feeds == ()
    english = load('[classify]\nlanguages = ["en"]\n').feeds
    assert english and all(f.language == "en" for f in english)


def test_no_database_section_means_sqlite_in_the_state_dir(tmp_path: Path) -> None:
    settings = load("feeds = []", {"STATE_DIRECTORY": str(tmp_path)})
    assert settings.database.url == f"sqlite:///{tmp_path}/monitor.db"


# The example file and the docs ---------------------------------------------------------------------


def test_the_example_file_loads_without_problems() -> None:
    settings = load_settings(EXAMPLE, EXAMPLE_ENV)
    assert [t.name for t in settings.alerts.targets] == ["desk-slack", "desk-email", "ops-hook"]
    assert settings.alerts.targets[0].url == SLACK_URL
    ceasefire = settings.ceasefires[0]
    assert ceasefire.countries == ("AM", "AZ")
    assert (ceasefire.start, ceasefire.end) == ("2022-09-14T16:00:00Z", None)
    rule = settings.alerts.rules[0]
    assert rule.quiet_hours is not None and rule.quiet_hours.timezone == "Asia/Yerevan"
    assert (rule.min_score, rule.digest_cron, rule.digest_timezone) == (0.6, "0 6 * * *", "Asia/Yerevan")
    assert settings.alerts.rules[1].digest_timezone == "UTC"  # the default
    assert settings.api.token == API_TOKEN


def test_describe_settings_redacts_every_secret() -> None:
    settings = load_settings(EXAMPLE, EXAMPLE_ENV)
    summary = describe_settings(settings)
    for secret in (SLACK_URL, "T1JJ3T3L2", EMAIL_PASSWORD, API_TOKEN):
        assert secret not in summary
    assert "desk-slack: slack://***" in summary
    assert "desk-email: mailtos://***@smtp.example.org:587/***" in summary
    assert "feeds: 3 enabled, 1 disabled" in summary
    assert "token set" in summary


def test_settings_secrets_lists_what_logs_must_hide() -> None:
    settings = load_settings(EXAMPLE, EXAMPLE_ENV)
    assert set(settings_secrets(settings)) == {SLACK_URL, EMAIL_URL, "json://127.0.0.1:9000/hook", API_TOKEN}


def _example_blocks() -> dict[str, str]:
    """The example file's text per table header ("alerts.rules" …), commented-out keys included."""
    blocks: dict[str, str] = {"": ""}
    header = ""
    for line in EXAMPLE.read_text(encoding="utf-8").splitlines():
        match = re.match(r"\s*\[\[?\s*([\w.]+)\s*\]\]?", line)
        if match:
            header = match.group(1)
            blocks.setdefault(header, "")
        else:
            blocks[header] += line + "\n"
    return blocks


def test_every_settings_field_is_a_documented_key_of_the_example() -> None:
    blocks = _example_blocks()
    missing = []
    for section in SECTIONS:
        if not dataclasses.is_dataclass(section.cls):
            continue  # classify.thresholds: keyed by label, checked below
        keys = {key.field: key for key in section.keys}
        for field in dataclasses.fields(section.cls):
            if section is SETTINGS and field.name == "source":
                continue  # set by the loader: the file the settings came from
            key = keys.get(field.name)
            if key is None:
                missing.append(f"{section.path or '<top>'}: field {field.name} has no key")
            elif key.section is not None:
                if key.section.path not in blocks:
                    missing.append(f"[{key.section.path}] is not in the example")
            elif not re.search(rf"^\s*#?\s*{key.name}\s*=", blocks.get(section.path, ""), re.MULTILINE):
                missing.append(f"{section.path}.{key.name} is not in the example")
    assert missing == []


def test_every_key_of_the_example_has_a_comment() -> None:
    blocks = _example_blocks()
    undocumented = []
    for section in SECTIONS:
        for key in section.keys:
            if key.section is not None:
                continue
            text = blocks.get(section.path, "")
            lines = [m for m in re.finditer(rf"^\s*#?\s*{key.name}\s*=.*#.*$", text, re.MULTILINE)]
            if not lines:
                undocumented.append(f"{section.path}.{key.name}")
    assert undocumented == []


def test_a_plain_end_date_covers_its_whole_day() -> None:
    # a truce from 20:00 to the end of the same day is a valid period; an end the day before is not
    settings = load('[[ceasefires]]\nname = "one evening"\nstart = 2022-09-14T20:00:00+04:00\nend = 2022-09-14\n')
    assert settings.ceasefires[0].end == "2022-09-14"
    assert problems('[[ceasefires]]\nname = "c"\nstart = 2022-09-14T20:00:00+04:00\nend = 2022-09-13\n') == [
        "config.toml: ceasefires[0].end: 2022-09-13 is before start 2022-09-14T16:00:00Z"]


def test_the_desk_keys_of_api_are_read() -> None:
    settings = load('[api]\ntiles = "https://{s}.tile.example.org/{z}/{x}/{y}.png"\n'
                                  'public_url = "https://desk.example.org/monitor"\n')
    assert settings.api.tiles == "https://{s}.tile.example.org/{z}/{x}/{y}.png"
    assert settings.api.public_url == "https://desk.example.org/monitor"
    assert load("").api.tiles is None
