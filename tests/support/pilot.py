"""Helpers for Pilot tests."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

# A generous bound for a busy machine; never a speed check.
WAIT = 30.0


async def wait_until(pilot: Any, condition: Callable[[], object], timeout: float = WAIT) -> None:
    """Let the app run until ``condition()`` holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        await pilot.pause(0.1)
    if not condition():
        raise AssertionError("condition not met in time")
