"""A NewsService on a fresh data dir, as the fixtures of many test files set one up."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path

from termnews.config import Paths, Settings
from termnews.model import ArticleDetail, ArticleQuery, Identity
from termnews.service import NewsService


def open_service(
    tmp_path: Path, settings: Settings | None = None, identity: Identity | None = None
) -> NewsService:
    """A service on `tmp_path`/data (settings from `tmp_path`/config.toml's place), no
    refresh on start unless `settings` says so."""
    paths = Paths(config_file=tmp_path / "config.toml", data_dir=tmp_path / "data")
    return NewsService.open(
        paths, settings or Settings(refresh_on_start=False), identity=identity or Identity()
    )


def subscribed(
    tmp_path: Path,
    *urls: str,
    settings: Settings | None = None,
    identity: Identity | None = None,
    tags: Mapping[str, list[str]] | None = None,
) -> NewsService:
    """`open_service`, subscribed to `urls` (tagged as `tags` says) and refreshed once (call
    it outside an event loop)."""
    service = open_service(tmp_path, settings, identity)
    for url in urls:
        service.subscribe(url, tags=(tags or {}).get(url, []))
    asyncio.run(service.refresh())
    return service


async def subscribed_in_loop(
    tmp_path: Path, *urls: str, settings: Settings | None = None
) -> NewsService:
    """`subscribed`, from a test that already runs in an event loop."""
    service = open_service(tmp_path, settings)
    for url in urls:
        service.subscribe(url)
    await service.refresh()
    return service


async def only_article(service: NewsService, feed_url: str) -> ArticleDetail:
    """Subscribe to `feed_url`, refresh without a failure, and return its one article."""
    service.subscribe(feed_url)
    report = await service.refresh()
    assert not report.failed, [r.error for r in report.failed]
    [article_id] = service.article_ids(ArticleQuery())
    article = service.article(article_id)
    assert article is not None
    return article


def by_guid(service: NewsService, guid: str) -> int:
    """The id of the article with that guid; fails when there is none."""
    for article_id in service.article_ids(ArticleQuery()):
        detail = service.article(article_id)
        assert detail is not None
        if detail.guid == guid:
            return article_id
    raise AssertionError(guid)


def article_linking(service: NewsService, url: str) -> int:
    """The id of the one article that links to `url`; fails when there is none."""
    found = [i for i in service.article_ids(ArticleQuery()) if service.article(i).link == url]  # type: ignore[union-attr]
    assert len(found) == 1, (url, found)
    return found[0]


def feed_items(prefix: str, n: int, base: int, **extra: object) -> list[dict[str, object]]:
    """`n` posts for `make_rss`, a minute apart from `base`, each with one link in its body."""
    return [
        {
            "title": f"{prefix} post {i}",
            "link": f"http://example.org/{prefix}/{i}",
            "guid": f"{prefix}-{i}",
            "content": f"<p>Body {i}, <a href='http://example.org/{prefix}/l{i}'>a link</a>.</p>",
            "pub_date": base + i * 60,
            **extra,
        }
        for i in range(n)
    ]
