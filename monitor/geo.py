"""Geometry on the globe: great-circle distance and the grid cells used for indexed "near" lookups."""

from __future__ import annotations

import math


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0 * math.asin(min(1.0, math.sqrt(h)))


def geo_bucket(lat: float | None, lon: float | None) -> str | None:
    """A 1-degree grid cell key, so 'near' lookups are an indexed IN over at most nine cells."""
    if lat is None or lon is None:
        return None
    return f"{math.floor(lat)}:{math.floor(lon)}"
