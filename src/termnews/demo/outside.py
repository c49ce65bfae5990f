"""Stand-ins for the outside discussion services, on the sample site's own port.

- Hacker News' Algolia API under `/hn/`: `GET /hn/api/v1/search?query=URL&
  restrictSearchableAttributes=url` (hits: objectID, title, url, points, num_comments, ...)
  and `GET /hn/api/v1/items/ID` (the story, its comments nested in `children`), with the
  site's own pages beside it (`/hn/item?id=N`, `/hn/user?id=NAME`).
- Lobsters under `/lobsters/`: `GET /lobsters/stories/url/all.json?url=URL` and
  `GET /lobsters/s/SHORT_ID.json` (comments flat, in thread order, with parent_comment).
- A Mastodon instance at the root (`/api/v1/...`, `/api/v2/...`, `/@user/ID`): fediverse.py.

The fish market post is discussed on all three; every other post has no discussion. Two
more threads exist for tests, reachable by id: `HOSTILE_HN_ID` and `HOSTILE_STATUS_ID`
(10,000 replies carrying escape sequences, markup and odd names). `set_faults` makes the
next requests answer 429 (with Retry-After) or 5xx, or adds latency: the feeds' faults
(DemoSite.set_faults) never touch these routes, nor these the feeds.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from termnews.demo.blog import Request, Response
from termnews.demo.discussion_text import (
    DISCUSSED_AT,
    DISCUSSED_ROLE,
    HN_POINTS,
    HN_STORY_ID,
    HN_THREAD,
    HN_TITLE,
    HOSTILE_HN_ID,
    HOSTILE_REPLIES,
    HOSTILE_STATUS_ID,
    LOBSTERS_SCORE,
    LOBSTERS_SHORT_ID,
    LOBSTERS_THREAD,
    LOBSTERS_TITLE,
    Remark,
)
from termnews.demo.fediverse import Instance
from termnews.demo.responses import HTML, JSON, json_response

if TYPE_CHECKING:
    from termnews.demo.blog import Blog

# What a hostile thread's comments carry: terminal escapes (clipboard, title, clear screen),
# Rich markup, HTML that must stay inert, and names made to look like other things.
HOSTILE_TEXTS = (
    "<p>\x1b]52;c;aGVsbG8=\x07copied? \x1b[2J\x1b[H cleared?</p>",
    "<p>[bold red]markup[/bold red] [link=https://evil.example]click[/link]</p>",
    "<p>&lt;script&gt;alert(1)&lt;/script&gt; <script>alert(2)</script> done</p>",
    "<p>\x1b]0;pwned title\x07\x9b31m C1 CSI \u202eRTL override\u202c</p>",
)
HOSTILE_AUTHORS = ("\x1b[31mred\x1b[0m", "[b]bold[/b]", "ok_name", "x" * 300)


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


@dataclass(slots=True)
class Faults:
    fail_next: int = 0
    fail_status: int = 500
    retry_after: str | None = None
    latency: float = 0.0


class StandIns:
    """Every stand-in service of one sample site, with its fault knobs."""

    def __init__(self, blog: Blog) -> None:
        self.blog = blog
        self.base = blog.base  # "http://127.0.0.1:PORT/"
        self.instance = Instance(blog.base)
        self.requests: list[tuple[str, str]] = []  # (method, path?query) of every request
        self._faults = Faults()
        self._lock = threading.Lock()
        self._hostile: dict[str, bytes] = {}

    @property
    def discussed_url(self) -> str:
        return next(p.url for p in self.blog.posts.values() if p.role == DISCUSSED_ROLE)

    # -- faults ------------------------------------------------------------------------

    def set_faults(
        self,
        *,
        fail_next: int = 0,
        fail_status: int = 500,
        retry_after: str | None = None,
        latency: float = 0.0,
    ) -> None:
        """The next `fail_next` requests answer `fail_status` (with `retry_after` as the
        Retry-After header, if given); `latency` seconds are added to every request."""
        if fail_next < 0 or latency < 0:
            raise ValueError("fail_next and latency must not be negative")
        if not 100 <= fail_status <= 599:
            raise ValueError(f"fail_status must be an HTTP status code, not {fail_status}")
        with self._lock:
            self._faults = Faults(fail_next, fail_status, retry_after, latency)

    def _fault(self) -> Response | None:
        with self._lock:
            faults = self._faults
            failing = faults.fail_next > 0
            if failing:
                faults.fail_next -= 1
        if faults.latency:
            time.sleep(faults.latency)
        if not failing:
            return None
        status = faults.fail_status
        words = "Too many requests" if status == 429 else "Something went wrong"
        response = json_response(status, {"error": words, "status": status})
        if faults.retry_after is not None:
            response.header("Retry-After", faults.retry_after)
        return response

    # -- dispatch ----------------------------------------------------------------------

    @staticmethod
    def handles(path: str) -> bool:
        return path.startswith(("/hn/", "/lobsters/", "/api/v1/", "/api/v2/", "/@", "/users/"))

    def answer(self, req: Request) -> Response:
        query = "&".join(f"{k}={v}" for k, v in req.query.items())
        with self._lock:
            self.requests.append((req.method, req.path + (f"?{query}" if query else "")))
        fault = self._fault()
        if fault is not None:
            return fault
        if req.path.startswith("/hn/"):
            return self._hackernews(req)
        if req.path.startswith("/lobsters/"):
            return self._lobsters(req)
        return self.instance.answer(req, self._hostile_statuses)

    # -- Hacker News (Algolia) ---------------------------------------------------------

    def _hackernews(self, req: Request) -> Response:
        path = req.path.removeprefix("/hn")
        if path == "/api/v1/search":
            return self._hn_search(req.query)
        if path in ("/item", "/user"):  # the thread's pages, as news.ycombinator.com has
            return self._hn_page(path, req.query.get("id", ""))
        if path.startswith("/api/v1/items/"):
            item = path.removeprefix("/api/v1/items/")
            if item == str(HN_STORY_ID):
                return json_response(200, self._hn_story())
            if item == str(HOSTILE_HN_ID):
                return Response(200, self._hostile_hn(), JSON)
        return json_response(404, {"status": 404, "error": "Not Found"})

    def _hn_search(self, query: dict[str, str]) -> Response:
        words = query.get("query", "")
        hits: list[dict[str, Any]] = []
        if words and _same_path(words, self.discussed_url):
            # Algolia matches the words of a URL, loosely: a near miss comes along too.
            near = self.base + "2026/11/fish-market-stays/"
            hits.append(self._hn_hit(46100007, "The fish market stays put", near, 3, 0))
            hits.append(
                self._hn_hit(HN_STORY_ID, HN_TITLE, self.discussed_url, HN_POINTS, len(HN_THREAD))
            )
        return json_response(
            200,
            {
                "hits": hits,
                "nbHits": len(hits),
                "page": 0,
                "nbPages": 1 if hits else 0,
                "hitsPerPage": int(query.get("hitsPerPage") or 20),
                "exhaustiveNbHits": True,
                "query": words,
                "params": "&".join(f"{k}={v}" for k, v in query.items()),
                "processingTimeMS": 1,
            },
        )

    def _hn_page(self, path: str, wanted: str) -> Response:
        if path == "/user":
            known = {r.author for r in HN_THREAD} | {"harbourwatcher"}
            if wanted not in known:
                return Response(404, b"<!doctype html><p>No such user.</p>", HTML)
            return Response(200, f"<!doctype html><h1>{wanted}</h1>".encode(), HTML)
        if wanted == str(HN_STORY_ID):
            page = f"<!doctype html><h1>{HN_TITLE}</h1><p>{len(HN_THREAD)} comments</p>"
            return Response(200, page.encode(), HTML)
        remark = next((r for r in HN_THREAD if str(r.id) == wanted), None)
        if remark is None:
            return Response(404, b"<!doctype html><p>No such item.</p>", HTML)
        page = f"<!doctype html><p>{remark.author}</p>{remark.html}"
        return Response(200, page.encode(), HTML)

    @staticmethod
    def _hn_hit(story_id: int, title: str, url: str, points: int, comments: int) -> dict[str, Any]:
        return {
            "objectID": str(story_id),
            "title": title,
            "url": url,
            "author": "harbourwatcher",
            "points": points,
            "num_comments": comments,
            "story_id": story_id,
            "created_at": iso(DISCUSSED_AT + 1800),
            "created_at_i": int(DISCUSSED_AT) + 1800,
            "_tags": ["story", "author_harbourwatcher", f"story_{story_id}"],
        }

    def _hn_story(self) -> dict[str, Any]:
        story = _hn_item(HN_STORY_ID, None, HN_STORY_ID, int(DISCUSSED_AT) + 1800, "harbourwatcher")
        story.update(type="story", title=HN_TITLE, url=self.discussed_url, points=HN_POINTS)
        _nest(HN_THREAD, story, lambda r, parent: _hn_remark(r, parent or HN_STORY_ID))
        return story

    def _hostile_hn(self) -> bytes:
        with self._lock:
            cached = self._hostile.get("hn")
        if cached is not None:
            return cached
        story = _hn_item(HOSTILE_HN_ID, None, HOSTILE_HN_ID, int(DISCUSSED_AT), "[red]op[/red]")
        story.update(type="story", title="\x1b]0;title\x07 [b]Hostile[/b] <b>thread</b>", points=1)
        remarks = _hostile_remarks(HOSTILE_HN_ID + 1)
        _nest(remarks, story, lambda r, parent: _hn_remark(r, parent or HOSTILE_HN_ID))
        body = json.dumps(story).encode()
        with self._lock:
            self._hostile["hn"] = body
        return body

    # -- Lobsters ----------------------------------------------------------------------

    def _lobsters(self, req: Request) -> Response:
        path = req.path.removeprefix("/lobsters")
        if path == "/stories/url/all.json":
            url = req.query.get("url", "")
            found = [self._lobsters_story()] if _same_path(url, self.discussed_url) else []
            return json_response(200, found)
        if path == f"/s/{LOBSTERS_SHORT_ID}.json":
            story = self._lobsters_story()
            story["comments"] = [self._lobsters_comment(r, d) for r, d in _in_thread_order()]
            return json_response(200, story)
        if path.startswith(f"/s/{LOBSTERS_SHORT_ID}"):
            page = f"<!doctype html><title>{LOBSTERS_TITLE}</title><h1>{LOBSTERS_TITLE}</h1>"
            return Response(200, page.encode(), HTML)
        return json_response(404, {"error": "not found"})

    def _lobsters_story(self) -> dict[str, Any]:
        site = self.base + "lobsters"
        return {
            "short_id": LOBSTERS_SHORT_ID,
            "short_id_url": f"{site}/s/{LOBSTERS_SHORT_ID}",
            "created_at": iso(DISCUSSED_AT + 3000),
            "title": LOBSTERS_TITLE,
            "url": self.discussed_url,
            "score": LOBSTERS_SCORE,
            "flags": 0,
            "comment_count": len(LOBSTERS_THREAD),
            "description": "",
            "description_plain": "",
            "comments_url": f"{site}/s/{LOBSTERS_SHORT_ID}/fish_market_move",
            "submitter_user": "saltpan",
            "user_is_author": False,
            "tags": ["culture"],
        }

    def _lobsters_comment(self, remark: Remark, depth: int) -> dict[str, Any]:
        site = self.base + "lobsters"
        short = f"c{LOBSTERS_SHORT_ID}{remark.id}"
        return {
            "short_id": short,
            "short_id_url": f"{site}/c/{short}",
            "created_at": iso(remark.created),
            "last_edited_at": iso(remark.created),
            "is_deleted": False,
            "is_moderated": False,
            "score": 3,
            "flags": 0,
            "parent_comment": f"c{LOBSTERS_SHORT_ID}{remark.parent}" if remark.parent else None,
            "comment": remark.html,
            "comment_plain": remark.html,
            "url": f"{site}/s/{LOBSTERS_SHORT_ID}/fish_market_move#c_{short}",
            "depth": depth,
            "commenting_user": remark.author,
        }

    # -- Mastodon's hostile thread (built here, served by the instance) ------------------

    def _hostile_statuses(self) -> list[dict[str, Any]]:
        # Only the fields termnews reads: 10,000 full Status entities would pass 8 MB.
        base = self.base
        return [
            {
                "id": str(r.id),
                "created_at": iso(r.created),
                "in_reply_to_id": str(r.parent) if r.parent else HOSTILE_STATUS_ID,
                "url": f"{base}@host/{r.id}",
                "content": r.html,
                "account": {"acct": r.author, "display_name": r.author, "url": f"{base}@host"},
            }
            for r in _hostile_remarks(int(HOSTILE_STATUS_ID) + 1)
        ]


def _same_path(candidate: str, url: str) -> bool:
    def key(value: str) -> str:
        return value.split("://", 1)[-1].removeprefix("www.").rstrip("/")

    return bool(candidate) and key(candidate) == key(url)


def _hn_item(item_id: int, parent: int | None, story: int, at: int, author: str) -> dict[str, Any]:
    return {
        "id": item_id,
        "created_at": iso(at),
        "created_at_i": at,
        "type": "comment",
        "author": author,
        "title": None,
        "url": None,
        "text": None,
        "points": None,
        "parent_id": parent,
        "story_id": story,
        "options": [],
        "children": [],
    }


def _hn_remark(remark: Remark, parent: int) -> dict[str, Any]:
    item = _hn_item(remark.id, parent, HN_STORY_ID, remark.created, remark.author)
    item["text"] = remark.html
    return item


def _nest(remarks: tuple[Remark, ...] | list[Remark], root: dict[str, Any], make: Any) -> None:
    """Put each remark's item into its parent's `children` (HN's nested shape)."""
    made: dict[int, dict[str, Any]] = {}
    for remark in remarks:
        item = make(remark, remark.parent)
        made[remark.id] = item
        holder = made.get(remark.parent, root) if remark.parent else root
        holder["children"].append(item)


def _in_thread_order() -> list[tuple[Remark, int]]:
    ordered: list[tuple[Remark, int]] = []
    stack = [(r, 0) for r in reversed(LOBSTERS_THREAD) if r.parent is None]
    while stack:
        remark, depth = stack.pop()
        ordered.append((remark, depth))
        children = [r for r in LOBSTERS_THREAD if r.parent == remark.id]
        stack.extend((child, depth + 1) for child in reversed(children))
    return ordered


def _hostile_remarks(first_id: int) -> list[Remark]:
    """HOSTILE_REPLIES remarks: chains of ten replies, each chain under the post."""
    remarks = []
    for n in range(HOSTILE_REPLIES):
        parent = None if n % 10 == 0 else first_id + n - 1
        remarks.append(
            Remark(
                first_id + n,
                HOSTILE_AUTHORS[n % len(HOSTILE_AUTHORS)],
                parent,
                n,
                HOSTILE_TEXTS[n % len(HOSTILE_TEXTS)],
            )
        )
    return remarks
