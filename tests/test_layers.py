"""The layers contract of monitor/: which package or top module may import which, lazy imports counted.

Data flows feeds -> reading -> incidents -> alerts; the store persists what those stages decide. Each unit
(a package under monitor/ or a top module) has a layer; a unit may import only units of lower layers, and
units of one layer never import each other (the stages are independent). Checked on the source with ast, so
imports inside functions and under TYPE_CHECKING count as much as module-level ones.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "monitor"

# Lowest first. Units of one layer may not import each other (except within the shared base).
LAYERS: list[tuple[str, set[str]]] = [
    ("shared", {"monitor", "errors", "models", "settings", "logs", "redact", "geo"}),
    ("stages", {"feeds", "reading", "incidents", "alerts"}),
    ("config", {"config"}),  # validates values with the stages' own parsers (cron specs, apprise URLs)
    ("store", {"store"}),
    ("store faces", {"querying", "metrics"}),
    ("orchestration", {"pipeline"}),
    ("web", {"web"}),
    ("daemon", {"service"}),  # hosts the API server beside the scheduler
    ("command line", {"cli"}),
    ("python -m", {"__main__"}),
]
LAYER_OF = {unit: rank for rank, (_, units) in enumerate(LAYERS) for unit in units}
SHARED_RANK = 0
MAX_TOP_MODULES = 14


def unit_of(module: str) -> str:
    """'monitor.reading.places' -> 'reading'; 'monitor.errors' -> 'errors'; 'monitor' -> 'monitor'."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "monitor"


def module_name(path: Path, package: Path = PACKAGE) -> str:
    rel = path.relative_to(package.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(path: Path, root: Path = PACKAGE) -> set[str]:
    """Every monitor module `path` imports, wherever the import statement stands."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    inside = path.is_relative_to(root.parent)
    package = "" if not inside else (
        module_name(path, root) if path.name == "__init__.py" else module_name(path, root).rpartition(".")[0])
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "monitor")
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "monitor":
                continue
            found.add(target)
            # `from monitor import reading` or `from monitor.cli import query`: submodules count too
            found.update(f"{target}.{a.name}" for a in node.names)
    return found


def unit_graph(package: Path = PACKAGE) -> dict[str, dict[str, list[str]]]:
    """unit -> imported unit -> the modules that import it (for readable failures)."""
    graph: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for path in sorted(package.rglob("*.py")):
        if "migrations" in path.relative_to(package).parts:
            continue
        source = module_name(path, package)
        for target in imported_modules(path, package):
            a, b = unit_of(source), unit_of(target)
            if not (package / f"{b}.py").exists() and not (package / b).is_dir():
                b = "monitor"  # a name imported from the package itself (`from monitor import __version__`)
            if a != b:
                graph[a][b].append(source)
    return graph


def units_without_a_layer(package: Path = PACKAGE) -> list[str]:
    units = {p.stem for p in package.glob("*.py") if p.stem != "__init__"}
    units |= {p.name for p in package.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    return sorted(u for u in units if u not in LAYER_OF)


def upward_imports(graph: dict[str, dict[str, list[str]]]) -> list[str]:
    """Every import of a unit from a higher layer, or from another unit of the same layer (but the shared)."""
    wrong = []
    for a, targets in graph.items():
        for b, sources in targets.items():
            ra, rb = LAYER_OF[a], LAYER_OF[b]
            if rb > ra or (rb == ra and ra != SHARED_RANK):
                wrong.append(f"{a} ({LAYERS[ra][0]}) imports {b} ({LAYERS[rb][0]}) in {sorted(set(sources))}")
    return wrong


def import_cycle(graph: dict[str, dict[str, list[str]]]) -> list[str] | None:
    """One cycle of imports between units (as a path that ends where it starts), or None."""
    seen: dict[str, int] = {}  # 1 = on the stack, 2 = done

    def visit(node: str, path: list[str]) -> list[str] | None:
        seen[node] = 1
        for nxt in graph.get(node, {}):
            if seen.get(nxt) == 1:
                return path + [node, nxt]
            if nxt not in seen and (cycle := visit(nxt, path + [node])):
                return cycle
        seen[node] = 2
        return None

    for unit in list(graph):
        if unit not in seen and (cycle := visit(unit, [])):
            return cycle
    return None


def test_every_unit_has_a_layer() -> None:
    missing = units_without_a_layer()
    assert not missing, f"add these to LAYERS in tests/test_layers.py: {missing}"


def test_the_top_of_monitor_stays_small() -> None:
    top = sorted(p.stem for p in PACKAGE.glob("*.py"))
    assert len(top) <= MAX_TOP_MODULES, f"{len(top)} modules at monitor/'s top: {top}"


def test_imports_go_down_the_layers_only() -> None:
    wrong = upward_imports(unit_graph())
    assert not wrong, "\n".join(wrong)


def test_no_import_cycle_between_units() -> None:
    cycle = import_cycle(unit_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


@pytest.mark.parametrize("package", sorted(p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()))
def test_each_package_says_what_enters_and_leaves(package: str) -> None:
    doc = ast.get_docstring(ast.parse((PACKAGE / package / "__init__.py").read_text(encoding="utf-8")))
    assert doc and len(doc) > 40, f"monitor/{package}/__init__.py needs a docstring: what enters, what leaves"


def test_the_checker_sees_a_lazy_import(tmp_path: Path) -> None:
    # The contract is only as good as the parser: an import inside a function must be found.
    src = tmp_path / "x.py"
    src.write_text("def f():\n    from monitor.store import Store\n    import monitor.web.api\n")
    assert imported_modules(src) >= {"monitor.store", "monitor.store.Store", "monitor.web.api"}


def fake_package(root: Path, files: dict[str, str]) -> Path:
    """A throwaway `monitor` tree (path -> source) for checking the checker."""
    package = root / "monitor"
    for rel, source in {"__init__.py": "", **files}.items():
        path = package / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source, encoding="utf-8")
    return package


CLEAN = {
    "errors.py": "class Oops(Exception): ...\n",
    "reading/__init__.py": '"""r"""\n',
    "reading/classify.py": "from monitor.errors import Oops\n",
    "incidents/__init__.py": '"""i"""\n',
    "store/__init__.py": "from monitor.incidents import group\nfrom . import engine\n",
    "store/engine.py": "from ..errors import Oops\n",
    "alerts/__init__.py": '"""a"""\n',
    "web/__init__.py": '"""w"""\n',
    "cli/__init__.py": "def main():\n    from monitor.store import Store\n",
}


def test_the_checker_passes_a_tree_that_keeps_the_layers(tmp_path: Path) -> None:
    package = fake_package(tmp_path, CLEAN)
    graph = unit_graph(package)
    assert set(graph["store"]) == {"incidents", "errors"} and set(graph["cli"]) == {"store"}
    assert units_without_a_layer(package) == [] and upward_imports(graph) == [] and import_cycle(graph) is None


@pytest.mark.parametrize(("path", "source", "found"), [
    ("reading/places.py", "def f():\n    from monitor.store import Store\n", "reading (stages) imports store"),
    ("reading/places.py", "from monitor.incidents.group import merge\n", "reading (stages) imports incidents"),
    ("errors.py", "from monitor import cli\n", "errors (shared) imports cli"),
    ("store/engine.py", "from ..web import api\n", "store (store) imports web"),
    ("incidents/group.py", "from ..alerts import routing\n", "incidents (stages) imports alerts"),
])
def test_the_checker_fails_an_import_that_goes_up_or_sideways(tmp_path: Path, path: str, source: str,
                                                              found: str) -> None:
    package = fake_package(tmp_path, {**CLEAN, path: source})
    wrong = upward_imports(unit_graph(package))
    assert len(wrong) == 1 and wrong[0].startswith(found), wrong


def test_the_checker_finds_a_cycle_and_a_unit_without_a_layer(tmp_path: Path) -> None:
    package = fake_package(tmp_path, {**CLEAN, "store/engine.py": "from monitor.cli import main\n",
                                      "gadgets.py": "", "extras/__init__.py": ""})
    cycle = import_cycle(unit_graph(package))
    assert cycle is not None and cycle[0] == cycle[-1] and {"store", "cli"} <= set(cycle)
    assert units_without_a_layer(package) == ["extras", "gadgets"]
