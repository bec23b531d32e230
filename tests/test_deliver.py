"""monitor.deliver end to end: real apprise posting over loopback HTTP to a recording SinkServer."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator

import pytest

from monitor.alerts.deliver import send, send_async, validate_target_url
from monitor.alerts.render import Message
from monitor.errors import DeliveryError
from monitor.settings import TargetSettings

try:  # tests/ is a rootdir-relative directory today; tolerate it becoming a package
    from sink_server import SinkServer
except ImportError:  # pragma: no cover
    from tests.sink_server import SinkServer  # type: ignore[no-redef]

PASSWORD = "hunter2-very-secret"
TOKEN = "Tk9aZ3VzZXJ0b2tlbjEyMzQ1"
MESSAGE = Message("[Shelling] Jermuk, Armenia — 99 killed", "What: Shelling\nWhere: Jermuk", "text",
                  "warning")


@pytest.fixture
def sink() -> Iterator[SinkServer]:
    with SinkServer() as server:
        yield server


def target(url: str, name: str = "desk") -> TargetSettings:
    return TargetSettings(name=name, url=url)


def secret_url(sink: SinkServer) -> str:
    return f"json://alerts:{PASSWORD}@127.0.0.1:{sink.port}/hook/{TOKEN}"


def assert_no_secret(text: str) -> None:
    assert PASSWORD not in text
    assert TOKEN not in text


# --- success -----------------------------------------------------------------------------------------

def test_it_posts_title_body_and_type_once(sink: SinkServer) -> None:
    assert send(target(sink.url()), MESSAGE) is None
    [got] = sink.received
    assert got.method == "POST" and got.path == "/hook" and got.status == 200
    assert got.body["title"] == MESSAGE.title
    assert got.body["message"] == MESSAGE.body
    assert got.body["type"] == "warning"
    assert got.headers["User-Agent"] == "ceasefire-monitor"


def test_credentials_in_the_url_reach_the_endpoint(sink: SinkServer) -> None:
    send(target(secret_url(sink)), MESSAGE)
    [got] = sink.received
    assert got.path == f"/hook/{TOKEN}"
    assert got.headers["Authorization"].startswith("Basic ")


def test_markdown_is_converted_for_a_text_only_service(sink: SinkServer) -> None:
    send(target(sink.url()), Message("t", "**Where:** Jermuk", "markdown"))
    assert "Jermuk" in sink.received[0].body["message"]


# --- failures ----------------------------------------------------------------------------------------

def test_http_500_is_a_temporary_error_naming_the_status_without_secrets(sink: SinkServer) -> None:
    sink.fail_with(500)
    with pytest.raises(DeliveryError) as info:
        send(target(secret_url(sink)), MESSAGE)
    err = info.value
    assert err.permanent is False
    assert "HTTP 500" in err.message
    assert "target desk (json://***@127.0.0.1:" in err.message
    assert_no_secret(err.message)
    assert_no_secret(str(err))
    assert len(sink.received) == 1  # apprise itself did not retry: retries belong to the outbox


def test_a_failed_send_can_be_retried_by_the_caller(sink: SinkServer) -> None:
    sink.fail_with(503, count=1)
    with pytest.raises(DeliveryError, match="HTTP 503"):
        send(target(sink.url()), MESSAGE)
    send(target(sink.url()), MESSAGE)
    assert [r.status for r in sink.received] == [503, 200]


def test_refused_connection_is_temporary(sink: SinkServer) -> None:
    sink.refuse()
    with pytest.raises(DeliveryError) as info:
        send(target(secret_url(sink)), MESSAGE)
    assert info.value.permanent is False
    assert "connection error" in info.value.message.lower()
    assert_no_secret(info.value.message)
    sink.accept()  # same port again
    send(target(secret_url(sink)), MESSAGE)
    assert len(sink.delivered) == 1


@pytest.mark.parametrize("url", [
    f"nosuchservice://{TOKEN}@example.org/{PASSWORD}",
    f"slack://{TOKEN}",  # too few tokens
    "json://",
    "127.0.0.1:9000/hook",
    "",
])
def test_an_invalid_url_is_a_permanent_error_without_secrets(url: str) -> None:
    with pytest.raises(DeliveryError) as info:
        send(target(url), MESSAGE)
    assert info.value.permanent is True
    assert "URL" in info.value.message
    assert_no_secret(info.value.message)


def test_unsupported_scheme_is_named() -> None:
    with pytest.raises(DeliveryError, match="unsupported apprise URL scheme.*'nosuchservice://'"):
        send(target(f"nosuchservice://{TOKEN}@example.org"), MESSAGE)


def test_an_unknown_body_format_is_permanent(sink: SinkServer) -> None:
    with pytest.raises(DeliveryError, match="body format") as info:
        send(target(sink.url()), Message("t", "b", "rtf"))
    assert info.value.permanent is True
    assert sink.received == []


def test_one_failing_target_does_not_stop_the_other() -> None:
    with SinkServer() as broken, SinkServer() as healthy:
        broken.fail_with(502)
        outcomes: dict[str, str] = {}
        for t in (target(broken.url(), "broken"), target(healthy.url(), "healthy")):
            try:
                send(t, MESSAGE)
                outcomes[t.name] = "sent"
            except DeliveryError as e:
                outcomes[t.name] = e.message
        assert outcomes["healthy"] == "sent"
        assert "HTTP 502" in outcomes["broken"] and "target broken" in outcomes["broken"]
        assert [r.body["title"] for r in healthy.delivered] == [MESSAGE.title]


def test_a_slow_target_times_out(sink: SinkServer) -> None:
    sink.delay(60)
    started = time.monotonic()
    with pytest.raises(DeliveryError) as info:
        send(target(secret_url(sink)), MESSAGE, timeout_s=0.5)
    assert time.monotonic() - started < 30  # ended by the timeout, long before the sink would answer
    assert info.value.permanent is False
    assert "timed out after 0.5s" in info.value.message
    assert_no_secret(info.value.message)


# --- logging -----------------------------------------------------------------------------------------

class _Recorder(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_apprise_logs_never_reach_the_root_logger(sink: SinkServer) -> None:
    # (pytest's caplog hooks non-propagating loggers directly, so a root handler is used instead.)
    root = logging.getLogger()
    recorder = _Recorder()
    root.addHandler(recorder)
    try:
        sink.fail_with(500)
        with pytest.raises(DeliveryError):
            send(target(secret_url(sink)), MESSAGE)
        with pytest.raises(DeliveryError):
            send(target(f"nosuchservice://{TOKEN}@example.org"), MESSAGE)
    finally:
        root.removeHandler(recorder)
    assert [r for r in recorder.records if r.name.startswith("apprise")] == []
    assert logging.getLogger("apprise").propagate is False
    assert logging.getLogger("apprise").getEffectiveLevel() == logging.WARNING


# --- validate_target_url -----------------------------------------------------------------------------

def test_validate_accepts_good_urls_and_explains_bad_ones(sink: SinkServer) -> None:
    assert validate_target_url(sink.url()) is None
    assert validate_target_url("mailtos://user:pass@mail.example.org") is None
    problem = validate_target_url(f"nosuchservice://{TOKEN}@example.org")
    assert problem is not None and "unsupported" in problem
    assert_no_secret(problem)
    assert validate_target_url("") == "the apprise URL is empty"
    assert sink.received == []  # validation sends nothing


# --- send_async --------------------------------------------------------------------------------------

def test_send_async_delivers(sink: SinkServer) -> None:
    asyncio.run(send_async(target(sink.url()), MESSAGE, timeout_s=5))
    assert len(sink.delivered) == 1


def test_send_async_times_out_and_keeps_the_loop_free(sink: SinkServer) -> None:
    sink.delay(60)

    async def scenario() -> tuple[DeliveryError, int]:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.05)
                ticks += 1

        task = asyncio.create_task(ticker())
        try:
            await send_async(target(secret_url(sink)), MESSAGE, timeout_s=0.5)
        except DeliveryError as e:
            return e, ticks
        finally:
            task.cancel()
        raise AssertionError("send_async did not time out")

    started = time.monotonic()
    err, ticks = asyncio.run(scenario())
    assert time.monotonic() - started < 30  # ended by the timeout, long before the sink would answer
    assert err.permanent is False and "timed out" in err.message
    assert_no_secret(err.message)
    assert ticks >= 3  # the event loop kept running while apprise waited in its thread (~10 when idle)


def test_over_long_bodies_are_truncated_unless_the_url_says_otherwise(sink: SinkServer) -> None:
    long_message = Message("t", "facts first. " + "source line " * 4000, "text")
    send(target(sink.url()), long_message)
    send(target(sink.url() + "?overflow=upstream"), long_message)
    truncated, untouched = (r.body["message"] for r in sink.delivered)
    assert truncated.startswith("facts first.") and len(truncated) < len(long_message.body)
    assert untouched == long_message.body.rstrip()


def test_apprise_words_are_redacted_even_when_they_quote_the_url() -> None:
    from monitor.alerts.deliver import _describe  # apprise rarely quotes secrets; force the case

    url = f"json://alerts:{PASSWORD}@127.0.0.1:9000/hook/{TOKEN}"
    message = _describe(target(url), f"Failed to post to {url} (token {TOKEN}, password {PASSWORD})")
    assert_no_secret(message)
    assert message.startswith("target desk (json://***@127.0.0.1:9000/***): Failed to post to ")
