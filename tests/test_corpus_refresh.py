"""Every feed of the shared corpus, refreshed through NewsService from a loopback server."""

from __future__ import annotations

import asyncio

import pytest

from termnews.model import ArticleQuery
from termnews.service import NewsService, RefreshOutcome
from tests.conftest import corpus_dir
from tests.support.feedserver import FeedServer

pytestmark = pytest.mark.corpus

FEEDS = corpus_dir() / "feeds"


@pytest.mark.skipif(not FEEDS.is_dir(), reason=f"the shared feed corpus is absent ({FEEDS})")
def test_whole_corpus_refreshes_into_articles_or_clear_errors(
    service: NewsService, feed_server: FeedServer
) -> None:
    paths = feed_server.serve_directory("/corpus/", FEEDS)
    for path in paths:
        service.subscribe(feed_server.url_for(path))
    report = asyncio.run(service.refresh())
    assert len(report.results) == len(paths)
    errors = {r.url: r.error for r in report.results if r.outcome is not RefreshOutcome.NEW}
    for url, error in errors.items():
        assert error and "internal error" not in error, (url, error)
        assert "\n" not in error
    # Nearly all real-world feeds yield articles; the few broken ones say why.
    assert len(errors) <= len(paths) // 10, errors
    with_articles = {f.url for f in service.feeds() if f.total > 0}
    assert len(with_articles) >= len(paths) - len(errors) - 5
    assert len(service.article_ids(ArticleQuery())) > 3000

    again = asyncio.run(service.refresh())
    outcomes = {r.outcome for r in again.results}
    assert RefreshOutcome.NEW not in outcomes  # all 304 or unchanged bodies
