"""The analyst's desk end to end in a real headless browser: Debian's chromium driven by Playwright, the app
served by uvicorn on loopback over a store whose incidents span years. Every request the pages make is
recorded, and any to another origin is refused and fails the test: the map (vendored Leaflet over vendored
country outlines), the timeline, the list and the incident page must work with the network cut. Skipped,
with the reason, when chromium or Playwright is missing (`apt-get install chromium`, `pip install
playwright`; never `playwright install`). Screenshots go to each test's tmp_path."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from sqlalchemy import insert, update
from test_queries import JERMUK, add_incident

from monitor.settings import DatabaseSettings
from monitor.store import Store
from monitor.store.schema import articles, incidents, outbox
from monitor.web.api import create_app

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
WAIT_MS = 60_000  # generous: the machine's cores are shared
try:
    from playwright.sync_api import Browser, BrowserContext, Page, Request, Route, sync_playwright
except ImportError:  # pragma: no cover - depends on the machine
    sync_playwright = None  # type: ignore[assignment]

pytestmark = [
    pytest.mark.skipif(sync_playwright is None, reason="Playwright for Python not installed (pip install playwright)"),
    pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium not installed (apt-get install chromium)"),
]


class _Server:
    """uvicorn serving `app` on 127.0.0.1 (a free port) in a thread."""

    def __init__(self, app: Any) -> None:
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning",
                                                    lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.02)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@dataclass
class Seeded:
    store: Store
    ids: dict[str, str]
    with_coordinates: int
    first_event: date
    last_event: date


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    """Six incidents with events from 2019 to 2025, updated in another order; four have coordinates."""
    store = Store.open(DatabaseSettings(url=f"sqlite:///{tmp_path_factory.mktemp('dash') / 'm.db'}"))
    store.upgrade()
    now = datetime.now(UTC).replace(microsecond=0)
    day = timedelta(days=1)
    ids = {
        "jermuk": add_incident(store, "Artillery shelled Jermuk", at=JERMUK, updated_at=now - 3 * day,
                               event_date=date(2025, 2, 27), sources=("Armenpress", "OC Media"),
                               evidence=["mortars were fired at"], killed=3, place="Jermuk", alert_status="sent"),
        "sotk": add_incident(store, "Clash near Sotk", labels=("armed_clash", "ceasefire_violation"), at=(40.2, 45.95),
                             updated_at=now - 1 * day, event_date=date(2022, 9, 13), place="Sotk"),
        "script": add_incident(store, "Shelling <script>alert(1)</script> in Syunik", updated_at=now - 2 * day,
                               event_date=date(2021, 5, 1)),
        "kyiv": add_incident(store, "Air raid on Kyiv", country="UA", labels=("air_strike",), at=(50.45, 30.52),
                             updated_at=now - 4 * day, event_date=date(2020, 3, 10), place="Kyiv"),
        "odesa": add_incident(store, "Drone strike on Odesa", country="UA", labels=("air_strike",), at=(46.48, 30.73),
                              updated_at=now - 5 * day, event_date=date(2019, 11, 20), place="Odesa"),
        "nowhere": add_incident(store, "Shelling reported somewhere", country=None, updated_at=now - 6 * day,
                                event_date=date(2023, 6, 1)),
    }
    with store.write() as conn:
        regions = {"jermuk": "Vayots Dzor", "sotk": "Gegharkunik", "kyiv": "Kyiv City"}
        for key, region in regions.items():
            conn.execute(update(incidents).where(incidents.c.public_id == ids[key]).values(admin1=region))
        conn.execute(update(incidents).where(incidents.c.public_id == ids["sotk"]).values(geo_precision="region"))
        jermuk_id = conn.execute(incidents.select().where(incidents.c.public_id == ids["jermuk"])).one().id
        conn.execute(update(articles).where(articles.c.incident_id == jermuk_id, articles.c.source == "Armenpress")
                     .values(summary="Overnight, mortars were fired at the resort town; officials said three "
                                     "people were killed.",
                             labels=[{"label": "shelling", "score": 0.9, "evidence": ["mortars were fired at"]}]))
        conn.execute(insert(outbox).values(
            kind="incident", incident_id=jermuk_id, revision=1, target="ops-mail",
            idempotency_key=f"incident:{ids['jermuk']}:1:ops-mail", title="t", body="b", body_format="text",
            status="failed", attempts=3, next_attempt_at=now, created_at=now, last_error="smtp: connection refused"))
    yield Seeded(store, ids, 4, date(2019, 11, 20), date(2025, 2, 27))
    store.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@dataclass
class Desk:
    """A browser page on the app at `base`, with every request and console problem recorded."""

    base: str
    page: Page
    requests: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def open(self, path: str) -> None:
        self.page.goto(self.base + path)
        self.page.wait_for_selector("body[data-loaded=ok]")


@pytest.fixture
def desk_factory(browser: Browser) -> Iterator[Any]:
    contexts: list[tuple[BrowserContext, Desk]] = []

    def make(base: str) -> Desk:
        context = browser.new_context(viewport={"width": 1280, "height": 1000})
        context.set_default_timeout(WAIT_MS)
        desk = Desk(base, context.new_page())

        def route(r: Route) -> None:  # the network is cut: only the app's own origin answers
            if r.request.url.startswith(base + "/"):
                r.continue_()
            else:
                desk.foreign.append(r.request.url)
                r.abort("internetdisconnected")

        def on_request(req: Request) -> None:
            desk.requests.append(req.url)

        context.route("**/*", route)
        desk.page.on("request", on_request)
        desk.page.on("pageerror", lambda exc: desk.problems.append(f"error: {exc}"))
        desk.page.on("console", lambda m: desk.problems.append(f"console: {m.text}") if m.type == "error" else None)
        contexts.append((context, desk))
        return desk

    yield make
    for context, desk in contexts:
        context.close()
        assert desk.problems == [], f"JavaScript errors or CSP violations on the page: {desk.problems}"


def _rows(page: Page) -> list[str]:
    return [str(r) for r in page.locator("#incidents tbody tr").evaluate_all("rows => rows.map(r => r.dataset.id)")]


def test_the_dashboard_draws_list_timeline_and_map_with_the_network_cut(
        seeded: Seeded, desk_factory: Any, tmp_path: Path) -> None:
    with _Server(create_app(seeded.store, None)) as base:
        desk = desk_factory(base)
        desk.open("/")
        page, ids = desk.page, seeded.ids
        # the list: by event date, newest first, whatever the order of updates
        assert _rows(page) == [ids[k] for k in ("jermuk", "nowhere", "sotk", "script", "kyiv", "odesa")]
        where = page.locator("#incidents td.where").all_inner_texts()
        assert where[0] == "Jermuk, Vayots Dzor, Armenia (place)"
        assert where[1] == "unknown place (no coordinates)"
        assert where[2] == "Sotk, Gegharkunik, Armenia (region only)"
        assert where[3] == "unknown place, Armenia (no coordinates)"
        assert "?" not in " ".join(where)
        assert page.get_by_text("Shelling <script>alert(1)</script> in Syunik").count() == 1  # text, not run
        # the timeline: its axis spans the data's years, every tick inside that range
        chart = page.locator("#timeline svg")
        assert (chart.get_attribute("data-first"), chart.get_attribute("data-last")) == (
            seeded.first_event.isoformat(), seeded.last_event.isoformat())
        ticks = page.locator("#timeline text.tick").evaluate_all("ts => ts.map(t => [t.dataset.tick, t.textContent])")
        assert len(ticks) >= 3
        assert all(seeded.first_event.isoformat() <= t <= seeded.last_event.isoformat() for t, _ in ticks)
        assert [label for _, label in ticks] == [str(y) for y in range(2020, 2026)]
        bars = page.locator("#timeline svg rect").evaluate_all(
            "rs => rs.map(r => [r.dataset.date.slice(0, 4), r.dataset.label, r.getAttribute('fill')])")
        assert {(y, lab) for y, lab, _ in bars} == {
            ("2025", "shelling"), ("2023", "shelling"), ("2022", "armed_clash"), ("2022", "ceasefire_violation"),
            ("2021", "shelling"), ("2020", "air_strike"), ("2019", "air_strike")}
        colours = {lab: fill for _, lab, fill in bars}
        assert len(set(colours.values())) == 4  # one colour per label
        # the map: vendored Leaflet over the country outlines, one marker per incident with coordinates
        page.wait_for_selector(f"#map[data-state=ready][data-markers='{seeded.with_coordinates}']")
        assert page.locator("#map path.cfm-marker").count() == seeded.with_coordinates
        assert page.locator("#map .leaflet-overlay-pane path").count() > 150  # the countries
        shot = tmp_path / "dashboard.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 20_000
    assert desk.foreign == [] and desk.requests
    assert all(url.startswith(base + "/") for url in desk.requests), desk.requests


def test_filters_by_event_date_and_first_seen_narrow_list_and_timeline(seeded: Seeded, desk_factory: Any) -> None:
    with _Server(create_app(seeded.store, None)) as base:
        desk = desk_factory(base)
        desk.open("/")
        page = desk.page
        page.fill("input[name=event_since]", "2020-01-01")
        page.fill("input[name=event_until]", "2022-12-31")
        page.click("#apply")
        expected = [seeded.ids[k] for k in ("sotk", "script", "kyiv")]
        page.wait_for_function(f"() => document.querySelectorAll('#incidents tbody tr').length === {len(expected)}")
        assert _rows(page) == expected
        chart = page.locator("#timeline svg")  # the axis spans the filter's range
        page.wait_for_selector("#timeline svg[data-first='2020-01-01']")
        assert chart.get_attribute("data-last") == "2022-12-31"
        assert "event_since=2020-01-01" in page.url  # in the address, to share or reload
        page.fill("input[name=event_since]", "")
        page.fill("input[name=event_until]", "")
        page.fill("input[name=seen_since]", "3d")  # first seen in the last three days: updated 1-3 days ago
        page.click("#apply")
        page.wait_for_function("() => document.querySelectorAll('#incidents tbody tr').length === 2")
        assert _rows(page) == [seeded.ids["sotk"], seeded.ids["script"]]
        page.fill("input[name=seen_since]", "")
        page.fill("input[name=country]", "ZZ")
        page.click("#apply")
        page.wait_for_selector("#error:not([hidden])")
        assert page.locator("#error").inner_text() == "country: 'ZZ' is not a known ISO 3166-1 alpha-2 country code"
    assert desk.foreign == []
    desk.problems[:] = [p for p in desk.problems if "400 (Bad Request)" not in p]  # the refused filter's fetches


def test_the_incident_page_shows_facts_evidence_sources_revisions_and_deliveries(
        seeded: Seeded, desk_factory: Any, tmp_path: Path) -> None:
    with _Server(create_app(seeded.store, None)) as base:
        desk = desk_factory(base)
        desk.open("/")
        page, public_id = desk.page, seeded.ids["jermuk"]
        page.locator(f"#incidents tbody tr[data-id='{public_id}'] td.title").click()  # a row opens its page
        page.wait_for_url(f"{base}/incidents/{public_id}")
        page.wait_for_selector("body[data-loaded=ok]")
        assert page.locator("#title").inner_text() == "Artillery shelled Jermuk"
        assert page.locator("dd[data-fact=Where]").inner_text() == "Jermuk, Vayots Dzor, Armenia (precision: place)"
        assert page.locator("dd[data-fact=Killed]").inner_text() == "3"
        page.wait_for_selector("#incident-map[data-state=ready]")  # a small map with its one marker
        assert page.locator("#incident-map path.cfm-marker").count() == 1
        assert page.locator("#evidence li").all_inner_texts() == ["“mortars were fired at”"]
        # the evidence is highlighted in the article whose labels quote it
        sources = page.locator("#sources li.source")
        assert sources.count() == 2
        marked = page.locator("#sources li[data-source=Armenpress] blockquote mark").all_inner_texts()
        assert marked == ["mortars were fired at"]
        link = page.locator("#sources li[data-source='OC Media'] a")
        assert link.get_attribute("href", timeout=WAIT_MS).startswith("https://ocmedia.example/")
        assert page.locator("#revisions tbody tr").all_inner_texts()[0].startswith("r1")
        assert "new incident" in page.locator("#revisions tbody").inner_text()
        # deliveries per target: one sent to desk, one failed to ops-mail with its error
        assert page.locator("#deliveries section.target").evaluate_all("s => s.map(x => x.dataset.target)") == [
            "desk", "ops-mail"]
        assert page.locator("section[data-target=desk] tr[data-status=sent]").count() == 1
        assert "smtp: connection refused" in page.locator("section[data-target=ops-mail]").inner_text()
        shot = tmp_path / "incident.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 20_000
        # an unknown id is said plainly
        desk.page.goto(base + "/incidents/INC-NOPE")
        page.wait_for_selector("#error:not([hidden])")
        assert page.locator("#error").inner_text() == "id: no incident 'INC-NOPE'"
    assert desk.foreign == []
    desk.problems[:] = [p for p in desk.problems if "404" not in p]  # the refused id's fetch is logged


def test_with_a_token_both_pages_ask_for_it(seeded: Seeded, desk_factory: Any) -> None:
    with _Server(create_app(seeded.store, None, token="s3cret")) as base:
        desk = desk_factory(base)
        page = desk.page
        page.goto(base + "/")
        page.wait_for_selector("#auth:not([hidden])")
        assert _rows(page) == []
        page.fill("#auth input[name=token]", "s3cret")
        page.click("#auth button")
        page.wait_for_function("() => document.querySelectorAll('#incidents tbody tr').length === 6")
        page.goto(f"{base}/incidents/{seeded.ids['kyiv']}")  # the token is kept for the session
        page.wait_for_selector("body[data-loaded=ok]")
        assert page.locator("#title").inner_text() == "Air raid on Kyiv"
    desk.problems[:] = [p for p in desk.problems if "401" not in p]  # the first, refused calls are logged


def test_a_configured_tile_server_is_the_only_other_origin(seeded: Seeded, desk_factory: Any) -> None:
    app = create_app(seeded.store, None, tiles="http://127.0.0.2:9/{z}/{x}/{y}.png",
                     tiles_attribution="© Test <b>Tiles</b>")
    with _Server(app) as base:
        desk = desk_factory(base)
        desk.open("/")
        desk.page.wait_for_selector("#map[data-state=ready]")
        desk.page.wait_for_function("() => document.querySelectorAll('#map img.leaflet-tile').length > 0")
        credit = desk.page.locator(".leaflet-control-attribution").inner_text()
        assert "© Test <b>Tiles</b>" in credit  # shown as text, not markup
    assert desk.foreign and all(u.startswith("http://127.0.0.2:9/") for u in desk.foreign)
    desk.problems[:] = [p for p in desk.problems if "ERR_INTERNET_DISCONNECTED" not in p]
