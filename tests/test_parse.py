"""monitor.parse: feeds -> FeedItems, canonical URLs, fingerprints, HTML to text."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from feed_server import ATOM_TYPE, RSS_TYPE, FeedServer, make_atom, make_rss
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from monitor.errors import FeedError
from monitor.feeds.fetch import Fetcher
from monitor.feeds.parse import (
    MAX_TEXT_CHARS,
    MAX_TITLE_CHARS,
    canonical_url,
    fingerprint,
    html_to_text,
    normalise_lang,
    parse_feed,
)
from monitor.models import FeedItem
from monitor.settings import FetchSettings

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
RSS_HEADERS = {"content-type": RSS_TYPE}


def parse(body: bytes, headers: dict[str, str] | None = None, **kwargs: object) -> list[FeedItem]:
    return parse_feed(body, RSS_HEADERS if headers is None else headers, source="test",
                      now=NOW, **kwargs)  # type: ignore[arg-type]


def parse_error(body: bytes, headers: dict[str, str] | None = None) -> FeedError:
    with pytest.raises(FeedError) as caught:
        parse(body, headers)
    return caught.value


# -- RSS and Atom ---------------------------------------------------------------------------------

def test_rss_items_are_parsed_in_order_with_all_fields() -> None:
    body = make_rss([
        {"title": "Artillery fire hits border village", "link": "https://News.Example.org:443/a/1?id=7&utm_source=rss#top",
         "guid": "urn:news:1", "description": "Shells landed near the school.",
         "pub_date": "Tue, 13 Sep 2022 08:00:00 +0300"},
        {"title": "Second report", "link": "https://news.example.org/a/2", "guid": "urn:news:2",
         "description": "Text two."},
    ], language="en-GB")
    first, second = parse(body)
    assert first == FeedItem(title="Artillery fire hits border village",
                             text="Shells landed near the school.",
                             url="https://news.example.org/a/1?id=7", guid="urn:news:1",
                             published_at=datetime(2022, 9, 13, 5, 0, tzinfo=UTC), source="test", lang="en")
    assert second.title == "Second report" and second.published_at is None


def test_atom_entries_use_updated_when_published_is_missing_and_content_when_no_summary() -> None:
    body = make_atom([
        {"title": "Clashes reported", "link": "https://wire.example.com/x", "id": "tag:wire,2024:1",
         "summary": "<p>Fighting <b>resumed</b> overnight.</p>", "summary_type": "html",
         "published": "2024-04-30T22:15:00+02:00"},
        {"title": "Only content", "id": "tag:wire,2024:2", "content": "<div>Full   text</div>",
         "updated": "2024-04-30T10:00:00Z"},
    ], language="ru-RU")
    first, second = parse(body, {"content-type": ATOM_TYPE})
    assert (first.text, first.url, first.guid) == ("Fighting resumed overnight.", "https://wire.example.com/x",
                                                   "tag:wire,2024:1")
    assert first.published_at == datetime(2024, 4, 30, 20, 15, tzinfo=UTC)
    assert (second.text, second.url, second.published_at) == ("Full text", None,
                                                              datetime(2024, 4, 30, 10, 0, tzinfo=UTC))
    assert first.lang == second.lang == "ru"


def test_cdata_html_summaries_become_plain_text() -> None:
    html = ("<p>Strikes on <a href='/x'>Kharkiv</a>&nbsp;&amp; Sumy &#8212; 3&nbsp;killed.</p>"
            "<script>track('x')</script><style>p{}</style><ul><li>one</li><li>two</li></ul>")
    (item,) = parse(make_rss([{"title": "<b>Bold</b> title", "description": html, "cdata": True}]))
    assert item.text == "Strikes on Kharkiv & Sumy \u2014 3 killed. one two"
    assert item.title == "Bold title"


def test_windows_1251_russian_feed_is_decoded_via_declaration_and_header() -> None:
    items = [{"title": "Обстрел Джермука", "description": "Артиллерия открыла огонь по позициям.",
              "link": "https://ru.example.org/news/1"}]
    body = make_rss(items, encoding="windows-1251", language="ru")
    assert "Обстрел".encode() not in body  # really single-byte Cyrillic on the wire
    (item,) = parse(body, {"content-type": "application/rss+xml; charset=windows-1251"})
    assert (item.title, item.lang) == ("Обстрел Джермука", "ru")
    assert item.text == "Артиллерия открыла огонь по позициям."


def test_the_charset_in_content_type_is_honoured_without_an_xml_declaration() -> None:
    body = make_rss([{"title": "Перемирие нарушено", "description": "Текст."}], encoding="windows-1251",
                    declare_encoding=False, language=None)
    (item,) = parse(body, {"content-type": "text/xml; charset=windows-1251"})
    assert item.title == "Перемирие нарушено"


def test_a_windows_1251_feed_fetched_over_http_parses_with_the_fetched_headers() -> None:
    body = make_rss([{"title": "Миномётный обстрел", "description": "Ранены двое."}],
                    encoding="windows-1251", declare_encoding=False, language="ru")

    async def fetch(url: str) -> tuple[bytes, dict[str, str]]:
        async with Fetcher(FetchSettings(total_timeout_s=5), version="0") as fetcher:
            result = await fetcher.fetch(url)
        return result.body, result.headers

    with FeedServer() as srv:
        srv.set_feed("/ru.xml", body, "application/rss+xml; charset=windows-1251", content_encoding="gzip")
        fetched, headers = asyncio.run(fetch(srv.url("/ru.xml")))
    (item,) = parse_feed(fetched, headers, source="ru")
    assert (item.title, item.text, item.lang) == ("Миномётный обстрел", "Ранены двое.", "ru")


def test_relative_links_resolve_against_the_feed_url() -> None:
    (item,) = parse(make_rss([{"title": "t", "link": "/news/9?utm_medium=x"}], link=""),
                    url="https://site.example.net/feeds/main.xml")
    assert item.url == "https://site.example.net/news/9"


def test_xml_base_and_the_feed_url_resolve_links_poll_after_poll() -> None:
    # feedparser's base-URI work is memoised (parse.py): the same document under another feed URL, and
    # an element's own xml:base, must still resolve each time as if nothing had been seen before.
    body = (b'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
            b'<title>t</title><id>urn:f</id><updated>2024-01-01T00:00:00Z</updated>'
            b'<entry xml:base="/desk/"><title>a</title><id>urn:a</id><link href="one"/>'
            b'<updated>2024-01-01T00:00:00Z</updated></entry>'
            b'<entry><title>b</title><id>urn:b</id><link href="two"/><updated>2024-01-01T00:00:00Z</updated>'
            b'</entry></feed>')
    for _ in range(2):
        for host in ("https://one.example.org/f/atom.xml", "https://two.example.org/g/atom.xml"):
            root, folder = host.rsplit("/", 2)[0], host.rsplit("/", 1)[0]
            items = parse(body, {"content-type": ATOM_TYPE}, url=host)
            assert [i.url for i in items] == [f"{root}/desk/one", f"{folder}/two"]


def test_non_http_links_are_dropped() -> None:
    (item,) = parse(make_rss([{"title": "t", "link": "javascript:alert(1)", "guid": "g"}]))
    assert item.url is None and item.guid == "g"


# -- languages ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("feed_lang", "given", "expected"), [
    ("en-us", None, "en"), ("RU", None, "ru"), ("de-DE", None, None), (None, None, None),
    ("en", "ru", "ru"), ("ru", "EN", "en"), ("en", "fr", None),
])
def test_language_is_the_given_one_or_the_feeds_normalised(feed_lang: str | None, given: str | None,
                                                          expected: str | None) -> None:
    (item,) = parse(make_rss([{"title": "t"}], language=feed_lang), lang=given)
    assert item.lang == expected


@pytest.mark.parametrize(("value", "expected"), [("en_GB", "en"), (" ru-ru ", "ru"), ("", None), (3, None)])
def test_normalise_lang(value: object, expected: str | None) -> None:
    assert normalise_lang(value) == expected


# -- dates ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("raw", "expected"), [
    ("Tue, 30 Apr 2024 23:30:00 -0100", datetime(2024, 5, 1, 0, 30, tzinfo=UTC)),
    ("2024-04-30T10:00:00Z", datetime(2024, 4, 30, 10, 0, tzinfo=UTC)),
    ("not a date", None),
    ("Fri, 31 Feb 2024 10:00:00 GMT", None),
    ("", None),
    ("Thu, 02 May 2024 11:00:00 GMT", datetime(2024, 5, 2, 11, 0, tzinfo=UTC)),  # 23 h ahead: clock skew
    ("Sat, 04 May 2024 12:00:00 GMT", None),  # 3 days ahead: absurd
    ("Fri, 01 Jan 2100 00:00:00 GMT", None),
])
def test_publication_dates(raw: str, expected: datetime | None) -> None:
    (item,) = parse(make_rss([{"title": "t", "pub_date": raw}]))
    assert item.published_at == expected
    assert item.published_at is None or item.published_at.tzinfo is UTC


# -- selection, dedupe, caps ----------------------------------------------------------------------

def test_entries_without_title_and_text_are_skipped() -> None:
    body = make_rss([{"link": "https://x.org/1"}, {"title": "  ", "description": "<p> </p>", "cdata": True},
                     {"description": "text only"}, {"title": "title only"}])
    assert [(i.title, i.text) for i in parse(body)] == [("", "text only"), ("title only", "")]


def test_duplicate_entries_within_a_feed_are_kept_once() -> None:
    body = make_rss([{"title": "A", "link": "https://x.org/a?utm_source=1"},
                     {"title": "A (updated)", "link": "https://x.org/a?utm_source=2"},
                     {"title": "B", "guid": "b"}, {"title": "B again", "guid": "b"},
                     {"title": "C"}])
    assert [i.title for i in parse(body)] == ["A", "B", "C"]


def test_long_titles_and_texts_are_capped() -> None:
    (item,) = parse(make_rss([{"title": "word " * 1000, "description": "x" * (MAX_TEXT_CHARS * 3)}]))
    assert len(item.title) <= MAX_TITLE_CHARS and item.title.endswith("word…")
    assert len(item.text) == MAX_TEXT_CHARS


def test_a_valid_feed_without_entries_gives_no_items() -> None:
    assert parse(make_rss([])) == []
    assert parse(make_atom([]), {"content-type": ATOM_TYPE}) == []


# -- documents that are not usable feeds ----------------------------------------------------------

@pytest.mark.parametrize("body", [b"", b"   \n\t", b"\xef\xbb\xbf"])
def test_an_empty_body_is_not_a_feed(body: bytes) -> None:
    assert parse_error(body).kind == "not_a_feed"


@pytest.mark.parametrize("content_type", ["text/html; charset=utf-8", "application/rss+xml"])
def test_an_html_page_is_not_a_feed(content_type: str) -> None:
    page = b"<!DOCTYPE html>\n<html><head><title>Home</title></head><body><p>Hello<br></body></html>"
    assert parse_error(page, {"content-type": content_type}).kind == "not_a_feed"


def test_well_formed_xml_that_is_not_a_feed_is_not_a_feed() -> None:
    assert parse_error(b"<?xml version='1.0'?><config><a>1</a></config>").kind == "not_a_feed"


def test_garbage_is_a_parse_error() -> None:
    assert parse_error(b"<<<>>>\x00\x01 not xml at all </rss").kind in ("parse_error", "not_a_feed")
    assert parse_error(b"<?xml version='1.0'?><rss><channel><item><title>x</ti").kind == "parse_error"


def test_a_truncated_feed_keeps_only_its_complete_entries() -> None:
    body = make_rss([{"title": f"Report {i}", "description": f"Complete text number {i}."} for i in range(4)])
    cut = body[: body.index(b"Complete text number 3") + 10]
    titles = [i.title for i in parse(cut)]
    assert titles == ["Report 0", "Report 1", "Report 2"]


def test_a_feed_truncated_inside_its_first_entry_is_a_parse_error() -> None:
    body = make_rss([{"title": "Only", "description": "Never finished"}])
    assert parse_error(body[: body.index(b"Never") + 5]).kind == "parse_error"


def test_a_minor_malformation_with_entries_is_accepted() -> None:
    body = make_rss([{"title": "ok", "description": "bad & unescaped"}]).replace(b"&amp;", b"&")
    (item,) = parse(body)
    assert (item.title, item.text) == ("ok", "bad & unescaped")


def test_a_russian_feed_declaring_utf8_but_sending_windows_1251_is_rescued() -> None:
    body = make_rss([{"title": "Обстрел позиций у Джермука", "description": "Противник применил миномёты."}],
                    encoding="windows-1251").replace(b'encoding="windows-1251"', b'encoding="utf-8"')
    (item,) = parse(body, {"content-type": "application/rss+xml"})
    assert (item.title, item.text) == ("Обстрел позиций у Джермука", "Противник применил миномёты.")


def test_a_western_feed_with_a_wrong_declaration_is_not_turned_into_cyrillic() -> None:
    text = "Les combats ont repris près de la frontière, a déclaré le ministère de la Défense."
    body = make_rss([{"title": "Reprise des combats", "description": text}],
                    encoding="windows-1252").replace(b'encoding="windows-1252"', b'encoding="utf-8"')
    (item,) = parse(body, {"content-type": "application/rss+xml"})
    assert item.text == text


def test_a_body_naming_a_local_file_is_never_read_from_disk(tmp_path: Path) -> None:
    secret = tmp_path / "feed.xml"
    secret.write_bytes(make_rss([{"title": "from disk"}]))
    with pytest.raises(FeedError):
        parse(str(secret).encode())


# -- properties -----------------------------------------------------------------------------------

HEADS = [make_rss([{"title": "a", "description": "b", "link": "https://x.org/"}]),
         make_atom([{"title": "a", "summary": "b"}]), b"<rss version='2.0'><channel><item>"]
ITEM = st.fixed_dictionaries({}, optional={
    "title": st.text(max_size=40), "description": st.text(max_size=80), "link": st.text(max_size=40),
    "guid": st.text(max_size=20), "pub_date": st.text(max_size=30), "cdata": st.booleans()})
FEEDISH = st.one_of(
    st.binary(max_size=2000),
    st.builds(lambda head, tail: head + tail, st.sampled_from(HEADS), st.binary(max_size=300)),
    st.builds(lambda items: make_rss(items), st.lists(ITEM, max_size=4)),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=FEEDISH, content_type=st.sampled_from([RSS_TYPE, "text/html", "text/xml; charset=koi8-r", ""]))
@example(body=b"/etc/passwd", content_type="")
@example(body=b"<!DOCTYPE x [<!ENTITY a 'aaaa'><!ENTITY b '&a;&a;&a;'>]><rss>&b;</rss>", content_type="")
def test_parse_feed_raises_only_feed_errors(body: bytes, content_type: str) -> None:
    try:
        items = parse_feed(body, {"content-type": content_type}, source="p")
    except FeedError as error:
        assert error.kind in ("not_a_feed", "parse_error")
        return
    for item in items:
        assert item.title or item.text
        assert item.url is None or item.url == canonical_url(item.url)


# -- canonical URLs -------------------------------------------------------------------------------

@pytest.mark.parametrize(("raw", "expected"), [
    ("  https://Example.COM/Path?q=1#frag \n", "https://example.com/Path?q=1"),
    ("HTTP://example.com:80/a", "http://example.com/a"),
    ("https://example.com:443/a", "https://example.com/a"),
    ("https://example.com:8443/a", "https://example.com:8443/a"),
    ("http://example.com:443/a", "http://example.com:443/a"),
    ("https://example.com", "https://example.com/"),
    ("https://example.com./a", "https://example.com/a"),
    ("https://x.org/a?utm_source=rss&utm_medium=feed&utm_campaign=c", "https://x.org/a"),
    ("https://x.org/a?b=2&fbclid=abc&a=1&gclid=1&dclid=2", "https://x.org/a?b=2&a=1"),
    ("https://x.org/a?msclkid=1&mc_cid=2&mc_eid=3&ocid=4&cmpid=5&_ga=6&yclid=7&igshid=8&ref_src=9&id=3",
     "https://x.org/a?id=3"),
    ("https://x.org/a?UTM_Source=x&Id=5", "https://x.org/a?Id=5"),
    ("https://x.org/a?q=a%20b&x=%2F&empty=&flag", "https://x.org/a?q=a%20b&x=%2F&empty=&flag"),
    ("https://x.org/a?&&id=1&", "https://x.org/a?id=1"),
    ("https://user:Pw@Example.org/a", "https://user:Pw@example.org/a"),
    ("http://[2001:DB8::1]:80/a", "http://[2001:db8::1]/a"),
    ("https://x.org/story?id=1&ref=home", "https://x.org/story?id=1&ref=home"),
    ("/relative/path", "/relative/path"),
    ("not a url", "not a url"),
    ("http://[broken/", "http://[broken/"),
])
def test_canonical_url(raw: str, expected: str) -> None:
    assert canonical_url(raw) == expected


@given(st.text(max_size=80) | st.builds(lambda host, path, q: f"HTTPS://{host}:443/{path}?{q}#f",
                                         st.from_regex(r"[A-Za-z0-9.-]{1,20}", fullmatch=True),
                                         st.text(max_size=20), st.text(max_size=30)))
def test_canonical_url_is_idempotent(url: str) -> None:
    once = canonical_url(url)
    assert canonical_url(once) == once


# -- fingerprints ---------------------------------------------------------------------------------

def test_a_no_guid_feed_with_changing_tracking_params_keeps_its_fingerprints() -> None:
    def poll(n: int) -> list[str]:
        body = make_rss([{"title": f"Story {i} (v{n})", "description": "x",
                          "link": f"https://www.example.co.uk/news/article-{i}.html?utm_source=feed_{n}"
                                  f"&ito=rss{n}&ns_campaign=c{n}#comments"} for i in range(3)])
        return [fingerprint(item) for item in parse(body)]

    assert poll(1) == poll(2) and len(set(poll(1))) == 3


def test_fingerprint_falls_back_from_url_to_guid_to_title_and_date() -> None:
    day = datetime(2024, 4, 30, 23, 0, tzinfo=UTC)
    by_url = FeedItem(title="T", text="", url="https://x.org/a?utm_source=q", guid="g", source="s")
    moved = FeedItem(title="Other", text="", url="https://X.org/a", source="z")
    assert fingerprint(by_url) == fingerprint(moved)
    by_guid = FeedItem(title="T", text="", guid="g", source="s")
    assert fingerprint(by_guid) == fingerprint(FeedItem(title="Changed", text="", guid="g", source="s"))
    assert fingerprint(by_guid) != fingerprint(FeedItem(title="T", text="", guid="g", source="other"))
    by_title = FeedItem(title="  Shelling  in JERMUK ", text="", source="s", published_at=day)
    same = FeedItem(title="shelling in jermuk", text="other", source="s",
                    published_at=day + timedelta(minutes=30))
    assert fingerprint(by_title) == fingerprint(same)
    assert fingerprint(by_title) != fingerprint(FeedItem(title="shelling in jermuk", text="", source="s",
                                                          published_at=day + timedelta(days=1)))
    assert len({fingerprint(by_url), fingerprint(by_guid), fingerprint(by_title)}) == 3
    assert len(fingerprint(by_url)) == 64 and int(fingerprint(by_url), 16) >= 0


# -- HTML to text ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("markup", "expected"), [
    ("plain   text\n here", "plain text here"),
    ("AT&amp;T &lt;b&gt;", "AT&T <b>"),
    ("<p>one</p><p>two</p>", "one two"),
    ("a<br>b<br/>c", "a b c"),
    ("<b>bo</b>ld", "bold"),
    ("<script>var x = '<p>';</script>visible<style>.x{}</style>", "visible"),
    ("caf&eacute; &#1040;&#x411; &nbsp;x", "café АБ x"),
    ("<img src=x onerror=alert(1)>after", "after"),
    ("<!-- comment -->kept<![CDATA[ raw ]]>", "kept"),
    ("<p>unclosed <b>tags", "unclosed tags"),
    ("x < y and y > z", "x < y and y > z"),
    ("", ""),
])
def test_html_to_text(markup: str, expected: str) -> None:
    assert html_to_text(markup) == expected
