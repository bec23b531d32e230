"""parse_feed rate against feedparser's own on the same generated feeds.

    .venv/bin/python -m bench.parse_speed [--items 200] [--feeds 30] [--repeat 3]

DESIGN §7 wants the pipeline to run at a sizeable fraction of feedparser's parse rate; parse_feed is
feedparser plus HTML-to-text, canonical URLs and fingerprints, so this ratio bounds that fraction.
"""

from __future__ import annotations

import argparse
import io
import platform
import random
import subprocess
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from xml.sax.saxutils import escape

import feedparser

from monitor.feeds.parse import parse_feed

WORDS = ("artillery shelling village border ceasefire violation reported ministry defence soldiers "
         "killed wounded overnight positions mortar drone strike city region forces statement according "
         "officials").split()


def _sentence(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + "."


def make_feed(rng: random.Random, items: int) -> bytes:
    """An RSS 2.0 feed with HTML summaries in CDATA, tracking parameters and dates, like real news feeds."""
    start = datetime(2024, 1, 1, tzinfo=UTC)
    parts = ['<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Bench</title>'
             "<link>https://bench.example.org/</link><description>d</description><language>en</language>"]
    for i in range(items):
        summary = "".join(f"<p>{_sentence(rng, 18)} <a href='/x/{i}'>{_sentence(rng, 3)}</a></p>"
                          for _ in range(3))
        parts.append(
            f"<item><title>{escape(_sentence(rng, 9))}</title>"
            f"<link>https://bench.example.org/news/{i}?utm_source=rss&amp;utm_medium=feed&amp;id={i}</link>"
            f"<guid isPermaLink='false'>bench-{i}</guid>"
            f"<pubDate>{format_datetime(start + timedelta(minutes=i))}</pubDate>"
            f"<description><![CDATA[{summary}]]></description></item>")
    parts.append("</channel></rss>")
    return "".join(parts).encode()


def _rate(fn: Callable[[bytes], object], feeds: list[bytes], items: int, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        for body in feeds:
            fn(body)
        best = min(best, time.perf_counter() - started)
    return len(feeds) * items / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=200, help="items per feed")
    parser.add_argument("--feeds", type=int, default=30, help="feeds per round")
    parser.add_argument("--repeat", type=int, default=3, help="rounds; the best is reported")
    args = parser.parse_args()
    rng = random.Random(7)
    feeds = [make_feed(rng, args.items) for _ in range(args.feeds)]
    headers = {"content-type": "application/rss+xml; charset=utf-8"}

    raw = _rate(lambda b: feedparser.parse(io.BytesIO(b), response_headers=headers),
                feeds, args.items, args.repeat)
    lean = _rate(lambda b: feedparser.parse(io.BytesIO(b), response_headers=headers, sanitize_html=False,
                                            resolve_relative_uris=False), feeds, args.items, args.repeat)
    ours = _rate(lambda b: parse_feed(b, headers, source="bench"), feeds, args.items, args.repeat)
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                check=False).stdout.strip() or "?"
    except OSError:
        commit = "?"
    print(f"commit {commit}  python {platform.python_version()}  {platform.machine()}  "
          f"{args.feeds} feeds x {args.items} items, best of {args.repeat}")
    print(f"feedparser.parse (defaults)               {raw:10.0f} items/s")
    print(f"feedparser.parse (no sanitize/resolve)    {lean:10.0f} items/s")
    print(f"monitor.parse.parse_feed                  {ours:10.0f} items/s")
    print(f"ratio parse_feed / feedparser (defaults)  {ours / raw:10.2f}")


if __name__ == "__main__":
    main()
