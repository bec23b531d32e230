"""Logging, configured once by the CLI: one line per event, `ts level event key=value …` or JSON.

Callers log through `event(logger, name, **fields)`; values are never secrets (targets are logged by
name, URLs through redact_url).
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

_RESERVED = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


def event(logger: logging.Logger, name: str, level: int = logging.INFO, **fields: Any) -> None:
    """Log one event with structured fields."""
    if logger.isEnabledFor(level):
        logger.log(level, name, extra={"fields": fields})


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    fields = dict(getattr(record, "fields", {}) or {})
    for key, value in record.__dict__.items():
        if key not in _RESERVED and key != "fields":
            fields[key] = value
    return fields


def _ts(record: logging.LogRecord) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z"


def _quote(value: Any) -> str:
    text = str(value)
    if text == "" or any(c in text for c in ' "=\n\t'):
        return json.dumps(text, ensure_ascii=False)
    return text


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        parts = [_ts(record), record.levelname.lower(), _quote(record.getMessage())]
        parts += [f"{k}={_quote(v)}" for k, v in _fields(record).items() if v is not None]
        if record.exc_info and record.levelno >= logging.ERROR:
            parts.append("exc=" + _quote(self.formatException(record.exc_info)))
        return " ".join(parts)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {"ts": _ts(record), "level": record.levelname.lower(), "event": record.getMessage(),
                               "logger": record.name}
        out.update({k: v for k, v in _fields(record).items() if v is not None})
        if record.exc_info and record.levelno >= logging.ERROR:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


def configure(level: str = "INFO", fmt: str = "text") -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Libraries that would log URLs (with tokens) or request lines at INFO are kept quiet.
    for noisy in ("httpx", "httpcore", "apprise", "apscheduler", "alembic", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
