"""Learned choices over rule-made candidates: small logistic models read from monitor/data/choice.json.

The rules find the candidates and the evidence (places.py, casualties.py, classify.py); these models
only choose among them: which candidate place is the event's, which casualty figures belong to the
incident, and whether the label scores add up to a relevant report. Each model is a bias and one
weight per named feature, so a decision is one dot product. scripts/fit_weights.py fits them with
scikit-learn and writes the file; nothing here needs scikit-learn.
"""

from __future__ import annotations

import functools
import itertools
import json
import math
import operator
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from monitor.errors import MonitorError

MODELS = ("place", "casualty", "relevance")
_ZEROS = itertools.repeat(0.0)  # the weight of a feature the model does not know


@dataclass(frozen=True)
class Model:
    """A logistic model over named features; features it has no weight for count zero."""

    bias: float = 0.0
    weights: Mapping[str, float] = field(default_factory=dict)
    threshold: float = 0.5

    def logit(self, features: Mapping[str, float]) -> float:
        # The same products summed in the same order as a loop over features.items(), in C (maps).
        total: float = sum(map(operator.mul, map(self.weights.get, features, _ZEROS), features.values()))
        return self.bias + total

    def probability(self, features: Mapping[str, float]) -> float:
        z = self.logit(features)
        return 1.0 / (1.0 + math.exp(-z)) if z > -60.0 else 0.0

    def accepts(self, features: Mapping[str, float]) -> bool:
        return self.probability(features) >= self.threshold


@dataclass(frozen=True)
class Choices:
    """The three models; None where the weights file has none (the rules then decide alone)."""

    place: Model | None = None
    casualty: Model | None = None
    relevance: Model | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in MODELS:
            model = getattr(self, name)
            if model is not None:
                out[name] = {"bias": model.bias, "threshold": model.threshold, "weights": dict(model.weights)}
        return out


NO_CHOICES = Choices()


def parse_choices(data: object, source: str) -> Choices:
    """Choices from the decoded JSON of a weights file. Raises MonitorError naming `source` when bad."""
    if not isinstance(data, dict):
        raise MonitorError(f"{source}: weights must be a JSON object of models")
    unknown = set(data) - {*MODELS, "about"}
    if unknown:
        raise MonitorError(f"{source}: unknown model(s) {', '.join(sorted(unknown))}; known: {', '.join(MODELS)}")
    models: dict[str, Model] = {}
    for name in MODELS:
        if name in data:
            models[name] = _model(data[name], f"{source}: {name}")
    return Choices(**models)


def _model(raw: object, where: str) -> Model:
    if not isinstance(raw, dict):
        raise MonitorError(f"{where}: must be an object with bias, threshold and weights")
    weights = raw.get("weights", {})
    if not isinstance(weights, dict):
        raise MonitorError(f"{where}: weights must map feature names to numbers")
    numbers = {"bias": raw.get("bias", 0.0), "threshold": raw.get("threshold", 0.5), **weights}
    for key, value in numbers.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise MonitorError(f"{where}: {key} must be a finite number, not {value!r}")
    return Model(float(raw.get("bias", 0.0)), {str(k): float(v) for k, v in weights.items()},
                 float(raw.get("threshold", 0.5)))


def read_choices(path: Path) -> Choices:
    """Choices from a weights file. Raises MonitorError when it is missing or malformed."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise MonitorError(f"{path}: cannot read weights ({e.strerror or e})") from e
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise MonitorError(f"{path}: weights are not valid JSON ({e})") from e
    return parse_choices(data, str(path))


@functools.cache
def load_choices() -> Choices:
    """The shipped weights (monitor/data/choice.json), read once; no models when the file is absent."""
    file = resources.files("monitor") / "data" / "choice.json"
    if not file.is_file():
        return NO_CHOICES
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise MonitorError(f"monitor/data/choice.json: weights are not valid JSON ({e})") from e
    return parse_choices(data, "monitor/data/choice.json")
