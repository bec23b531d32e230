"""The validated configuration, as frozen dataclasses. Built only by monitor.config.load_settings().

Durations are seconds (floats); the TOML may write them as numbers of seconds or as "90s", "15m", "2h", "1d".
"""

from __future__ import annotations

from dataclasses import dataclass, field

DEFAULT_USER_AGENT = "ceasefire-monitor/{version} (+https://github.com/ceasefire-monitor/ceasefire-monitor)"


@dataclass(frozen=True)
class DatabaseSettings:
    url: str  # SQLAlchemy URL: sqlite:///path or postgresql+psycopg://…
    busy_timeout_s: float = 30.0


@dataclass(frozen=True)
class FeedSettings:
    name: str
    url: str
    interval_s: float | None = None  # None: fetch.default_interval_s
    tags: tuple[str, ...] = ()
    language: str | None = None  # "en", "ru" or None (guess per item)
    enabled: bool = True


@dataclass(frozen=True)
class FetchSettings:
    default_interval_s: float = 600.0
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 30.0
    total_timeout_s: float = 60.0  # deadline for the whole exchange, body included
    max_bytes: int = 10 * 1024 * 1024  # counted after decompression
    max_redirects: int = 5
    per_host_concurrency: int = 2
    concurrency: int = 32
    user_agent: str = DEFAULT_USER_AGENT
    allow_private_addresses: bool = True  # False: refuse feeds resolving to private/loopback addresses
    backoff_base_s: float = 60.0
    backoff_max_s: float = 4 * 3600.0
    lease_s: float = 300.0


@dataclass(frozen=True)
class ClassifySettings:
    thresholds: dict[str, float] = field(default_factory=dict)  # label -> minimum score; missing: default
    default_threshold: float = 0.5
    languages: tuple[str, ...] = ("en", "ru")


@dataclass(frozen=True)
class CeasefireSettings:
    name: str
    parties: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()  # ISO 3166-1 alpha-2
    regions: tuple[str, ...] = ()  # admin1 names
    start: str | None = None  # ISO date or datetime (UTC)
    end: str | None = None  # None: open-ended


@dataclass(frozen=True)
class TargetSettings:
    name: str
    url: str = field(repr=False)  # an apprise URL; a secret: never log it, use redact_url()
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class QuietHours:
    start: str  # "22:00"
    end: str  # "07:00"
    timezone: str = "UTC"
    override_severity: float | None = None  # incidents at or above this severity are sent anyway


@dataclass(frozen=True)
class RuleSettings:
    name: str
    targets: tuple[str, ...] = ()  # target names or tags; empty: every target
    countries: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    min_score: float = 0.0  # the incident's best label score (0-1) must be at least this
    min_severity: float = 0.0
    min_sources: int = 1
    ceasefire: str | None = None
    quiet_hours: QuietHours | None = None
    cooldown_s: float = 0.0
    max_per_hour: int | None = None
    update_on: tuple[str, ...] = ("casualties", "ceasefire", "labels")  # also "sources", "place"
    digest_cron: str | None = None  # a crontab expression, e.g. "0 8 * * *"
    digest_timezone: str = "UTC"  # IANA time zone whose wall clock digest_cron is read on


@dataclass(frozen=True)
class AlertSettings:
    targets: tuple[TargetSettings, ...] = ()
    rules: tuple[RuleSettings, ...] = ()
    max_attempts: int = 20
    retry_base_s: float = 30.0
    retry_max_s: float = 3600.0
    send_timeout_s: float = 30.0
    feed_down_after: int = 3  # consecutive failed polls after which a feed is reported down (once)
    feed_health_targets: tuple[str, ...] = ()  # target names or tags for feed down/up alerts; empty: all


@dataclass(frozen=True)
class ApiSettings:
    bind: str = "127.0.0.1"
    port: int = 8080
    token: str | None = field(default=None, repr=False)
    cors_origins: tuple[str, ...] = ()
    enabled: bool = True
    tiles: str | None = None  # map tile URL template ({z}/{x}/{y}); None: the vendored country outlines only
    tiles_attribution: str | None = None  # the credit the tile server asks for, shown on the map
    public_url: str | None = None  # where analysts reach the dashboard; alerts link to /incidents/{id} under it


@dataclass(frozen=True)
class LogSettings:
    level: str = "INFO"
    format: str = "text"  # text | json


@dataclass(frozen=True)
class DaemonSettings:
    tick_s: float = 5.0
    delivery_s: float = 5.0
    instance: str | None = None  # lease owner name; None: hostname:pid


DEFAULT_GAZETTEER_DOWNLOAD_URL = "https://download.geonames.org/export/dump/"


@dataclass(frozen=True)
class GazetteerSettings:
    download_url: str = DEFAULT_GAZETTEER_DOWNLOAD_URL  # where `gazetteer download XX` fetches XX.zip
    index: str | None = None  # the local place index (gazetteer import); set by the loader to the state dir's


@dataclass(frozen=True)
class Settings:
    database: DatabaseSettings
    feeds: tuple[FeedSettings, ...] = ()
    fetch: FetchSettings = field(default_factory=FetchSettings)
    classify: ClassifySettings = field(default_factory=ClassifySettings)
    ceasefires: tuple[CeasefireSettings, ...] = ()
    alerts: AlertSettings = field(default_factory=AlertSettings)
    api: ApiSettings = field(default_factory=ApiSettings)
    log: LogSettings = field(default_factory=LogSettings)
    daemon: DaemonSettings = field(default_factory=DaemonSettings)
    gazetteer: GazetteerSettings = field(default_factory=GazetteerSettings)
    source: str = "<built-in defaults>"  # the file the settings came from, for messages
