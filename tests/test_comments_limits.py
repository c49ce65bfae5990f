"""On a shared host each member's comments to sites are rate-limited too, not only the board."""

from __future__ import annotations

import asyncio
from pathlib import Path

from termnews.comments import PostOutcome
from termnews.config import Paths, Settings
from termnews.demo import DemoSite
from termnews.model import ArticleQuery, Draft, Identity
from termnews.service import NewsService


def test_member_comments_to_sites_are_rate_limited(tmp_path: Path) -> None:
    with DemoSite(flood_seconds=0).start() as site:
        settings = Settings(refresh_on_start=False)
        paths = Paths(tmp_path / "c.toml", tmp_path / "d")
        operator = NewsService.open(paths, settings)  # the host's operator picks the feeds
        operator.subscribe(site.feed_urls[0])
        asyncio.run(operator.refresh())
        operator.close()
        service = NewsService.open(
            paths,
            settings,
            identity=Identity(name="ada", display_name="Ada", email="ada@example.org"),
            restricted=True,
        )
        service.comments.rate_per_minute = 2
        post = site.post_for("threaded")
        article = next(
            service.article(i)
            for i in service.article_ids(ArticleQuery())
            if service.article(i).link == post.url
        )
        info = asyncio.run(service.comments.info(article))
        form = next(t for t in info.targets if t.kind == "wordpress-form")

        def send(text: str) -> PostOutcome:
            draft = Draft(article_id=article.id, identity="ada", body=text)
            return asyncio.run(service.comments.post(article, draft, form)).outcome

        assert [send("one"), send("two")] == [PostOutcome.POSTED, PostOutcome.POSTED]
        assert send("three") is PostOutcome.REJECTED
        texts = [c["text"] for c in site.comments_for(post.id)]
        assert "three" not in texts and "two" in texts
        assert service.comments.draft(article.id).body == "three"  # kept for later
        service.close()
