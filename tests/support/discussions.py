"""Loopback stand-ins for the outside discussion APIs, answering their real wire shapes.

One `DiscussionServer` on 127.0.0.1 plays every service at once (their paths do not
collide): Hacker News' Algolia API (`/api/v1/search`, `/api/v1/items/ID`), Lobsters
(`/stories/url/all.json`, `/s/ID.json`), Reddit's Atom feeds (`/search.rss`,
`/r/SUB/comments/ID/.rss`), a Mastodon instance (`/api/v1/statuses/ID[/context]`) and the
Bluesky AppView (`/xrpc/com.atproto.identity.resolveHandle`,
`/xrpc/app.bsky.feed.getPostThread`). Threads are described once as `Reply`s and rendered
in each service's shape:

    with DiscussionServer() as server:
        server.add_hackernews("https://blog.example.org/a", [Reply("1", "ada", "<p>hi</p>")])
        settings = server.settings()

`server.answer(path, status=..., body=..., headers=..., delay=...)` makes any path misbehave;
every request is logged in `server.requests` as (path, query dict).
"""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape, quoteattr

from termnews.config import DiscussionSettings
from tests.support.discussion_accounts import AccountsStandIn
from tests.support.discussion_shapes import (
    T0,
    Canned,
    Reply,
    children_of,
    deep_chain,
    dumps,
    iso,
    nested,
    wide_thread,
)

__all__ = ["DiscussionServer", "Reply", "deep_chain", "wide_thread"]


class DiscussionServer(AccountsStandIn):
    def __init__(self) -> None:
        self.routes: dict[str, Canned] = {}  # exact path -> answer
        self.searches: dict[tuple[str, str], Canned] = {}  # (path, url in query) -> answer
        self.overrides: dict[str, Canned] = {}
        self.hn_hits: list[dict[str, Any]] = []  # Algolia matches loosely: every search gets all
        # Mastodon as your own instance: token, who you are, threads by status id, what
        # was posted, answers by Idempotency-Key, and a delay after storing a post (its
        # answer then comes too late: the "did it arrive?" case).
        self.mastodon_token = "sekrit-token"
        self.mastodon_me = "me"
        self.mastodon_threads: dict[str, list[dict[str, Any]]] = {}
        self.mastodon_urls: dict[str, str] = {}  # status URL -> id
        self.posted: list[dict[str, Any]] = []
        self.idempotency: dict[str, dict[str, Any]] = {}
        self.post_delay = 0.0
        self.lock = threading.Lock()
        # Bluesky: threads by root at:// URI (replies posted here appear in them), and a PDS
        # with one account whose records are kept by record key.
        self.bluesky_threads: dict[str, dict[str, Any]] = {}
        self.bluesky_login = ("me.bsky.social", "abcd-efgh-ijkl-mnop")
        self.bluesky_records: dict[str, dict[str, Any]] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle --------------------------------------------------------------------

    def __enter__(self) -> DiscussionServer:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                owner._handle(self)

            def do_POST(self) -> None:
                owner._handle_post(self)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def settings(self, **changes: Any) -> DiscussionSettings:
        base = {"hackernews": self.url, "lobsters": self.url, "reddit": self.url}
        base["bluesky"] = self.url
        base.update(changes)
        return DiscussionSettings(**base)

    def answer(
        self,
        path: str,
        *,
        status: int = 200,
        body: bytes | str = b"",
        headers: dict[str, str] | None = None,
        delay: float = 0.0,
    ) -> None:
        """Make `path` answer this, whatever it would answer otherwise."""
        data = body.encode() if isinstance(body, str) else body
        self.overrides[path] = Canned(status, data, headers or {}, delay)

    def paths(self) -> list[str]:
        return [path for path, _query in self.requests]

    # -- serving ----------------------------------------------------------------------

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        query = {key: values[0] for key, values in parse_qs(parts.query).items()}
        self.requests.append((parts.path, query))
        canned = self.overrides.get(parts.path) or self._find(parts.path, query)
        needs_token = parts.path in ("/api/v1/accounts/verify_credentials", "/api/v2/search")
        if parts.path in self.overrides:
            pass
        elif needs_token and not self._authorized(handler):
            canned = self._json({"error": "The access token is invalid"}, status=401)
        elif parts.path == "/api/v1/accounts/verify_credentials":
            canned = self._json({"id": "9", "username": self.mastodon_me, "acct": self.mastodon_me})
        self._send(handler, canned)

    def _send(self, handler: BaseHTTPRequestHandler, canned: Canned | None) -> None:
        if canned is None:
            canned = Canned(404, b'{"error":"not found"}', {"Content-Type": "application/json"})
        if canned.delay:
            time.sleep(canned.delay)
        try:
            handler.send_response(canned.status)
            headers = {"Content-Type": "application/json; charset=utf-8", **canned.headers}
            for name, value in headers.items():
                handler.send_header(name, value)
            handler.send_header("Content-Length", str(len(canned.body)))
            handler.end_headers()
            handler.wfile.write(canned.body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _authorized(self, handler: BaseHTTPRequestHandler) -> bool:
        return handler.headers.get("Authorization") == f"Bearer {self.mastodon_token}"

    def _find(self, path: str, query: dict[str, str]) -> Canned | None:
        if path in self.routes:
            return self.routes[path]
        if path.startswith("/api/v1/statuses/") and path.endswith("/context"):
            status_id = path.split("/")[4]
            if status_id in self.mastodon_threads:
                with self.lock:
                    descendants = list(self.mastodon_threads[status_id])
                return self._json({"ancestors": [], "descendants": descendants})
        if path == "/api/v2/instance":
            host = self.url.split("://", 1)[1]
            return self._json(
                {"domain": host, "configuration": {"statuses": {"max_characters": 500}}}
            )
        if path == "/api/v2/search":
            status_id = self.mastodon_urls.get(query.get("q", ""))
            statuses = [{"id": status_id}] if status_id and query.get("resolve") == "true" else []
            return self._json({"accounts": [], "statuses": statuses, "hashtags": []})
        if path == "/api/v1/search":
            hits = self.hn_hits if query.get("query") else []
            return self._json(
                {"hits": hits, "nbHits": len(hits), "page": 0, "nbPages": 1, "hitsPerPage": 20}
            )
        if path == "/stories/url/all.json":
            return self.searches.get((path, query.get("url", "")), self._json([]))
        if path == "/search.rss":
            return self.searches.get((path, query.get("q", "")), self._atom("search", []))
        if path == "/xrpc/com.atproto.identity.resolveHandle":
            return self.searches.get((path, query.get("handle", ""))) or self._xrpc_error(
                "InvalidRequest", "Unable to resolve handle"
            )
        if path == "/xrpc/com.atproto.repo.getRecord":
            record = self.bluesky_records.get(query.get("rkey", ""))
            if record is None or query.get("repo") != "did:plc:me":
                return self._xrpc_error("RecordNotFound", "Could not locate record")
            return self._json(record)
        if path == "/xrpc/app.bsky.feed.getPostThread":
            with self.lock:
                node = self._bluesky_node(query.get("uri", ""))
                if node is not None:
                    return self._json({"thread": node})
        if path == "/xrpc/app.bsky.feed.getPostThread":
            return self.searches.get((path, query.get("uri", ""))) or self._xrpc_error(
                "NotFound", f"Post not found: {query.get('uri', '')}"
            )
        return None

    @staticmethod
    def _json(value: Any, status: int = 200) -> Canned:
        return Canned(status, dumps(value), {"Content-Type": "application/json; charset=utf-8"})

    def _xrpc_error(self, error: str, message: str) -> Canned:
        return self._json({"error": error, "message": message}, status=400)

    @staticmethod
    def _atom(title: str, entries: list[str]) -> Canned:
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<feed xmlns="http://www.w3.org/2005/Atom">'
            f"<title>{escape(title)}</title>" + "".join(entries) + "</feed>"
        )
        return Canned(200, body.encode(), {"Content-Type": "application/atom+xml; charset=UTF-8"})

    # -- Hacker News (Algolia) -----------------------------------------------------------

    def add_hackernews(
        self,
        post_url: str,
        replies: list[Reply],
        *,
        story_id: int = 4242,
        points: int = 412,
        title: str = "A post on HN",
        other_hits: list[dict[str, Any]] | None = None,
    ) -> None:
        hit = {
            "objectID": str(story_id),
            "title": title,
            "url": post_url,
            "author": "submitter",
            "points": points,
            "num_comments": len(replies),
            "created_at": iso(T0),
            "created_at_i": T0,
            "_tags": ["story", "author_submitter", f"story_{story_id}"],
        }
        self.hn_hits.extend([*(other_hits or []), hit])
        story: dict[str, Any] = {
            "id": story_id,
            "created_at": iso(T0),
            "created_at_i": T0,
            "type": "story",
            "author": "submitter",
            "title": title,
            "url": post_url,
            "text": None,
            "points": points,
            "parent_id": None,
            "story_id": story_id,
            "options": [],
        }

        def make(reply: Reply, parent: str | None) -> dict[str, Any]:
            return {
                "id": int(reply.id),
                "created_at": iso(reply.created),
                "created_at_i": reply.created,
                "type": "comment",
                "author": reply.author or None,
                "title": None,
                "url": None,
                "text": reply.text or None,
                "points": None,
                "parent_id": int(parent) if parent else story_id,
                "story_id": story_id,
                "options": [],
            }

        nested(replies, story, "children", make)
        self.routes[f"/api/v1/items/{story_id}"] = self._json(story)

    # -- Lobsters ----------------------------------------------------------------------

    def add_lobsters(
        self,
        post_url: str,
        replies: list[Reply],
        *,
        short_id: str = "abc123",
        score: int = 35,
        title: str = "A post on Lobsters",
    ) -> None:
        site = "https://lobste.rs"
        summary = {
            "short_id": short_id,
            "short_id_url": f"{site}/s/{short_id}",
            "created_at": "2023-11-14T16:13:20.000-06:00",
            "title": title,
            "url": post_url,
            "score": score,
            "flags": 0,
            "comment_count": len(replies),
            "description": "",
            "description_plain": "",
            "comments_url": f"{site}/s/{short_id}/a_post",
            "submitter_user": "submitter",
            "user_is_author": False,
            "tags": ["programming"],
        }
        self.searches[("/stories/url/all.json", post_url)] = self._json([summary])
        by_parent = children_of(replies)
        ordered: list[tuple[Reply, int]] = []  # thread order, as Lobsters sends it
        stack = [(reply, 0) for reply in reversed(by_parent.get(None, []))]
        while stack:
            reply, depth = stack.pop()
            ordered.append((reply, depth))
            stack.extend((child, depth + 1) for child in reversed(by_parent.get(reply.id, [])))
        comments = [
            {
                "short_id": f"c{reply.id}",
                "short_id_url": f"{site}/c/c{reply.id}",
                "created_at": iso(reply.created),
                "last_edited_at": iso(reply.created),
                "is_deleted": False,
                "is_moderated": False,
                "score": reply.score,
                "flags": 0,
                "parent_comment": f"c{reply.parent}" if reply.parent else None,
                "comment": reply.text,
                "comment_plain": reply.text,
                "url": f"{site}/s/{short_id}/a_post#c_c{reply.id}",
                "depth": depth,
                "commenting_user": reply.author,
            }
            for reply, depth in ordered
        ]
        self.routes[f"/s/{short_id}.json"] = self._json({**summary, "comments": comments})

    # -- Reddit (Atom) -----------------------------------------------------------------

    def add_reddit(
        self, subreddit: str, thread_id: str, replies: list[Reply], *, title: str = "A post"
    ) -> str:
        """Serve the thread's feed; returns the thread's URL as a post would link it."""
        link = f"https://www.reddit.com/r/{subreddit}/comments/{thread_id}/a_post/"
        entries = [self._reddit_entry(f"t3_{thread_id}", "submitter", title, "", link, T0)]
        for reply in replies:
            entries.append(
                self._reddit_entry(
                    f"t1_{reply.id}",
                    reply.author,
                    f"/u/{reply.author} on {title}",
                    f'<!-- SC_OFF --><div class="md">{reply.text}</div><!-- SC_ON -->',
                    f"{link}{reply.id}/",
                    reply.created,
                )
            )
        self.routes[f"/r/{subreddit}/comments/{thread_id}/.rss"] = self._atom(title, entries)
        return link

    def add_reddit_search(self, post_url: str, links: list[str]) -> None:
        entries = [
            self._reddit_entry(f"t3_{n}", "submitter", "A post", "", link, T0)
            for n, link in enumerate(links)
        ]
        self.searches[("/search.rss", f"url:{post_url}")] = self._atom("search", entries)

    @staticmethod
    def _reddit_entry(
        entry_id: str, author: str, title: str, content: str, link: str, created: int
    ) -> str:
        return (
            "<entry>"
            f"<author><name>/u/{escape(author)}</name>"
            f"<uri>https://www.reddit.com/user/{escape(author)}</uri></author>"
            f'<category term="programming" label="r/programming"/>'
            f'<content type="html">{escape(content)}</content>'
            f"<id>{escape(entry_id)}</id>"
            f"<link href={quoteattr(link)}/>"
            f"<updated>{iso(created)}</updated><published>{iso(created)}</published>"
            f"<title>{escape(title)}</title>"
            "</entry>"
        )

    # -- Mastodon ----------------------------------------------------------------------

    def add_mastodon(
        self, status_id: str, replies: list[Reply], *, acct: str = "ada", favourites: int = 40
    ) -> str:
        """Serve a status and its context; returns the status URL as a post would link it."""
        url = f"{self.url}/@{acct}/{status_id}"
        root = self._status(status_id, acct, "<p>New post: a link</p>", None, T0, url)
        root["favourites_count"] = favourites
        root["replies_count"] = sum(1 for reply in replies if reply.parent is None)
        self.routes[f"/api/v1/statuses/{status_id}"] = self._json(root)
        descendants = [
            self._status(
                reply.id,
                reply.author,
                reply.text,
                reply.parent or status_id,
                reply.created,
                f"{self.url}/@{reply.author}/{reply.id}",
                score=reply.score,
            )
            for reply in replies
        ]
        self.mastodon_threads[status_id] = descendants
        self.mastodon_urls[url] = status_id
        for status in descendants:  # every status of the thread is served and resolvable
            self.routes[f"/api/v1/statuses/{status['id']}"] = self._json(status)
            self.mastodon_urls[status["url"]] = status["id"]
        return url

    def _status(
        self,
        status_id: str,
        acct: str,
        content: str,
        in_reply_to: str | None,
        created: int,
        url: str,
        *,
        score: int = 0,
    ) -> dict[str, Any]:
        return {
            "id": status_id,
            "created_at": iso(created),
            "in_reply_to_id": in_reply_to,
            "in_reply_to_account_id": "1" if in_reply_to else None,
            "sensitive": False,
            "spoiler_text": "",
            "visibility": "public",
            "language": "en",
            "uri": f"{self.url}/users/{acct}/statuses/{status_id}",
            "url": url,
            "replies_count": 0,
            "reblogs_count": 2,
            "favourites_count": score,
            "content": content,
            "account": {
                "id": "1",
                "username": acct,
                "acct": acct,
                "display_name": acct.title(),
                "url": f"{self.url}/@{acct}",
            },
            "media_attachments": [],
            "mentions": [],
            "tags": [],
        }

    # -- Bluesky -----------------------------------------------------------------------

    def add_bluesky(self, handle: str, rkey: str, replies: list[Reply], *, likes: int = 12) -> str:
        """Serve the handle and the thread; returns the bsky.app link a post would carry."""
        did = f"did:plc:{handle.split('.')[0]}"
        self.searches[("/xrpc/com.atproto.identity.resolveHandle", handle)] = self._json(
            {"did": did}
        )
        root_uri = f"at://{did}/app.bsky.feed.post/{rkey}"

        def view(uri: str, author: str, text: str, created: int, likes: int) -> dict[str, Any]:
            return {
                "uri": uri,
                "cid": "bafyrei" + str(abs(hash(uri)))[:20],
                "author": {
                    "did": f"did:plc:{author}",
                    "handle": f"{author}.bsky.social",
                    "displayName": author.title(),
                },
                "record": {
                    "$type": "app.bsky.feed.post",
                    "text": text,
                    "createdAt": iso(created),
                },
                "replyCount": 0,
                "repostCount": 1,
                "likeCount": likes,
                "indexedAt": iso(created),
            }

        thread: dict[str, Any] = {
            "$type": "app.bsky.feed.defs#threadViewPost",
            "post": view(root_uri, handle.split(".")[0], "A new post", T0, likes),
        }
        thread["post"]["author"].update(did=did, handle=handle)

        root_ref = {"uri": root_uri, "cid": thread["post"]["cid"]}
        by_id = {reply.id: reply for reply in replies}

        def make(reply: Reply, parent: str | None) -> dict[str, Any]:
            uri = f"at://did:plc:{reply.author}/app.bsky.feed.post/r{reply.id}"
            post = view(uri, reply.author, reply.text, reply.created, reply.score)
            answered = by_id.get(parent) if parent else None
            parent_ref = root_ref
            if answered is not None:
                parent_uri = f"at://did:plc:{answered.author}/app.bsky.feed.post/r{answered.id}"
                parent_ref = {"uri": parent_uri, "cid": "bafyrei" + str(abs(hash(parent_uri)))[:20]}
            post["record"]["reply"] = {"root": root_ref, "parent": parent_ref}
            return {"$type": "app.bsky.feed.defs#threadViewPost", "post": post}

        nested(replies, thread, "replies", make)
        self.bluesky_threads[root_uri] = thread
        return f"https://bsky.app/profile/{handle}/post/{rkey}"
