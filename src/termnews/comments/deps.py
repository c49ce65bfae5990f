"""What the service lends every backend (one object, made per operation)."""

from __future__ import annotations

from dataclasses import dataclass

from termnews.comments.backend import host_of, hostname_of
from termnews.comments.wordpress import PostPages
from termnews.config import Settings, WordPressLogin
from termnews.store import Store


@dataclass(slots=True)
class Deps:
    """What the service lends every backend."""

    store: Store
    settings: Settings
    identity_name: str
    restricted: bool
    rate_per_minute: int
    shared_host: bool  # served, or several people in this database: the board has readers
    as_whom: str  # "Ada <ada@example.org>", for target labels
    signed: bool  # a name and an e-mail are known
    pages: PostPages  # the per-article cache of post-page discovery

    def login(self, url: str | None) -> WordPressLogin | None:
        logins = self.settings.wordpress
        return logins.get(host_of(url)) or logins.get(hostname_of(url))
