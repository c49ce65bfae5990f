"""Shared test setup: loopback servers, fresh data dirs, the corpus location."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from termnews.config import Paths, Settings
from termnews.model import Identity
from termnews.service import NewsService
from tests.support.corpus import CORPUS

pytest_plugins = ["tests.support.fixtures"]

ROOT = Path(__file__).resolve().parents[1]


def corpus_dir() -> Path:
    return CORPUS


@pytest.fixture
def paths(tmp_path: Path) -> Paths:
    return Paths(config_file=tmp_path / "config.toml", data_dir=tmp_path / "data")


@pytest.fixture
def service(paths: Paths) -> Iterator[NewsService]:
    svc = NewsService.open(paths, Settings(), identity=Identity())
    yield svc
    svc.close()


@pytest.fixture(autouse=True)
def _isolated_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never touch the user's real settings or data."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.delenv("TERMNEWS_DATA_DIR", raising=False)
    monkeypatch.delenv("TERMNEWS_CONFIG", raising=False)
    monkeypatch.delenv("SSH_CONNECTION", raising=False)
    monkeypatch.delenv("SSH_TTY", raising=False)
