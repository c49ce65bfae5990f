"""Hacker News, read through its Algolia API (no account).

Finding: `GET /api/v1/search?query=URL&restrictSearchableAttributes=url&tags=story` (hits
with objectID, title, url, points, num_comments); Algolia matches words of the URL, so hits
are kept only when their `url` is the post's page (`same_page`). A post that links an HN
item (`news.ycombinator.com/item?id=N`) is read directly. Reading: `GET /api/v1/items/ID`,
the story with its comments nested in `children` (id, author, text as HTML, created_at_i,
parent_id); deleted comments come without author and text. The tree is walked without
recursion, so a 10,000-deep reply chain costs no stack.
"""

from __future__ import annotations

import re
from typing import Any

import httpx

from termnews.comments.outside import (
    Discussion,
    DiscussionError,
    Post,
    Service,
    body_html,
    count_line,
    get_json,
    may_look_up,
    number,
    same_page,
    text,
)
from termnews.config import DiscussionSettings
from termnews.model import Comment

SERVICE = Service.HACKERNEWS
SITE = "https://news.ycombinator.com"  # discussions.hackernews_site, by default
MAX_STORIES = 3  # submissions of one post read (each one request)
_ITEM_LINK = re.compile(r"^https?://news\.ycombinator\.com/item\?id=(\d{1,12})(?:[&#]|$)")


def linked_items(post: Post) -> list[str]:
    ids: list[str] = []
    for anchor in post.anchors:
        match = _ITEM_LINK.match(anchor.href)
        if match and match.group(1) not in ids:
            ids.append(match.group(1))
    return ids[:3]


def wanted(post: Post, settings: DiscussionSettings) -> bool:
    return settings.on(SERVICE) and (may_look_up(post.url, settings) or bool(linked_items(post)))


async def read(
    client: httpx.AsyncClient, post: Post, settings: DiscussionSettings
) -> list[Discussion]:
    base = settings.hackernews.rstrip("/")
    story_ids = linked_items(post)
    counts: dict[str, int | None] = {}
    if not story_ids and may_look_up(post.url, settings):
        found = await get_json(
            client,
            SERVICE,
            f"{base}/api/v1/search",
            params={
                "query": post.url or "",
                "restrictSearchableAttributes": "url",
                "tags": "story",
                "hitsPerPage": "20",
            },
        )
        hits = found.get("hits") if isinstance(found, dict) else None
        if found is not None and not isinstance(hits, list):
            raise DiscussionError(SERVICE, "the search answer has no list of hits")
        matching = [
            hit
            for hit in hits or []
            if isinstance(hit, dict)
            and str(hit.get("objectID", "")).isdigit()
            and same_page(hit.get("url") if isinstance(hit.get("url"), str) else None, post.url)
        ]
        # A post submitted again is discussed again: the most discussed submission, and up
        # to MAX_STORIES - 1 more that have comments, most discussed first.
        matching.sort(key=lambda hit: number(hit.get("num_comments")) or 0, reverse=True)
        for rank, hit in enumerate(matching[:MAX_STORIES]):
            if rank and not number(hit.get("num_comments")):
                break
            story_ids.append(str(hit["objectID"]))
            counts[str(hit["objectID"])] = number(hit.get("num_comments"))
    discussions = []
    for story_id in story_ids[:MAX_STORIES]:
        item = await get_json(client, SERVICE, f"{base}/api/v1/items/{story_id}")
        if item is None:
            continue
        if not isinstance(item, dict):
            raise DiscussionError(SERVICE, f"item {story_id} is not a JSON object")
        discussions.append(_discussion(item, story_id, counts.get(story_id), settings))
    return discussions


def _discussion(
    item: dict[str, Any], story_id: str, listed: int | None, settings: DiscussionSettings
) -> Discussion:
    comments: list[Comment] = []
    truncated = False
    site = settings.hackernews_site.rstrip("/") or SITE
    # (node, parent remote id): depth-first, children in the order HN gives them.
    stack: list[tuple[Any, str | None]] = [(child, None) for child in reversed(_children(item))]
    while stack:
        node, parent = stack.pop()
        if not isinstance(node, dict) or number(node.get("id")) is None:
            continue
        if len(comments) >= settings.max_comments:
            truncated = True
            break
        comment = _comment(node, parent, site)
        comments.append(comment)
        stack.extend((child, comment.remote_id) for child in reversed(_children(node)))
    count = listed if listed is not None else len(comments)
    return Discussion(
        service=SERVICE,
        url=f"{site}/item?id={story_id}",
        title=text(item.get("title")) or f"HN item {story_id}",
        stats=[
            count_line(number(item.get("points")), "point", "points"),
            count_line(count, "comment", "comments"),
        ],
        comments=comments,
        truncated=truncated,
    )


def _children(node: dict[str, Any]) -> list[Any]:
    children = node.get("children")
    return children if isinstance(children, list) else []


def _comment(node: dict[str, Any], parent: str | None, site: str) -> Comment:
    item_id = number(node.get("id"))
    author = text(node.get("author"), 100)
    content = body_html(node.get("text"))
    if not author and not content:
        content = "<p><em>[deleted]</em></p>"
    published = number(node.get("created_at_i"))
    return Comment(
        source=SERVICE,
        remote_id=f"hn:{item_id}",
        parent_id=parent,
        author=author or "[deleted]",
        author_url=f"{site}/user?id={author}"
        if author and re.fullmatch(r"[\w-]+", author)
        else None,
        published=float(published) if published is not None else None,
        content_html=content,
        link=f"{site}/item?id={item_id}",
    )
