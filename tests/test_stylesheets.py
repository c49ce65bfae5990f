"""Parsed CSS is shared by the Apps of one process, per set of CSS variables (theme)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import textual.css.stylesheet as stylesheet_module

from termnews.app import TermNewsApp
from termnews.terminal.stylesheets import SharedRules, share_parsed_rules
from tests.support.news import open_service


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The CSS texts Textual's parser is given (it still parses them)."""
    seen: list[str] = []
    parse = stylesheet_module.parse

    def counting_parse(scope: str, css: str, *args: Any, **kwargs: Any) -> Any:
        seen.append(css)
        return parse(scope, css, *args, **kwargs)

    monkeypatch.setattr(stylesheet_module, "parse", counting_parse)
    return seen


async def first_screen(tmp_path: Path, theme: str) -> str:
    """The first screen of a new App on `theme`, as an SVG screenshot."""
    service = open_service(tmp_path)
    service.subscribe("http://127.0.0.1:9/feed.xml", title="Quiet feed")
    try:
        app = TermNewsApp(service)
        async with app.run_test(size=(80, 20)) as pilot:
            app.theme = theme
            await pilot.pause()
            assert isinstance(app.stylesheet._parse_cache, SharedRules)
            return app.export_screenshot()
    finally:
        service.close()


async def test_a_second_app_parses_no_css_and_draws_the_same(
    tmp_path: Path, parses: list[str]
) -> None:
    SharedRules._store.clear()
    first = await first_screen(tmp_path / "a", "textual-dark")
    parsed = len(parses)
    assert parsed > 5  # termnews.tcss and the widgets' own CSS
    second = await first_screen(tmp_path / "b", "textual-dark")
    assert len(parses) == parsed  # nothing parsed again
    assert second == first
    assert "Quiet" in first


async def test_rules_of_one_theme_never_serve_another(tmp_path: Path, parses: list[str]) -> None:
    """A theme change re-parses with the new variables; the shared rules of the first
    theme stay its own, so an App on it afterwards looks as the first did."""
    SharedRules._store.clear()
    dark = await first_screen(tmp_path / "a", "textual-dark")
    light = await first_screen(tmp_path / "b", "textual-light")
    assert light != dark
    assert await first_screen(tmp_path / "c", "textual-dark") == dark
    assert await first_screen(tmp_path / "d", "textual-light") == light


def test_the_same_css_under_other_variables_is_parsed_for_them() -> None:
    """Two stylesheets share rules only for the same variables: `$tint` red here, blue
    there, from the same text, and each gets its own colour (and a second red one the
    first's rules, unparsed)."""
    from textual.css.stylesheet import Stylesheet

    SharedRules._store.clear()
    css = "Label { color: $tint; }"

    def colour(tint: str) -> str:
        sheet = Stylesheet(variables={"tint": tint})
        share_parsed_rules(sheet)
        sheet.add_source(css, read_from=("test", "Label"))
        sheet.parse()
        [rule] = sheet.rules
        return rule.styles.color.hex

    assert colour("red") == "#FF0000"
    assert colour("blue") == "#0000FF"
    assert len(SharedRules._store) == 2
    assert colour("red") == "#FF0000"
    assert len(SharedRules._store) == 2


def test_the_zygote_warm_up_leaves_parsed_rules_and_one_thread(tmp_path: Path) -> None:
    """`termnews serve`'s zygote runs the reader once before it forks, into a post and on
    to the next: the CSS is parsed in it, and it is left single-threaded (it refuses to
    fork otherwise)."""
    import os
    import subprocess
    import sys

    code = (
        "import threading\n"
        "from termnews.cli.common import warm_up\n"
        "from termnews.screens.reader import ReaderScreen\n"
        "from termnews.terminal.stylesheets import SharedRules\n"
        "shown = []\n"
        "show_index = ReaderScreen.show_index\n"
        "def spy(self, index):\n"
        "    shown.append(index)\n"
        "    return show_index(self, index)\n"
        "ReaderScreen.show_index = spy\n"
        "warm_up()\n"
        "print(len(SharedRules._store), threading.active_count(), *shown)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("TERMNEWS_")}
    env["HOME"] = str(tmp_path)
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    rules, threads, *shown = map(int, result.stdout.split())
    assert rules > 5
    assert threads == 1
    assert shown == [0, 1]  # the first post, then `n`
