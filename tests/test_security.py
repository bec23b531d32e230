"""Security (issue 6): loopback-only API with an optional token, secrets never shown, fetch policy.

The secrets test runs the real CLI as a subprocess: `run --once` against a loopback feed and an alert sink
that refuses first (so delivery errors are logged and stored), then `check-config`, `feeds`, `incidents`
and `show --format json`; every byte they print is searched for every secret.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import subprocess
import sys
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from feed_server import FeedServer, make_rss
from sink_server import SinkServer
from sqlalchemy.engine import make_url

from monitor.config.loader import load_settings
from monitor.errors import ConfigError, FeedError
from monitor.feeds.fetch import Fetcher
from monitor.pipeline import Deps, run_cycle
from monitor.reading.classify import Classifier
from monitor.settings import ApiSettings, DatabaseSettings, FeedSettings, FetchSettings, Settings
from monitor.store import Store

with warnings.catch_warnings():  # starlette >= 1.x prefers httpx2 and warns when it runs on httpx
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

NOW = datetime.now(UTC).replace(microsecond=0)
RELEVANT = make_rss([{"title": "Shelling kills 4 civilians in Donetsk", "link": "https://n.example/1", "guid": "1",
                      "pub_date": NOW - timedelta(hours=1),
                      "description": "Artillery shelling hit Donetsk, Ukraine, killing four civilians."}])


def _cli(args: list[str], config: Path, extra_env: dict[str, str] | None = None,
         timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CEASEFIRE_MONITOR_")}
    env.update({"CEASEFIRE_MONITOR_CONFIG": str(config), **(extra_env or {})})
    return subprocess.run([sys.executable, "-m", "monitor", *args], env=env, capture_output=True, text=True,
                          timeout=timeout)


# -- the API --------------------------------------------------------------------------------------------

def test_the_api_binds_to_loopback_by_default(tmp_path: Path) -> None:
    assert ApiSettings().bind == "127.0.0.1"
    config = tmp_path / "config.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "m.db"}"\n')
    assert load_settings(config, env={}).api.bind == "127.0.0.1"
    done = _cli(["check-config"], config)
    assert done.returncode == 0, done.stderr
    api_line = next(line for line in done.stdout.splitlines() if line.startswith("api:"))
    assert "127.0.0.1" in api_line and "0.0.0.0" not in done.stdout


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Store:
    store = Store.open(DatabaseSettings(url=f"sqlite:///{tmp_path / 'api.db'}"))
    store.upgrade()
    return store


def test_a_configured_token_is_required_on_every_api_route(sqlite_store: Store) -> None:
    from monitor.web.api import create_app

    client = TestClient(create_app(sqlite_store, None, token="api-T0ken-4f9e"))
    for path in ("/api/incidents", "/api/feeds", "/api/incidents/INC-222222"):
        assert client.get(path).status_code == 401, path
        assert client.get(path, headers={"Authorization": "Bearer wrong"}).status_code == 401, path
        assert client.get(path, headers={"Authorization": "api-T0ken-4f9e"}).status_code == 401, path
        assert client.get(path, headers={"Authorization": "Bearer api-T0ken-4f9e "}).status_code == 401, path
    ok = client.get("/api/feeds", headers={"Authorization": "Bearer api-T0ken-4f9e"})
    assert ok.status_code == 200 and ok.json()["ok"] is True
    assert "api-T0ken-4f9e" not in client.get("/api/feeds").text  # the refusal does not echo it
    assert client.get("/healthz").status_code == 200  # probes need no token


def test_without_a_token_the_api_is_open_but_read_only(sqlite_store: Store) -> None:
    from monitor.web.api import create_app

    client = TestClient(create_app(sqlite_store, None))
    assert client.get("/api/incidents").status_code == 200
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        for path in ("/api/incidents", "/api/feeds", "/api/incidents/INC-222222"):
            assert client.request(method, path).status_code == 405, (method, path)


# -- secrets --------------------------------------------------------------------------------------------

TARGET_SECRETS = ("S3cretPass", "TOPSECRET", "EnvPassw0rd", "ENVTOKEN77", "FileSecr3t", "FILETOKEN55")
DB_PASSWORD = "DbS3cretPw9"


def _secret_config(tmp_path: Path, srv: FeedServer, sink: SinkServer, database_url: str) -> Path:
    config = tmp_path / "config.toml"
    config.write_text(f"""
[database]
url = "{database_url}"

[[feeds]]
name = "local"
url = "{srv.url('/feed.xml')}"

[[feeds]]
name = "private"
url = "http://feeduser:FeedPassw0rd@127.0.0.1:{srv.port}/private.xml"

[[feeds]]
name = "broken"
url = "{srv.url('/broken.xml')}?token=FeedT0kenQ1&user=me"

[alerts]
retry_base = "1s"
retry_max = "1s"
send_timeout = "5s"

[[alerts.targets]]
name = "inline"
url = "json://user:S3cretPass@127.0.0.1:{sink.port}/hook?token=TOPSECRET"

[[alerts.targets]]
name = "from-env"
url_env = "CFM_TEST_TARGET_URL"

[[alerts.targets]]
name = "from-file"
url_env = "CFM_TEST_FILE_TARGET_URL"

[api]
enabled = false
token = "ApiT0kenSecret"

[log]
level = "DEBUG"
""")
    return config


def test_secrets_never_reach_logs_check_config_or_alert_errors(tmp_path: Path, db_url: str) -> None:
    """End to end on each engine: the SQLite case always runs (it has no database password to leak)."""
    secrets: tuple[str, ...] = (*TARGET_SECRETS, "ApiT0kenSecret", "FeedT0kenQ1", "FeedPassw0rd")
    database_url = db_url
    if db_url.startswith("postgresql"):
        url = make_url(db_url).set(password=DB_PASSWORD)  # the test server trusts loopback: any password works
        database_url = url.render_as_string(hide_password=False)
        secrets += (DB_PASSWORD,)
    with FeedServer() as srv, SinkServer() as sink:
        srv.set_feed("/feed.xml", RELEVANT)
        srv.set_behaviour("/broken.xml", "status", code=500)
        srv.set_behaviour("/private.xml", "status", code=401)
        sink.fail_with(500, count=3)  # every target's first attempt fails: errors are logged and stored
        secret_file = tmp_path / "target-url"
        secret_file.write_text(f"json://fuser:FileSecr3t@127.0.0.1:{sink.port}/filehook?token=FILETOKEN55\n")
        env = {"CFM_TEST_TARGET_URL": f"json://envuser:EnvPassw0rd@127.0.0.1:{sink.port}/envhook?token=ENVTOKEN77",
               "CFM_TEST_FILE_TARGET_URL_FILE": str(secret_file)}
        config = _secret_config(tmp_path, srv, sink, database_url)
        outputs: dict[str, str] = {}
        check = _cli(["check-config"], config, env)
        assert check.returncode == 0, check.stdout + check.stderr
        outputs["check-config"] = check.stdout + check.stderr
        first = _cli(["run", "--once"], config, env)  # delivery fails: errors logged and stored
        outputs["run 1"] = first.stdout + first.stderr
        assert first.returncode == 0, outputs["run 1"]
        feeds = _cli(["feeds", "--format", "json"], config, env)
        incidents = _cli(["incidents", "--format", "json", "--all"], config, env)
        # `feeds` shows each feed's URL with its credentials and token parameters redacted.
        outputs["feeds"] = feeds.stdout + feeds.stderr
        assert feeds.returncode == 0 and "http_401" in outputs["feeds"] and "http_500" in outputs["feeds"]
        outputs["incidents"] = incidents.stdout + incidents.stderr
        ids = [json.loads(line)["id"] for line in incidents.stdout.splitlines() if line.strip().startswith("{")]
        assert ids, outputs["incidents"]
        shown = _cli(["show", ids[0], "--format", "json"], config, env)
        outputs["show"] = shown.stdout + shown.stderr
        assert shown.returncode == 0, outputs["show"]
        second = _cli(["run", "--once"], config, env)  # the retry goes through
        outputs["run 2"] = second.stdout + second.stderr
        assert second.returncode == 0, outputs["run 2"]
        received = [(r.path.split("?")[0], r.status) for r in sink.received]
    # The runs really went through the secret-bearing paths: each target failed once, then accepted.
    assert sorted(received) == [("/envhook", 200), ("/envhook", 500), ("/filehook", 200), ("/filehook", 500),
                                ("/hook", 200), ("/hook", 500)], received
    assert "alert_failed" in outputs["run 1"] and "feed_failed" in outputs["run 1"]
    assert "alert_sent" in outputs["run 2"]
    errors = [a.get("last_error") for a in json.loads(shown.stdout)["alerts"]]
    assert len(errors) == 3 and all(errors), errors  # the stored errors exist (and are searched below)
    run_log = outputs["run 1"] + outputs["run 2"]
    for name, text in outputs.items():
        for secret in secrets:
            assert secret not in text, f"{secret!r} appears in {name}:\n{text}"
    assert "Traceback" not in run_log


# -- fetch policy ---------------------------------------------------------------------------------------

def _one_cycle(store: Store, feeds: list[FeedSettings], fetch: FetchSettings) -> None:
    settings = Settings(database=DatabaseSettings(url="unused"), feeds=tuple(feeds), fetch=fetch)
    deps = Deps(settings=settings, store=store, classifier=Classifier.from_settings(), owner="security",
                clock=lambda: NOW, rng=random.Random(3))
    store.sync_feeds(feeds, NOW)

    async def cycle() -> None:
        async with Fetcher(fetch, version="test") as fetcher:
            await run_cycle(deps, fetcher)

    asyncio.run(cycle())


def test_with_private_addresses_refused_a_loopback_feed_is_never_fetched(sqlite_store: Store) -> None:
    fetch = FetchSettings(allow_private_addresses=False, connect_timeout_s=1, total_timeout_s=2)
    with FeedServer() as srv:
        srv.set_feed("/feed.xml", RELEVANT)
        srv.set_behaviour("/hop", "redirect", target=srv.url("/feed.xml"), code=302)
        feeds = [FeedSettings(name="loopback", url=srv.url("/feed.xml")),
                 FeedSettings(name="localhost", url=srv.url("/feed.xml").replace("127.0.0.1", "localhost")),
                 FeedSettings(name="mapped", url=f"http://[::ffff:127.0.0.1]:{srv.port}/feed.xml")]
        _one_cycle(sqlite_store, feeds, fetch)
        assert srv.hits("/feed.xml") == 0
    rows = {r.name: r for r in sqlite_store.list_feeds()}
    for name in ("loopback", "localhost", "mapped"):
        assert rows[name].last_error_kind == "private_address", (name, rows[name].last_error)
        assert rows[name].consecutive_failures == 1
    assert sqlite_store.article_count() == 0


def test_private_addresses_are_allowed_by_default_for_self_hosting(sqlite_store: Store) -> None:
    assert FetchSettings().allow_private_addresses is True
    with FeedServer() as srv:
        srv.set_feed("/feed.xml", RELEVANT)
        _one_cycle(sqlite_store, [FeedSettings(name="loopback", url=srv.url("/feed.xml"))],
                   FetchSettings(connect_timeout_s=1, total_timeout_s=2))
        assert srv.hits("/feed.xml") == 1
    assert sqlite_store.article_count() == 1


def test_the_policy_is_a_config_key_and_shown_by_check_config(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "m.db"}"\n\n'
                      "[fetch]\nallow_private_addresses = false\n")
    assert load_settings(config, env={}).fetch.allow_private_addresses is False
    done = _cli(["check-config"], config)
    assert done.returncode == 0, done.stderr
    assert "private addresses refused" in done.stdout


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://127.0.0.1/feed.xml", "gopher://127.0.0.1:70/",
                                 "javascript:alert(1)", "/relative/feed.xml", "data:text/xml,<rss/>"])
def test_non_http_feed_urls_are_rejected_by_config_validation(tmp_path: Path, url: str) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "m.db"}"\n\n'
                      f'[[feeds]]\nname = "bad"\nurl = "{url}"\n')
    with pytest.raises(ConfigError) as raised:
        load_settings(config, env={})
    assert any("feeds" in p and "url" in p for p in raised.value.problems), raised.value.problems
    done = _cli(["check-config"], config)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "url" in done.stdout + done.stderr


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://127.0.0.1/feed.xml", "gopher://127.0.0.1:70/"])
def test_non_http_feed_urls_are_refused_by_the_fetcher_too(sqlite_store: Store, url: str) -> None:
    async def fetch() -> None:
        async with Fetcher(FetchSettings(), version="test") as fetcher:
            await fetcher.fetch(url)

    with pytest.raises(FeedError) as raised:
        asyncio.run(fetch())
    assert raised.value.kind == "bad_scheme"
    # and a row that got into the store some other way fails alone, never read
    _one_cycle(sqlite_store, [FeedSettings(name="bad", url=url)], FetchSettings(connect_timeout_s=1))
    row = sqlite_store.list_feeds()[0]
    assert row.last_error_kind == "bad_scheme" and sqlite_store.article_count() == 0
