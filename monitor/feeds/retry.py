"""When to fetch a feed again: the server's Retry-After, and exponential backoff with jitter after failures."""

from __future__ import annotations

import email.utils
import random
from datetime import UTC, datetime

_RNG = random.Random()


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After value (delay-seconds or HTTP-date); None if absent or invalid.

    A date in the past gives 0.
    """
    if value is None or not value.strip():
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # "-0000" dates come back naive; HTTP dates are GMT
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def next_fetch_delay(consecutive_failures: int, *, interval_s: float, base_s: float, max_s: float,
                     retry_after_s: float | None = None, rng: random.Random | None = None) -> float:
    """Seconds until a feed is fetched again, after `consecutive_failures` failures in a row (0: healthy).

    Healthy feeds wait exactly `interval_s`. Failing ones wait a "full jitter" exponential backoff,
    uniform in [0, min(max_s, base_s * 2**(failures-1))], so many feeds failing together (one host
    down) spread out on recovery. The result is never below `interval_s` (we never poll faster
    because of failures) nor below `retry_after_s`; the server's Retry-After is itself capped at
    `max_s` so a hostile value cannot park a feed for ever. Raises ValueError on negative input.
    """
    if consecutive_failures < 0 or interval_s < 0 or base_s < 0 or max_s < 0:
        raise ValueError("next_fetch_delay: negative argument")
    floor = interval_s
    if retry_after_s is not None:
        floor = max(floor, min(max(retry_after_s, 0.0), max_s))
    if consecutive_failures == 0:
        return floor
    # Exponent clamped: 2**1100 overflows a float, and anything past 2**64 * base is past max_s anyway.
    ceiling = min(max_s, base_s * 2.0 ** min(consecutive_failures - 1, 64))
    return max(floor, (rng or _RNG).uniform(0.0, ceiling))
