"""Helpers for Pilot tests."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from textual.screen import Screen

if TYPE_CHECKING:
    from termnews.screens.reader import ReaderScreen

S = TypeVar("S", bound=Screen[Any])

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


async def press_to(pilot: Any, *keys: str, screen: type[S]) -> S:
    """Press `keys`, then let the app run until a `screen` is on top; returns it."""
    await pilot.press(*keys)
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, screen))
    shown = pilot.app.screen
    assert isinstance(shown, screen)
    return shown


async def open_post(pilot: Any, article_id: int) -> ReaderScreen:
    """From the feeds screen: that article in the reader."""
    from termnews.screens.reader import ReaderScreen

    pilot.app.screen.article_list.go_to_id(article_id)
    return await press_to(pilot, "tab", "enter", screen=ReaderScreen)
