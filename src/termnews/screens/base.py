"""What every termnews screen shares."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from textual.app import App

    from termnews.app import TermNewsApp


class TermNewsAccess:
    """Typed access to the running TermNewsApp (and so to its NewsService)."""

    app: App[object]

    @property
    def tn_app(self) -> TermNewsApp:
        return cast("TermNewsApp", self.app)
