#!/usr/bin/env python3
"""Fit the learned choices (monitor/data/choice.json) and print their country-fold cross-validation.

    .venv/bin/pip install -e '.[fit]'
    .venv/bin/python scripts/fit_weights.py [--eval-dir ../shared/eval] [--folds 5] [--out monitor/data/choice.json]

Reads dev.jsonl, acled-dev.jsonl and train-news.jsonl (LABELS.md: fitting weights on them is allowed,
copying strings from them is not), builds one row per candidate place, per casualty figure and per label
the rules gave an item, and fits three logistic regressions (scikit-learn, the `fit` extra; the runtime
reads the JSON only).

Cross-validation is by country folds: items are grouped by their first gold country (items of no
country, the non-relevant ones, by a hash of their id) and GroupKFold keeps every country in one
fold, so each item is classified by weights fitted on other countries only (--split file: leave one
file out, each file classified by weights fitted on the other two). The figures printed are
the official scorer's (score.py beside the data), pooled over the folds, for the rules alone
("before", the same items), country-fold ("after") and in-sample (fitted on everything), with
precision, recall and F1 per label: the relevance model keeps or drops each label the rules gave
(monitor/reading/relevance.py, one row per label).
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import itertools
import json
import sys
import zlib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from monitor.models import FeedItem
from monitor.reading import casualties, places
from monitor.reading.choice import MODELS, NO_CHOICES, Choices, Model
from monitor.reading.classify import Classifier
from monitor.reading.gazetteer import load_gazetteer

FILES = ("dev.jsonl", "acled-dev.jsonl", "train-news.jsonl")
FIELDS = ("country", "place", "killed", "injured", "event_date")
LABELS = ("shelling", "air_strike", "armed_clash", "ceasefire_violation")
MAX_SUBSET = 10  # casualty figures of one text searched exhaustively for the subset matching the gold toll


@dataclass
class Rows:
    """Training rows of one model: features, target, and the item each row came from."""

    x: list[dict[str, float]] = field(default_factory=list)
    y: list[int] = field(default_factory=list)
    item: list[int] = field(default_factory=list)

    def add(self, features: dict[str, float], target: bool, item: int) -> None:
        self.x.append(features)
        self.y.append(int(target))
        self.item.append(item)

    def subset(self, items: set[int]) -> Rows:
        keep = [i for i, it in enumerate(self.item) if it in items]
        return Rows([self.x[i] for i in keep], [self.y[i] for i in keep], [self.item[i] for i in keep])


def load_scorer(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location("score", path)
    if spec is None or spec.loader is None:
        sys.exit(f"cannot load the scorer {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def to_item(row: dict[str, Any]) -> FeedItem:
    published = row.get("published")
    when = datetime.fromisoformat(published.replace("Z", "+00:00")) if isinstance(published, str) and published \
        else None
    lang = row.get("lang")
    return FeedItem(title=str(row.get("title") or ""), text=str(row.get("text") or ""), published_at=when,
                    lang=lang if isinstance(lang, str) else None)


def group_of(row: dict[str, Any]) -> str:
    countries = row.get("country") or []
    if countries:
        return str(countries[0])
    return f"none-{zlib.crc32(str(row['id']).encode()) % 50}"


def build_rows(gold: list[dict[str, Any]], classifier: Classifier, score: ModuleType,
               acled_one_type: bool = False) -> dict[str, Rows]:
    gazetteer = load_gazetteer()
    rows = {"place": Rows(), "casualty": Rows(), "relevance": Rows()}
    for n, row in enumerate(gold):
        item = to_item(row)
        lang, text, hits = classifier.hits(item)
        relevant = bool(row.get("labels"))
        labels, _ = classifier._decide(hits) if hits else ((), ())
        if labels:  # the model keeps or drops each label the rules gave: one row per label
            gold_labels = set(row.get("labels") or [])
            one_type = str(row["id"]).startswith("acled-") and not acled_one_type
            for label, features in classifier.label_features(lang, text, hits, labels).rows().items():
                if one_type and label not in gold_labels and gold_labels & {hit.label for hit in labels}:
                    # ACLED codes one event type per event where LABELS.md gives every label that holds
                    # (a clash with artillery is both): its other label is unknown, not wrong.
                    continue
                rows["relevance"].add(features, label in gold_labels, n)
        if not relevant:
            continue
        attack_at = [h.at for h in hits if h.attack]
        if row.get("place"):
            candidates = [(f, score.place_ok(row["place"], {"name": e.name, "country": e.country, "lat": e.lat,
                                                             "lon": e.lon}, [e.country]))
                          for e, f in places.place_rows(text, gazetteer, attack_at)]
            if len(candidates) > 1 and any(ok for _, ok in candidates):  # only a choice to make teaches
                for f, ok in candidates:
                    rows["place"].add(f, ok, n)
        pub_year = item.published_at.year if item.published_at else None
        killed, injured, _, _ = casualties.figure_rows(text, pub_year, attack_at)
        acled = str(row["id"]).startswith("acled-")
        for key, figures in (("killed", killed), ("injured", injured)):
            if acled and (key == "injured" or row.get(key) is None):
                continue  # ACLED codes no injured, and a null toll there may be an unstated one
            members = matching_subset([fig for fig, _ in figures], row.get(key))
            if members is None:
                continue
            for i, (_, f) in enumerate(figures):
                rows["casualty"].add(f, i in members, n)
    return rows


def matching_subset(figures: list[casualties.Figure], gold: int | None) -> set[int] | None:
    """Indexes of the largest subset of `figures` whose total is `gold` (empty for a null or zero
    toll); None when no subset gives it, and the item then teaches nothing about its figures."""
    if not gold:
        return set()
    n = len(figures)
    sizes = range(n, 0, -1) if n <= MAX_SUBSET else (n, 1)
    for size in sizes:
        for combo in itertools.combinations(range(n), size):
            if casualties.total([figures[i] for i in combo]).count == gold:
                return set(combo)
    return None


def fit(rows: Rows, c: float, intercept: bool = True, negative_weight: float = 1.0) -> Model | None:
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.linear_model import LogisticRegression

    if len(set(rows.y)) < 2:
        return None
    vectorizer = DictVectorizer(sparse=True)
    x = vectorizer.fit_transform(rows.x)
    model = LogisticRegression(C=c, max_iter=5000, fit_intercept=intercept,
                               class_weight={0: negative_weight, 1: 1.0})
    model.fit(x, rows.y)
    names = vectorizer.get_feature_names_out()
    weights = {str(name): round(float(w), 4) for name, w in zip(names, model.coef_[0], strict=True) if abs(w) >= 1e-4}
    return Model(round(float(model.intercept_[0]), 4) if intercept else 0.0, weights)


def pairs(rows: Rows) -> Rows:
    """The place rows as differences of a right and a wrong candidate of one item (both orders): a
    logistic regression on them, without intercept, ranks candidates (a conditional logit)."""
    by_item: dict[int, list[tuple[dict[str, float], int]]] = {}
    for f, y, item in zip(rows.x, rows.y, rows.item, strict=True):
        by_item.setdefault(item, []).append((f, y))
    out = Rows()
    for item, candidates in by_item.items():
        right = [f for f, y in candidates if y]
        wrong = [f for f, y in candidates if not y]
        for a in right:
            for b in wrong:
                diff = {k: a.get(k, 0.0) - b.get(k, 0.0) for k in {*a, *b}}
                out.add(diff, True, item)
                out.add({k: -v for k, v in diff.items()}, False, item)
    return out


def fit_all(rows: dict[str, Rows], items: set[int] | None, c: float, models: set[str],
            threshold: float | None = None, negative_weight: float = 1.0, place_c: float = 0.3,
            relevance_c: float = 0.3) -> Choices:
    def part(name: str) -> Rows:
        return rows[name] if items is None else rows[name].subset(items)

    return Choices(place=fit(pairs(part("place")), place_c, intercept=False) if "place" in models else None,
                   casualty=fit(part("casualty"), c) if "casualty" in models else None,
                   relevance=tuned(fit(part("relevance"), relevance_c, negative_weight=negative_weight),
                                   part("relevance"),
                                   threshold) if "relevance" in models else None)


def tuned(model: Model | None, rows: Rows, threshold: float | None) -> Model | None:
    """The relevance model with `threshold`, else the threshold of the best F1 on its training rows
    (items the rules gave no evidence stay missed whatever the threshold)."""
    if model is None or threshold is not None:
        return model if model is None or threshold is None else dataclasses.replace(model, threshold=threshold)
    scored = [(model.probability(f), y) for f, y in zip(rows.x, rows.y, strict=True)]
    positives = sum(y for _, y in scored)

    def f1(threshold: float) -> float:
        tp = sum(1 for p, y in scored if p >= threshold and y)
        fp = sum(1 for p, y in scored if p >= threshold and not y)
        return 2 * tp / (2 * tp + fp + (positives - tp)) if positives else 0.0

    best = max((t / 100 for t in range(20, 71, 5)), key=f1)
    return dataclasses.replace(model, threshold=best)


def predict(classifier: Classifier, gold: list[dict[str, Any]], indexes: list[int]) -> dict[int, dict[str, Any]]:
    return {i: classifier.classify(to_item(gold[i])).to_json(gold[i]["id"]) for i in indexes}


def figures_of(score: ModuleType, gold: list[dict[str, Any]], pred: dict[int, dict[str, Any]],
               keep: list[int]) -> dict[str, float | None]:
    fig, _ = score.score_classify([gold[i] for i in keep], [pred[i] for i in keep])
    out: dict[str, float | None] = {"relevant_f1": fig["relevant"]["f1"], "relevant_p": fig["relevant"]["precision"],
                                    "relevant_r": fig["relevant"]["recall"]}
    for label in LABELS:
        for key, name in (("precision", "p"), ("recall", "r"), ("f1", "f1")):
            out[f"{label}_{name}"] = fig[label][key] if fig[label]["support"] else None
    out.update({key: fig[key]["accuracy"] for key in FIELDS})
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--eval-dir", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "eval")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--c", type=float, default=1.0, help="inverse L2 regularisation of the casualty model")
    ap.add_argument("--relevance-c", type=float, default=0.3,
                    help="inverse L2 regularisation of the relevance model (its per-label features are many)")
    ap.add_argument("--place-c", type=float, default=0.3, help="inverse L2 regularisation of the place ranking")
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent.parent / "monitor/data/choice.json")
    ap.add_argument("--no-write", action="store_true", help="print the cross-validation only")
    ap.add_argument("--relevance-threshold", type=float,
                    help="probability from which a label is kept and its item relevant (default: the best F1 "
                         "on the training rows)")
    ap.add_argument("--negative-weight", type=float, default=1.0,
                    help="weight of a not-relevant relevance row against a relevant one (they are few)")
    ap.add_argument("--models", default=",".join(MODELS),
                    help=f"the models to fit and ship, comma-separated (default: {','.join(MODELS)})")
    ap.add_argument("--split", choices=("country", "file"), default="country",
                    help="cross-validation by country folds (default), or leave one file out: fit on two of "
                         f"{', '.join(FILES)} and score on the third")
    ap.add_argument("--acled-one-type", action="store_true",
                    help="teach ACLED's one event type per event: the rules' other labels of an ACLED item are "
                         "wrong (by default they are left out: LABELS.md gives every label that holds)")
    args = ap.parse_args()
    try:
        from sklearn.model_selection import GroupKFold
    except ImportError:
        print("scikit-learn is missing: pip install -e '.[fit]'", file=sys.stderr)
        return 2
    missing = [name for name in (*FILES, "score.py") if not (args.eval_dir / name).is_file()]
    if missing:
        print(f"{args.eval_dir}: missing {', '.join(missing)}", file=sys.stderr)
        return 2
    models = {m.strip() for m in args.models.split(",") if m.strip()}
    if not models <= set(MODELS):
        unknown = ", ".join(sorted(models - set(MODELS)))
        print(f"--models: unknown {unknown}; known: {', '.join(MODELS)}", file=sys.stderr)
        return 2
    score = load_scorer(args.eval_dir / "score.py")
    gold: list[dict[str, Any]] = []
    source: list[str] = []
    for name in FILES:
        for row in score.read_jsonl(str(args.eval_dir / name)):
            if not row.get("unsure"):
                gold.append(row)
                source.append(name)
    rules_only = Classifier.from_settings().with_choices(NO_CHOICES)
    rows = build_rows(gold, rules_only, score, args.acled_one_type)
    print(f"{len(gold)} items; rows: " + ", ".join(f"{k} {len(r.y)} ({sum(r.y)} positive)" for k, r in rows.items()))

    everything = list(range(len(gold)))
    before = predict(rules_only, gold, everything)
    after: dict[int, dict[str, Any]] = {}
    groups = [group_of(row) for row in gold]
    if args.split == "file":  # fit on two of the files, score on the third: news of another kind
        splits = [([i for i in everything if source[i] != name], [i for i in everything if source[i] == name])
                  for name in FILES]
    else:
        splits = [(list(map(int, train)), list(map(int, test)))
                  for train, test in GroupKFold(n_splits=args.folds).split(everything, groups=groups)]
    for k, (train, test) in enumerate(splits):
        choices = fit_all(rows, set(train), args.c, models, args.relevance_threshold, args.negative_weight,
                          args.place_c, args.relevance_c)
        after.update(predict(rules_only.with_choices(choices), gold, test))
        if args.split == "file":
            print(f"fold {k + 1}: {len(test)} items, all of {FILES[k]}")
        else:
            countries = sorted({groups[i] for i in test if "-" not in groups[i]})
            print(f"fold {k + 1}: {len(test)} items, countries {', '.join(countries)}")
    final = fit_all(rows, None, args.c, models, args.relevance_threshold, args.negative_weight, args.place_c,
                    args.relevance_c)
    in_sample = predict(rules_only.with_choices(final), gold, everything)

    for title, keep in (("dev.jsonl + acled-dev.jsonl", [i for i in everything if source[i] != "train-news.jsonl"]),
                        *((name, [i for i in everything if source[i] == name]) for name in FILES),
                        # Russian news is read by other rules (ru.toml): its own figures
                        ("Russian items (lang ru)", [i for i in everything if gold[i].get("lang") == "ru"])):
        table = {"rules (before)": figures_of(score, gold, before, keep),
                 f"{args.split}-fold": figures_of(score, gold, after, keep),
                 "in-sample": figures_of(score, gold, in_sample, keep)}
        print(f"\n== {title} ({len(keep)} items)")
        print(f"{'':22}" + "".join(f"{name:>16}" for name in table))
        for key in next(iter(table.values())):
            cells = ["-" if t[key] is None else f"{t[key]:.3f}" for t in table.values()]
            print(f"{key:22}" + "".join(f"{c:>16}" for c in cells))
    if not args.no_write:
        data = {"about": "fitted by scripts/fit_weights.py on dev, acled-dev and train-news; see its --help",
                **final.to_json()}
        args.out.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
