"""monitor.render: what an alert says, in markdown, HTML and plain text."""

from __future__ import annotations

import html
import re
from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from monitor.alerts.render import (
    MAX_SOURCES,
    Message,
    body_format_for,
    render_feed_health,
    render_incident,
    render_test_message,
)
from monitor.models import ArticleRef, IncidentView

FORMATS = ("markdown", "html", "text")
HOSTILE = 'Shelling <script>alert("x")</script> & *bold* [link](javascript:alert(1)) @channel'


def article(i: int, *, title: str | None = None, url: str | None = None,
            source: str = "OC Media") -> ArticleRef:
    return ArticleRef(
        external_id=f"en-{i:04d}",
        url=url if url is not None else f"https://news.example/story/{i}?a=1&b=2",
        source=source,
        title=title if title is not None else f"Azerbaijani forces shell Jermuk, report {i}",
        published=datetime(2022, 9, 13, 7, i % 60, tzinfo=UTC),
    )


@pytest.fixture
def jermuk() -> IncidentView:
    return IncidentView(
        id="INC-7Q2K9",
        revision=1,
        title="Shelling of Jermuk",
        event_date=date(2022, 9, 13),
        first_seen_at=datetime(2022, 9, 13, 6, 12, tzinfo=UTC),
        updated_at=datetime(2022, 9, 13, 8, 0, tzinfo=UTC),
        country="AM",
        admin1="Vayots Dzor",
        place="Jermuk",
        lat=39.84,
        lon=45.67,
        geo_precision="place",
        labels=("shelling", "ceasefire_violation"),
        killed=99,
        injured=2,
        killed_military=99,
        injured_civilian=2,
        severity=0.87,
        source_count=3,
        ceasefire="Russia-brokered Armenia–Azerbaijan ceasefire",
        evidence=("artillery, mortars and high-caliber firearms were fired at",
                  "the ceasefire broke down"),
        articles=(article(1), article(2, source="Reuters"), article(3, source="Armenpress", url="")),
    )


# --- body_format_for ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("url", "expected"), [
    ("slack://TokenA/TokenB/TokenC", "markdown"),
    ("discord://1234/abcd", "markdown"),
    ("mmosts://chat.example.org/token", "markdown"),
    ("msteams://a/b/c", "markdown"),
    ("tgram://123456789:AAH/4242", "markdown"),
    ("matrixs://user:pw@matrix.example.org/#room", "markdown"),
    ("MAILTOS://user:pw@mail.example.org", "html"),
    ("mailto://user:pw@mail.example.org", "html"),
    ("json://127.0.0.1:9000/hook", "text"),
    ("jsons://hooks.example.org/x", "text"),
    ("not a url", "text"),
])
def test_body_format_is_chosen_by_scheme(url: str, expected: str) -> None:
    assert body_format_for(url) == expected


# --- titles ------------------------------------------------------------------------------------------

def test_title_names_labels_place_country_and_casualties(jermuk: IncidentView) -> None:
    msg = render_incident(jermuk, kind="incident", body_format="text")
    assert msg.title == "[Shelling, ceasefire violation] Jermuk, Armenia — 99 killed, 2 injured"
    assert msg.notify_type == "warning"


def test_update_title_is_prefixed(jermuk: IncidentView) -> None:
    msg = render_incident(jermuk, kind="update", reasons=("casualties",), body_format="text")
    assert msg.title.startswith("UPDATE [Shelling, ceasefire violation] Jermuk, Armenia")


def test_title_without_place_or_casualties_falls_back_to_country(jermuk: IncidentView) -> None:
    bare = replace(jermuk, place=None, admin1=None, killed=None, injured=None, labels=("air_strike",))
    assert render_incident(bare, kind="incident", body_format="text").title == "[Air strike] Armenia"
    unknown = replace(bare, country=None)
    title = render_incident(unknown, kind="incident", body_format="text").title
    assert title == "[Air strike] location unknown"


def test_title_is_one_bounded_line_even_for_a_hostile_place(jermuk: IncidentView) -> None:
    hostile = replace(jermuk, place="X\nInjected line " * 100)
    msg = render_incident(hostile, kind="incident", body_format="text")
    assert "\n" not in msg.title
    assert len(msg.title) <= 250


# --- bodies: every format carries the facts ----------------------------------------------------------

@pytest.mark.parametrize("fmt", FORMATS)
def test_body_has_what_where_when_casualties_severity_ceasefire(jermuk: IncidentView, fmt: str) -> None:
    body = html.unescape(render_incident(jermuk, kind="incident", body_format=fmt).body)
    assert "Shelling, ceasefire violation" in body
    assert "Jermuk, Vayots Dzor, Armenia" in body
    assert "(39.8400, 45.6700)" in body
    assert "https://www.openstreetmap.org/?mlat=39.8400&mlon=45.6700#map=12/39.8400/45.6700" in body
    assert "2022-09-13 (first seen 2022-09-13 06:12 UTC)" in body
    assert "99 killed (99 military); 2 injured (2 civilian)" in body
    assert "0.87" in body
    assert "Russia-brokered Armenia–Azerbaijan ceasefire" in body
    assert "INC-7Q2K9 (revision 1)" in body


@pytest.mark.parametrize("fmt", FORMATS)
def test_body_quotes_evidence_and_lists_every_source(jermuk: IncidentView, fmt: str) -> None:
    body = html.unescape(render_incident(jermuk, kind="incident", body_format=fmt).body)
    assert "“artillery, mortars and high-caliber firearms were fired at”" in body
    assert "“the ceasefire broke down”" in body
    assert "Sources (3)" in body
    for outlet in ("OC Media", "Reuters", "Armenpress"):
        assert outlet in body
    for i in (1, 2):
        assert f"https://news.example/story/{i}?a=1&b=2" in body
        assert f"2022-09-13 07:{i:02d} UTC" in body
    assert "report 3" in body  # the source without a URL is listed, unlinked


def test_markdown_uses_bold_fields_and_links(jermuk: IncidentView) -> None:
    body = render_incident(jermuk, kind="incident", body_format="markdown").body
    assert "**Where:** Jermuk" in body
    assert "[OpenStreetMap](<https://www.openstreetmap.org/?mlat=39.8400" in body
    assert ("- **Reuters** — [Azerbaijani forces shell Jermuk, report 2]"
            "(<https://news.example/story/2?a=1&b=2>)") in body


def test_html_links_are_escaped_anchors(jermuk: IncidentView) -> None:
    body = render_incident(jermuk, kind="incident", body_format="html").body
    assert '<a href="https://news.example/story/1?a=1&amp;b=2">' in body
    assert "<p><b>Where:</b> Jermuk" in body
    assert "<ul><li>" in body


def test_text_has_no_markup(jermuk: IncidentView) -> None:
    body = render_incident(jermuk, kind="incident", body_format="text").body
    assert "**" not in body and "<a " not in body and "<p>" not in body
    assert "Where: Jermuk, Vayots Dzor, Armenia" in body
    assert "Azerbaijani forces shell Jermuk, report 1 <https://news.example/story/1?a=1&b=2>" in body


def test_unknown_casualties_and_missing_coordinates_are_said_plainly(jermuk: IncidentView) -> None:
    vague = replace(jermuk, killed=None, injured=None, lat=None, lon=None, geo_precision="region",
                    ceasefire=None, evidence=())
    body = render_incident(vague, kind="incident", body_format="text").body
    assert "Casualties: no figures reported" in body
    assert "openstreetmap" not in body
    assert "Ceasefire:" not in body and "Evidence:" not in body


def test_map_zoom_follows_geo_precision(jermuk: IncidentView) -> None:
    body = render_incident(replace(jermuk, geo_precision="country"), kind="incident", body_format="text").body
    assert "#map=5/39.8400/45.6700" in body


# --- hostile article text ----------------------------------------------------------------------------

def test_html_escapes_everything_from_articles(jermuk: IncidentView) -> None:
    hostile = replace(jermuk, place="<img src=x onerror=alert(1)>", evidence=(HOSTILE,),
                      articles=(article(1, title=HOSTILE, source="<b>Evil</b>",
                                        url='https://evil.example/"><script>x</script>'),))
    body = render_incident(hostile, kind="incident", body_format="html").body
    assert "<script" not in body and "<img" not in body and "<b>Evil" not in body
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in body
    assert "&lt;img src=x onerror=alert(1)&gt;" in body
    # the href cannot be closed early by the article's URL
    for href in re.findall(r'href="([^"]*)"', body):
        assert "<" not in href and ">" not in href


def test_html_never_links_non_http_urls(jermuk: IncidentView) -> None:
    body = render_incident(replace(jermuk, articles=(article(1, url="javascript:alert(1)"),)),
                           kind="incident", body_format="html").body
    assert "javascript:" not in body


def test_markdown_escapes_article_markup_and_mentions(jermuk: IncidentView) -> None:
    body = render_incident(replace(jermuk, articles=(article(1, title=HOSTILE),)),
                           kind="incident", body_format="markdown").body
    assert r"\<script\>" in body
    assert r"\*bold\*" in body
    assert r"\[link\](javascript:alert(1))" in body
    assert "@channel" not in body  # a zero-width space breaks the mention
    assert "<script>" not in body


def test_a_title_with_newlines_cannot_forge_lines(jermuk: IncidentView) -> None:
    forged = replace(jermuk, articles=(article(1, title="Real title\nCasualties: 10000 killed"),))
    body = render_incident(forged, kind="incident", body_format="text").body
    assert not any(line.startswith("Casualties: 10000") for line in body.splitlines())
    assert "Real title Casualties: 10000 killed" in body


# --- bounds ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", FORMATS)
def test_many_sources_are_truncated_with_a_count(jermuk: IncidentView, fmt: str) -> None:
    many = tuple(article(i) for i in range(40))
    msg = render_incident(replace(jermuk, articles=many, source_count=40), kind="incident", body_format=fmt)
    body = html.unescape(msg.body)
    assert "Sources (40)" in body
    assert f"news.example/story/{MAX_SOURCES - 1}?" in body
    assert f"news.example/story/{MAX_SOURCES}?" not in body
    assert body.count("news.example/story/") == MAX_SOURCES
    assert f"and {40 - MAX_SOURCES} more" in body
    assert len(msg.body) < 8000


def test_long_titles_and_evidence_are_clipped(jermuk: IncidentView) -> None:
    huge = "word " * 2000
    msg = render_incident(replace(jermuk, evidence=(huge,) * 20, articles=(article(1, title=huge),)),
                          kind="incident", body_format="text")
    assert len(msg.body) < 4000
    assert "… and 15 more" in msg.body


# --- updates -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", FORMATS)
def test_update_says_what_changed(jermuk: IncidentView, fmt: str) -> None:
    reasons = ("casualties", "new source", "ceasefire", "label", "place")
    msg = render_incident(replace(jermuk, revision=3), kind="update", reasons=reasons, body_format=fmt)
    body = html.unescape(msg.body)
    assert ("casualty figures changed, new source, ceasefire assigned, labels changed, location refined"
            in body)
    assert "INC-7Q2K9 (revision 3)" in body


def test_new_incident_has_no_update_line(jermuk: IncidentView) -> None:
    assert "Updated" not in render_incident(jermuk, kind="incident", body_format="text").body


def test_unknown_kind_or_format_is_rejected(jermuk: IncidentView) -> None:
    with pytest.raises(ValueError, match="kind"):
        render_incident(jermuk, kind="digest", body_format="text")
    with pytest.raises(ValueError, match="body format"):
        render_incident(jermuk, kind="incident", body_format="rtf")


# --- other messages ----------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", FORMATS)
def test_test_message_in_each_format(fmt: str) -> None:
    msg = render_test_message(fmt)
    assert msg == Message(msg.title, msg.body, fmt, "info")
    assert "ceasefire-monitor" in msg.title
    assert "test alert" in msg.body


def test_feed_down_and_up_messages() -> None:
    since = datetime(2022, 9, 13, 6, 0, tzinfo=UTC)
    down = render_feed_health("OC Media", "https://oc-media.org", down=True, reason="http_500: server error",
                              since=since)
    assert down.title == "Feed down: OC Media"
    assert down.notify_type == "failure"
    assert "Since: 2022-09-13 06:00 UTC" in down.body
    assert "Reason: http_500: server error" in down.body
    assert "https://oc-media.org" in down.body
    up = render_feed_health("OC Media", "https://oc-media.org", down=False, reason="", since=since,
                            body_format="html")
    assert up.title == "Feed recovered: OC Media"
    assert up.notify_type == "success"
    assert up.body_format == "html" and "<p><b>State:</b> recovered</p>" in up.body


def test_rendering_is_pure(jermuk: IncidentView) -> None:
    first = render_incident(jermuk, kind="update", reasons=("casualties",), body_format="markdown")
    assert render_incident(jermuk, kind="update", reasons=("casualties",), body_format="markdown") == first


@pytest.mark.parametrize("fmt", FORMATS)
def test_with_a_public_url_the_alert_links_to_the_incident_page(jermuk: IncidentView, fmt: str) -> None:
    body = render_incident(jermuk, kind="incident", body_format=fmt,
                           public_url="https://desk.example.org/monitor/").body
    assert "https://desk.example.org/monitor/incidents/INC-7Q2K9" in body
    assert "/incidents/" not in render_incident(jermuk, kind="incident", body_format=fmt).body
