"""The read-only HTTP API through starlette's TestClient: filters and pages, JSON errors naming the
parameter, health and readiness, Prometheus metrics, the bearer token, CORS and the OpenAPI description."""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from test_queries import JERMUK, T0, add_incident

from monitor import metrics
from monitor.settings import CeasefireSettings, DatabaseSettings, FeedSettings
from monitor.store import Store
from monitor.web.api import create_app
from monitor.web.health import Health

with warnings.catch_warnings():  # starlette >= 1.x prefers httpx2 and warns when it runs on httpx
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

TRUCE = CeasefireSettings(name="AM-AZ 2022", parties=("AM", "AZ"), countries=("AM", "AZ"), start="2022-09-01")
OTHER = CeasefireSettings(name="Quiet one", countries=("GE",))


@pytest.fixture
def client(store: Store) -> Iterator[TestClient]:
    with TestClient(create_app(store, None, ceasefires=(TRUCE, OTHER)), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def five(store: Store) -> list[str]:
    """Five incidents, newest first: three in Armenia (one a truce violation), two in Ukraine."""
    return [
        add_incident(store, "Shelling of Jermuk", at=JERMUK, updated_at=T0 + timedelta(hours=5),
                     ceasefire="AM-AZ 2022", alert_status="sent", evidence=["mortars were fired at"]),
        add_incident(store, "Clash at Sotk", labels=("armed_clash",), at=(40.2, 45.95),
                     updated_at=T0 + timedelta(hours=4)),
        add_incident(store, "Air raid on Kyiv", country="UA", labels=("air_strike",), at=(50.45, 30.52),
                     updated_at=T0 + timedelta(hours=3), sources=("A", "B")),
        add_incident(store, "Drone strike on Odesa", country="UA", labels=("air_strike",), at=(46.48, 30.73),
                     updated_at=T0 + timedelta(hours=2)),
        add_incident(store, "Old shelling in Syunik", updated_at=T0 - timedelta(days=20)),
    ]


def test_incidents_are_filtered_like_the_cli(client: TestClient, five: list[str]) -> None:
    body = client.get("/api/incidents", params={"country": "ua", "label": "air_strike"}).json()
    assert body["ok"] is True and [i["id"] for i in body["incidents"]] == five[2:4]
    assert body["next"] is None and body["count"] == 2
    near = client.get("/api/incidents", params={"near": f"{JERMUK[0]},{JERMUK[1]}", "km": "10"}).json()
    assert [i["id"] for i in near["incidents"]] == [five[0]]
    by_place = client.get("/api/incidents", params={"near": "Jermuk", "km": "50"}).json()
    assert [i["id"] for i in by_place["incidents"]] == five[:2]
    text = client.get("/api/incidents", params={"text": "MORTARS", "min_sources": "1"}).json()
    assert [i["id"] for i in text["incidents"]] == [five[0]]


def test_pages_link_to_the_next_until_the_last(client: TestClient, five: list[str]) -> None:
    url: str | None = "/api/incidents?limit=2&country=AM"
    pages = []
    while url:
        body = client.get(url).json()
        pages.append([i["id"] for i in body["incidents"]])
        url = body["next"]
        assert url is None or ("country=AM" in url and "cursor=" in url and "limit=2" in url)
    assert pages == [five[0:2], [five[4]]]


def test_incident_json_has_the_contract_fields(client: TestClient, five: list[str]) -> None:
    [item] = client.get("/api/incidents", params={"limit": "1"}).json()["incidents"]
    assert set(item) == {"id", "revision", "event_date", "country", "admin1", "place", "lat", "lon",
                         "geo_precision", "labels", "killed", "injured", "severity", "source_count", "ceasefire",
                         "title", "articles", "country_name", "first_seen_at"}  # the last two for the desk
    assert set(item["articles"][0]) == {"external_id", "url", "source", "title", "published"}


def test_one_incident_has_revisions_alerts_and_evidence(client: TestClient, five: list[str]) -> None:
    body = client.get(f"/api/incidents/{five[0].lower()}").json()["incident"]
    assert body["id"] == five[0] and body["evidence"] == ["mortars were fired at"]
    assert [r["revision"] for r in body["revisions"]] == [1]
    assert [(a["target"], a["status"]) for a in body["alerts"]] == [("desk", "sent")]


@pytest.mark.parametrize(("query", "status", "message"), [
    ("since=yesterday", 400, "since: 'yesterday' is not a date, an ISO time or a span like 7d or 24h"),
    ("country=ZZ", 400, "country: 'ZZ' is not a known ISO 3166-1 alpha-2 country code"),
    ("country=Armenia", 400, "country: 'Armenia' is not an ISO 3166-1 alpha-2 code such as AM"),
    ("limit=0", 400, "limit: must be between 1 and 10000"),
    ("limit=ten", 400, "limit: 'ten' is not a whole number"),
    ("limit=5000", 400, "limit: must be between 1 and 1000 for one page (follow `next` for more)"),
    ("label=bombing", 400, "label: 'bombing' is not one of shelling, air_strike, armed_clash, ceasefire_violation"),
    ("km=5", 400, "km: needs near (a place or LAT,LON)"),
    ("near=Qwxzyv", 400, "near: 'Qwxzyv' is neither LAT,LON nor a place the gazetteer knows"),
    ("near=91,0", 400, "near: '91,0' is outside -90..90 latitude, -180..180 longitude"),
    ("min_severity=11", 400, "min_severity: must be between 0 and 10"),
    ("text=qz", 400, "text: 'qz' is too short; give at least 3 characters"),  # would read every incident
    ("text=%20%D0%B4%D0%B6%20", 400, "text: 'дж' is too short; give at least 3 characters"),
    ("text=---", 400, "text: '---' has too few letters or digits; give at least 3"),  # no trigram on PostgreSQL
    ("text=a%20b", 400, "text: 'a b' has too few letters or digits; give at least 3"),
    ("cursor=zzz", 400, "cursor: 'zzz' is not a cursor from a previous page's `next` link"),
    ("colour=red", 400, "colour: unknown parameter (known: ceasefire, country, cursor, event_since, event_until, "
                        "km, label, limit, min_severity, min_sources, near, order, seen_since, since, text, until)"),
])
def test_bad_parameters_are_json_errors_naming_the_parameter(client: TestClient, query: str, status: int,
                                                             message: str) -> None:
    response = client.get(f"/api/incidents?{query}")
    assert response.status_code == status
    assert response.json() == {"ok": False, "error": message, "status": status}


def test_unknown_paths_ids_and_methods_are_json_errors(client: TestClient) -> None:
    assert client.get("/api/incidents/INC-NOPE").json() == {"ok": False, "error": "id: no incident 'INC-NOPE'",
                                                           "status": 404}
    assert client.get("/api/nothing").json()["status"] == 404
    response = client.post("/api/incidents")
    assert response.status_code == 405 and response.json()["ok"] is False


def test_a_crash_is_a_json_500_without_a_traceback(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom() -> None:
        raise RuntimeError("secret detail in /var/lib/x")

    monkeypatch.setattr(store, "list_feeds", boom)
    with TestClient(create_app(store, None), raise_server_exceptions=False) as c:
        response = c.get("/api/feeds")
    assert response.status_code == 500
    assert response.json() == {"ok": False, "error": "internal error (see the daemon's log)", "status": 500}


def test_feeds_and_ceasefires(store: Store, client: TestClient, five: list[str]) -> None:
    store.sync_feeds([FeedSettings(name="OC Media", url="https://oc-media.org/feed/")], T0)
    [feed] = client.get("/api/feeds").json()["feeds"]
    assert feed["name"] == "OC Media" and feed["healthy"] is True and feed["consecutive_failures"] == 0
    body = client.get("/api/ceasefires", params={"since": "2022-09-13T12:00:00Z"}).json()
    assert [(c["name"], c["violations"], c["violations_since"]) for c in body["ceasefires"]] == [
        ("AM-AZ 2022", 1, 1), ("Quiet one", 0, 0)]
    assert client.get("/api/ceasefires", params={"since": "soon"}).status_code == 400


def test_timeline_counts_incidents_per_day_by_label(client: TestClient, five: list[str]) -> None:
    body = client.get("/api/timeline", params={"since": "2022-09-01"}).json()
    assert body["days"] == [{"date": "2022-09-13", "counts": {"shelling": 1, "armed_clash": 1, "air_strike": 2}}]


def test_healthz_is_alive_with_a_database_and_ready_only_with_a_recent_tick(store: Store) -> None:
    health = Health(scheduler_running=True, last_tick_at=None)
    with TestClient(create_app(store, health)) as c:
        assert c.get("/healthz").status_code == 200  # liveness: Docker's HEALTHCHECK
        assert c.get("/healthz/ready").status_code == 503
        assert c.get("/healthz", params={"ready": "1"}).json()["ready"] is False
        health.last_tick_at = time.time()
        ready = c.get("/healthz/ready")
        assert ready.status_code == 200 and ready.json()["scheduler_running"] is True
        health.scheduler_running = False
        assert c.get("/healthz?ready=1").status_code == 503


def test_healthz_fails_when_the_database_is_unreachable(tmp_path: Path) -> None:
    dead = Store.open(DatabaseSettings(url="postgresql+psycopg://nobody@127.0.0.1:9/none"))
    with TestClient(create_app(dead, None)) as c:
        response = c.get("/healthz")
    assert response.status_code == 503 and response.json()["error"].startswith("database: database unavailable")


def test_metrics_expose_counters_and_database_gauges(store: Store, client: TestClient, five: list[str]) -> None:
    metrics.record_poll(None)
    metrics.record_poll("http_503")
    metrics.observe_tick(0.02)
    response = client.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    lines = set(response.text.splitlines())
    assert "cfm_incidents 5.0" in lines and f"cfm_articles {5 + 1:.1f}" in lines
    assert 'cfm_alerts{status="sent"} 1.0' in lines and 'cfm_alerts{status="pending"} 0.0' in lines
    assert "cfm_outbox_oldest_pending_age_seconds 0.0" in lines
    assert any(line.startswith('cfm_fetch_errors_total{kind="http_503"}') for line in lines)
    assert any(line.startswith('cfm_feed_polls_total{outcome="ok"}') for line in lines)
    assert any(line.startswith("cfm_tick_duration_seconds_count") for line in lines)


def test_a_configured_token_guards_the_api_but_not_probes(store: Store) -> None:
    with TestClient(create_app(store, None, token="s3cret")) as c:
        assert c.get("/api/incidents").json() == {"ok": False, "error": "missing or wrong bearer token",
                                                  "status": 401}
        assert c.get("/api/feeds", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert c.get("/api/feeds", headers={"Authorization": "Bearer s3cret"}).status_code == 200
        assert c.get("/healthz").status_code == 200 and c.get("/").status_code == 200


def test_cors_is_off_unless_origins_are_configured(store: Store) -> None:
    origin = {"Origin": "https://desk.example"}
    with TestClient(create_app(store, None)) as c:
        assert "access-control-allow-origin" not in c.get("/api/feeds", headers=origin).headers
    with TestClient(create_app(store, None, cors_origins=("https://desk.example",))) as c:
        assert c.get("/api/feeds", headers=origin).headers["access-control-allow-origin"] == "https://desk.example"


def test_openapi_documents_every_endpoint_and_filter(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    assert {"/api/incidents", "/api/incidents/{id}", "/api/feeds", "/api/ceasefires", "/api/timeline", "/healthz",
            "/metrics"} <= set(doc["paths"])
    names = {p["name"] for p in doc["paths"]["/api/incidents"]["get"]["parameters"]}
    assert names == {"since", "until", "event_since", "event_until", "seen_since", "country", "label", "ceasefire",
                     "near", "km", "min_severity", "min_sources", "text", "limit", "order", "cursor"}


def test_the_dashboard_page_and_its_files_are_served_with_a_strict_policy(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and "<table id=\"incidents\">" in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert client.get("/static/dashboard.js").status_code == 200
