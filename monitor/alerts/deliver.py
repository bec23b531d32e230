"""Send one rendered message to one apprise target.  [I/O]

The only module that imports apprise. apprise's `notify()` answers for all its URLs at once and keeps
its retries in memory, so each target gets its own `Apprise` object and its own outcome: `send()`
returns None or raises DeliveryError, and the outbox records that on the target's row and owns retries.

apprise logs through the "apprise" logger, sometimes with URLs in the message. That logger is cut off
from the root logger here (no propagation, WARNING and above only), so nothing it says reaches our
stdout; what a failed call logged is collected from apprise's per-call result instead, redacted, and
put in the DeliveryError message.
"""

from __future__ import annotations

import asyncio
import logging
import re
import warnings

import apprise

from monitor.alerts.render import Message
from monitor.errors import DeliveryError
from monitor.redact import redact_text, redact_url
from monitor.settings import TargetSettings

APP_ID = "ceasefire-monitor"
APP_DESC = "ceasefire-monitor alerts"
APP_URL = "https://github.com/ceasefire-monitor/ceasefire-monitor"
MAX_ERROR_CHARS = 500
# Extra time send_async() allows past apprise's own deadline before it gives up waiting on the thread.
ASYNC_GRACE_S = 2.0
# How long an HTTP request abandoned at the deadline may go on before its socket times out.
SOCKET_SLACK_S = 1.0

_FORMATS = {
    "markdown": apprise.NotifyFormat.MARKDOWN,
    "html": apprise.NotifyFormat.HTML,
    "text": apprise.NotifyFormat.TEXT,
}
_NOTIFY_TYPES = {
    "info": apprise.NotifyType.INFO,
    "success": apprise.NotifyType.SUCCESS,
    "warning": apprise.NotifyType.WARNING,
    "failure": apprise.NotifyType.FAILURE,
}
_HTTP_STATUS = re.compile(r"\berror=(\d{3})\b")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]{0,30}")
_OVERFLOW_PARAM = re.compile(r"[?&]overflow=", re.IGNORECASE)


def _silence_apprise_logger() -> None:
    """Keep apprise's log records (which may quote URLs) away from the root logger and our stdout.

    The level stays at WARNING rather than higher: apprise's per-call capture, which send() reads to
    explain a failure, only sees records the logger lets through.
    """
    log = logging.getLogger(apprise.LOGGER_NAME)
    log.setLevel(logging.WARNING)
    log.propagate = False
    if not any(isinstance(h, logging.NullHandler) for h in log.handlers):
        log.addHandler(logging.NullHandler())


def _load_apprise_plugins() -> None:
    """Load apprise's plugins now, once, rather than lazily inside the first send().

    Some plugins import deprecated stdlib modules (apprise's e-mail/PGP support imports `imghdr`);
    that DeprecationWarning is apprise's business, and under `-W error` it would make every URL look
    invalid, so it is ignored here, while nothing else runs yet (module import).
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        apprise.NotificationManager().load_modules()  # type: ignore[no-untyped-call]


_silence_apprise_logger()
_load_apprise_plugins()


def _asset() -> apprise.AppriseAsset:
    # Result logs stay in memory (disk size 0): they may hold redacted-later error text.
    return apprise.AppriseAsset(
        app_id=APP_ID, app_desc=APP_DESC, app_url=APP_URL,
        secure_logging=True, result_log_disk_size=0,
    )


def _invalid_url_message(url: str) -> str:
    """Explain, without secrets, why apprise cannot use `url`."""
    scheme, sep, _ = url.strip().partition("://")
    shown = redact_url(url)
    if not url.strip():
        return "the apprise URL is empty"
    if not sep or not scheme:
        return f"not an apprise URL ({shown}): expected scheme://…, e.g. slack://…, mailtos://…, json://…"
    if scheme.lower() not in apprise.NotificationManager():  # type: ignore[no-untyped-call]
        named = f"'{scheme.lower()}://'" if _SCHEME.fullmatch(scheme) else "its scheme"
        return f"unsupported apprise URL scheme in {shown}: no apprise service handles {named}"
    return f"invalid apprise URL {shown}: apprise cannot parse it (a required part is missing or malformed)"


def _load(url: str, asset: apprise.AppriseAsset) -> apprise.NotifyBase:
    """Instantiate the apprise service for `url`; raise DeliveryError(permanent=True) if it is invalid."""
    try:
        service = apprise.Apprise.instantiate(url, asset=asset)
    except Exception:  # apprise suppresses plugin errors; this guards its own parsing
        service = None
    if service is None:
        raise DeliveryError(_invalid_url_message(url), permanent=True)
    return service


def _cap_socket_timeouts(service: apprise.NotifyBase, timeout_s: float) -> None:
    # apprise's call deadline stops waiting but not the worker thread; capping the socket timeouts
    # makes the abandoned HTTP request die soon after, so a late delivery is unlikely. The slack lets
    # apprise's deadline fire first, so the error says "timed out" rather than "connection error".
    cap = timeout_s + SOCKET_SLACK_S
    service.socket_connect_timeout = min(float(service.socket_connect_timeout), cap)
    service.socket_read_timeout = min(float(service.socket_read_timeout), cap)


def _prefer_truncation(service: apprise.NotifyBase, url: str) -> None:
    # apprise's default overflow mode sends over-long bodies as they are, and services with small
    # limits (Discord 2000, Telegram 4096 characters) reject them every time: a retry loop. Our
    # bodies put the facts first and sources last, so cutting the tail is the better failure.
    # `split` is not used: a partly sent split message cannot be retried without repeats.
    if not _OVERFLOW_PARAM.search(url):
        service.overflow_mode = apprise.OverflowMode.TRUNCATE


def validate_target_url(url: str) -> str | None:
    """Return None if apprise can use `url`, else a one-line reason with the URL redacted.

    Does no I/O beyond loading apprise's plugins; used by `check-config`.
    """
    try:
        _load(url, _asset())
    except DeliveryError as e:
        return e.message
    return None


def _clip(text: str, limit: int = MAX_ERROR_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _log_lines(result: apprise.AppriseResult) -> list[str]:
    """The distinct warning/error messages apprise logged during one notify() call, in order."""
    lines: list[str] = []
    for entry in result.logs():
        message = " ".join(str(entry.message).split())
        if entry.level in ("WARNING", "ERROR", "CRITICAL") and message and message not in lines:
            lines.append(message)
    return lines


def _failure_message(target: TargetSettings, result: apprise.AppriseResult, timeout_s: float) -> str:
    """Why a notify() call failed: HTTP status if known, then apprise's own words; redacted, clipped."""
    lines = _log_lines(result)
    reason = "; ".join(lines) or f"apprise reported {result.status.name.lower()} without details"
    status = _HTTP_STATUS.search(reason)
    if result.status == apprise.AppriseResultStatus.TIMEOUT:
        reason = f"timed out after {timeout_s:g}s ({reason})"
    elif status:
        reason = f"HTTP {status.group(1)}: {reason}"
    return _describe(target, reason)


def _describe(target: TargetSettings, reason: str) -> str:
    """`target NAME (scheme://host): reason`, the reason redacted of the URL's secrets, clipped."""
    # Only the reason is passed through redact_text: the URL shown is already redacted, and
    # redacting it again could mask its host.
    return _clip(f"target {target.name} ({redact_url(target.url)}): {redact_text(reason, [target.url])}")


def _option(table: dict[str, apprise.NotifyFormat] | dict[str, apprise.NotifyType], key: str,
            what: str) -> apprise.NotifyFormat | apprise.NotifyType:
    try:
        return table[key]
    except KeyError:
        raise DeliveryError(f"unknown {what} {key!r}; expected one of {', '.join(table)}",
                            permanent=True) from None


def send(target: TargetSettings, message: Message, *, timeout_s: float = 30.0) -> None:
    """Deliver `message` to the one apprise URL of `target`, waiting at most about `timeout_s` seconds.

    Returns None once apprise reports success. Raises DeliveryError otherwise:
    `permanent=True` when the URL is invalid or the message has an unknown format/type (retrying
    cannot help); `permanent=False` for refused connections, HTTP errors and timeouts. The error
    message names the target, the HTTP status when there was one, and apprise's reason, and never
    the URL's secret parts. After a timeout the request may still complete late (at-least-once).
    """
    asset = _asset()
    service = _load(target.url, asset)
    _cap_socket_timeouts(service, timeout_s)
    _prefer_truncation(service, target.url)
    body_format = _option(_FORMATS, message.body_format, "body format")
    notify_type = _option(_NOTIFY_TYPES, message.notify_type, "notify type")
    notifier = apprise.Apprise(service, asset=asset)
    try:
        result = notifier.notify(
            body=message.body, title=message.title, notify_type=notify_type,
            body_format=body_format, timeout=timeout_s,
        )
    except Exception as e:  # a plugin bug must become a recorded failure, not a crashed job
        raise DeliveryError(_describe(target, f"apprise raised {type(e).__name__}: {e}")) from None
    if not result:
        raise DeliveryError(_failure_message(target, result, timeout_s))


async def send_async(target: TargetSettings, message: Message, *, timeout_s: float = 30.0) -> None:
    """send() in a worker thread, for the asyncio scheduler; same contract.

    apprise is synchronous; it enforces `timeout_s` itself, and this coroutine gives up waiting
    ASYNC_GRACE_S later regardless (DeliveryError, not permanent), so a stuck plugin cannot stall
    the delivery job. The abandoned thread finishes in the background.
    """
    try:
        await asyncio.wait_for(
            asyncio.to_thread(send, target, message, timeout_s=timeout_s),
            timeout=timeout_s + ASYNC_GRACE_S,
        )
    except TimeoutError:
        raise DeliveryError(_describe(target, f"timed out after {timeout_s:g}s")) from None
