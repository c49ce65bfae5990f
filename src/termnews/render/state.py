"""What the HTML parser of ``blocks`` keeps open while it reads."""

from __future__ import annotations

from dataclasses import dataclass, field

from rich.style import Style

from termnews.render.document import Cell, Inline, Prefix

__all__ = ["Container", "ListState", "OpenInline", "TableState"]


@dataclass(slots=True)
class Container:
    """An open quote, list item or definition: the prefixes its blocks get."""

    kind: str  # "quote", "li", "dd"
    first: Prefix
    rest: Prefix
    used: bool = False
    level: int = 0  # for "li": how many lists were open when it started


@dataclass(slots=True)
class OpenInline:
    """An open inline element (style or link) and where its text starts in ``sink``."""

    tag: str
    start: int
    style: Style | None
    sink: Inline
    url: str | None = None


@dataclass(slots=True)
class ListState:
    ordered: bool
    counter: int
    depth: int


@dataclass(slots=True)
class TableState:
    """The table being read: finished rows, the open row, cell and caption."""

    rows: list[list[Cell]] = field(default_factory=list)
    row: list[Cell] | None = None
    cell: Inline | None = None
    cell_header: bool = False
    caption: Inline | None = None
    in_caption: bool = False
    nested: int = 0  # tables inside this one are flattened into its cells
