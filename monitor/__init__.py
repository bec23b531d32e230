"""ceasefire-monitor: watch news feeds for breaches of ceasefires."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("ceasefire-monitor")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+source"
