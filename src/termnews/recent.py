"""What a process made lately (rendered posts), kept for its threads: each key is made by
one thread at a time.

The reader renders the next post ahead on a thread while the current one is read; when the
reader steps onto that post before the thread is done, it waits for the thread's document
rather than making (or, on a host, loading) a second copy of it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Recent(Generic[K, V]):
    """The `size` most recently used values, by key."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._values: OrderedDict[K, V] = OrderedDict()
        self._making: dict[K, threading.Event] = {}
        self._lock = threading.Lock()

    def get(self, key: K, make: Callable[[], V]) -> V:
        """The value kept under `key`, or `make()` kept there. While another thread makes
        it, this one waits for that one (and makes it itself if that one failed)."""
        while True:
            with self._lock:
                if key in self._values:
                    self._values.move_to_end(key)
                    return self._values[key]
                making = self._making.get(key)
                if making is None:
                    making = self._making[key] = threading.Event()
                    break
            making.wait()  # then look again: kept, or (that one failed) made here
        try:
            value = make()
            with self._lock:
                self._values[key] = value
                while len(self._values) > self.size:
                    self._values.popitem(last=False)
            return value
        finally:
            with self._lock:
                del self._making[key]
            making.set()

    def kept(self) -> list[K]:
        """The keys kept, least recently used first."""
        with self._lock:
            return list(self._values)

    def forget(self, which: Callable[[K], bool] | None = None) -> None:
        """Drop the kept values whose key `which` accepts (all, without it)."""
        with self._lock:
            for key in [k for k in self._values if which is None or which(k)]:
                del self._values[key]
