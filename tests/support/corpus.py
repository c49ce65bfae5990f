"""Where the shared feed corpus is: $TERMNEWS_CORPUS, or ../shared/corpus beside the repo."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CORPUS = Path(os.environ.get("TERMNEWS_CORPUS") or ROOT.parent / "shared" / "corpus")
FEEDS = CORPUS / "feeds"
ABSENT = f"feed corpus not found at {CORPUS} (set TERMNEWS_CORPUS)"
