"""The layering DESIGN.md fixes: the core never imports Textual; the UI only uses NewsService."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "termnews"
UI = ("app", "messages", "palette", "screens", "widgets", "terminal")


def _modules_without_textual() -> list[str]:
    """Every module outside the UI rooms: the core, and the front doors (which must load
    the UI only when they run it)."""
    names = []
    for path in sorted(SRC.rglob("*.py")):
        parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        if (len(parts) > 1 and parts[1] in UI) or parts[-1] == "__main__":
            continue
        names.append(".".join(parts))
    return names


CORE = _modules_without_textual()


def test_core_never_imports_textual() -> None:
    code = (
        "import sys, importlib\n"
        f"for name in {CORE!r}: importlib.import_module(name)\n"
        "import termnews.comments\n"
        "bad = sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.'))\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""


def test_ui_talks_to_the_core_only_through_the_service() -> None:
    forbidden = {
        "sqlite3",
        "httpx",
        "termnews.http",
        "termnews.store",
        "termnews.feeds.fetch",
        "termnews.feeds.parse",
    }
    ui_files = [
        *(SRC / name for name in ("app.py", "messages.py", "palette.py")),
        *(SRC / "screens").glob("*.py"),
        *(SRC / "widgets").glob("*.py"),
    ]
    offenders = []
    for path in ui_files:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n in forbidden]
            # ... nor reach around the service to its store.
            if isinstance(node, ast.Attribute) and node.attr in ("store", "db"):
                offenders.append(f"{path.name}:{node.lineno}: .{node.attr}")
    assert offenders == []
