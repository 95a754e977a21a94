"""The engine package (`bimpe_tui.api`) stays split by job: no import circles (sizes:
test_module_sizes.py, for the whole package).

Read from the source with `ast`, nothing imported, so an import circle counts
even where Python would tolerate it: inside a function, or under
TYPE_CHECKING (a circle there still ties two jobs together).
"""

from __future__ import annotations

import ast
from pathlib import Path

import bimpe_tui.api

API = Path(bimpe_tui.api.__file__).parent


def _trees() -> dict[str, ast.Module]:
    return {path.stem: ast.parse(path.read_text(), str(path)) for path in API.glob("*.py")}


def _targets(node: ast.AST, modules: set[str]) -> set[str]:
    """The modules of the package one import statement names (`__init__` for the package)."""
    if isinstance(node, ast.Import):
        return {
            alias.name.split(".")[2]
            for alias in node.names
            if alias.name.startswith("bimpe_tui.api.")
        }
    if not isinstance(node, ast.ImportFrom):
        return set()
    if node.level == 1:
        module = node.module
    elif node.level == 0 and (node.module or "").startswith("bimpe_tui.api"):
        module = (node.module or "").removeprefix("bimpe_tui.api").lstrip(".") or None
    else:
        return set()  # `..` or another package: outside the graph
    if module is not None:
        return {module.split(".")[0]}
    # `from . import x`: x is a module, or a name the package's __init__ defines.
    return {alias.name if alias.name in modules else "__init__" for alias in node.names}


def import_graph(trees: dict[str, ast.Module]) -> dict[str, set[str]]:
    """Which modules of the package each module imports, anywhere in its source."""
    modules = set(trees)
    graph: dict[str, set[str]] = {}
    for name, tree in trees.items():
        found: set[str] = set()
        for node in ast.walk(tree):
            found |= _targets(node, modules)
        found.discard(name)
        graph[name] = found
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A circle of imports in `graph` (its first module repeated at the end), if any."""
    finished: set[str] = set()

    def walk(node: str, trail: list[str]) -> list[str] | None:
        if node in trail:
            return [*trail[trail.index(node) :], node]
        if node in finished:
            return None
        for target in sorted(graph.get(node, ())):
            circle = walk(target, [*trail, node])
            if circle is not None:
                return circle
        finished.add(node)
        return None

    for start in sorted(graph):
        circle = walk(start, [])
        if circle is not None:
            return circle
    return None


def test_the_api_package_imports_without_circles() -> None:
    graph = import_graph(_trees())
    # The graph is really read: the stream composes the parts of the engine.
    assert {"reader", "resume", "reconnect", "backfill", "connect"} <= graph["stream"]
    assert find_cycle(graph) is None


def test_a_type_checking_import_counts() -> None:
    source = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .b import B\n"
    trees = {"a": ast.parse(source), "b": ast.parse("from .a import A\n")}
    assert find_cycle(import_graph(trees)) == ["a", "b", "a"]


def test_the_cycle_finder_finds_one_and_only_one() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None
