"""Real texts for the benchmarks: the items of the evaluation set and the snapshot feeds' bytes.

The evaluation set lives beside the project (../shared/eval, or $MONITOR_EVAL_DIR): dev.jsonl holds
real news texts; feeds/snapshots/ holds those items laid out as six outlets' feeds over five polls, as
real bytes (RSS, Atom, windows-1251), listed in its manifest.json. Benchmarks measure on these when they
are there and say so when they are not; generated text is only ever an extra column.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from monitor.feeds.parse import parse_feed
from monitor.models import FeedItem

ROOT = Path(__file__).resolve().parent.parent


def eval_dir() -> Path | None:
    """The evaluation folder, or None when it is not there."""
    for candidate in (os.environ.get("MONITOR_EVAL_DIR"), ROOT.parent / "shared" / "eval", "/work/shared/eval"):
        if candidate and (Path(candidate) / "dev.jsonl").is_file():
            return Path(candidate)
    return None


def _time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)  # a few rows give no offset: UTC


def dev_items(path: Path | None = None) -> list[FeedItem]:
    """The items of dev.jsonl (title, text, publication time, language) as FeedItems; [] without it."""
    folder = eval_dir()
    path = path or (folder / "dev.jsonl" if folder else None)
    if path is None or not path.is_file():
        return []
    items = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        lang = row.get("lang")
        items.append(FeedItem(title=str(row.get("title") or ""), text=str(row.get("text") or row.get("summary") or ""),
                              published_at=_time(row.get("published")), lang=lang if isinstance(lang, str) else None,
                              source=str(row.get("source") or ""), url=str(row.get("url") or "").strip() or None))
    return items


@dataclass(frozen=True)
class Snapshot:
    outlet: str
    poll: str
    body: bytes
    headers: dict[str, str]
    fetched_at: datetime | None


def snapshots() -> list[Snapshot]:
    """Every poll of every snapshot feed, as the bytes a fetch would return; [] without them."""
    folder = eval_dir()
    root = folder / "feeds" / "snapshots" if folder else None
    if root is None or not (root / "manifest.json").is_file():
        return []
    manifest = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
    out = []
    for outlet in manifest["outlets"]:
        kind = "application/atom+xml" if outlet.get("format") == "atom" else "application/rss+xml"
        for poll in outlet["polls"]:
            body = (root / outlet["folder"] / poll["file"]).read_bytes()
            out.append(Snapshot(outlet["name"], poll["file"], body, {"content-type": kind},
                                _time(poll.get("fetched_at"))))
    return out


def snapshot_items(polls: list[Snapshot] | None = None) -> list[FeedItem]:
    """The items of every snapshot poll, parsed by the project's own parse_feed."""
    items = []
    for snap in snapshots() if polls is None else polls:
        items.extend(parse_feed(snap.body, snap.headers, source=snap.outlet, now=snap.fetched_at))
    return items
