"""What a connection must get past before it becomes a session.

Modelled on OpenSSH: `MaxStartups` (unauthenticated connections in all),
`PerSourceMaxStartups` (... from one address) and `LoginGraceTime` (how long one may take
to authenticate). Open mode adds reserved member names and a cap on new members per
source address per hour, so churning keys cannot mint identities without end.
"""

from __future__ import annotations

import getpass
import logging
import time
from collections import Counter, deque
from collections.abc import Callable

log = logging.getLogger("termnews.serve")

# Names a new key may never pick in open mode: they are the host's own (the operator's
# local identity is the login name, "local" when there is none).
ALWAYS_RESERVED = frozenset({"root", "local"})
REFUSAL_LOG_SECONDS = 10.0  # at most one refusal line per source address this often
REGISTRATION_WINDOW = 3600.0


def host_names() -> frozenset[str]:
    """The names this host itself uses: root, local and the operator's login name."""
    try:
        own = getpass.getuser()
    except (OSError, KeyError):
        own = ""
    return ALWAYS_RESERVED | ({own.lower()} if own else set())


class StartupGate:
    """Counts unauthenticated connections, in all and per source address."""

    def __init__(
        self, total: int, per_source: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.total = total
        self.per_source = per_source
        self.pending: Counter[str] = Counter()
        self._clock = clock
        self._last_logged: dict[str, float] = {}
        self._unlogged: Counter[str] = Counter()

    @property
    def pending_total(self) -> int:
        return sum(self.pending.values())

    def enter(self, source: str) -> str | None:
        """None when the connection may go on (and is counted), else why not."""
        if self.pending[source] >= self.per_source:
            reason = f"{self.per_source} unauthenticated connections from this address"
        elif self.pending_total >= self.total:
            reason = f"{self.total} unauthenticated connections in all"
        else:
            self.pending[source] += 1
            return None
        self._log_refusal(source, reason)
        return reason

    def leave(self, source: str) -> None:
        """The connection authenticated or closed."""
        if self.pending[source] <= 1:
            del self.pending[source]
        else:
            self.pending[source] -= 1

    def _log_refusal(self, source: str, reason: str) -> None:
        # A flood must not flood the log too: one line per address per interval, with
        # the count of the refusals it stood for.
        now = self._clock()
        last = self._last_logged.get(source)
        if last is not None and now - last < REFUSAL_LOG_SECONDS:
            self._unlogged[source] += 1
            return
        more = self._unlogged.pop(source, 0)
        self._last_logged[source] = now
        suffix = f" ({more} more refused since the last line)" if more else ""
        log.warning("refused a connection from %s: already %s%s", source, reason, suffix)
        if len(self._last_logged) > 4096:  # forget addresses not seen for a while
            cutoff = now - REFUSAL_LOG_SECONDS
            for stale in [s for s, t in self._last_logged.items() if t < cutoff]:
                self._last_logged.pop(stale, None)


class RegistrationLimit:
    """Open mode: at most `per_hour` new members from one source address per hour."""

    def __init__(self, per_hour: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_hour = per_hour
        self._clock = clock
        self._recent: dict[str, deque[float]] = {}

    def _window(self, source: str) -> deque[float]:
        recent = self._recent.setdefault(source, deque())
        cutoff = self._clock() - REGISTRATION_WINDOW
        while recent and recent[0] <= cutoff:
            recent.popleft()
        return recent

    def allows(self, source: str) -> bool:
        return len(self._window(source)) < self.per_hour

    def record(self, source: str) -> None:
        self._window(source).append(self._clock())
