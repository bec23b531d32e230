"""Hostile feed bodies and servers for the fault-injection tests (tests/test_hostile_feeds.py).

Every builder returns bytes ready for `FeedServer.set_feed`; what makes each one hostile is in its
docstring. `TlsFeedServer` serves a feed over TLS with a self-signed certificate (made with the
`openssl` command line tool), so a client that verifies certificates must refuse it.
"""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import threading
from datetime import datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any

from feed_server import make_rss
from loopback import serve_in_thread, stop_serving

RUSSIAN_TITLE = "Обстрел Донецка: погибли четыре мирных жителя"
RUSSIAN_TEXT = "Артиллерийский обстрел Донецка унёс жизни четырёх мирных жителей, сообщили местные власти."


def billion_laughs(levels: int = 10) -> bytes:
    """The classic exponential entity expansion: `&lol9;` would be 10**9 "lol"s (3 GB).

    A second, harmless item follows so a parser that survives can still yield something.
    """
    decls = ['<!ENTITY lol0 "lol">']
    decls += [f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, levels)]
    doctype = "<!DOCTYPE rss [\n" + "\n".join(decls) + "\n]>"
    return (f'<?xml version="1.0" encoding="utf-8"?>\n{doctype}\n<rss version="2.0"><channel>'
            f"<title>laughs</title><link>https://laughs.example/</link><description>d</description>"
            f"<item><title>&lol{levels - 1};</title><guid>laugh</guid></item>"
            "<item><title>Weather report for Tuesday</title><link>https://laughs.example/weather</link>"
            "<guid>weather</guid></item></channel></rss>").encode()


def quadratic_blowup(entity_chars: int = 10_000, references: int = 3_000, encoding: str = "utf-16") -> bytes:
    """One large plain-text entity referenced many times ("quadratic blow-up"), encoded in UTF-16.

    Nested-entity limits do not catch it (there is no nesting); 60 kB of UTF-16 would expand to
    30 million characters. UTF-16 matters: a guard that filters the raw bytes for `<!ENTITY` misses it.
    """
    doc = (f'<?xml version="1.0" encoding="{encoding}"?>\n<!DOCTYPE rss [\n<!ENTITY a "{"A" * entity_chars}">\n]>\n'
           '<rss version="2.0"><channel><title>blow-up</title><link>https://blowup.example/</link>'
           '<item><title>' + "&a;" * references + '</title><link>https://blowup.example/1</link></item>'
           "<item><title>Harvest festival opens</title><link>https://blowup.example/2</link></item>"
           "</channel></rss>")
    return doc.encode(encoding)


def external_entities(secret_file: Path, probe_url: str) -> bytes:
    """XXE: entities naming a local file and a URL on our own server (SSRF), and an external DTD.

    A parser that resolves any of them would put the secret into an article or hit `probe_url`.
    """
    file_url = secret_file.resolve().as_uri()
    return (f'<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE rss SYSTEM "{probe_url}?dtd" [\n'
            f'<!ENTITY file SYSTEM "{file_url}">\n'
            f'<!ENTITY remote SYSTEM "{probe_url}?entity">\n'
            f'<!ENTITY % param SYSTEM "{probe_url}?param">\n'
            "%param;\n]>\n"
            '<rss version="2.0"><channel><title>xxe</title><link>https://xxe.example/</link>'
            "<item><title>Leak &file;</title><link>https://xxe.example/1</link>"
            "<description>file: &file; remote: &remote;</description></item>"
            "<item><title>Council meets on budget</title><link>https://xxe.example/2</link>"
            "<description>Nothing to see.</description></item></channel></rss>").encode()


def russian_feed(*, encoding: str, declare_encoding: bool) -> bytes:
    """A Russian item in `encoding` (e.g. windows-1251), its XML declaration naming it or not."""
    return make_rss([{"title": RUSSIAN_TITLE, "link": "https://ru.example/news/1", "guid": "ru-1",
                      "description": RUSSIAN_TEXT, "pub_date": "Tue, 13 Sep 2022 08:00:00 +0000"}],
                    encoding=encoding, language="ru", declare_encoding=declare_encoding)


def mislabelled_russian_feed() -> bytes:
    """Declares UTF-8 in the XML declaration but is windows-1251 on the wire (a common mistake)."""
    return make_rss([{"title": RUSSIAN_TITLE, "link": "https://ru.example/news/2", "guid": "ru-2",
                      "description": RUSSIAN_TEXT, "pub_date": "Tue, 13 Sep 2022 08:00:00 +0000"}],
                    encoding="utf-8", language="ru").decode("utf-8").encode("windows-1251")


INVALID_DATES = ("not a date", "Tue, 31 Feb 2022 25:61:00 +0000", "Mon, 01 Jan 99999 00:00:00 GMT",
                 "Fri, 01 Jan 2100 00:00:00 GMT", "", "0", "-1 BC")


def invalid_dates_feed() -> bytes:
    """One item per unusable pubDate: garbage, impossible, out of range, far future, empty."""
    return make_rss([{"title": f"Dated item {i}", "link": f"https://dates.example/{i}", "guid": f"d{i}",
                      "description": "Market prices were stable.", "pub_date": value}
                     for i, value in enumerate(INVALID_DATES)])


def duplicate_guids_feed() -> bytes:
    """The same GUID five times without links (identity by GUID) and the same link three times."""
    items: list[dict[str, Any]] = [{"title": f"Same guid take {i}", "guid": "dup-guid",
                                    "description": "Repeated."} for i in range(5)]
    items += [{"title": "Same link", "link": "https://dup.example/story?utm_source=x", "guid": "dup-link",
               "description": "Repeated too."} for _ in range(3)]
    return make_rss(items)


def many_items_feed(n: int, when: datetime) -> bytes:
    """`n` distinct small items (about 200 bytes each)."""
    date = format_datetime(when)
    return make_rss([{"title": f"Bulletin number {i}", "link": f"https://many.example/item/{i}",
                      "guid": f"many-{i}", "description": "Routine notice.", "pub_date": date}
                     for i in range(n)])


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_self_signed(directory: Path) -> tuple[Path, Path] | None:
    """A self-signed certificate and key for 127.0.0.1 in `directory`; None without `openssl`."""
    openssl = shutil.which("openssl")
    if openssl is None:
        return None
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run([openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True, timeout=30)
    return cert, key


class _TlsHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        server: Any = self.server
        server.hits += 1
        body: bytes = server.body
        self.send_response(200)
        self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _TlsServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # the client refusing our certificate mid-handshake is the point of the exercise


class TlsFeedServer:
    """HTTPS on 127.0.0.1 with a self-signed certificate, serving `body` at any path.

    `hits` counts requests that got past the handshake (a verifying client makes none).
    """

    def __init__(self, cert: Path, key: Path, body: bytes) -> None:
        self._context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._context.load_cert_chain(cert, key)
        self._body = body
        self._httpd: _TlsServer | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> TlsFeedServer:
        httpd = _TlsServer(("127.0.0.1", 0), _TlsHandler, bind_and_activate=True)
        httpd.socket = self._context.wrap_socket(httpd.socket, server_side=True, do_handshake_on_connect=True)
        httpd.body = self._body  # type: ignore[attr-defined]
        httpd.hits = 0  # type: ignore[attr-defined]
        self._httpd = httpd
        self._thread = serve_in_thread(httpd, "tls-feed-server")
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._httpd is not None:
            stop_serving(self._httpd, self._thread)

    @property
    def hits(self) -> int:
        assert self._httpd is not None
        return int(self._httpd.hits)  # type: ignore[attr-defined]

    def url(self, path: str) -> str:
        assert self._httpd is not None
        return f"https://127.0.0.1:{self._httpd.server_address[1]}{path}"
