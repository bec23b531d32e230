"""Load and compile the rule files (data/rules/<lang>.toml) into an immutable RuleSet.

Language lives in the TOML files, not here: term lists, the label rules that combine them, and the
context cues (negation, hypotheticals, hard negatives, history) that veto or weaken a match. This
module only expands `{term}` placeholders, compiles the regular expressions once and checks the file,
so a bad rule file fails at start-up with a MonitorError naming the file and the key.

Rule file shape (every key is checked; unknown keys are errors):

    [meta]
    lang = "en"
    fragments = ["gap"]           # terms that are not words (not whole-word bounded)
    trigger = ["shell", "strik"]  # word beginnings one of which every rule needs (a fast pre-check)
    [terms]                       # named alternations, used as {name} in patterns
    weapon = ["artiller(?:y|ies)", "mortars?"]
    [[rules]]                     # a label fires when `pattern` matches
    name = "weapon + attack verb"
    label = "shelling"
    score = 0.85
    pattern = "{weapon}{gap}{attack_verb}"
    [cues]                        # context patterns checked around a match (see classify.py)
    negation = ["no", "without"]  # ... and the other CUE_KEYS
    [scrub]
    patterns = ["shell(?:ed|s) out"]   # other senses blanked out before matching
    [weapons]                     # canonical weapon name -> the words that name it
    mortar = ["mortars?"]

Patterns are written in lower case and matched on lower-cased text (much faster than case-insensitive
matching); a pattern that needs case ("(?-i:[A-Z])") is run case-insensitively on the original text.
"""

from __future__ import annotations

import functools
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

from monitor.errors import MonitorError
from monitor.models import LABELS
from monitor.reading.rule_index import RuleIndex
from monitor.reading.word_index import PatternIndex
from monitor.reading.word_index import trie_pattern as trie_pattern  # where casualties and dates find it

# Cues: each is one regex alternation. `negation`/`hypothetical` are looked for just before a match,
# `negation_after` just after it, `item_negative` in the title (it weakens the whole item: "Ukraine
# marks anniversary of ..."), the others anywhere in the match's sentence; `ceasefire_in_force` and
# `ceasefire_not_in_force` are
# used by the ceasefire_violation inference (an attack reported while a truce is said to hold).
CUE_KEYS: tuple[str, ...] = (
    "negation",
    "hypothetical",
    "hard_negative",
    "history",
    "ceasefire_in_force",
    "ceasefire_not_in_force",
    "negation_after",
    "current",
    "item_negative",
)
# Cues read just before a match must end within a few words of it ("no new shelling", "threatened to
# shell"), so "no casualties were reported after the shelling" is not read as a negation: searched
# with endpos at the match, `\Z` anchors them there. `negation_after` is matched (re.match) at the
# end of a match, with a few words allowed in between ("shelling was not recorded").
_WORDS_BEFORE = 3
_CUE_FRAME = {
    "negation": "(?:{})" + rf"(?:[^\w\n:;]+[\w'-]+){{{{0,{_WORDS_BEFORE}}}}}[^\w\n:;]*\Z",
    "hypothetical": "(?:{})" + rf"(?:[^\w\n:;]+[\w'-]+){{{{0,{_WORDS_BEFORE}}}}}[^\w\n:;]*\Z",
    "negation_after": r"[^\w\n]*(?:[\w'-]+[^\w\n]+){{0,2}}?(?:{})",
}
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_TOP_KEYS = {"meta", "terms", "rules", "cues", "scrub", "weapons"}
_RULE_KEYS = {"name", "label", "score", "pattern", "attack"}


@dataclass(frozen=True)
class Rule:
    """One compiled rule. `attack` rules report an act of violence (used for ceasefire inference)."""

    name: str
    label: str
    score: float
    regex: re.Pattern[str]
    attack: bool = True
    cased: bool = False  # compiled case-insensitively, to be run on the original text


@dataclass(frozen=True)
class LangRules:
    lang: str
    rules: tuple[Rule, ...]
    cues: Mapping[str, re.Pattern[str]]
    scrub: re.Pattern[str] | None
    source: str
    weapons: tuple[tuple[str, re.Pattern[str]], ...] = ()  # canonical name, pattern ("mortar", ...)
    # Word beginnings of which every rule needs one: a text without any cannot match a rule, so the
    # rules are not run on it (most feed items). Checked by tests/test_classify.py on every case.
    trigger: re.Pattern[str] | None = None
    # The framed cues' alternations alone (the words a match of the cue begins with), for Matcher.
    cue_words: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    @functools.cached_property
    def index(self) -> PatternIndex:
        """The rules' then the weapons' patterns, to run each only where it can match (word_index); built
        on first use, so a command that reads no text in this language does not pay for it."""
        return PatternIndex([*(rule.regex for rule in self.rules), *(regex for _, regex in self.weapons)])

    @functools.cached_property
    def any_text_matcher(self) -> Matcher:
        """The Matcher for any text (see Matcher); built on first use, like `plain_matcher`."""
        return Matcher(self, plain=False)

    @functools.cached_property
    def plain_matcher(self) -> Matcher:
        """The Matcher for a text without a period before a digit (see plain_runs)."""
        return Matcher(self, plain=True)

    def matcher(self, text: str) -> Matcher:
        """The faster Matcher that finds exactly what the rules' own regexes find in `text`."""
        return self.any_text_matcher if _DECIMAL_POINT.search(text) else self.plain_matcher


class Matcher:
    """The patterns classify runs over every text of a language, in one RuleIndex: the rules', the
    weapons', then the scrub's and the cues' (their numbers: `first_weapon`, `scrub`, `cue[key]`).
    One scan of a text then tells, for all of them at once, where each can begin: the rules are
    tried only there, and the scrub and the cues are run only on the stretches that hold their words.
    A framed cue (negation before or after a match) is indexed by its words alone, which any of its
    matches begins with (see _CUE_FRAME).

    With `plain`, the rules' sentence runs ({gap}, {near}) are compiled without their
    period-before-a-digit alternative (see plain_runs): such a Matcher is only for texts without one."""

    def __init__(self, rules: LangRules, plain: bool) -> None:
        patterns = [plain_runs(rule.regex) if plain else rule.regex for rule in rules.rules]
        patterns += [regex for _, regex in rules.weapons]
        self.first_weapon = len(rules.rules)
        self.scrub = len(patterns) if rules.scrub is not None else None
        patterns += [rules.scrub] if rules.scrub is not None else []
        self.cue: dict[str, int] = {}
        for key in CUE_KEYS:
            self.cue[key] = len(patterns)
            body = rules.cue_words.get(key)
            patterns.append(_compile(body, rules.source, f"cues.{key}") if body else rules.cues[key])
        self.index = RuleIndex(patterns)


# The sentence runs of the rule files' {gap} and {near}: characters of the same sentence, a period
# allowed only before a digit ("1.5 km"). Each character is an alternation, which the regex engine
# runs with backtracking state per character; without the period alternative it is one character
# class, run in a tight loop. In a text without a period before a digit the alternative never
# matches, so both forms find the same matches there.
_SENTENCE_RUN = r"(?:[^.!?;\n]|\.(?=\d))"
_SENTENCE_RUN_PLAIN = r"[^.!?;\n]"
_DECIMAL_POINT = re.compile(r"\.\d")


def plain_runs(regex: re.Pattern[str]) -> re.Pattern[str]:
    """`regex` with its sentence runs' period-before-a-digit alternative left out (for texts without one)."""
    if _SENTENCE_RUN not in regex.pattern:
        return regex
    return re.compile(regex.pattern.replace(_SENTENCE_RUN, _SENTENCE_RUN_PLAIN), regex.flags)


@dataclass(frozen=True)
class RuleSet:
    languages: Mapping[str, LangRules]

    def for_lang(self, lang: str) -> LangRules:
        """The rules of `lang`, falling back to English for languages without a rule file."""
        return self.languages.get(lang) or self.languages["en"]


def load_ruleset(languages: tuple[str, ...] = ("en", "ru"), rules_dir: Path | None = None) -> RuleSet:
    """Load data/rules/<lang>.toml for each language. Raises MonitorError on any bad file or key."""
    loaded: dict[str, LangRules] = {}
    for lang in dict.fromkeys(("en", *languages)):  # English is always there as the fallback
        path = (rules_dir / f"{lang}.toml") if rules_dir else None
        if path is not None:
            text, source = _read_path(path)
        else:
            text, source = _read_packaged(lang)
        loaded[lang] = parse_rule_file(text, source, lang)
    return RuleSet(MappingProxyType(loaded))


def _read_path(path: Path) -> tuple[str, str]:
    try:
        return path.read_text(encoding="utf-8"), str(path)
    except OSError as e:
        raise MonitorError(f"{path}: cannot read rule file ({e.strerror})") from e


def _read_packaged(lang: str) -> tuple[str, str]:
    ref = resources.files("monitor") / "data" / "rules" / f"{lang}.toml"
    try:
        return ref.read_text(encoding="utf-8"), f"monitor/data/rules/{lang}.toml"
    except OSError as e:
        raise MonitorError(f"monitor/data/rules/{lang}.toml: no rule file for language {lang!r}",
                           hint="set [classify] languages to languages that have rule files") from e


def parse_rule_file(text: str, source: str, lang: str) -> LangRules:
    """Parse and compile one rule file. `source` names the file in error messages."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise MonitorError(f"{source}: not valid TOML ({e})") from e
    _check_keys(data, _TOP_KEYS, source, "")
    meta = data.get("meta", {})
    _check_keys(meta, {"lang", "fragments", "trigger"}, source, "meta.")
    fragments = set(_string_list(meta.get("fragments") or [], source, "meta.fragments"))
    terms = _load_terms(data.get("terms", {}), source, fragments)
    rules = tuple(_load_rule(raw, i, terms, source) for i, raw in enumerate(_as_list(data, "rules", source)))
    cues_raw = data.get("cues", {})
    _check_keys(cues_raw, set(CUE_KEYS), source, "cues.")
    cues = {key: _compile_alternation(cues_raw.get(key, []), terms, source, f"cues.{key}", _CUE_FRAME.get(key))
            for key in CUE_KEYS}
    cue_words = {key: _alternation(cues_raw.get(key, []), terms, source, f"cues.{key}") for key in _CUE_FRAME}
    scrub_raw = data.get("scrub", {})
    _check_keys(scrub_raw, {"patterns"}, source, "scrub.")
    patterns = scrub_raw.get("patterns", [])
    scrub = _compile_alternation(patterns, terms, source, "scrub.patterns") if patterns else None
    trigger_words = _string_list(meta.get("trigger", []), source, "meta.trigger") if meta.get("trigger") else []
    trigger = _compile(r"(?<!\w)(?:" + _any_of(trigger_words) + ")", source, "meta.trigger") if trigger_words else None
    weapons_raw = data.get("weapons", {})
    _check_keys(weapons_raw, set(weapons_raw) if isinstance(weapons_raw, dict) else set(), source, "weapons.")
    weapons = tuple((name, _compile_alternation(value, terms, source, f"weapons.{name}"))
                    for name, value in weapons_raw.items())
    return LangRules(lang, rules, MappingProxyType(cues), scrub, source, weapons, trigger, MappingProxyType(cue_words))


_PLAIN_WORD = re.compile(r"[\w ]+")


def _any_of(words: list[str]) -> str:
    """The alternation of `words` (regexes), the plain ones (letters and spaces) as a prefix tree: a
    search fails at the first letter that no word goes on with, instead of trying every word there.
    The same texts hold a match (what the trigger is asked), at the same places."""
    plain = [word for word in words if _PLAIN_WORD.fullmatch(word)]
    other = [word for word in words if not _PLAIN_WORD.fullmatch(word)]
    return "|".join([trie_pattern(plain)] * bool(plain) + other)


def _check_keys(table: Any, allowed: set[str], source: str, prefix: str) -> None:
    if not isinstance(table, dict):
        raise MonitorError(f"{source}: {prefix.rstrip('.') or 'file'} must be a table")
    for key in table:
        if key not in allowed:
            raise MonitorError(f"{source}: unknown key {prefix}{key}", hint=f"allowed: {', '.join(sorted(allowed))}")


def _as_list(data: dict[str, Any], key: str, source: str) -> list[dict[str, Any]]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise MonitorError(f"{source}: {key} must be an array of tables ([[{key}]])")
    return value


def _load_terms(raw: Any, source: str, fragments: set[str]) -> dict[str, str]:
    """Named alternations. Each is whole-word bounded ("broke" must not match in "brokers"), except
    the `fragments` named in [meta] (gaps between words, which are not words themselves)."""
    _check_keys(raw, set(raw) if isinstance(raw, dict) else set(), source, "terms.")
    terms: dict[str, str] = {}
    # Terms may use earlier terms; expand in file order so a term can build on another.
    for name, value in raw.items():
        alternatives = _string_list(value, source, f"terms.{name}")
        body = _expand("|".join(alternatives), terms, source, f"terms.{name}")
        terms[name] = body if name in fragments else _bounded(body)
        _compile(terms[name], source, f"terms.{name}")
    return terms


def _load_rule(raw: dict[str, Any], index: int, terms: dict[str, str], source: str) -> Rule:
    where = f"rules[{index}]"
    _check_keys(raw, _RULE_KEYS, source, f"{where}.")
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        raise MonitorError(f"{source}: {where}.name must be a non-empty string")
    where = f"rules[{index}] ({name})"
    label = raw.get("label")
    if label not in LABELS:
        raise MonitorError(f"{source}: {where}.label must be one of {', '.join(LABELS)}, not {label!r}")
    score = raw.get("score")
    if not isinstance(score, int | float) or isinstance(score, bool) or not 0.0 < score <= 1.0:
        raise MonitorError(f"{source}: {where}.score must be a number in (0, 1]")
    pattern = raw.get("pattern")
    if not isinstance(pattern, str) or not pattern:
        raise MonitorError(f"{source}: {where}.pattern must be a non-empty string")
    attack = raw.get("attack", label != "ceasefire_violation")
    if not isinstance(attack, bool):
        raise MonitorError(f"{source}: {where}.attack must be true or false")
    regex = _compile(_bounded(_expand(pattern, terms, source, f"{where}.pattern")), source, f"{where}.pattern")
    return Rule(name, str(label), float(score), regex, attack, is_cased(regex.pattern))


def _string_list(value: Any, source: str, key: str) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise MonitorError(f"{source}: {key} must be a list of non-empty strings")
    return value


def _compile_alternation(value: Any, terms: dict[str, str], source: str, key: str,
                         frame: str | None = None) -> re.Pattern[str]:
    body = _alternation(value, terms, source, key)
    return _compile(frame.format(body) if frame else body, source, key)


def _alternation(value: Any, terms: dict[str, str], source: str, key: str) -> str:
    alternatives = _string_list(value, source, key) if value else ["(?!x)x"]  # never matches
    return _bounded("|".join(_expand(a, terms, source, key) for a in alternatives))


def _expand(pattern: str, terms: dict[str, str], source: str, key: str) -> str:
    def replace(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in terms:
            raise MonitorError(f"{source}: {key} uses undefined term {{{name}}}",
                               hint="define it under [terms] before it is used")
        return f"(?:{terms[name]})"

    return _PLACEHOLDER.sub(replace, pattern)


def is_cased(pattern: str) -> bool:
    return "(?-i:" in pattern


def _lower_pattern(pattern: str) -> str:
    """Lower-case the literal letters of a pattern, leaving escapes (\\W, \\Z) and (?P<name>) alone."""
    out, i = [], 0
    while i < len(pattern):
        if pattern[i] == "\\":
            out.append(pattern[i:i + 2])
            i += 2
        elif pattern.startswith("(?P<", i) or pattern.startswith("(?P=", i):
            close = pattern.index(">", i) if pattern.startswith("(?P<", i) else pattern.index(")", i)
            out.append(pattern[i:close + 1])
            i = close + 1
        else:
            out.append(pattern[i].lower())
            i += 1
    return "".join(out)


def lower_text(text: str) -> str:
    """`text` lower-cased with its length kept, so match offsets stay valid on the original."""
    lowered = text.lower()
    if len(lowered) == len(text):
        return lowered
    return "".join(ch.lower() if len(ch.lower()) == 1 else ch for ch in text)


def _bounded(body: str) -> str:
    # Whole words only: a match may not start or end inside a word ("fire" in "fireworks").
    return rf"(?<!\w)(?:{body})(?!\w)"


def _compile(pattern: str, source: str, key: str) -> re.Pattern[str]:
    """Compile for matching on lower-cased text: case-insensitive matching made the rules twice as
    slow. A pattern with a case-sensitive part ("(?-i:[A-Z])") is compiled case-insensitively and
    run on the original text instead (see Rule.cased)."""
    try:
        if is_cased(pattern):
            return re.compile(pattern, re.IGNORECASE)
        return re.compile(_lower_pattern(pattern))
    except re.error as e:
        raise MonitorError(f"{source}: {key} is not a valid regular expression ({e})") from e
