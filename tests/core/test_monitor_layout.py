"""The monitor package stays split by job: no import circles inside it (the sizes of
its modules and classes: test_module_sizes.py, for the whole package).

Read from the source with `ast` (nothing is imported), so a circle is caught even
where Python would tolerate it (an import inside a function, or under
TYPE_CHECKING).
"""

from __future__ import annotations

import ast
from pathlib import Path

import bimpe_tui

PACKAGE = Path(bimpe_tui.__file__).parent
MONITOR = PACKAGE / "monitor"


def _modules() -> dict[str, ast.Module]:
    return {path.stem: ast.parse(path.read_text(), str(path)) for path in MONITOR.glob("*.py")}


def _imports(name: str, tree: ast.Module, names: set[str]) -> set[str]:
    """The modules of the package that `name` imports (`__init__` for the package)."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level == 1:
                target = node.module
            elif node.level == 0 and node.module and node.module.startswith("bimpe_tui.monitor"):
                target = node.module.removeprefix("bimpe_tui.monitor").lstrip(".") or None
            else:
                continue
            if target is None:  # `from . import x`: x is a module, or a name of __init__
                found.update(a.name if a.name in names else "__init__" for a in node.names)
            else:
                found.add(target.split(".")[0])
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("bimpe_tui.monitor."):
                    found.add(alias.name.split(".")[2])
    found.discard(name)
    return found


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A circle of imports in `graph`, if there is one."""
    done: set[str] = set()
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        if node in path:
            return [*path[path.index(node) :], node]
        if node in done:
            return None
        path.append(node)
        for target in sorted(graph.get(node, ())):
            found = visit(target)
            if found is not None:
                return found
        path.pop()
        done.add(node)
        return None

    for node in sorted(graph):
        found = visit(node)
        if found is not None:
            return found
    return None


def test_the_monitor_package_imports_without_circles() -> None:
    modules = _modules()
    graph = {name: _imports(name, tree, set(modules)) for name, tree in modules.items()}
    assert graph["core"], "the graph is read (core composes the other modules)"
    assert _cycle(graph) is None


def test_the_cycle_finder_finds_one() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None
