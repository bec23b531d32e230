"""Query parameters shared by the CLI and the API: parsing and validation into an IncidentFilter."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta

from monitor.errors import InputError
from monitor.models import LABELS
from monitor.store.queries import IncidentFilter

_SPAN = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$")
_UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 604800}
DEFAULT_LIMIT = 50
MAX_LIMIT = 10_000


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


def parse_filter(params: Mapping[str, str | None], *, now: datetime | None = None,
                 all_rows: bool = False) -> IncidentFilter:
    known = {"since", "until", "country", "label", "limit"}
    unknown = sorted(k for k in params if k not in known and params[k] is not None)
    if unknown:
        raise InputError(f"{unknown[0]}: unknown parameter (known: {', '.join(sorted(known))})")
    since_raw, until_raw = params.get("since"), params.get("until")
    since = parse_when(since_raw, "since", now=now) if since_raw else None
    until = parse_when(until_raw, "until", now=now) if until_raw else None
    country = params.get("country")
    if country is not None:
        country = country.strip().upper()
        if not re.fullmatch(r"[A-Z]{2}", country):
            raise InputError(f"country: {params['country']!r} is not an ISO 3166-1 alpha-2 code such as AM")
    label = params.get("label")
    if label is not None and label not in LABELS:
        raise InputError(f"label: {label!r} is not one of {', '.join(LABELS)}")
    limit: int | None = DEFAULT_LIMIT
    if params.get("limit") is not None:
        try:
            limit = int(str(params["limit"]))
        except ValueError:
            raise InputError(f"limit: {params['limit']!r} is not a whole number") from None
        if not 1 <= limit <= MAX_LIMIT:
            raise InputError(f"limit: must be between 1 and {MAX_LIMIT}")
    return IncidentFilter(since=since, until=until, country=country or None, label=label,
                          limit=None if all_rows else limit)
