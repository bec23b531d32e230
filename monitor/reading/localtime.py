"""The local time of an incident place, for dates "in the place's local sense".

A report published at 22:51 UTC on Friday from Baku is Saturday morning there: "on Saturday" and
"overnight" are read in local time. The place's time zone is the IANA zone of its country whose
reference point (zone.tab of the tz database) is nearest to it, so DST and the zones of large
countries are right. The tz database comes from the `tzdata` package (so a slim container without
/usr/share/zoneinfo has it too), else from the system. Without either, or for a country the table
lacks, the offset is the place's longitude / 15 hours: mean solar time, right within an hour or so.
"""

from __future__ import annotations

import functools
import math
import re
from datetime import datetime, timedelta, tzinfo
from importlib import resources
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_COORDS = re.compile(r"^([+-])(\d{2})(\d{2})(\d{2})?([+-])(\d{3})(\d{2})(\d{2})?$")
_SYSTEM_TABLE = Path("/usr/share/zoneinfo/zone.tab")


def local_time(utc: datetime, country: str | None, lat: float | None, lon: float | None) -> datetime:
    """`utc` (an aware or UTC-naive date-time) as the wall-clock time of the place."""
    if lon is None:
        return utc
    zone = zone_of(country, lat, lon)
    if zone is not None:
        aware = utc if utc.tzinfo else utc.replace(tzinfo=ZoneInfo("UTC"))
        return aware.astimezone(zone).replace(tzinfo=None)
    return utc.replace(tzinfo=None) + timedelta(hours=round(lon / 15))


def zone_of(country: str | None, lat: float | None, lon: float | None) -> tzinfo | None:
    """The time zone of a place: its country's zone nearest to it, or None when unknown."""
    if country is None or lat is None or lon is None:
        return None
    return _nearest_zone(country.upper(), lat, lon)


@functools.lru_cache(maxsize=4096)
def _nearest_zone(country: str, lat: float, lon: float) -> tzinfo | None:
    """zone_of for a place (remembered: reports of a conflict name the same few places again and again)."""
    zones = _zone_table().get(country)
    if not zones:
        return None
    name = min(zones, key=lambda z: _degrees(lat, lon, z[1], z[2]))[0] if len(zones) > 1 else zones[0][0]
    return _zone(name)


@functools.lru_cache(maxsize=256)
def _zone(name: str) -> tzinfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _degrees(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """A distance good enough to rank zones of one country (degrees, longitude scaled by latitude)."""
    return math.hypot(lat1 - lat2, (lon1 - lon2) * math.cos(math.radians((lat1 + lat2) / 2)))


@functools.lru_cache(maxsize=1)
def _zone_table() -> dict[str, list[tuple[str, float, float]]]:
    """Country code -> [(zone, lat, lon)] from zone.tab; empty when no tz database is installed."""
    text = _read_table()
    table: dict[str, list[tuple[str, float, float]]] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) < 3:
            continue
        point = parse_iso6709(fields[1])
        if point is not None:
            table.setdefault(fields[0], []).append((fields[2], *point))
    return table


def _read_table() -> str:
    try:
        return (resources.files("tzdata") / "zoneinfo" / "zone.tab").read_text(encoding="utf-8")
    except (ModuleNotFoundError, OSError):
        pass
    try:
        return _SYSTEM_TABLE.read_text(encoding="utf-8")
    except OSError:
        return ""


def parse_iso6709(text: str) -> tuple[float, float] | None:
    """"+4023+04951" -> (40.383, 49.85); "+404251-0740023" with seconds; None when malformed."""
    m = _COORDS.match(text)
    if m is None:
        return None
    lat = int(m[2]) + int(m[3]) / 60 + int(m[4] or 0) / 3600
    lon = int(m[6]) + int(m[7]) / 60 + int(m[8] or 0) / 3600
    return (-lat if m[1] == "-" else lat), (-lon if m[5] == "-" else lon)
