"""Checks across sections of the configuration: unique names, and references that must resolve.

They read the raw TOML document rather than the built settings, so that an entry with a problem of
its own (a target whose URL variable is unset, say) is still known by name here, and a rule naming it
does not get a second, misleading "no such target" problem.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from monitor.config.values import show, suggest

if TYPE_CHECKING:
    from monitor.config.reader import Context

Entry = tuple[int, Mapping[str, Any]]


def check_references(raw: Mapping[str, Any], languages: Iterable[str], ctx: Context) -> None:
    """Record a problem for every duplicate name or URL and every reference that names nothing."""
    feeds = _entries(raw, "feeds")
    ceasefires = _entries(raw, "ceasefires")
    targets = _entries(raw, "alerts", "targets")
    rules = _entries(raw, "alerts", "rules")
    _check_unique(ctx, "feeds", feeds, "name")
    _check_unique(ctx, "feeds", feeds, "url")
    _check_unique(ctx, "ceasefires", ceasefires, "name")
    _check_unique(ctx, "alerts.targets", targets, "name")
    _check_unique(ctx, "alerts.rules", rules, "name")
    _check_feed_languages(ctx, feeds, tuple(languages))
    _check_rule_targets(ctx, rules, targets)
    _check_rule_ceasefires(ctx, rules, ceasefires)


def _entries(raw: Mapping[str, Any], *path: str) -> list[Entry]:
    """The tables of the array at `path`, with their indices; nothing if the shape is wrong.

    A wrong shape is reported by the reader already; these checks only look at what makes sense.
    """
    node: Any = raw
    for name in path:
        node = node.get(name) if isinstance(node, Mapping) else None
    if not isinstance(node, list):
        return []
    return [(i, item) for i, item in enumerate(node) if isinstance(item, Mapping)]


def _string(entry: Mapping[str, Any], key: str) -> str | None:
    value = entry.get(key)
    return value.strip() if isinstance(value, str) and value.strip() else None


def _strings(entry: Mapping[str, Any], key: str) -> list[str]:
    value = entry.get(key)
    if not isinstance(value, list):
        return []
    return [item.strip() for item in value if isinstance(item, str) and item.strip()]


def _check_unique(ctx: Context, where: str, entries: list[Entry], key: str) -> None:
    first: dict[str, int] = {}
    for i, entry in entries:
        value = _string(entry, key)
        if value is None:
            continue
        if value in first:
            ctx.add(f"{where}[{i}].{key}", f"{show(value)} is already used by {where}[{first[value]}]")
        else:
            first[value] = i


def _check_feed_languages(ctx: Context, feeds: list[Entry], languages: tuple[str, ...]) -> None:
    # A feed in a language without classification rules would be fetched and never match anything.
    for i, entry in feeds:
        language = _string(entry, "language")
        if language is not None and language.lower() not in languages:
            listed = ", ".join(languages) or "none"
            ctx.add(f"feeds[{i}].language", f"{show(language)} is not among classify.languages ({listed})")


def _check_rule_targets(ctx: Context, rules: list[Entry], targets: list[Entry]) -> None:
    names = {name for _, entry in targets if (name := _string(entry, "name"))}
    tags = {tag for _, entry in targets for tag in _strings(entry, "tags")}
    for i, rule in rules:
        for wanted in _strings(rule, "targets"):
            if wanted in names or wanted in tags:
                continue
            where = f"alerts.rules[{i}].targets"
            if not targets:
                ctx.add(where, f"{show(wanted)} names no target: no [[alerts.targets]] are configured")
            else:
                ctx.add(where, f"{show(wanted)} is neither a target name nor a target tag"
                        f"{suggest(wanted, names | tags)}")


def _check_rule_ceasefires(ctx: Context, rules: list[Entry], ceasefires: list[Entry]) -> None:
    names = {name for _, entry in ceasefires if (name := _string(entry, "name"))}
    for i, rule in rules:
        wanted = _string(rule, "ceasefire")
        if wanted is not None and wanted not in names:
            ctx.add(f"alerts.rules[{i}].ceasefire",
                    f"{show(wanted)} is not the name of a [[ceasefires]] entry{suggest(wanted, names)}")
