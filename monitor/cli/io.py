"""Input and output helpers for the CLI: JSON Lines in, tables and JSON out. No business logic."""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any

from monitor.models import FeedItem


@dataclass(frozen=True)
class BadLine:
    line: int
    error: str

    def to_json(self) -> dict[str, Any]:
        return {"line": self.line, "error": self.error}


def read_jsonl(stream: IO[str]) -> Iterator[tuple[int, dict[str, Any] | BadLine]]:
    """(line number, object or BadLine) for every non-blank line; never raises on bad content."""
    for number, raw in enumerate(stream, start=1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as exc:
            yield number, BadLine(number, f"not valid JSON: {exc.msg} at column {exc.colno}")
            continue
        if not isinstance(obj, dict):
            yield number, BadLine(number, "not a JSON object")
            continue
        yield number, obj


def parse_published(value: Any) -> datetime | None:
    """ISO 8601 (Z or offset; a bare date means midnight UTC) or None; raises ValueError otherwise."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError("published: not a string")
    parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def _text_field(obj: dict[str, Any], *names: str) -> str:
    for name in names:
        value = obj.get(name)
        if isinstance(value, str):
            return value
    return ""


def item_from_json(obj: dict[str, Any], *, line: int, default_source: str) -> tuple[FeedItem, list[str]]:
    """A FeedItem from a `classify`/`ingest` line, with warnings for fields that were ignored.

    Raises ValueError when the line has neither title nor text.
    """
    warnings: list[str] = []
    title, text = _text_field(obj, "title"), _text_field(obj, "text", "summary")
    if not title.strip() and not text.strip():
        raise ValueError("needs a 'title' or a 'text' (or 'summary')")
    try:
        published = parse_published(obj.get("published"))
    except ValueError:
        warnings.append(f"line {line}: published: {obj.get('published')!r} is not ISO 8601; ignored")
        published = None
    lang = obj.get("lang")
    if lang not in (None, "en", "ru"):
        warnings.append(f"line {line}: lang: {lang!r} is not en or ru; guessed from the text")
        lang = None
    ext = obj.get("id")
    url = obj.get("url") if isinstance(obj.get("url"), str) else None
    source = obj.get("source") if isinstance(obj.get("source"), str) and obj.get("source") else default_source
    return FeedItem(title=title.strip(), text=text.strip(), url=url.strip() if url else None, guid=None,
                    published_at=published, source=str(source), lang=lang,
                    external_id=None if ext is None else str(ext)), warnings


def write_json_line(obj: Any, out: IO[str] | None = None) -> None:
    (out or sys.stdout).write(json.dumps(obj, ensure_ascii=False, default=str) + "\n")


def render_table(headers: Sequence[str], rows: Iterable[Sequence[Any]], *, width: int | None = None) -> str:
    """A plain fixed-width table; the last column is cut to fit the terminal."""
    text_rows = [["" if v is None else str(v) for v in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in text_rows]) for i, h in enumerate(headers)]
    width = width or shutil.get_terminal_size((160, 20)).columns
    used = sum(widths[:-1]) + 2 * (len(widths) - 1)
    widths[-1] = max(10, min(widths[-1], width - used))

    def fmt(cells: Sequence[str]) -> str:
        parts = [c.ljust(w) if i < len(cells) - 1 else c[:w] for i, (c, w) in enumerate(zip(cells, widths,
                                                                                              strict=True))]
        return "  ".join(parts).rstrip()

    lines = [fmt(list(headers)), fmt(["-" * w for w in widths])] + [fmt(r) for r in text_rows]
    return "\n".join(lines)


def ago(moment: datetime | None, now: datetime | None = None) -> str:
    if moment is None:
        return "never"
    seconds = ((now or datetime.now(UTC)) - moment).total_seconds()
    future = seconds < 0
    seconds = abs(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            value = f"{int(seconds // size)}{unit}"
            break
    else:
        value = f"{int(seconds)}s"
    return f"in {value}" if future else f"{value} ago"
