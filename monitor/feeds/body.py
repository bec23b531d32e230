"""Reading a response body within bounds: decompressed (gzip / deflate) in pieces of at most 64 KiB and
counted against `max_bytes` while streaming, so a gzip bomb is stopped before it is inflated in memory."""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator

import httpx

from monitor.errors import FeedError

# Largest piece a decompressor may emit in one step: a gzip bomb expands ~1000:1, so decoding a
# 64 KiB network chunk in one call could allocate ~64 MiB before the size cap is even checked.
_PIECE = 64 * 1024


async def read_capped(response: httpx.Response, max_bytes: int) -> bytes:
    """Stream the body, decompressing it in bounded pieces; FeedError("too_large") past `max_bytes`."""
    decoder = _Decoder(response.headers.get("content-encoding", ""))
    declared = response.headers.get("content-length", "")
    if decoder.identity and declared.isdigit() and int(declared) > max_bytes:
        raise FeedError("too_large", f"{response.url} declares {declared} bytes, cap is {max_bytes}")
    body = bytearray()

    def take(pieces: Iterable[bytes]) -> None:
        for piece in pieces:
            body.extend(piece)
            if len(body) > max_bytes:
                raise FeedError("too_large", f"body of {response.url} exceeds {max_bytes} bytes "
                                             "(after decompression)")

    async for chunk in response.aiter_raw():
        take(decoder.feed(chunk))
    take(decoder.finish())
    return bytes(body)


class _Inflater:
    """gzip / deflate decompression that emits at most _PIECE bytes per step (gzip-bomb safe).

    Raises FeedError("parse_error") on a corrupt stream.
    """

    def __init__(self, encoding: str) -> None:
        self._gzip = encoding in ("gzip", "x-gzip")
        self._d = zlib.decompressobj(zlib.MAX_WBITS | 16) if self._gzip else None
        self._head = b""  # first bytes of a "deflate" body, until we know whether it is zlib-wrapped

    def feed(self, data: bytes) -> Iterator[bytes]:
        if self._d is None:
            # "deflate" should be zlib-wrapped (RFC 9110) but some servers send raw deflate.
            self._head += data
            if len(self._head) < 2:
                return
            data, self._head = self._head, b""
            zlib_wrapped = data[0] & 0x0F == 8 and (data[0] << 8 | data[1]) % 31 == 0
            self._d = zlib.decompressobj(zlib.MAX_WBITS if zlib_wrapped else -zlib.MAX_WBITS)
        try:
            while not self._d.eof:
                out = self._d.decompress(data, _PIECE)
                if out:
                    yield out
                data = self._d.unconsumed_tail
                # A full piece may mean more output is pending even with no input left.
                if not data and len(out) < _PIECE:
                    return
        except zlib.error as exc:
            raise FeedError("parse_error", f"corrupt compressed body: {exc}") from None

    def finish(self) -> bytes:
        """Whatever output is still pending at the end of the body (small: input was drained by feed)."""
        if self._d is None:
            if self._head:
                raise FeedError("parse_error", "corrupt compressed body: too short")
            return b""
        try:
            return b"" if self._d.eof else self._d.flush()
        except zlib.error as exc:
            raise FeedError("parse_error", f"corrupt compressed body: {exc}") from None


class _Decoder:
    """The Content-Encoding stack of one response, undone in reverse order, lazily.

    Pieces flow through the stages as generators, so at most one bounded piece per stage is alive.
    """

    def __init__(self, content_encoding: str) -> None:
        names = [n.strip().lower() for n in content_encoding.split(",") if n.strip()]
        names = [n for n in names if n != "identity"]
        unknown = [n for n in names if n not in ("gzip", "x-gzip", "deflate")]
        if unknown:
            raise FeedError("parse_error", f"unsupported Content-Encoding {content_encoding!r}")
        self._stages = [_Inflater(n) for n in reversed(names)]
        self.identity = not self._stages

    def feed(self, data: bytes) -> Iterator[bytes]:
        return self._through(0, (data,))

    def finish(self) -> Iterator[bytes]:
        for i, stage in enumerate(self._stages):
            yield from self._through(i + 1, (stage.finish(),))

    def _through(self, start: int, pieces: Iterable[bytes]) -> Iterator[bytes]:
        for stage in self._stages[start:]:
            pieces = _fed(stage, pieces)
        for piece in pieces:
            if piece:
                yield piece


def _fed(stage: _Inflater, pieces: Iterable[bytes]) -> Iterator[bytes]:
    for piece in pieces:
        yield from stage.feed(piece)
