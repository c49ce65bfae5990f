"""The shape of the tree, checked: no import cycles, the layers DESIGN.md fixes, small files.

The import graph is built from the source (AST), so it sees imports inside functions too;
imports under ``if TYPE_CHECKING:`` are left out (they never run).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "termnews"

# Rooms that may use Textual and assemble everything; the rest is the core.
FRONT = (
    "termnews.app",
    "termnews.messages",
    "termnews.screens",
    "termnews.widgets",
    "termnews.terminal",
    "termnews.palette",
)
DOORS = ("termnews.host", "termnews.cli", "termnews.demo", "termnews.__main__")
# Files allowed past the size limit, because each is the one home of something.
LONG_FILES = {
    "termnews/store.py": "the only SQL",
    "termnews/demo/content.py": "the sample site's posts (prose, not code)",
}
MAX_LINES = 600


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(node: ast.AST, module: str, is_package: bool, known: set[str]) -> Iterator[str]:
    """The termnews modules ``node`` imports: ``from a import b`` is an import of ``a.b``
    where that is a module, otherwise of ``a``."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _is_type_checking(child):
            for other in child.orelse:
                yield from _imports(other, module, is_package, known)
        elif isinstance(child, ast.Import):
            yield from (alias.name for alias in child.names)
        elif isinstance(child, ast.ImportFrom):
            base = child.module or ""
            if child.level:
                anchor = module.split(".") if is_package else module.split(".")[:-1]
                anchor = anchor[: len(anchor) - (child.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in child.names:
                yield f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
        else:
            yield from _imports(child, module, is_package, known)


def import_graph() -> dict[str, set[str]]:
    """Module -> the termnews modules it imports."""
    known = modules()
    names = set(known)
    graph: dict[str, set[str]] = {}
    for name, path in known.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        found = _imports(tree, name, path.name == "__init__.py", names)
        graph[name] = {target for target in found if target in names and target != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                item = stack.pop()
                on_stack.discard(item)
                component.append(item)
                if item == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _in(module: str, rooms: tuple[str, ...]) -> bool:
    return any(module == room or module.startswith(room + ".") for room in rooms)


def test_the_import_graph_has_no_cycles() -> None:
    assert cycles(import_graph()) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]


def test_the_core_imports_no_ui_and_no_front_door() -> None:
    offenders = [
        f"{module} -> {target}"
        for module, targets in import_graph().items()
        if not _in(module, FRONT + DOORS)
        for target in targets
        if _in(target, FRONT + DOORS)
    ]
    assert offenders == []


def test_sanitize_and_errors_import_nothing_of_termnews() -> None:
    graph = import_graph()
    assert graph["termnews.sanitize"] == set()
    assert graph["termnews.errors"] == set()
    assert not any(t.startswith("termnews.render") for t in graph["termnews.sanitize"])


def test_no_source_file_is_too_long() -> None:
    long = {
        str(path.relative_to(SRC)): len(path.read_text(encoding="utf-8").splitlines())
        for path in PACKAGE.rglob("*.py")
    }
    offenders = {
        name: lines for name, lines in long.items() if lines > MAX_LINES and name not in LONG_FILES
    }
    assert offenders == {}
