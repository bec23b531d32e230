"""The dashboard end to end in a real headless browser: Debian's chromium driven by Playwright, the app
served by uvicorn on loopback over a store with a few incidents. The CDN (Leaflet) is made unreachable in
every test: the list and the timeline must not depend on it. Skipped, with the reason, when chromium or
Playwright is missing (`apt-get install chromium`, `pip install playwright`; never `playwright install`)."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from test_queries import JERMUK, add_incident

from monitor.settings import DatabaseSettings
from monitor.store import Store
from monitor.web.api import create_app

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
try:
    from playwright.sync_api import Browser, Page, sync_playwright
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
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.02)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(5)


@pytest.fixture(scope="module")
def seeded_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    store = Store.open(DatabaseSettings(url=f"sqlite:///{tmp_path_factory.mktemp('dash') / 'm.db'}"))
    store.upgrade()
    now = datetime.now(UTC).replace(microsecond=0)
    day = timedelta(days=1)
    add_incident(store, "Artillery shelled Jermuk", at=JERMUK, updated_at=now - timedelta(hours=1),
                 sources=("Armenpress", "OC Media"), evidence=["mortars were fired at"], killed=3, place="Jermuk")
    add_incident(store, "Clash near Sotk", labels=("armed_clash", "ceasefire_violation"), at=(40.2, 45.95),
                 updated_at=now - 2 * day, place="Sotk")
    add_incident(store, "Shelling <script>alert(1)</script> in Syunik", updated_at=now - 3 * day)
    add_incident(store, "Air raid on Kyiv", country="UA", labels=("air_strike",), at=(50.45, 30.52),
                 updated_at=now - 4 * day, place="Kyiv")
    add_incident(store, "Drone strike on Odesa", country="UA", labels=("air_strike",), at=(46.48, 30.73),
                 updated_at=now - 5 * day, place="Odesa")
    yield store
    store.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    # The CDN is unreachable (as offline): requests to it fail at once.
    context.route("https://unpkg.com/**", lambda route: route.abort("internetdisconnected"))
    context.route("https://*.tile.openstreetmap.org/**", lambda route: route.abort("internetdisconnected"))
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    yield pg
    context.close()
    assert errors == [], f"JavaScript errors on the page: {errors}"


def _rows(page: Page) -> list[str]:
    return [str(r) for r in page.locator("#incidents tbody tr").evaluate_all("rows => rows.map(r => r.dataset.id)")]


def test_the_page_lists_incidents_and_draws_the_timeline_without_the_cdn(
        seeded_store: Store, page: Page, tmp_path: Path) -> None:
    with _Server(create_app(seeded_store, None)) as base:
        page.goto(base + "/")
        page.wait_for_selector("body[data-loaded=ok]")
        assert len(_rows(page)) == 5 and page.locator("#auth").is_hidden()
        assert page.locator("#incidents tbody tr").first.locator("td").last.inner_text() == "Artillery shelled Jermuk"
        # the script-like title is shown as text, not run
        assert page.get_by_text("Shelling <script>alert(1)</script> in Syunik").count() == 1
        bars = page.locator("#timeline svg rect")
        assert bars.count() == 6  # 5 days with incidents; the Sotk day has two labels
        assert set(bars.evaluate_all("rs => rs.map(r => r.dataset.label)")) == {
            "shelling", "armed_clash", "ceasefire_violation", "air_strike"}
        page.wait_for_selector("#map[data-state=unavailable]", timeout=10_000)
        assert "Map unavailable" in page.locator("#map-note").inner_text()
        page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)
        assert (tmp_path / "dashboard.png").stat().st_size > 10_000


def test_a_filter_narrows_the_list_and_the_timeline(seeded_store: Store, page: Page) -> None:
    with _Server(create_app(seeded_store, None)) as base:
        page.goto(base + "/")
        page.wait_for_selector("body[data-loaded=ok]")
        page.fill("input[name=country]", "UA")
        page.click("#apply")
        page.wait_for_function("() => document.querySelectorAll('#incidents tbody tr').length === 2")
        assert page.locator("#count").inner_text() == "(2)"
        page.wait_for_function("() => document.querySelectorAll('#timeline svg rect').length === 2")
        assert set(page.locator("#timeline svg rect").evaluate_all("rs => rs.map(r => r.dataset.label)")) == {
            "air_strike"}
        assert "country=UA" in page.url  # the filter is in the address, to share or reload
        page.fill("input[name=country]", "ZZ")
        page.click("#apply")
        page.wait_for_selector("#error:not([hidden])")
        assert page.locator("#error").inner_text() == "country: 'ZZ' is not a known ISO 3166-1 alpha-2 country code"


def test_a_filter_from_the_address_and_the_detail_of_an_incident(seeded_store: Store, page: Page) -> None:
    with _Server(create_app(seeded_store, None)) as base:
        page.goto(base + "/?near=Jermuk&km=60")
        page.wait_for_selector("body[data-loaded=ok]")
        assert len(_rows(page)) == 2 and page.input_value("input[name=near]") == "Jermuk"
        page.locator("#incidents tbody tr").first.click()
        page.wait_for_selector("#detail:not([hidden])")
        assert page.locator("#detail-articles li").count() == 2
        assert page.locator("#detail-evidence li").inner_text() == "mortars were fired at"


def test_with_a_token_the_page_asks_for_it(seeded_store: Store, page: Page) -> None:
    with _Server(create_app(seeded_store, None, token="s3cret")) as base:
        page.goto(base + "/")
        page.wait_for_selector("#auth:not([hidden])")
        assert _rows(page) == []
        page.fill("#auth input[name=token]", "s3cret")
        page.click("#auth button")
        page.wait_for_function("() => document.querySelectorAll('#incidents tbody tr').length === 5")
