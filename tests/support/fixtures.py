"""Pytest fixtures around the loopback feed server (registered from tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.feedserver import FeedServer


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    """A fresh FeedServer on 127.0.0.1, shut down after the test."""
    with FeedServer() as server:
        yield server
