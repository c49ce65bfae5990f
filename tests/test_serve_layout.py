"""The host's and the CLI's rooms (issue 9): which may import which."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "termnews"


def _imports(path: Path) -> list[tuple[str, bool]]:
    """(module, at top level) for every absolute import in the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top = {id(node) for node in tree.body}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, id(node) in top) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.append((node.module, id(node) in top))
    return found


def test_only_the_zygote_main_of_the_host_imports_the_cli_or_the_ui() -> None:
    offenders = []
    for path in sorted((SRC / "host").glob("*.py")):
        for module, _ in _imports(path):
            reaches_cli = module == "termnews.cli" or module.startswith("termnews.cli.")
            reaches_ui = module.startswith(("termnews.app", "termnews.screens", "textual"))
            if (reaches_cli and path.name != "zygote_main.py") or reaches_ui:
                offenders.append(f"host/{path.name}: {module}")
    assert offenders == []


def test_the_cli_imports_the_host_only_inside_its_handlers() -> None:
    offenders = [
        f"cli/{path.name}: {module}"
        for path in sorted((SRC / "cli").glob("*.py"))
        for module, top in _imports(path)
        if top and (module.startswith("termnews.host") or module == "asyncssh")
    ]
    assert offenders == []


def test_commands_other_than_serve_start_without_the_ssh_stack() -> None:
    code = (
        "import sys; from termnews.cli import build_parser; build_parser(); "
        "print(sorted(m for m in sys.modules if m.startswith(('asyncssh', 'termnews.host'))))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_exit_codes_are_defined_once() -> None:
    defines = re.compile(r"^EXIT_[A-Z_]+(?:, EXIT_[A-Z_]+)* = ", re.M)
    defined = sorted(
        str(path.relative_to(SRC))
        for path in SRC.rglob("*.py")
        if defines.search(path.read_text(encoding="utf-8"))
    )
    assert defined == ["cli/common.py"]
