"""The demo package's shape: no import cycle, no module too long to read in one go.

The import graph counts every import statement, including those under
``if TYPE_CHECKING:`` and inside functions: a cycle that only the type checker follows
still ties the modules together for whoever reads or changes them.
"""

from __future__ import annotations

import ast
from pathlib import Path

import bimpe_tui.demo

PACKAGE = "bimpe_tui.demo"
DEMO_DIR = Path(bimpe_tui.demo.__file__).parent
MAX_LINES = 500


def _module_name(path: Path) -> str:
    return PACKAGE if path.stem == "__init__" else f"{PACKAGE}.{path.stem}"


def _imports(path: Path, modules: set[str]) -> set[str]:
    """The modules of the package that ``path`` imports, wherever the statement is."""
    found: set[str] = set()
    is_package = path.stem == "__init__"
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                # Relative: ``from . import x`` in a module of the package means the package.
                parts = PACKAGE.split(".")
                keep = len(parts) - (node.level - 1) if is_package else len(parts) - node.level + 1
                base = ".".join([*parts[:keep], *([base] if base else [])])
            # ``from pkg import mod`` imports the submodule; ``from pkg import name`` the package.
            targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        found.update(target for target in targets if target in modules)
    found.discard(_module_name(path))
    return found


def _graph() -> dict[str, set[str]]:
    paths = sorted(DEMO_DIR.glob("*.py"))
    modules = {_module_name(path) for path in paths}
    return {_module_name(path): _imports(path, modules) for path in paths}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules (first repeated last), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state:
                found = visit(target)
                if found is not None:
                    return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found is not None:
                return found
    return None


def test_the_graph_sees_the_demo_imports() -> None:
    # Guards the parser itself: an empty graph would have no cycle either.
    graph = _graph()
    assert "bimpe_tui.demo.world" in graph["bimpe_tui.demo.server"]
    assert "bimpe_tui.demo.context" in graph["bimpe_tui.demo.pump"]


def test_cycle_finder_reports_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}
    assert _cycle(graph) == ["a", "b", "c", "a"]


def test_demo_package_has_no_import_cycle() -> None:
    assert _cycle(_graph()) is None


def test_no_demo_module_is_over_the_limit() -> None:
    long = {
        path.name: count
        for path in DEMO_DIR.glob("*.py")
        if (count := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}
