"""Who signs a comment: remembered per site, else the last used anywhere, else [profile].

Never the login name: a person who fills in only an e-mail must not publish as "root".
On a served host the member's name is the server's word alone.
"""

from __future__ import annotations

import json

from termnews.config import Settings
from termnews.model import Identity
from termnews.store import Store

ANYWHERE = "*"


class Profiles:
    def __init__(
        self, store: Store, settings: Settings, identity: Identity, *, restricted: bool
    ) -> None:
        self.store = store
        self.settings = settings
        self.identity = identity
        self.restricted = restricted

    def _key(self, host: str) -> str:
        return f"comment-profile:{self.identity.name}:{host}"

    def remembered(self, host: str) -> tuple[str, str, str] | None:
        try:
            values = json.loads(self.store.get_value(self._key(host)) or "null")
        except ValueError:
            return None
        if isinstance(values, list) and len(values) == 3:
            name, email, url = (v if isinstance(v, str) else "" for v in values)
            return name, email, url
        return None

    def remember(self, host: str, name: str, email: str, url: str) -> None:
        """For this site, and as the default anywhere else."""
        if self.restricted or not (name or email or url):
            return
        value = json.dumps([name, email, url])
        for where in {host or ANYWHERE, ANYWHERE}:
            self.store.set_value(self._key(where), value)

    def signature(self, host: str | None) -> tuple[str, str, str]:
        ident = self.identity
        if self.restricted:
            return ident.display_name or ident.name, ident.email, ident.url
        remembered = (self.remembered(host) if host else None) or self.remembered(ANYWHERE)
        name, email, url = remembered or ("", "", "")
        return (
            name or self.settings.name or ident.display_name,
            email or self.settings.email or ident.email,
            url or self.settings.url or ident.url,
        )

    def hint(self) -> str | None:
        """Where to set a profile, said until one exists or something was typed once."""
        if self.restricted or self.remembered(ANYWHERE) is not None:
            return None
        if self.settings.name or self.identity.display_name:
            return None
        return (
            "First comment from here: name, e-mail and website are remembered per site; "
            "defaults go under [profile] in config.toml (name, email, url)."
        )
