"""The API's pages as JSON text written by the database (monitor.store.json_pages): on both engines, each
incident is the very text JSONResponse made of incident_json of its view, in both list orders, for the values where the
database's own formatting would differ from Python's (halves in rounding, 17-digit floats, microseconds,
missing values, quotes and control characters, more than MAX_ARTICLES_PER_VIEW articles)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update
from test_queries import T0, add_incident

from monitor.models import IncidentView
from monitor.store import IncidentFilter, Store
from monitor.store.incident_page import page_by_event
from monitor.store.json_pages import ListedPage, _number, page_listed
from monitor.store.queries import MAX_ARTICLES_PER_VIEW, page_incidents
from monitor.store.schema import incidents
from monitor.web.desk import incident_json, listed_page


def _body(items: list[str]) -> Any:
    return json.loads(bytes(listed_page(items, None).body))


_ENCODE = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode  # JSONResponse's


def _views_page(views: list[IncidentView], next_url: str | None) -> bytes:
    """The page as it was encoded from the views (JSONResponse's encoding), byte for byte."""
    return _ENCODE({"ok": True, "count": len(views), "incidents": [incident_json(v) for v in views],
                    "next": next_url}).encode()


@pytest.fixture
def odd(store: Store) -> list[str]:
    """Incidents whose values a database could format unlike Python's json (made-up titles)."""
    made = [
        add_incident(store, 'A "quoted" \\ title\twith a tab and \u2028 line separator', severity=2.675,
                     at=(1 / 3, -2 / 3), updated_at=T0 + timedelta(microseconds=1)),
        add_incident(store, "Ünïcode ✓ title", severity=0.125, at=(39.84140000000001, 45.67030000000002),
                     country="ZZ", updated_at=T0 + timedelta(hours=1, microseconds=500_000)),
        add_incident(store, "No place, no country", severity=10.0, country=None, updated_at=T0 + timedelta(hours=2),
                     killed=3, labels=("shelling", "air_strike"), ceasefire="Made-up truce"),
        add_incident(store, "Many sources", severity=1e-7, at=(-33.9, 18.4), updated_at=T0 + timedelta(hours=3),
                     sources=tuple(f"Outlet {i}" for i in range(MAX_ARTICLES_PER_VIEW + 3))),
        add_incident(store, "Undated", severity=9.995, updated_at=T0 + timedelta(hours=4)),
    ]
    with store.write() as conn:
        conn.execute(update(incidents).where(incidents.c.public_id == made[-1]).values(event_date=None))
    return made


def test_each_incident_of_a_json_page_is_its_views_json(store: Store, odd: list[str]) -> None:
    for limit in (2, 50):
        f = IncidentFilter(limit=limit)
        with store.read() as conn:
            views, listed = page_incidents(conn, f), page_listed(conn, f)
        assert isinstance(listed, ListedPage) and listed.next_after == views.next_after
        assert bytes(listed_page(listed.items, "/next?a=ä").body) == _views_page(views.items, "/next?a=ä")
    with store.read() as conn:
        every = page_incidents(conn, IncidentFilter(limit=50)).items
    many = next(v for v in every if v.title == "Many sources")
    assert len(many.articles) == MAX_ARTICLES_PER_VIEW  # the cap held on both paths (compared above)
    assert [a.published for a in many.articles] == sorted(a.published for a in many.articles if a.published)


def test_the_event_order_page_says_what_the_views_say(store: Store, odd: list[str]) -> None:
    with store.read() as conn:
        views = {v.id: incident_json(v) for v in page_incidents(conn, IncidentFilter(limit=50)).items}
        seen: list[str] = []
        f, after = IncidentFilter(limit=2), None
        while True:
            page = page_by_event(conn, f, after)
            for text in page.items:
                item = json.loads(text)
                assert text == _ENCODE(views[item["id"]])  # the same text, keys in the same order
                seen.append(item["id"])
            if page.next_after is None:
                break
            after = page.next_after
    assert sorted(seen) == sorted(odd) and seen[-1] == odd[-1]  # the undated one last


def test_a_page_is_one_json_document_with_its_count_and_next(store: Store, odd: list[str]) -> None:
    with store.read() as conn:
        listed = page_listed(conn, IncidentFilter(limit=3))
        rest = page_listed(conn, replace(IncidentFilter(limit=3), after=listed.next_after))
    body = json.loads(bytes(listed_page(listed.items, "/api/incidents?cursor=ä&x=\"").body))
    assert (body["ok"], body["count"], body["next"]) == (True, 3, "/api/incidents?cursor=ä&x=\"")
    assert json.loads(bytes(listed_page([], None).body)) == {"ok": True, "count": 0, "incidents": [], "next": None}
    assert len(rest.items) == 2 and rest.next_after is None


@pytest.mark.parametrize("value", [None, 0, 5, 2**60, 0.0, -0.0, 5.0, 2.675, 1 / 3, 1e-7, 1e16, 1.5e300, -45.6703])
def test_numbers_are_written_as_json_writes_them(value: float | None) -> None:
    assert _number(value) == json.dumps(value)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_a_number_json_cannot_hold_is_refused_as_json_would(value: float) -> None:
    """json's allow_nan=False (the pages' encoding): an error, not a token no JSON parser reads."""
    with pytest.raises(ValueError, match="(?i)out of range"):
        _number(value)
    with pytest.raises(ValueError, match="(?i)out of range"):
        json.dumps(value, allow_nan=False)
