"""`python -m termnews ARGS` as a subprocess on a data dir of the test's own."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path


def run(
    *args: str, data: Path, stdin: str | None = None, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The CLI with its data and settings under `data`, no TERMNEWS_* from this process,
    and `env` added."""
    child = {k: v for k, v in os.environ.items() if not k.startswith("TERMNEWS_")}
    child["TERMNEWS_DATA_DIR"] = str(data)
    child["TERMNEWS_CONFIG"] = str(data / "config.toml")
    child.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "termnews", *args],
        capture_output=True,
        text=True,
        input=stdin,
        env=child,
        timeout=60,
    )
