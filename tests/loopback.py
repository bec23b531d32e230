"""Running a stdlib socketserver in a background thread, for the loopback servers of the tests."""

from __future__ import annotations

import socket
import socketserver
import threading
from typing import Any

import pytest


def serve_in_thread(server: socketserver.BaseServer, name: str) -> threading.Thread:
    """Start `server.serve_forever` in a daemon thread (short poll interval, so stopping is quick)."""
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, name=name, daemon=True)
    thread.start()
    return thread


def stop_serving(server: socketserver.BaseServer, thread: threading.Thread | None) -> None:
    """Stop the loop, close the listening socket, and wait (briefly) for the thread."""
    server.shutdown()
    server.server_close()
    if thread is not None:
        thread.join(timeout=5)


def fake_unresolvable(monkeypatch: pytest.MonkeyPatch, suffix: str = ".invalid") -> None:
    """Names ending in `suffix` fail to resolve at once, as a real resolver would say NXDOMAIN: the test
    machine's resolver (slow, or absent) is not what a DNS-failure test is about. Other names resolve."""
    real = socket.getaddrinfo

    def resolve(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name.rstrip(".").endswith(suffix):
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
