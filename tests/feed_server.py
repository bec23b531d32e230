"""A real loopback HTTP server for feed tests, plus builders for RSS 2.0 and Atom bytes.

    with FeedServer() as srv:
        srv.set_feed("/feed.xml", make_rss([{"title": "Shelling", "link": "https://x.org/a"}]))
        srv.set_behaviour("/down", "status", code=503, retry_after="120")
        await fetcher.fetch(srv.url("/feed.xml"))
        assert srv.hits("/feed.xml") == 1

It runs in a background thread on 127.0.0.1 with an ephemeral port (stdlib ThreadingHTTPServer,
HTTP/1.1 keep-alive), one thread per connection, so slow behaviours never block the others.
All registration and bookkeeping is guarded by one lock; any thread may call any method.

Behaviours (`set_behaviour(path, kind, **params)`):
  feed            (set_feed) the body with a strong ETag and Last-Modified; 304 on a match.
  status          code=, retry_after=None, body=b"".
  slow_response   delay= seconds, then the feed in body= (default: a small RSS feed).
  slow_drip       rate= bytes/s of body= (default: a small RSS feed), Content-Length declared.
  oversized       size= bytes of feed-looking padding; chunked=True omits Content-Length.
  gzip_bomb       size= bytes once decompressed (default 64 MiB), sent gzip-compressed.
  redirect_loop   code= (302) back to the same path, for ever.
  redirect        target= (path or absolute URL), code= (301), delay= seconds (0).
  redirect_to_scheme  target= (e.g. "file:///etc/passwd", "ftp://…"), code= (302).
  html_page       an HTML page served as text/html.
  empty           200 with an empty body.
  truncated_xml   body= (default: a 3-item RSS feed) cut at fraction= (0.6), Content-Length honest.
  short_body      declares more bytes than it sends, then closes the connection.
  reset           reads the request, then closes the connection with a TCP RST.
  hang            reads the request and never answers (until the server stops).
  raw             code= (200), body= (b""), headers= {name: value} sent as given (Content-Length is
                  added unless given): for lying or unusual headers (Content-Encoding: br, corrupt gzip).
"""

from __future__ import annotations

import gzip
import hashlib
import socket
import struct
import threading
import time
import zlib
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from loopback import serve_in_thread, stop_serving

RSS_TYPE = "application/rss+xml; charset=utf-8"
ATOM_TYPE = "application/atom+xml; charset=utf-8"
KINDS = frozenset({
    "feed", "status", "slow_response", "slow_drip", "oversized", "gzip_bomb", "redirect_loop",
    "redirect", "redirect_to_scheme", "html_page", "empty", "truncated_xml", "short_body", "reset", "hang",
    "raw",
})


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str  # with the query string
    headers: dict[str, str]  # lower-cased names


@dataclass
class _Route:
    kind: str
    params: dict[str, Any] = field(default_factory=dict)


class FeedServer:
    """A threaded HTTP/1.1 server on 127.0.0.1 serving registered feeds and misbehaviours."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._routes: dict[str, _Route] = {}
        self._hits: dict[str, int] = defaultdict(int)
        self._inflight: dict[str, int] = defaultdict(int)
        self._max_inflight: dict[str, int] = defaultdict(int)
        self._requests: list[RecordedRequest] = []
        self.stopping = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    def __enter__(self) -> FeedServer:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def start(self) -> None:
        httpd = _Server(("127.0.0.1", 0), _Handler)
        httpd.daemon_threads = True  # hanging handlers must not keep the test process alive
        httpd.feed_server = self  # type: ignore[attr-defined]
        self._httpd = httpd
        self._thread = serve_in_thread(httpd, "feed-server")

    def stop(self) -> None:
        self.stopping.set()
        if self._httpd is not None:
            stop_serving(self._httpd, self._thread)

    @property
    def port(self) -> int:
        assert self._httpd is not None, "server not started"
        return int(self._httpd.server_address[1])

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    # -- registration ------------------------------------------------------------------------
    def set_feed(self, path: str, body: bytes, content_type: str = RSS_TYPE, *,
                 content_encoding: str | None = None, last_modified: datetime | None = None) -> None:
        """Serve `body` at `path` with a strong ETag (hash of body) and Last-Modified.

        content_encoding: None, "gzip", "deflate" (zlib-wrapped) or "deflate-raw" (sent as "deflate").
        """
        modified = last_modified or datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
        self.set_behaviour(path, "feed", body=body, content_type=content_type,
                           content_encoding=content_encoding,
                           etag='"' + hashlib.sha256(body).hexdigest()[:32] + '"',
                           last_modified=format_datetime(modified, usegmt=True))

    def set_behaviour(self, path: str, kind: str, **params: Any) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown behaviour {kind!r}; one of {sorted(KINDS)}")
        if kind == "gzip_bomb":
            _bomb(params.get("size", 64 * 1024 * 1024))  # built now: compressing it takes seconds
        with self._lock:
            self._routes[path] = _Route(kind, params)

    # -- observations ------------------------------------------------------------------------
    def hits(self, path: str) -> int:
        with self._lock:
            return self._hits[path]

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def max_concurrent(self, path: str | None = None) -> int:
        """Most requests in flight at once, for `path` or (None) for the whole server."""
        with self._lock:
            return self._max_inflight[path or "*"]

    # -- used by the handler -----------------------------------------------------------------
    def _route(self, path: str) -> _Route | None:
        with self._lock:
            return self._routes.get(path)

    def _enter(self, request: RecordedRequest, path: str) -> None:
        with self._lock:
            self._requests.append(request)
            self._hits[path] += 1
            for key in (path, "*"):
                self._inflight[key] += 1
                self._max_inflight[key] = max(self._max_inflight[key], self._inflight[key])

    def _leave(self, path: str) -> None:
        with self._lock:
            for key in (path, "*"):
                self._inflight[key] -= 1


class _Server(ThreadingHTTPServer):
    # The default listen backlog of 5 drops SYNs when a test opens dozens of connections at once; the
    # client then retransmits after a second and reports a connect timeout the test did not stage.
    request_queue_size = 128


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FeedServer/1"

    @property
    def owner(self) -> FeedServer:
        return self.server.feed_server  # type: ignore[attr-defined, no-any-return]

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output clean

    def handle(self) -> None:
        try:
            super().handle()
        except (OSError, ValueError):
            pass  # the client went away (or we reset it on purpose)

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        self.owner._enter(RecordedRequest(self.command, self.path,
                                          {k.lower(): v for k, v in self.headers.items()}), path)
        try:
            route = self.owner._route(path)
            if route is None:
                self._send(404, b"not found", "text/plain")
            else:
                getattr(self, f"_do_{route.kind}")(**route.params)
        finally:
            self.owner._leave(path)

    # -- helpers ----------------------------------------------------------------------------
    def _send(self, code: int, body: bytes, content_type: str = RSS_TYPE,
              extra: Mapping[str, str] | None = None) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _sleep(self, seconds: float) -> bool:
        """Sleep unless the server is stopping; False when it is."""
        return not self.owner.stopping.wait(seconds)

    # -- behaviours -------------------------------------------------------------------------
    def _do_feed(self, body: bytes, content_type: str, content_encoding: str | None, etag: str,
                 last_modified: str) -> None:
        validators = {"ETag": etag, "Last-Modified": last_modified}
        if self._not_modified(etag, last_modified):
            self.send_response(304)
            for name, value in validators.items():
                self.send_header(name, value)
            self.end_headers()
            return
        if content_encoding:
            body = _compress(body, content_encoding)
            validators["Content-Encoding"] = content_encoding.removesuffix("-raw")
        self._send(200, body, content_type, validators)

    def _not_modified(self, etag: str, last_modified: str) -> bool:
        if_none_match = self.headers.get("If-None-Match")
        if if_none_match is not None:  # takes precedence over If-Modified-Since (RFC 9110 13.2.2)
            tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
            return "*" in tags or etag in tags
        since = self.headers.get("If-Modified-Since")
        if since:
            try:
                return parsedate_to_datetime(since) >= parsedate_to_datetime(last_modified)
            except (TypeError, ValueError):
                return False
        return False

    def _do_status(self, code: int, retry_after: str | None = None, body: bytes = b"") -> None:
        self._send(code, body, "text/plain", {"Retry-After": retry_after} if retry_after else None)

    def _do_slow_response(self, delay: float, body: bytes | None = None) -> None:
        if self._sleep(delay):
            self._send(200, body if body is not None else default_feed())

    def _do_slow_drip(self, rate: float = 1.0, body: bytes | None = None) -> None:
        body = body if body is not None else default_feed()
        self.send_response(200)
        self.send_header("Content-Type", RSS_TYPE)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        for i in range(len(body)):
            self.wfile.write(body[i:i + 1])
            if not self._sleep(1.0 / rate):
                break

    def _do_oversized(self, size: int, chunked: bool = False) -> None:
        self.send_response(200)
        self.send_header("Content-Type", RSS_TYPE)
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(size))
        self.end_headers()
        for piece in _padding(size):
            self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
        if chunked:
            self.wfile.write(b"0\r\n\r\n")

    def _do_gzip_bomb(self, size: int = 64 * 1024 * 1024) -> None:
        self._send(200, _bomb(size), RSS_TYPE, {"Content-Encoding": "gzip"})

    def _do_redirect_loop(self, code: int = 302) -> None:
        self._send(code, b"", "text/plain", {"Location": self.path})

    def _do_redirect(self, target: str, code: int = 301, delay: float = 0.0) -> None:
        if self._sleep(delay):
            self._send(code, b"", "text/plain", {"Location": target})

    def _do_redirect_to_scheme(self, target: str, code: int = 302) -> None:
        self._send(code, b"", "text/plain", {"Location": target})

    def _do_html_page(self) -> None:
        page = (b"<!DOCTYPE html><html><head><title>Front page</title></head><body>"
                b"<h1>Welcome</h1><p>This is a website, not a feed.</p></body></html>")
        self._send(200, page, "text/html; charset=utf-8")

    def _do_empty(self) -> None:
        self._send(200, b"")

    def _do_truncated_xml(self, body: bytes | None = None, fraction: float = 0.6) -> None:
        body = body if body is not None else default_feed(3)
        self._send(200, body[: int(len(body) * fraction)])

    def _do_short_body(self, declared: int = 10_000) -> None:
        self.send_response(200)
        self.send_header("Content-Type", RSS_TYPE)
        self.send_header("Content-Length", str(declared))
        self.end_headers()
        self.wfile.write(default_feed()[: declared // 2])
        self.wfile.flush()
        self.close_connection = True

    def _do_reset(self) -> None:
        # SO_LINGER with a zero timeout makes close() send RST instead of FIN.
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
        self.close_connection = True

    def _do_raw(self, code: int = 200, body: bytes = b"", headers: Mapping[str, str] | None = None) -> None:
        given = dict(headers or {})
        self.send_response(code)
        for name, value in given.items():
            self.send_header(name, value)
        if not any(name.lower() == "content-length" for name in given):
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _do_hang(self, seconds: float = 60.0) -> None:
        self._sleep(seconds)
        self.close_connection = True


def _compress(body: bytes, encoding: str) -> bytes:
    if encoding == "gzip":
        return gzip.compress(body)
    if encoding == "deflate":
        return zlib.compress(body)
    if encoding == "deflate-raw":
        packer = zlib.compressobj(wbits=-zlib.MAX_WBITS)
        return packer.compress(body) + packer.flush()
    raise ValueError(f"unknown content encoding {encoding!r}")


def _padding(size: int) -> Iterator[bytes]:
    head = b'<?xml version="1.0"?><rss version="2.0"><channel><title>big</title><!-- '
    block = b"x" * 65536
    sent = 0
    while sent < size:
        piece = (head if sent == 0 else block)[: size - sent]
        sent += len(piece)
        yield piece


_BOMBS: dict[int, bytes] = {}
_BOMB_LOCK = threading.Lock()


def _bomb(size: int) -> bytes:
    """`size` bytes of spaces, gzip-compressed (about 1000:1), cached per size."""
    with _BOMB_LOCK:
        if size not in _BOMBS:
            packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
            block = b" " * (1 << 20)
            out = [packer.compress(b'<?xml version="1.0"?><rss version="2.0"><channel><title>')]
            for start in range(0, size, len(block)):
                out.append(packer.compress(block[: size - start]))
            out.append(packer.flush())
            _BOMBS[size] = b"".join(out)
        return _BOMBS[size]


# -- feed builders -------------------------------------------------------------------------------

def _date(value: datetime | str) -> str:
    return format_datetime(value) if isinstance(value, datetime) else value


def _iso(value: datetime | str) -> str:
    return value.isoformat() if isinstance(value, datetime) else value


def make_rss(items: list[dict[str, Any]], *, title: str = "Test feed", link: str = "https://example.org/",
             encoding: str = "utf-8", language: str | None = "en", declare_encoding: bool = True) -> bytes:
    """RSS 2.0 bytes in `encoding`. Item keys (all optional): title, link, guid (None: omitted),
    guid_is_permalink, description (escaped; with cdata=True wrapped in CDATA verbatim), content
    (content:encoded, CDATA), pub_date (datetime or raw string)."""
    lines = [f'<?xml version="1.0" encoding="{encoding}"?>' if declare_encoding else '<?xml version="1.0"?>',
             '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">',
             f"<channel><title>{escape(title)}</title><link>{escape(link)}</link>"
             "<description>test</description>"]
    if language:
        lines.append(f"<language>{escape(language)}</language>")
    for item in items:
        lines.append("<item>" + "".join(_rss_item_parts(item)) + "</item>")
    lines.append("</channel></rss>")
    return "\n".join(lines).encode(encoding)


def _rss_item_parts(item: Mapping[str, Any]) -> Iterator[str]:
    if "title" in item:
        yield f"<title>{escape(item['title'])}</title>"
    if "link" in item:
        yield f"<link>{escape(item['link'])}</link>"
    if item.get("guid") is not None:
        permalink = "true" if item.get("guid_is_permalink") else "false"
        yield f'<guid isPermaLink="{permalink}">{escape(item["guid"])}</guid>'
    if "description" in item:
        text = item["description"]
        yield f"<description><![CDATA[{text}]]></description>" if item.get("cdata") else \
            f"<description>{escape(text)}</description>"
    if "content" in item:
        yield f"<content:encoded><![CDATA[{item['content']}]]></content:encoded>"
    if "pub_date" in item:
        yield f"<pubDate>{escape(_date(item['pub_date']))}</pubDate>"


def make_atom(items: list[dict[str, Any]], *, title: str = "Test feed", feed_id: str = "urn:test:feed",
              link: str = "https://example.org/", encoding: str = "utf-8", language: str | None = "en",
              updated: datetime | str = "2024-01-02T03:04:05Z") -> bytes:
    """Atom 1.0 bytes. Entry keys (all optional): title, link, id, summary, summary_type ("text"
    or "html", escaped either way), content (type html), published, updated (datetime or str)."""
    lang = f" xml:lang={quoteattr(language)}" if language else ""
    lines = [f'<?xml version="1.0" encoding="{encoding}"?>',
             f'<feed xmlns="http://www.w3.org/2005/Atom"{lang}>',
             f"<title>{escape(title)}</title><id>{escape(feed_id)}</id>"
             f"<link href={quoteattr(link)}/><updated>{escape(_iso(updated))}</updated>"]
    for entry in items:
        lines.append("<entry>" + "".join(_atom_entry_parts(entry)) + "</entry>")
    lines.append("</feed>")
    return "\n".join(lines).encode(encoding)


def _atom_entry_parts(entry: Mapping[str, Any]) -> Iterator[str]:
    if "title" in entry:
        yield f"<title>{escape(entry['title'])}</title>"
    if "link" in entry:
        yield f'<link rel="alternate" href={quoteattr(entry["link"])}/>'
    if "id" in entry:
        yield f"<id>{escape(entry['id'])}</id>"
    if "summary" in entry:
        yield f'<summary type="{entry.get("summary_type", "text")}">{escape(entry["summary"])}</summary>'
    if "content" in entry:
        yield f'<content type="html">{escape(entry["content"])}</content>'
    for key in ("published", "updated"):
        if key in entry:
            yield f"<{key}>{escape(_iso(entry[key]))}</{key}>"


def default_feed(n: int = 2) -> bytes:
    """A small valid RSS feed with `n` items."""
    return make_rss([{"title": f"Item {i}", "link": f"https://example.org/news/{i}",
                      "guid": f"item-{i}", "description": f"Body of item {i}.",
                      "pub_date": "Tue, 13 Sep 2022 08:00:00 +0000"} for i in range(n)])


def wait_until(predicate: Any, timeout: float = 5.0) -> bool:
    """Poll `predicate()` until true or `timeout` seconds pass; returns its last value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return bool(predicate())
