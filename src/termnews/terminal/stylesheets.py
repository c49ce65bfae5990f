"""Parsed CSS shared by every App of the process.

Textual parses an App's CSS (termnews.tcss and each widget's DEFAULT_CSS) into rule sets,
kept in a cache of that App's own stylesheet (`Stylesheet._parse_cache`, private; tested
on Textual 8.2). Every session forked by `termnews serve`, and every App a test builds,
parsed the same text again: a fifth of a session's CPU to its first screen. Here the
stylesheet gets a cache that is the process's, so a session forked from a zygote that has
run an App once parses nothing. The rules depend on the CSS variables (the theme) they
were parsed with, so those are part of the key. Without the private attribute, Textual's
own cache stays.
"""

from __future__ import annotations

from typing import Any, ClassVar

from textual.cache import LRUCache


class SharedRules:
    """Stands in for a stylesheet's parse cache: (CSS variables, Textual's key) -> rules."""

    LIMIT = 1024
    _store: ClassVar[dict[tuple[object, ...], list[Any]]] = {}

    def __init__(self, stylesheet: Any) -> None:
        self._stylesheet = stylesheet
        self._variables: object = None
        self._variables_key: frozenset[tuple[str, str]] | None = None

    def _key(self, key: tuple[object, ...]) -> tuple[object, ...]:
        variables = getattr(self._stylesheet, "_variables", None)
        if variables is not self._variables:  # set_variables gives the sheet a new dict
            self._variables = variables
            items = variables.items() if isinstance(variables, dict) else ()
            self._variables_key = frozenset(items)
        return (self._variables_key, key)

    def __getitem__(self, key: tuple[object, ...]) -> list[Any]:
        return self._store[self._key(key)]

    def __setitem__(self, key: tuple[object, ...], rules: list[Any]) -> None:
        if len(self._store) >= self.LIMIT:
            self._store.clear()
        self._store[self._key(key)] = rules

    def clear(self) -> None:
        """Textual clears its cache when the variables change; these are keyed by them."""


def share_parsed_rules(stylesheet: Any) -> None:
    """Give `stylesheet` the process's parse cache (once; a no-op on another Textual)."""
    if isinstance(getattr(stylesheet, "_parse_cache", None), LRUCache):
        stylesheet._parse_cache = SharedRules(stylesheet)
