"""The API behind the analyst's desk on SQLite and PostgreSQL: the event-date order with its pages, the
event-date and first-seen filters, the timeline over all the data, an incident's articles with evidence
marked, the pages' strict Content-Security-Policy (and the tile origin it admits), bad parameters as 400s."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import update
from test_queries import add_incident

from monitor.store import Store
from monitor.store.schema import articles, incidents
from monitor.web.api import create_app

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def client(store: Store) -> Iterator[TestClient]:
    with TestClient(create_app(store, None), raise_server_exceptions=False) as c:
        yield c


def set_first_seen(store: Store, public_id: str, at: datetime) -> None:
    with store.write() as conn:
        conn.execute(update(incidents).where(incidents.c.public_id == public_id).values(first_seen_at=at))


@pytest.fixture
def years(store: Store) -> dict[str, str]:
    """Incidents whose events span 1999-2025, updated in an order unlike their event dates; one undated."""
    out = {
        "y2020": add_incident(store, "Mortar fire on a border village", event_date=date(2020, 7, 14),
                              updated_at=NOW - timedelta(days=1)),
        "y2025": add_incident(store, "Drone strike on a depot", labels=("air_strike",), event_date=date(2025, 2, 27),
                              updated_at=NOW - timedelta(days=5), at=(50.45, 30.52), country="UA", place="Kyiv"),
        "y1999": add_incident(store, "Artillery duel in the hills", event_date=date(1999, 9, 3),
                              updated_at=NOW - timedelta(days=2)),
        "y2022": add_incident(store, "Clash on the line of contact", labels=("armed_clash",),
                              event_date=date(2022, 9, 13), updated_at=NOW - timedelta(days=3)),
        "undated": add_incident(store, "Shelling reported, date unclear", updated_at=NOW - timedelta(days=4)),
    }
    with store.write() as conn:
        conn.execute(update(incidents).where(incidents.c.public_id == out["undated"]).values(event_date=None))
    set_first_seen(store, out["y1999"], NOW - timedelta(days=800))
    return out


@pytest.mark.parametrize("limit", [1, 2, 3, 50])
def test_event_order_lists_the_newest_event_first_and_undated_last_over_pages(
        client: TestClient, years: dict[str, str], limit: int) -> None:
    expected = [years[k] for k in ("y2025", "y2022", "y2020", "y1999", "undated")]
    seen: list[str] = []
    url: str | None = f"/api/incidents?order=event&limit={limit}"
    while url:
        body = client.get(url).json()
        assert body["ok"] is True, body
        seen += [i["id"] for i in body["incidents"]]
        url = body["next"]
        assert url is None or "order=event" in url
    assert seen == expected
    # the default order is still by update, newest first
    default = client.get("/api/incidents").json()["incidents"]
    assert [i["id"] for i in default] == [years[k] for k in ("y2020", "y1999", "y2022", "undated", "y2025")]


def test_list_items_carry_the_country_name_and_when_first_seen(client: TestClient, years: dict[str, str]) -> None:
    [kyiv] = client.get("/api/incidents", params={"country": "UA"}).json()["incidents"]
    assert (kyiv["place"], kyiv["country"], kyiv["country_name"]) == ("Kyiv", "UA", "Ukraine")
    assert kyiv["first_seen_at"] == "2025-02-24T12:00:00Z" and kyiv["geo_precision"] == "place"


@pytest.mark.parametrize(("params", "keys"), [
    ({"event_since": "2020-01-01"}, ["y2025", "y2022", "y2020"]),
    ({"event_until": "2020-07-14"}, ["y2020", "y1999"]),
    ({"event_since": "2000-01-01", "event_until": "2021-12-31"}, ["y2020"]),
    ({"seen_since": "2024-01-01"}, ["y2025", "y2022", "y2020", "undated"]),
    ({"seen_since": "2024-01-01", "event_until": "2022-12-31"}, ["y2022", "y2020"]),
    ({"near": "50.45,30.52", "km": "20"}, ["y2025"]),
])
def test_event_date_and_first_seen_filters(client: TestClient, years: dict[str, str], params: dict[str, str],
                                           keys: list[str]) -> None:
    body = client.get("/api/incidents", params={**params, "order": "event"}).json()
    assert [i["id"] for i in body["incidents"]] == [years[k] for k in keys]


@pytest.mark.parametrize(("query", "message"), [
    ("order=oldest", "order: 'oldest' is not one of updated, event"),
    ("event_since=last+spring", "event_since: 'last spring' is not a date, an ISO time or a span like 7d or 24h"),
    ("event_since=2022-01-01&event_until=2021-01-01", "event_until: is before event_since"),
    ("seen_since=soon", "seen_since: 'soon' is not a date, an ISO time or a span like 7d or 24h"),
    ("order=event&cursor=zzz", "cursor: 'zzz' is not a cursor from a previous page's `next` link"),
])
def test_bad_desk_parameters_are_400s_naming_the_parameter(client: TestClient, query: str, message: str) -> None:
    response = client.get(f"/api/incidents?{query}")
    assert response.status_code == 400
    assert response.json() == {"ok": False, "error": message, "status": 400}


def test_a_cursor_of_one_order_is_refused_by_the_other(client: TestClient, years: dict[str, str]) -> None:
    by_update = client.get("/api/incidents?limit=1").json()["next"]
    cursor = by_update.split("cursor=")[1]
    response = client.get(f"/api/incidents?order=event&limit=1&cursor={cursor}")
    assert response.status_code == 400 and response.json()["error"].startswith("cursor: ")


def test_the_timeline_covers_all_the_data_when_asked(client: TestClient, years: dict[str, str]) -> None:
    everything = client.get("/api/timeline", params={"all": "1"}).json()["days"]
    dates = [d["date"] for d in everything]
    assert dates[0] == "1999-09-03" and dates[-1] == "2025-02-27" and "2022-09-13" in dates
    # without a date filter or all=1 the default stays the last 90 days of updates
    recent = client.get("/api/timeline").json()["days"]
    assert "1999-09-03" not in [d["date"] for d in recent]
    # an event-date filter replaces the default
    ranged = client.get("/api/timeline", params={"event_since": "2020-01-01", "event_until": "2022-12-31"}).json()
    assert [d["date"] for d in ranged["days"]] == ["2020-07-14", "2022-09-13"]
    bad = client.get("/api/timeline", params={"all": "maybe"})
    assert bad.status_code == 400 and bad.json()["error"] == "all: 'maybe' is not 1 or 0"


def test_an_incidents_articles_have_their_evidence_marked(store: Store, client: TestClient) -> None:
    public_id = add_incident(store, "Shelling of a market town", sources=("Desk Wire", "Field Post"),
                             evidence=["shells hit"])
    text = "Officials said shells HIT the market at dawn.  Mortars were   fired at homes; shells hit again."
    with store.write() as conn:
        conn.execute(update(articles).where(articles.c.source == "Desk Wire", articles.c.title.like("%market town"))
                     .values(summary=text, labels=[{"label": "shelling", "score": 0.9,
                                                     "evidence": ["shells hit", "mortars … fired at"]}]))
    body = client.get(f"/api/incidents/{public_id.lower()}/articles").json()
    assert body["ok"] is True
    wire = next(a for a in body["articles"] if a["source"] == "Desk Wire")
    marked = [wire["text"][s:e] for s, e in wire["text_marks"]]
    assert marked == ["shells HIT", "Mortars", "fired at", "shells hit"]
    assert wire["evidence"] == ["shells hit", "mortars … fired at"] and wire["labels"] == ["shelling"]
    assert wire["url"] == "https://deskwire.example/" + public_id.split("T")[-1].lstrip("0")
    assert wire["title_marks"] == []
    other = next(a for a in body["articles"] if a["source"] == "Field Post")
    assert other["text_marks"] == [] and other["evidence"] == []


def test_articles_of_an_unknown_incident_or_with_parameters_are_errors(client: TestClient,
                                                                       years: dict[str, str]) -> None:
    missing = client.get("/api/incidents/INC-NOPE/articles")
    assert missing.status_code == 404 and missing.json()["error"] == "id: no incident 'INC-NOPE'"
    extra = client.get(f"/api/incidents/{years['y2020']}/articles?full=1")
    assert extra.status_code == 400 and extra.json()["error"] == "full: unknown parameter (this path takes none)"


def test_the_pages_allow_only_their_own_origin(client: TestClient, years: dict[str, str]) -> None:
    for path in ("/", f"/incidents/{years['y2020']}"):
        page = client.get(path)
        policy = page.headers["content-security-policy"]
        assert page.status_code == 200 and "script-src 'self';" in policy and "img-src 'self' data:;" in policy
        assert "http" not in policy and "unpkg" not in page.text
    for path in ("/static/vendor/leaflet/leaflet.js", "/static/vendor/leaflet/leaflet.css",
                 "/static/vendor/countries-110m.geojson", "/static/incident.js"):
        assert client.get(path).status_code == 200, path


def test_a_tile_server_is_admitted_by_the_policy_and_given_to_the_page(store: Store) -> None:
    tiles = "https://{s}.tiles.example.org/{z}/{x}/{y}.png"
    with TestClient(create_app(store, None, tiles=tiles)) as c:
        page = c.get("/")
    assert "img-src 'self' data: https://*.tiles.example.org;" in page.headers["content-security-policy"]
    assert '<meta name="cfm-tiles" content="https://{s}.tiles.example.org/{z}/{x}/{y}.png">' in page.text


def test_marks_count_utf16_units_as_the_browser_does() -> None:
    from monitor.web.desk import js_marks

    text = "🔥 Обстрел: shells hit the depot"
    [[start, end]] = js_marks(text, ("shells hit",))
    as_js = text.encode("utf-16-le")[2 * start:2 * end].decode("utf-16-le")
    assert as_js == "shells hit" and start == text.index("shells") + 1  # the emoji is two UTF-16 units
