"""Recent renders: kept by key, each made by one thread at a time (the reader's read-ahead
thread and its main thread asking for the same post make it once)."""

from __future__ import annotations

import threading
import time

import pytest

from termnews.recent import Recent


def test_keeps_the_most_recently_used() -> None:
    recent: Recent[int, str] = Recent(2)
    assert recent.get(1, lambda: "one") == "one"
    assert recent.get(2, lambda: "two") == "two"
    assert recent.get(1, lambda: "again") == "one"  # kept, and now the most recent
    recent.get(3, lambda: "three")
    assert recent.kept() == [1, 3]
    recent.forget(lambda key: key == 3)
    assert recent.kept() == [1]
    recent.forget()
    assert recent.kept() == []


def test_a_second_thread_waits_for_the_first_one_s_value() -> None:
    recent: Recent[str, object] = Recent(4)
    started, release = threading.Event(), threading.Event()
    made: list[str] = []

    def slow() -> object:
        made.append(threading.current_thread().name)
        started.set()
        release.wait(5)
        return object()

    results: dict[str, object] = {}
    ahead = threading.Thread(target=lambda: results.update(ahead=recent.get("post", slow)))
    ahead.start()
    assert started.wait(5)
    asker = threading.Thread(target=lambda: results.update(asker=recent.get("post", slow)))
    asker.start()
    time.sleep(0.05)
    assert asker.is_alive()  # waiting, not making a second copy
    release.set()
    ahead.join(5)
    asker.join(5)
    assert len(made) == 1 and results["asker"] is results["ahead"]


def test_when_the_maker_fails_a_waiting_thread_makes_it() -> None:
    recent: Recent[str, str] = Recent(4)
    started, release = threading.Event(), threading.Event()

    def failing() -> str:
        started.set()
        release.wait(5)
        raise OSError("the disk went away")

    errors: list[BaseException] = []

    def first() -> None:
        try:
            recent.get("post", failing)
        except OSError as exc:
            errors.append(exc)

    thread = threading.Thread(target=first)
    thread.start()
    assert started.wait(5)
    second: list[str] = []
    waiter = threading.Thread(target=lambda: second.append(recent.get("post", lambda: "made")))
    waiter.start()
    time.sleep(0.05)
    release.set()
    thread.join(5)
    waiter.join(5)
    assert len(errors) == 1 and second == ["made"]
    assert recent.get("post", lambda: pytest.fail("kept")) == "made"
