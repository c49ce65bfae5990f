"""Help: every key binding, generated from the live bindings and the user's keymap."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static


def binding_rows(
    sources: list[tuple[str, list[Binding]]],
    keymap: dict[str, str],
    hidden: frozenset[str] = frozenset(),
) -> Table:
    """The key table; `hidden` actions (refused in a served session) are left out."""
    table = Table(box=None, pad_edge=False, show_header=True, header_style="bold", expand=False)
    table.add_column("where")
    table.add_column("keys")
    table.add_column("does")
    table.add_column(Text("id (for [keys] in the config)"), style="dim")
    seen: set[tuple[str, str]] = set()
    for where, bindings in sources:
        for binding in bindings:
            keys = keymap.get(binding.id or "", binding.key)
            marker = (where, binding.id or binding.key)
            if marker in seen or not binding.description:
                continue
            if binding.action.split("(")[0] in hidden:
                continue
            seen.add(marker)
            pretty = ", ".join(_pretty_key(k) for k in keys.split(","))
            table.add_row(where, Text(pretty, style="bold"), binding.description, binding.id or "")
    return table


def _pretty_key(key: str) -> str:
    names = {
        "slash": "/",
        "question_mark": "?",
        "space": "space",
        "escape": "Esc",
        "vertical_line": "|",
    }
    return names.get(key.strip(), key.strip())


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close", id="close_help")]

    def __init__(
        self,
        sources: list[tuple[str, list[Binding]]],
        keymap: dict[str, str],
        hidden: frozenset[str] = frozenset(),
    ) -> None:
        super().__init__()
        self.sources = sources
        self.keymap = keymap
        self.hidden = hidden

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog wide", id="help"):
            yield Static(
                Text("termnews keys — Esc closes; ctrl+p opens the command palette", style="bold")
            )
            yield Static(binding_rows(self.sources, self.keymap, self.hidden))

    def action_dismiss(self) -> None:  # type: ignore[override]
        self.dismiss(None)
