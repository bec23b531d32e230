"""ceasefire-monitor: watch news feeds for breaches of ceasefires."""

from __future__ import annotations

import functools


@functools.cache
def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version  # scans the installed packages: ~0.1 s

    try:
        return version("ceasefire-monitor")
    except PackageNotFoundError:  # running from a source tree that was not installed
        return "0.0.0+source"


def __getattr__(name: str) -> str:
    """`__version__`, looked up when first asked for: commands that never print it start faster."""
    if name == "__version__":
        return _version()
    raise AttributeError(f"module 'monitor' has no attribute {name!r}")
