"""A readable summary of the settings for `check-config`, with every secret redacted."""

from __future__ import annotations

from collections import Counter

from monitor.redact import redact_url
from monitor.settings import CeasefireSettings, RuleSettings, Settings


def format_duration(seconds: float) -> str:
    """600.0 -> "10m", 5400.0 -> "1h30m", 2.5 -> "2.5s": the way the file may write it."""
    if seconds != int(seconds) or seconds == 0:
        return f"{seconds:g}s"
    parts, rest = [], int(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if rest >= size:
            parts.append(f"{rest // size}{unit}")
            rest %= size
    return "".join(parts)


def format_size(count: int) -> str:
    for unit, size in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if count >= size and count % size == 0:
            return f"{count // size} {unit}"
    return f"{count} bytes"


def describe_settings(settings: Settings) -> str:
    """Several lines describing what will run: feeds, database, targets, rules, API. No secrets:
    URLs are reduced to scheme and host, the API token is only said to be set.
    """
    lines = [f"config: {settings.source}", f"database: {redact_url(settings.database.url)}"]
    lines += _feeds(settings)
    fetch = settings.fetch
    lines.append(f"fetch: every {format_duration(fetch.default_interval_s)} by default, timeout "
                 f"{format_duration(fetch.total_timeout_s)}, max {format_size(fetch.max_bytes)}, "
                 f"{fetch.per_host_concurrency} per host, {fetch.concurrency} in all, private addresses "
                 f"{'allowed' if fetch.allow_private_addresses else 'refused'}")
    classify = settings.classify
    overrides = ", ".join(f"{label} {score:g}" for label, score in sorted(classify.thresholds.items()))
    lines.append(f"classify: languages {', '.join(classify.languages) or 'none'}; threshold "
                 f"{classify.default_threshold:g}" + (f" ({overrides})" if overrides else ""))
    lines.append(f"ceasefires: {len(settings.ceasefires)}")
    lines += [f"  {_ceasefire(c)}" for c in settings.ceasefires]
    lines += _alerts(settings)
    api = settings.api
    lines.append(f"api: {'http://' + _host_port(api.bind, api.port) if api.enabled else 'disabled'}; token "
                 f"{'set' if api.token else 'not set'}; CORS {', '.join(api.cors_origins) or 'off'}; map tiles "
                 f"{'set' if api.tiles else 'none (built-in outlines)'}; alert links "
                 f"{redact_url(api.public_url) if api.public_url else 'off'}")
    lines.append(f"log: {settings.log.level} {settings.log.format}")
    daemon = settings.daemon
    lines.append(f"daemon: tick {format_duration(daemon.tick_s)}, delivery every "
                 f"{format_duration(daemon.delivery_s)}, instance {daemon.instance or '<hostname:pid>'}")
    return "\n".join(lines)


def _host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _feeds(settings: Settings) -> list[str]:
    enabled = [feed for feed in settings.feeds if feed.enabled]
    languages = Counter(feed.language or "any" for feed in enabled)
    by_language = ", ".join(f"{lang} {n}" for lang, n in sorted(languages.items()))
    disabled = len(settings.feeds) - len(enabled)
    return [f"feeds: {len(enabled)} enabled" + (f", {disabled} disabled" if disabled else "")
            + (f" ({by_language})" if by_language else "")]


def _ceasefire(ceasefire: CeasefireSettings) -> str:
    where = ", ".join(ceasefire.countries) or "any country"
    span = f"from {ceasefire.start or 'unknown'} to {ceasefire.end or 'open'}"
    return f"{ceasefire.name} ({where}) {span}"


def _alerts(settings: Settings) -> list[str]:
    alerts = settings.alerts
    if not alerts.targets:
        return ["alerts: no targets; alerts go to the log"]
    lines = [f"alerts: {len(alerts.targets)} targets, up to {alerts.max_attempts} attempts each"]
    for target in alerts.targets:
        tags = f" tags {', '.join(target.tags)}" if target.tags else ""
        lines.append(f"  {target.name}: {redact_url(target.url)}{tags}")
    if not alerts.rules:
        lines.append("rules: none; every incident goes to every target")
    else:
        lines.append(f"rules: {len(alerts.rules)}")
        lines += [f"  {_rule(rule)}" for rule in alerts.rules]
    return lines


def _rule(rule: RuleSettings) -> str:
    parts = [f"to {', '.join(rule.targets) or 'every target'}"]
    for name, values in (("countries", rule.countries), ("labels", rule.labels)):
        if values:
            parts.append(f"{name} {', '.join(values)}")
    if rule.ceasefire:
        parts.append(f"ceasefire {rule.ceasefire}")
    if rule.min_score:
        parts.append(f"score >= {rule.min_score:g}")
    parts.append(f"severity >= {rule.min_severity:g}, sources >= {rule.min_sources}")
    if rule.quiet_hours:
        quiet, floor = rule.quiet_hours, rule.quiet_hours.override_severity
        override = "" if floor is None else f", unless severity >= {floor:g}"
        parts.append(f"quiet {quiet.start}-{quiet.end} {quiet.timezone}{override}")
    if rule.cooldown_s:
        parts.append(f"cooldown {format_duration(rule.cooldown_s)}")
    if rule.max_per_hour:
        parts.append(f"at most {rule.max_per_hour}/h")
    parts.append(f"updates on {', '.join(rule.update_on) or 'nothing'}")
    if rule.digest_cron:
        parts.append(f"digest {rule.digest_cron!r} {rule.digest_timezone}")
    return f"{rule.name}: " + "; ".join(parts)
