"""Saved searches and the killfile: settings written by the tests, feeds refreshed over
loopback HTTP into a real database, the feed list driven with Pilot."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from termnews.app import TermNewsApp
from termnews.config import ConfigError, Paths, load_settings
from termnews.filters import QueryError, parse_query
from termnews.model import ArticleQuery, Identity
from termnews.screens.feeds import FeedsScreen
from termnews.service import NewsService
from tests.support.feedserver import FeedServer, make_rss

DAY = 86400
NOW = 1_780_000_000


def items(prefix: str) -> list[dict]:
    return [
        {
            "title": f"{prefix} ferry timetable",
            "guid": f"{prefix}-1",
            "author": "Morwenna Pike",
            "description": "<p>The winter ferry leaves at nine.</p>",
            "pub_date": NOW - 10 * DAY,
        },
        {
            "title": f"{prefix} SPONSORED: buy a boat",
            "guid": f"{prefix}-2",
            "author": "Ads Desk",
            "description": "<p>Cheap hulls.</p>",
            "pub_date": NOW - 2 * DAY,
        },
        {
            "title": f"{prefix} crab season opens",
            "guid": f"{prefix}-3",
            "author": "Kit Hallow",
            "description": "<p>Crab pots everywhere, and lottery tickets.</p>",
            "pub_date": NOW - 1 * DAY,
        },
    ]


CONFIG = """
[general]
refresh_on_start = false

[[search]]
name = "Ferries"
query = "ferry unread"

[[search]]
name = "Gazette crabs"
query = 'crab feed:"quay gazette" since:2026-01-01'

[[search]]
name = "Pike"
query = "author:pike"

[[kill]]
title = "^\\\\w+ sponsored:"
action = "hide"

[[kill]]
feed = "gazette"
words = "lottery tickets"
"""


@pytest.fixture
def filtered(tmp_path: Path, feed_server: FeedServer) -> Iterator[NewsService]:
    feed_server.add_feed("/gazette.xml", make_rss("Quay Gazette", items("gazette")))
    feed_server.add_feed("/other.xml", make_rss("Other Paper", items("other")))
    config = tmp_path / "config.toml"
    config.write_text(CONFIG)
    paths = Paths(config_file=config, data_dir=tmp_path / "data")
    service = NewsService.open(paths, load_settings(config), identity=Identity())
    service.subscribe(feed_server.url_for("/gazette.xml"), tags=["local"])
    service.subscribe(feed_server.url_for("/other.xml"))
    asyncio.run(service.refresh())
    yield service
    service.close()


def titles(service: NewsService, query: ArticleQuery) -> list[str]:
    ids = list(service.search_ids(query) if query.search else service.article_ids(query))
    return sorted(service.articles(ids)[i].title for i in ids)


def test_query_language() -> None:
    q = parse_query(
        'harbour "fish market" feed:"Quay Gazette" tag:local author:pike '
        "is:starred unread since:7d before:2026-12-01",
        now=NOW,
    )
    assert q.search == "harbour fish market"
    assert (q.feed_name, q.tag, q.author) == ("Quay Gazette", "local", "pike")
    assert q.starred_only and q.unread_only
    assert q.since == NOW - 7 * DAY
    assert q.before == 1_796_083_200  # 2026-12-01 UTC
    for bad, why in (
        ("colour:red", "unknown filter 'colour:'"),
        ("since:yesterday", "not a date"),
        ("is:new", "is:new is not a filter"),
        ('feed:"open', "quotation"),
        ("tag:", "needs a value"),
    ):
        with pytest.raises(QueryError, match=why):
            parse_query(bad)


def test_saved_searches_list_what_they_say(filtered: NewsService) -> None:
    searches = {query.name: (query, unread) for query, unread in filtered.saved_searches()}
    assert list(searches) == ["Ferries", "Gazette crabs", "Pike"]
    ferries, unread = searches["Ferries"]
    assert titles(filtered, ferries) == ["gazette ferry timetable", "other ferry timetable"]
    assert unread == 2 and ferries.label == "Ferries"
    crabs = searches["Gazette crabs"][0]
    assert titles(filtered, crabs) == ["gazette crab season opens"]
    assert titles(filtered, searches["Pike"][0]) == [
        "gazette ferry timetable",
        "other ferry timetable",
    ]
    late = replace(searches["Pike"][0], since=NOW - 5 * DAY)
    assert titles(filtered, late) == []


def test_kill_rules_hide_and_mark_read_at_refresh(
    filtered: NewsService, feed_server: FeedServer
) -> None:
    everything = titles(filtered, ArticleQuery())
    assert not any("SPONSORED" in t for t in everything)  # hidden: never stored
    rows = {
        a.title: a for a in filtered.articles(list(filtered.article_ids(ArticleQuery()))).values()
    }
    assert rows["gazette crab season opens"].read  # the gazette's lottery post: read
    assert not rows["other crab season opens"].read  # another feed: the rule says gazette
    assert not rows["gazette ferry timetable"].read
    # Marked unread again by the reader, it stays unread when the feed changes later.
    filtered.mark_read([rows["gazette crab season opens"].id], False)
    changed = items("gazette")
    changed[0]["title"] = "gazette ferry timetable (updated)"
    feed_server.set_feed("/gazette.xml", make_rss("Quay Gazette", changed))
    asyncio.run(filtered.refresh())
    again = {
        a.title: a for a in filtered.articles(list(filtered.article_ids(ArticleQuery()))).values()
    }
    assert not again["gazette crab season opens"].read
    searches = {query.name: unread for query, unread in filtered.saved_searches()}
    assert searches["Ferries"] == 2


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[[search]]\nname = "x"\n', "line 1: [[search]] needs name"),
        ('[[search]]\nname = "x"\nquery = "colour:red"\n', "line 1: search 'x': unknown filter"),
        ('[general]\n\n[[kill]]\ntitle = "("\n', "line 3: [[kill]] rule: title is not a valid"),
        ('[[kill]]\naction = "hide"\n', "would match everything"),
        ('[[kill]]\ntitle = "x"\naction = "delete"\n', 'action must be "read" or "hide"'),
        ('[[kill]]\ntitel = "x"\n', "unknown key 'titel'"),
        ('[kill]\ntitle = "x"\n', "write [kill] entries as [[kill]] tables"),
    ],
)
def test_malformed_searches_and_rules_are_reported(tmp_path: Path, text: str, message: str) -> None:
    config = tmp_path / "config.toml"
    config.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_settings(config)
    assert message in str(info.value)
    assert str(config) in str(info.value)


async def test_feed_list_shows_saved_searches_with_unread_counts(filtered: NewsService) -> None:
    app = TermNewsApp(filtered)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        assert isinstance(screen, FeedsScreen)
        feed_list = screen.feed_list
        labels = [
            str(feed_list.get_option_at_index(i).prompt) for i in range(feed_list.option_count)
        ]
        assert any("Ferries" in label and "2" in label for label in labels)
        await pilot.press("down", "down", "down")
        await pilot.pause(0.5)
        assert feed_list.highlighted_key == "search:0"
        for _ in range(100):  # a query with words runs in the search worker
            if len(screen.article_list.ids):
                break
            await pilot.pause(0.05)
        assert screen.article_list.border_title is not None
        assert "Ferries" in str(screen.article_list.border_title)
        ids = list(screen.article_list.ids)
        assert sorted(filtered.articles(ids)[i].title for i in ids) == [
            "gazette ferry timetable",
            "other ferry timetable",
        ]
