"""Feed bytes -> FeedItems, plus canonical URLs and article fingerprints (DESIGN §3).     [pure]

feedparser does the XML and character-set work; this module decides what is usable, turns HTML
into plain text and gives every item the identity the store deduplicates on.
"""

from __future__ import annotations

import calendar
import functools
import hashlib
import html
import io
import re
import time
import urllib.parse
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any

import feedparser
import feedparser.api
import feedparser.mixin
import feedparser.sanitizer

from monitor.errors import FeedError
from monitor.models import FeedItem

MAX_TITLE_CHARS = 500
MAX_TEXT_CHARS = 10_000
# Publishers' clocks and time zones are sloppy; beyond this a date is wrong, not early.
MAX_FUTURE = timedelta(days=2)
# Only these response headers mean anything to feedparser once the body is decoded bytes.
PASSED_HEADERS = ("content-type", "content-location", "content-language")
_WORD_WITH_8BIT = re.compile(rb"[A-Za-z\xc0-\xff]*[\xc0-\xff][A-Za-z\xc0-\xff]*")
_CLOSING_ROOT = re.compile(rb"</(?:[\w.-]+:)?(?:rss|feed|RDF)\s*>")
_HTML_START = re.compile(rb"^\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body)[\s>]", re.I | re.S)

TRACKING_PARAMS = frozenset({
    "fbclid", "gclid", "gclsrc", "dclid", "msclkid", "mc_cid", "mc_eid", "ocid", "cmpid", "_ga", "_gl",
    "yclid", "igshid", "ref_src", "ref_url", "wt.mc_id", "_hsenc", "_hsmi", "mkt_tok", "smid", "s_cid",
    "__twitter_impression", "ito", "cmp", "oly_enc_id", "oly_anon_id", "vero_id", "twclid", "ttclid",
    "wbraid", "gbraid",
})
TRACKING_PREFIXES = ("utm_", "ns_", "at_", "pk_", "mtm_", "hsa_")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def parse_feed(body: bytes, headers: Mapping[str, str], *, source: str, lang: str | None = None,
               url: str = "", now: datetime | None = None) -> list[FeedItem]:
    """Parse RSS/Atom `body` (as fetched, with its response `headers`) into FeedItems, in feed order.

    The charset in Content-Type is honoured. `url` (the feed's URL) resolves relative links;
    `lang` overrides the feed's declared language; `now` (UTC, default: the clock) bounds dates.
    Entries with neither title nor text are skipped; duplicates (same fingerprint) are kept once.
    A valid feed without entries gives []. Raises FeedError("not_a_feed") for an empty body or a
    non-feed document (an HTML page) and FeedError("parse_error") for XML nothing usable can be
    recovered from; it raises nothing else. A truncated document yields its entries except the
    last one, which may be cut short.
    """
    return unique_items(parse_entries(body, headers, source=source, lang=lang, url=url, now=now)[0])


def unique_items(items: list[FeedItem | None]) -> list[FeedItem]:
    """The usable items, each fingerprint once (the first), in feed order."""
    unique: dict[str, FeedItem] = {}
    for item in items:
        if item is not None:
            unique.setdefault(fingerprint(item), item)
    return list(unique.values())


def parse_entries(body: bytes, headers: Mapping[str, str], *, source: str, lang: str | None = None,
                  url: str = "", now: datetime | None = None) -> tuple[list[FeedItem | None], bool]:
    """`parse_feed` before duplicates are dropped: one item per entry feedparser found (None where the
    entry has neither title nor text), and whether the document was clean (no recovery from bad XML or
    a wrong charset, nothing cut off, not in a Western 8-bit charset whose reading depends on the whole
    body: `_mislabelled_cyrillic`). Raises FeedError as `parse_feed` does."""
    if not body.removeprefix(b"\xef\xbb\xbf").strip():  # a lone UTF-8 BOM is still empty
        raise FeedError("not_a_feed", f"{source}: empty body")
    parsed = _feedparser(body, headers, url)
    if _mislabelled_cyrillic(parsed, body):
        parsed = _feedparser(body, {"content-type": "application/xml; charset=windows-1251"}, url)
    entries: list[Any] = list(parsed.get("entries") or [])
    bozo = bool(parsed.get("bozo"))
    if not entries and not parsed.get("version"):
        if bozo and not _looks_like_html(body, headers):
            raise FeedError("parse_error", f"{source}: unreadable XML: {parsed.get('bozo_exception')}")
        raise FeedError("not_a_feed", f"{source}: not an RSS or Atom document")
    if bozo and not _has_closing_root(body, str(parsed.get("encoding", ""))):
        entries = entries[:-1]  # truncated: the last entry may be a fragment of itself
        if not entries:
            raise FeedError("parse_error", f"{source}: truncated document: {parsed.get('bozo_exception')}")
    feed_lang = normalise_lang(lang) if lang else normalise_lang(parsed.get("feed", {}).get("language"))
    now = now or datetime.now(UTC)
    clean = not bozo and str(parsed.get("encoding", "")).lower() not in _WESTERN_8BIT
    return [_item(entry, source=source, lang=feed_lang, now=now) for entry in entries], clean


def _feedparser(body: bytes, headers: Mapping[str, str], url: str) -> Any:
    wanted = {k.lower(): v for k, v in headers.items() if k.lower() in PASSED_HEADERS}
    if url and "content-location" not in wanted:
        wanted["content-location"] = url
    try:
        # A file object, never the bytes themselves: feedparser treats a bytes/str argument as a
        # file name first, so a body like b"/etc/passwd" would make it read a local file.
        return feedparser.parse(io.BytesIO(body), response_headers=wanted,
                                sanitize_html=False, resolve_relative_uris=False)
    except Exception as exc:  # feedparser is not ours: whatever it raises is a parse failure
        raise FeedError("parse_error", f"feed parser failed: {type(exc).__name__}: {exc}") from None


# An entity declaration whose value is one character reference: expanding it cannot amplify anything.
_CHAR_ENTITY = re.compile(rb'\s+(\w+)\s+"(&#\w+;)"')


def _replace_doctype(data: bytes) -> tuple[str | None, bytes, dict[str, str]]:
    """feedparser's `replace_doctype`, keeping only entities that stand for one character.

    feedparser keeps every internal entity with a plain-text value ("safe": no nested references) and
    its loose parser, used whenever the strict one fails, expands them without any limit: a 40 kB
    body of `&a;` references to one 10 kB entity became 100 million characters (expat's
    amplification limit only guards the strict parser). That quadratic blow-up works in any
    encoding, since this runs after feedparser has converted the document to UTF-8, which is why it
    is fixed here and not by filtering the bytes beforehand. Undeclared entities stay literal text.
    """
    start_match = re.search(rb"<\w", data)
    start = start_match.start() if start_match else -1
    head, rest = data[: start + 1], data[start + 1:]
    declared = feedparser.sanitizer.RE_ENTITY_PATTERN.findall(head)
    head = feedparser.sanitizer.RE_ENTITY_PATTERN.sub(b"", head)
    doctypes = feedparser.sanitizer.RE_DOCTYPE_PATTERN.findall(head)
    version = "rss091n" if doctypes and b"netscape" in doctypes[0].lower() else None
    safe = [e for e in declared if _CHAR_ENTITY.match(e)] if len(doctypes) == 1 else []
    replacement = b"<!DOCTYPE feed [\n<!ENTITY" + b">\n<!ENTITY ".join(safe) + b">\n]>" if safe else b""
    entities = {k.decode("utf-8"): v.decode("utf-8") for k, v in _CHAR_ENTITY.findall(replacement)}
    return version, feedparser.sanitizer.RE_DOCTYPE_PATTERN.sub(replacement, head) + rest, entities


# feedparser.parse() calls the name it imported into feedparser.api; replace it there (once, at import).
feedparser.api.replace_doctype = _replace_doctype
# With a base URI (we pass the feed's URL as Content-Location, for relative links), feedparser works out the
# base of EVERY element again at its start tag: make_safe_absolute_uri(base, the same base or its xml:base),
# a urljoin each time - a quarter of its parse time on real feeds. The function is pure and its arguments
# repeat within a document and across polls, so the names the parser calls are given a bounded memo.
feedparser.mixin.make_safe_absolute_uri = functools.lru_cache(maxsize=1024)(feedparser.mixin.make_safe_absolute_uri)


_WESTERN_8BIT = ("windows-1252", "iso-8859-1", "cp1252")


def _mislabelled_cyrillic(parsed: Any, body: bytes) -> bool:
    """True when feedparser fell back to a Western 8-bit charset on what is really windows-1251.

    Russian feeds that declare utf-8 but send windows-1251 are common. Checked only after such a
    fallback. In windows-1251 Russian, words are made wholly of 8-bit letters; in a Western 8-bit
    text (French, German) the 8-bit letters are a few accents inside otherwise ASCII words.
    """
    if str(parsed.get("encoding", "")).lower() not in _WESTERN_8BIT:
        return False
    high = letters = 0
    for word in _WORD_WITH_8BIT.findall(body[:50_000]):
        letters += len(word)
        high += sum(1 for byte in word if byte >= 0xC0)
    return high >= 20 and high > 0.7 * letters


def _has_closing_root(body: bytes, encoding: str) -> bool:
    """True if the document ends with the closing tag of its root (it was not cut short).

    Looked for in the encoding feedparser found, so that a UTF-16 or UTF-32 feed is not taken for truncated.
    """
    tail = body[-1024:]
    if encoding.lower().replace("_", "-").startswith(("utf-16", "utf-32")):
        try:
            tail = tail.decode(encoding, errors="ignore").encode("utf-8")
        except LookupError:
            pass
    return bool(_CLOSING_ROOT.search(tail))


def _looks_like_html(body: bytes, headers: Mapping[str, str]) -> bool:
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    return "html" in content_type.lower() or bool(_HTML_START.match(body[:2048]))


# feedparser's entries are dicts whose own get() maps legacy key names first (a tenth of our share of the
# parse); none of the keys read here is such a name, so the plain dict lookup gives the same values.
_get = dict.get


def _item(entry: Any, *, source: str, lang: str | None, now: datetime) -> FeedItem | None:
    title = _cap(_detail_text(entry, "title"), MAX_TITLE_CHARS)
    text = _cap(_detail_text(entry, "summary") or _content_text(entry), MAX_TEXT_CHARS)
    if not title and not text:
        return None
    guid = str(_get(entry, "id") or "").strip() or None
    return FeedItem(title=title, text=text, url=_entry_url(entry), guid=guid,
                    published_at=_published_at(entry, now), source=source, lang=lang)


def _detail_text(entry: Any, key: str) -> str:
    value = _get(entry, key)
    detail = _get(entry, f"{key}_detail") or {}
    return _as_text(value, _get(detail, "type")) if isinstance(value, str) else ""


def _content_text(entry: Any) -> str:
    for content in _get(entry, "content") or ():
        text = _as_text(_get(content, "value"), _get(content, "type"))
        if text:
            return text
    return ""


def _as_text(value: object, content_type: object) -> str:
    """Plain text of a feedparser value; HTML unless feedparser says it is plain (it sniffs RSS)."""
    if not isinstance(value, str):
        return ""
    if "html" in str(content_type or "text/html"):
        return html_to_text(value)
    return " ".join(value.split())


def _entry_url(entry: Any) -> str | None:
    link = _get(entry, "link")
    if not isinstance(link, str) or not link.strip():
        return None
    canonical = canonical_url(link)
    return canonical if canonical.startswith(("http://", "https://")) else None


def _published_at(entry: Any, now: datetime) -> datetime | None:
    """The entry's publication (else update) time in UTC; None if absent, invalid or absurdly future."""
    for key in ("published_parsed", "updated_parsed"):
        parsed = _get(entry, key)
        if isinstance(parsed, time.struct_time):
            try:
                # feedparser's struct_time is already UTC; timegm avoids local-time interpretation.
                when = datetime.fromtimestamp(calendar.timegm(parsed), UTC)
            except (OverflowError, ValueError, OSError):
                continue
            return when if when <= now + MAX_FUTURE else None
    return None


def _cap(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    # Prefer a word boundary, unless that would throw away a large part of the text.
    return (cut[:space] if space > limit * 0.8 else cut).rstrip() + "…"


def normalise_lang(value: object) -> str | None:
    """'en-US', 'EN', 'ru_RU' -> 'en' / 'ru'; anything else (or None) -> None."""
    if not isinstance(value, str):
        return None
    primary = value.strip().lower().replace("_", "-").split("-", 1)[0]
    return primary if primary in ("en", "ru") else None


class _TextExtractor(HTMLParser):
    _SKIP = frozenset({"script", "style", "noscript", "template", "head", "title"})
    _BLOCK = frozenset({"p", "br", "div", "li", "tr", "td", "th", "h1", "h2", "h3", "h4", "h5", "h6",
                        "blockquote", "section", "article", "ul", "ol", "table", "hr", "figcaption"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self._skipping += 1
        elif tag in self._BLOCK:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP:
            self._skipping = max(0, self._skipping - 1)
        elif tag in self._BLOCK:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


_TAG = re.compile(r"<[^>]*>")


def html_to_text(markup: str) -> str:
    """Plain text of an HTML fragment: tags and script/style content dropped, entities unescaped,
    block boundaries kept as spaces, all whitespace collapsed to single spaces."""
    if "<" not in markup:
        return " ".join(html.unescape(markup).split())
    extractor = _TextExtractor()
    try:
        extractor.feed(markup)
        extractor.close()
        text = "".join(extractor.parts)
    except Exception:  # html.parser can still trip on pathological markup; degrade, never fail
        text = html.unescape(_TAG.sub(" ", markup))
    return " ".join(text.split())


@functools.lru_cache(maxsize=8192)  # pure; a feed repeats its recent items' links at every poll
def canonical_url(url: str) -> str:
    """The form of `url` used for deduplication (DESIGN §3); idempotent.

    Surrounding whitespace stripped; scheme and host lower-cased (trailing dot dropped); default
    port dropped; empty path becomes "/"; fragment dropped; tracking parameters (utm_*, fbclid,
    gclid, mc_cid, … see TRACKING_PARAMS / TRACKING_PREFIXES) dropped while the other parameters
    are kept byte for byte, in order. A string that is not an absolute URL comes back stripped.
    """
    url = url.strip()
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return url
    if not parts.scheme or not parts.netloc:
        return url
    scheme = parts.scheme.lower()
    result = urllib.parse.urlunsplit((scheme, _netloc(scheme, parts), parts.path or "/",
                                      _clean_query(parts.query), ""))
    # Dropping the fragment or a parameter can expose trailing whitespace; go again until stable.
    return result if result == result.strip() else canonical_url(result)


def _netloc(scheme: str, parts: urllib.parse.SplitResult) -> str:
    userinfo, _, hostport = parts.netloc.rpartition("@")
    host, port = hostport, ""
    if not hostport.endswith("]") and ":" in hostport:  # a port, not the inside of an IPv6 literal
        host, _, port = hostport.rpartition(":")
    host = host.lower().rstrip(".")
    if port == "" or (port.isdigit() and int(port) == _DEFAULT_PORTS.get(scheme)):
        netloc = host
    else:
        netloc = f"{host}:{port}"
    return f"{userinfo}@{netloc}" if userinfo else netloc


def _clean_query(query: str) -> str:
    kept = []
    for pair in query.split("&"):
        if not pair:
            continue
        key = urllib.parse.unquote_plus(pair.split("=", 1)[0]).strip().lower()
        if key in TRACKING_PARAMS or key.startswith(TRACKING_PREFIXES):
            continue
        kept.append(pair)
    return "&".join(kept)


def fingerprint(item: FeedItem) -> str:
    """SHA-256 hex identity of an article (DESIGN §3).

    Of the canonical URL when the item has one; else of (source, guid); else of (source,
    normalised title, published date). The kinds are tagged so one can never collide with another.
    """
    if item.url:
        return _url_fingerprint(item.url)
    if item.guid:
        key = f"guid\x1f{item.source}\x1f{item.guid.strip()}"
    else:
        day = item.published_at.astimezone(UTC).date().isoformat() if item.published_at else ""
        key = f"title\x1f{item.source}\x1f{' '.join(item.title.casefold().split())}\x1f{day}"
    return _sha256(key)


@functools.lru_cache(maxsize=8192)  # an item's fingerprint is asked for by the parser, then by the pipeline
def _url_fingerprint(url: str) -> str:
    return _sha256(canonical_url(url))


def _sha256(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
