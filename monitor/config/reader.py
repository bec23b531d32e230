"""The reader of the configuration file's grammar: `Key` and `Section` declare a table, `build_table` applies
them to a TOML document. The declarations themselves are in config.schema.

Each `Key` names a TOML key, the Settings field it fills and the parser that checks it; each `Section`
lists the keys of one table and the frozen dataclass it builds. `build_table` walks the TOML document
against these declarations and records every problem instead of stopping at the first, so
`check-config` can list them all. Keys the declarations do not know are problems too: a typo that
passes silently is worse than a refusal to start.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, field, fields
from typing import Any

from monitor.config import values as v
from monitor.settings import FeedSettings


@dataclass
class Context:
    """What the reader needs besides the document, and where it collects problems."""

    source: str  # the file name that starts every problem
    env: Mapping[str, str]
    default_database_url: str
    default_feeds: Callable[[], tuple[FeedSettings, ...]]
    problems: list[str] = field(default_factory=list)

    def add(self, where: str, message: str) -> None:
        self.problems.append(f"{self.source}: {where}: {message}" if where else f"{self.source}: {message}")


Finish = Callable[[dict[str, Any], dict[str, Any], Context, str], None]


@dataclass(frozen=True)
class Key:
    """One TOML key. `field` is the Settings field it fills; None for keys a finish hook consumes."""

    name: str
    field: str | None
    parse: v.Parser[Any] | None = None
    required: bool = False
    section: Section | None = None  # a sub-table, or with `array` an array of tables
    array: bool = False
    optional: bool = False  # a sub-table whose absence leaves the field None, rather than all defaults


@dataclass(frozen=True)
class Section:
    """One TOML table: `path` as written in a header (`alerts.targets`), the class it builds, its keys.

    `finish(kwargs, raw, ctx, where)` runs after the keys are read, to check keys against each other
    and to fill fields that do not come from one key (secrets read from the environment, defaults).
    """

    path: str
    cls: Callable[..., Any]
    keys: tuple[Key, ...]
    finish: Finish | None = None


_FAILED = object()  # a key whose problem is already recorded


def join(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name


def build_table(section: Section, raw: Any, ctx: Context, where: str) -> Any | None:
    """Build `section.cls` from one TOML table; record every problem in ctx; None if there was any."""
    if not isinstance(raw, dict):
        ctx.add(where or section.path, f"expected a table, got {v.type_name(raw)}")
        return None
    before = len(ctx.problems)
    known = {key.name: key for key in section.keys}
    kwargs: dict[str, Any] = {}
    for name, value in raw.items():
        key = known.get(name)
        if key is None:
            ctx.add(join(where, name), f"unknown key{v.suggest(name, known)}")
            continue
        parsed = _read_key(key, value, ctx, join(where, name))
        if parsed is not _FAILED:
            kwargs[key.field or key.name] = parsed
    for key in section.keys:
        if key.name in raw:
            continue
        if key.required:
            ctx.add(where, f"missing required key {key.name!r}")
        elif key.section is not None and not (key.array or key.optional):  # absent: defaults + finish hook
            sub = build_table(key.section, {}, ctx, join(where, key.name))
            if sub is not None:
                kwargs[key.field or key.name] = sub
    if section.finish is not None:
        section.finish(kwargs, raw, ctx, where)
    return section.cls(**kwargs) if len(ctx.problems) == before else None


def _read_key(key: Key, value: Any, ctx: Context, where: str) -> Any:
    if key.section is not None and key.array:
        if not isinstance(value, list):
            ctx.add(where, f"expected an array of tables ([[{key.section.path}]]), got {v.type_name(value)}")
            return _FAILED
        built = [build_table(key.section, item, ctx, f"{where}[{i}]") for i, item in enumerate(value)]
        return tuple(item for item in built if item is not None)
    if key.section is not None:
        table = build_table(key.section, value, ctx, where)
        return _FAILED if table is None else table
    assert key.parse is not None, key.name
    try:
        return key.parse(value)
    except v.Invalid as e:
        ctx.add(where, str(e))
        return _FAILED


def current(kwargs: Mapping[str, Any], cls: Any, name: str) -> Any:
    """A field's value as it will be built: the one read, else the dataclass default."""
    if name in kwargs:
        return kwargs[name]
    spec = {f.name: f for f in fields(cls)}[name]
    return spec.default_factory() if spec.default_factory is not MISSING else spec.default


def resolve_secret(kwargs: dict[str, Any], ctx: Context, where: str, key: str, *, owner: str) -> str | None:
    """The secret given by `key` or read from the variable named by `key`_env; None if neither is set.

    Problems name the key and the variable, never the value.
    """
    env_key = f"{key}_env"
    direct, variable = kwargs.pop(key, None), kwargs.pop(env_key, None)
    if direct is not None and variable is not None:
        ctx.add(where, f"set either {key!r} or {env_key!r}, not both")
        return None
    if variable is None:
        return str(direct) if direct is not None else None
    try:
        value = v.read_env_secret(ctx.env, variable)
    except v.Invalid as e:
        ctx.add(join(where, env_key), str(e))
        return None
    if value is None:
        ctx.add(join(where, env_key), f"environment variable {variable} is not set ({owner}; "
                f"or set {variable}_FILE to a file holding it)")
    return value
