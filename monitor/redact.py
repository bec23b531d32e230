"""Keep secrets out of logs, error messages, the outbox and `check-config` output.

apprise URLs carry their credentials in every part: `slack://TokenA/TokenB/TokenC` has no host at all,
`tgram://bottoken/chatid` puts the token where the host would be, `mailtos://user:pass@host` uses
userinfo, and other services put keys in the path or the query. So the safe rule is to keep only what
is certainly not a secret, the scheme and a real host name, and to hide everything else.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from urllib.parse import parse_qsl, unquote

MASK = "***"

# A DNS name of at least two labels with an alphabetic top-level label. Tokens that happen to contain
# dots (JWTs, for one) fail it: their last segment is base64 with digits, '-' or '_'.
_HOSTNAME = re.compile(r"^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")

# Schemes that never hold credentials in their path: a SQLite URL is a file name.
_PATH_IS_PUBLIC = ("sqlite",)

# Something that looks like a URL inside free text (exception messages, log lines).
# Sentence punctuation right after a URL ("…/monitor: timeout") is not part of it.
_URL_IN_TEXT = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]{1,30}://[^\s'\"<>]*[^\s'\"<>.,:;!?)\]]")

# Query parameters whose value is a credential in common APIs, hidden even in plain http(s) URLs.
_SECRET_PARAMS = re.compile(
    r"(?i)([?&](?:token|access_token|api_?key|key|secret|password|pass|pwd|auth|sig|signature)=)[^&#\s'\"]+"
)

# Parts of a secret URL shorter than this are not searched for in text: path words such as "hook" or
# a chat id "42" are not credentials, and replacing them everywhere would garble messages.
_MIN_PART_LENGTH = 8


def _public_host(host: str) -> bool:
    """True if `host` is a host name or address, not a token in the host position."""
    if host == "localhost" or _HOSTNAME.match(host):
        return True
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def _real_port(port: str) -> bool:
    """True if `port` is a TCP port number (0-65535), not a token in the port position."""
    return port.isdigit() and int(port) <= 65535


def _public_hostport(hostport: str) -> bool:
    """True if `hostport` (userinfo removed) is a public host with no port or a real port number, so
    neither it nor its pieces are credentials: `127.0.0.1:8080`, `[::1]:8443`, `db.example.org:5432`."""
    host, port = _split_netloc(hostport)
    return _public_host(host.lower()) and (not port or _real_port(port))


def _split_netloc(netloc: str) -> tuple[str, str]:
    """Split `host[:port]` (userinfo already removed) into host and port, bracketed IPv6 kept whole."""
    if netloc.startswith("["):
        host, _, rest = netloc.partition("]")
        return host + "]", rest.removeprefix(":")
    host, _, port = netloc.partition(":")
    return host, port


def redact_url(url: str) -> str:
    """Return `url` reduced to its scheme and host, safe to log.

    Userinfo, path, query and fragment are replaced by `***`; so is the host unless it is a dotted host
    name, an IP address or `localhost` (apprise puts tokens there). The port is kept only with a kept
    host and only when it is a port number (at most 65535). SQLite URLs are returned unchanged: their
    path is a file name. Anything that is not `scheme://…` becomes `***`.
    """
    scheme, sep, rest = url.strip().partition("://")
    if not sep or not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*", scheme):
        return MASK
    scheme = scheme.lower()
    if scheme.split("+", 1)[0] in _PATH_IS_PUBLIC and "@" not in rest:
        return f"{scheme}://{rest}"
    netloc, tail = _netloc_and_tail(rest)
    had_userinfo = "@" in netloc
    host, port = _split_netloc(netloc.rpartition("@")[2])
    if not _public_host(host.lower()):
        return f"{scheme}://{MASK}"
    shown = host.lower() + (f":{port}" if _real_port(port) else "")
    prefix = f"{MASK}@" if had_userinfo else ""
    suffix = f"/{MASK}" if tail.strip("/") or (port and not _real_port(port)) else ""
    return f"{scheme}://{prefix}{shown}{suffix}"


def _netloc_and_tail(rest: str) -> tuple[str, str]:
    """Split what follows `://` into the authority part and the rest (path, query, fragment)."""
    match = re.search(r"[/?#]", rest)
    end = match.start() if match else len(rest)
    return rest[:end], rest[end:]


def secret_parts(secret: str) -> set[str]:
    """The strings to hide for one secret: itself and, for a URL, its credential-bearing parts.

    A notifier's error message rarely quotes the apprise URL whole; it quotes the HTTP URL apprise
    built from it (`https://hooks.slack.com/services/TokenA/TokenB/TokenC`) or a password alone.
    A real host with a real port (`json://127.0.0.1:8080/hook`, `postgresql://u:pw@db.example.org:5432`)
    is not a credential: neither `host:port` nor the host nor the port is among the parts.
    """
    secret = secret.strip()
    if not secret:
        return set()
    parts = {secret}
    if "://" not in secret:
        return parts
    authority, tail = _netloc_and_tail(secret.partition("://")[2])
    userinfo, _, hostport = authority.rpartition("@")
    user, _, password = userinfo.partition(":")
    if password:  # a password is a secret however short it is
        parts.update({password, unquote(password)})
    path, _, query = tail.partition("?")
    # Telegram's `tgram://123456789:AAH…/chat` puts the bot token where host and port would be; a
    # public host with a port number is only an address, and hiding it would garble every message.
    candidates = [user, *([] if _public_hostport(hostport) else [hostport, *_split_netloc(hostport)]),
                  *path.split("/")]
    candidates += [value for _, value in parse_qsl(query.partition("#")[0])]
    for candidate in candidates:
        if len(candidate) >= _MIN_PART_LENGTH and not _public_host(candidate.lower()):
            parts.add(candidate)
    return parts


def _redact_url_in_text(match: re.Match[str]) -> str:
    url = match.group(0)
    scheme = url.partition("://")[0].lower()
    authority = _netloc_and_tail(url.partition("://")[2])[0]
    if scheme in ("http", "https") and "@" not in authority:
        # Plain web URLs are useful in messages (which feed failed?); only known key parameters go.
        return _SECRET_PARAMS.sub(lambda m: m.group(1) + MASK, url)
    return redact_url(url)


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """Return `text` with every credential in it replaced by `***`.

    Credentials are: the given secrets and their credential-bearing parts (see secret_parts(); a secret
    URL quoted whole is shown as redact_url() shows it), userinfo and non-web URLs' paths (redact_url()),
    and key parameters such as `token=` even in plain web URLs. Nothing else is masked: a loopback
    webhook `http://127.0.0.1:8080/hook` stays as it is, even when the target's secret is that URL's
    apprise form. Used for exception messages stored as an outbox row's `last_error` and for log lines.
    Longer secrets are matched first, so a secret containing another is hidden whole.
    """
    parts: dict[str, str] = {}
    for secret in secrets:
        whole = secret.strip()
        for part in secret_parts(whole):
            replacement = redact_url(part) if part == whole and "://" in part else MASK
            parts[part] = MASK if parts.get(part, replacement) == MASK else replacement
    if parts:
        pattern = re.compile("|".join(re.escape(part) for part in sorted(parts, key=len, reverse=True)))
        text = pattern.sub(lambda m: parts[m.group(0)], text)
    return _URL_IN_TEXT.sub(_redact_url_in_text, text)
