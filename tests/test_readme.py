"""The README's key table and settings table stay current with the code."""

from __future__ import annotations

from pathlib import Path

from termnews.app import TermNewsApp, _bindings
from termnews.config import OPTIONS
from termnews.screens.comments import CommentsScreen
from termnews.screens.compose import ComposeScreen
from termnews.screens.feeds import FeedsScreen
from termnews.screens.outbox import OutboxScreen
from termnews.screens.reader import ReaderScreen
from termnews.screens.replies import RepliesScreen
from termnews.widgets.article_list import ArticleList
from termnews.widgets.article_view import ArticleView
from termnews.widgets.feed_list import FeedList

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
SCREENS = [
    TermNewsApp,
    FeedsScreen,
    ArticleList,
    FeedList,
    ReaderScreen,
    ArticleView,
    CommentsScreen,
    ComposeScreen,
    OutboxScreen,
    RepliesScreen,
]


def test_every_binding_id_is_in_the_readme_key_table() -> None:
    missing = [
        binding.id
        for cls in SCREENS
        for binding in _bindings(cls.BINDINGS)
        if binding.id
        and f"`{binding.id}`" not in README
        and not binding.id.startswith("open_link_")  # listed as a range
    ]
    assert missing == []
    assert "`open_link_1` … `open_link_9`" in README


def test_every_setting_is_documented_with_its_default() -> None:
    for option in OPTIONS:
        assert f"`{option.section}.{option.key}`" in README, option.key
        assert option.doc in README, option.key
