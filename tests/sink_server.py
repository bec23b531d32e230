"""A real loopback HTTP server that records what apprise's json:// plugin posts (STYLE §6 apprise_sink).

    with SinkServer() as sink:
        deliver.send(TargetSettings("t", sink.url()), message)
        assert sink.received[0].body["title"] == message.title

apprise turns `json://127.0.0.1:PORT/hook` into `POST http://127.0.0.1:PORT/hook` with a JSON body
`{"version", "title", "message", "attachments", "type"}` (apprise/plugins/custom_json.py).
Failures are staged with `fail_with()`, slowness with `delay()`, a dead endpoint with `refuse()`.
"""

from __future__ import annotations

import json
import sys
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from loopback import serve_in_thread, stop_serving


@dataclass(frozen=True)
class Received:
    """One request as the sink saw it; `status` is what the sink answered."""

    method: str
    path: str
    headers: dict[str, str]
    raw: bytes
    body: Any  # parsed JSON, or None if the body was not JSON
    status: int


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port: int, sink: SinkServer) -> None:
        self.sink = sink
        super().__init__(("127.0.0.1", port), _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (apprise timing out on a delayed answer) is expected here; anything
        # else is still reported.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def _handle(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        status = self.server.sink._answer(self.command, self.path, dict(self.headers.items()), raw)
        payload = b'{"ok": true}' if status < 300 else b'{"ok": false}'
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass


class SinkServer:
    """Context manager running the sink on 127.0.0.1 (ephemeral port) in a background thread.

    Thread-safe: requests are recorded under a lock; `received` returns a snapshot.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._received: list[Received] = []
        self._fail_status: int | None = None
        self._fail_count: int | None = None
        self._delay_s = 0.0
        self._held = 0  # requests waiting out a delay now
        self._wake = threading.Event()  # set to cut short any delayed response (reset, close)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    # --- lifecycle ----------------------------------------------------------------------------------

    def __enter__(self) -> SinkServer:
        self.accept()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def accept(self) -> None:
        """Start listening (again, on the same port once one was chosen). No-op if already listening."""
        if self._server is not None:
            return
        self._server = _Server(self.port, self)
        self.port = self._server.server_address[1]
        self._thread = serve_in_thread(self._server, f"sink-{self.port}")

    def refuse(self) -> None:
        """Stop listening: connections to the port are refused until accept()."""
        server, self._server = self._server, None
        if server is None:
            return
        self._wake.set()
        stop_serving(server, self._thread)
        self._wake.clear()

    def close(self) -> None:
        self.refuse()

    # --- behaviour ----------------------------------------------------------------------------------

    def url(self, path: str = "/hook") -> str:
        """The apprise URL posting to this sink, e.g. json://127.0.0.1:PORT/hook."""
        return f"json://127.0.0.1:{self.port}/{path.lstrip('/')}"

    def fail_with(self, status: int | None, count: int | None = None) -> None:
        """Answer the next `count` requests (all, if None) with `status`; `None` restores 200."""
        with self._lock:
            self._fail_status = status
            self._fail_count = count if status is not None else None

    def delay(self, seconds: float) -> None:
        """Wait `seconds` before answering each request (0 to stop)."""
        with self._lock:
            self._delay_s = seconds

    def release(self) -> None:
        """Answer the requests held by `delay` now (later ones still wait)."""
        self._wake.set()
        wait_until_free = threading.Event()
        while self.held:
            wait_until_free.wait(0.01)
        self._wake.clear()

    @property
    def held(self) -> int:
        """How many requests are being held by `delay` right now."""
        with self._lock:
            return self._held

    def reset(self) -> None:
        """Forget recorded requests and staged failures or delays."""
        with self._lock:
            self._received.clear()
            self._fail_status = self._fail_count = None
            self._delay_s = 0.0

    @property
    def received(self) -> list[Received]:
        """Every request so far, in arrival order, failed ones included (see `Received.status`)."""
        with self._lock:
            return list(self._received)

    @property
    def delivered(self) -> list[Received]:
        """The requests the sink accepted (2xx)."""
        return [r for r in self.received if r.status < 300]

    # --- called by the handler thread ---------------------------------------------------------------

    def _next_status(self) -> int:
        with self._lock:
            if self._fail_status is None:
                return 200
            status = self._fail_status
            if self._fail_count is not None:
                self._fail_count -= 1
                if self._fail_count <= 0:
                    self._fail_status = self._fail_count = None
            return status

    def _answer(self, method: str, path: str, headers: dict[str, str], raw: bytes) -> int:
        with self._lock:
            delay = self._delay_s
        if delay:
            with self._lock:
                self._held += 1
            try:
                self._wake.wait(delay)
            finally:
                with self._lock:
                    self._held -= 1
        status = self._next_status()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        with self._lock:
            self._received.append(Received(method, path, headers, raw, body, status))
        return status
