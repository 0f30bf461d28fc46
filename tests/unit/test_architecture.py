"""The floor plan holds: layers point one way, and only the storage and messaging packages speak CQL or Kafka.

Imports are read from the source (``ast``), at module level *and* inside functions: a
function-local import that dodges a cycle is still a cycle.
"""
from __future__ import annotations

import ast
import itertools
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = sorted(p.name for p in ROOT.iterdir() if (p / "__init__.py").exists() and p.name != "tests")
# Lower layers first; a package may import only packages of a lower layer (or of its own package).
LAYERS = [
    {"config"},
    {"jars", "store"},
    {"ingest", "recall", "accounts", "search", "experiments"},
    {"streaming", "batch", "ranking"},
    {"training"},
    {"evaluation"},
    {"api", "ops"},
    {"benchmarks"},   # drives the running stack: stops and starts roles through ops
]


def imports_of(path: Path) -> list[tuple[str, int]]:
    """(top-level module, line) of every absolute import in a file, wherever it stands."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(alias.name.split(".")[0], node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            found.append((node.module.split(".")[0], node.lineno))
    return found


def package_graph(root: Path = ROOT, packages=PACKAGES) -> dict[str, dict[str, list[str]]]:
    """package -> imported package -> where ("file:line")."""
    graph: dict[str, dict[str, list[str]]] = {p: defaultdict(list) for p in packages}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            for module, line in imports_of(path):
                if module in graph and module != package:
                    graph[package][module].append(f"{path.relative_to(root)}:{line}")
    return graph


def cycles(graph: dict[str, dict[str, list[str]]]) -> list[tuple[str, str]]:
    def reaches(a: str, b: str, seen: frozenset = frozenset()) -> bool:
        return b in graph[a] or any(reaches(c, b, seen | {a}) for c in graph[a] if c not in seen)
    return sorted({tuple(sorted(pair)) for pair in itertools.permutations(graph, 2)
                   if pair[1] in graph[pair[0]] and reaches(pair[1], pair[0])})


def test_the_cycle_finder_sees_a_cycle_hidden_in_a_function(tmp_path):
    (tmp_path / "low").mkdir()
    (tmp_path / "high").mkdir()
    (tmp_path / "low" / "__init__.py").write_text("def f():\n    from high import thing\n")
    (tmp_path / "high" / "__init__.py").write_text("import low\n")
    graph = package_graph(tmp_path, ["high", "low"])
    assert cycles(graph) == [("high", "low")]


def test_no_package_import_cycles():
    graph = package_graph()
    found = cycles(graph)
    where = {f"{a}<->{b}": graph[a].get(b, []) + graph[b].get(a, []) for a, b in found}
    assert not found, f"package import cycles: {where}"


def test_every_package_has_a_layer():
    placed = set().union(*LAYERS)
    assert set(PACKAGES) <= placed, f"packages without a layer in this test: {set(PACKAGES) - placed}"


def test_layers_point_one_way():
    level = {p: i for i, layer in enumerate(LAYERS) for p in layer}
    graph = package_graph()
    upward = {f"{a} -> {b}": where for a in graph for b, where in graph[a].items() if level[b] >= level[a]}
    assert not upward, f"imports of a package on the same or a higher layer: {upward}"


def test_configuration_imports_nothing_of_the_project():
    assert not package_graph()["config"]


def _files_importing(module: str) -> set[str]:
    return {str(path.relative_to(ROOT)) for package in PACKAGES for path in (ROOT / package).rglob("*.py")
            if any(m == module for m, _ in imports_of(path))}


def test_only_the_store_speaks_cql():
    outside = {f for f in _files_importing("cassandra") if not f.startswith("store/")}
    assert not outside, f"cassandra-driver imported outside store/: {outside}"


def test_only_ingest_and_streaming_speak_kafka():
    outside = {f for f in _files_importing("kafka") if not f.startswith(("ingest/", "streaming/"))}
    assert not outside, f"kafka imported outside ingest/ and streaming/: {outside}"
