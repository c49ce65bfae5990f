"""A small Mastodon instance for the sample site: the fish market thread, and your replies.

Its API, in Mastodon's wire shapes:
- `GET /api/v1/statuses/ID` (a Status) and `GET /api/v1/statuses/ID/context` (ancestors and
  descendants, depth first); `{"error": "Record not found"}` with 404 otherwise;
- `GET /api/v2/instance` (`configuration.statuses.max_characters`);
- with `Authorization: Bearer DEMO_TOKEN` ("you"; NEIGHBOUR_TOKEN is "gullwatch", to answer
  you as someone else; anything else: 401):
  `GET /api/v1/accounts/verify_credentials` (the token's account),
  `GET /api/v2/search?q=URL&resolve=true&type=statuses` (a status by its url or uri),
  `POST /api/v1/statuses` (JSON or a form: status, in_reply_to_id, visibility), which
  stores the reply in the thread; the same `Idempotency-Key` again answers the status it
  made, as Mastodon does; over `max_characters` is a 422 like Mastodon's.
- `GET /@user/ID` and `/@user`: small HTML pages, so the thread's links open somewhere.
Replies live in memory for as long as the site runs.
"""

from __future__ import annotations

import html
import json
import re
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from termnews.demo.blog import Request, Response
from termnews.demo.discussion_text import (
    DISCUSSED_AT,
    HOSTILE_STATUS_ID,
    MASTODON_AUTHOR,
    MASTODON_NAMES,
    MASTODON_ROOT,
    MASTODON_STATUS_ID,
    MASTODON_THREAD,
)
from termnews.demo.responses import HTML, json_response, redirect

DEMO_TOKEN = "termnews-demo-token"  # the demo's own account, "you"
ME = "you"
# A neighbour's token: with it a test (or curl) answers you as someone else.
NEIGHBOUR_TOKEN = "termnews-demo-gullwatch"
_ACCOUNTS = {DEMO_TOKEN: ME, NEIGHBOUR_TOKEN: "gullwatch"}
_STATUS_PAGE = re.compile(r"^/@([\w.-]{1,64})/(\d{1,20})/?$")
_USER_PAGE = re.compile(r"^/@([\w.-]{1,64})/?$")
_USER_STATUS = re.compile(r"^/users/([\w.-]{1,64})/statuses/(\d{1,20})/?$")


class Instance:
    def __init__(self, base: str) -> None:
        self.base = base  # "http://127.0.0.1:PORT/"
        self.domain = base.split("://", 1)[1].rstrip("/")
        self.max_characters = 500
        self.posted: list[dict[str, Any]] = []  # every status made by POST, in order
        self._lock = threading.Lock()
        self._statuses: dict[str, dict[str, Any]] = {}
        self._by_key: dict[str, str] = {}  # Idempotency-Key -> status id
        self._next_id = int(MASTODON_STATUS_ID) + 1000
        self._hostile_loaded = False
        root = self.status_of(MASTODON_STATUS_ID, MASTODON_AUTHOR, MASTODON_ROOT, None, 0)
        self._statuses[root["id"]] = root
        for remark in MASTODON_THREAD:
            parent = str(remark.parent) if remark.parent else MASTODON_STATUS_ID
            content = remark.html.replace("{base}", base)
            status = self.status_of(str(remark.id), remark.author, content, parent, 0)
            status["created_at"] = _iso(remark.created)
            self._statuses[status["id"]] = status

    @property
    def discussed_status_url(self) -> str:
        return f"{self.base}@{MASTODON_AUTHOR}/{MASTODON_STATUS_ID}"

    def status_of(
        self, status_id: str, acct: str, content: str, in_reply_to: str | None, created: float
    ) -> dict[str, Any]:
        """A Status entity as Mastodon sends it (the fields termnews and most clients read)."""
        return {
            "id": status_id,
            "created_at": _iso(created or DISCUSSED_AT + 600),
            "in_reply_to_id": in_reply_to,
            "in_reply_to_account_id": "1" if in_reply_to else None,
            "sensitive": False,
            "spoiler_text": "",
            "visibility": "public",
            "language": "en",
            "uri": f"{self.base}users/{acct}/statuses/{status_id}",
            "url": f"{self.base}@{acct}/{status_id}",
            "replies_count": 0,
            "reblogs_count": 4 if in_reply_to is None else 0,
            "favourites_count": 19 if in_reply_to is None else 2,
            "content": content,
            "reblog": None,
            "account": self._account(acct),
            "media_attachments": [],
            "mentions": [],
            "tags": [],
            "emojis": [],
        }

    def _account(self, acct: str) -> dict[str, Any]:
        return {
            "id": str(abs(hash(acct)) % 10**9),
            "username": acct,
            "acct": acct,
            "display_name": MASTODON_NAMES.get(acct, acct),
            "url": f"{self.base}@{acct}",
            "note": "",
            "bot": False,
        }

    # -- reading -----------------------------------------------------------------------

    def answer(self, req: Request, hostile: Callable[[], list[dict[str, Any]]]) -> Response:
        path = req.path
        if path.startswith("/api/v1/statuses/") and req.method in ("GET", "HEAD"):
            self._load_hostile(path, hostile)
            parts = path.split("/")
            status_id = parts[4] if len(parts) > 4 else ""
            if len(parts) == 5:
                return self._status(status_id)
            if len(parts) == 6 and parts[5] == "context":
                return self._context(status_id)
        if path == "/api/v2/instance":
            return json_response(200, self._instance())
        if path == "/api/v1/accounts/verify_credentials":
            return self._authorized(req) or json_response(200, self._account(_who(req)))
        if path == "/api/v2/search":
            return self._authorized(req) or self._search(req.query)
        if path == "/api/v1/statuses" and req.method == "POST":
            return self._authorized(req) or self._post(req)
        if match := _USER_STATUS.match(path):
            return redirect(302, f"{self.base}@{match.group(1)}/{match.group(2)}")
        if match := _STATUS_PAGE.match(path):
            return self._page(match.group(2))
        if match := _USER_PAGE.match(path):
            name = html.escape(MASTODON_NAMES.get(match.group(1), match.group(1)))
            return Response(200, f"<!doctype html><h1>{name}</h1>".encode(), HTML)
        return _not_found()

    def _load_hostile(self, path: str, hostile: Callable[[], list[dict[str, Any]]]) -> None:
        if self._hostile_loaded or f"/{HOSTILE_STATUS_ID}" not in path:
            return
        root = self.status_of(HOSTILE_STATUS_ID, "[b]host[/b]", "<p>\x1b[2Jroot</p>", None, 0)
        statuses = hostile()
        with self._lock:
            self._statuses[root["id"]] = root
            for status in statuses:
                self._statuses[status["id"]] = status
            self._hostile_loaded = True

    def _status(self, status_id: str) -> Response:
        with self._lock:
            status = self._statuses.get(status_id)
            if status is None:
                return _not_found()
            shown = {**status, "replies_count": len(self._children().get(status_id, []))}
        return json_response(200, shown)

    def _children(self) -> dict[str, list[dict[str, Any]]]:
        children: dict[str, list[dict[str, Any]]] = {}
        for status in self._statuses.values():
            parent = status.get("in_reply_to_id")
            if parent:
                children.setdefault(parent, []).append(status)
        for replies in children.values():
            replies.sort(key=lambda s: int(s["id"]))
        return children

    def _context(self, status_id: str) -> Response:
        with self._lock:
            if status_id not in self._statuses:
                return _not_found()
            children = self._children()
            descendants: list[dict[str, Any]] = []
            stack = list(reversed(children.get(status_id, [])))
            while stack:  # depth first, oldest first, without recursion
                status = stack.pop()
                descendants.append(status)
                stack.extend(reversed(children.get(status["id"], [])))
            ancestors: list[dict[str, Any]] = []
            parent = self._statuses[status_id].get("in_reply_to_id")
            while parent and parent in self._statuses and len(ancestors) < 100:
                ancestors.insert(0, self._statuses[parent])
                parent = self._statuses[parent].get("in_reply_to_id")
        return Response(
            200,
            json.dumps({"ancestors": ancestors, "descendants": descendants}).encode(),
            "application/json; charset=utf-8",
        )

    def _instance(self) -> dict[str, Any]:
        return {
            "domain": self.domain,
            "title": "Harbour Social (termnews sample)",
            "version": "4.3.0",
            "source_url": "https://github.com/mastodon/mastodon",
            "description": "A stand-in Mastodon instance on the termnews sample site.",
            "configuration": {
                "statuses": {
                    "max_characters": self.max_characters,
                    "max_media_attachments": 4,
                    "characters_reserved_per_url": 23,
                },
            },
            "registrations": {"enabled": False, "approval_required": False},
        }

    def _search(self, query: dict[str, str]) -> Response:
        wanted = query.get("q", "").strip()
        found = []
        with self._lock:
            for status in self._statuses.values():
                if wanted and wanted in (status["url"], status["uri"]):
                    found.append(status)
                    break
        if query.get("type") not in (None, "", "statuses"):
            found = []
        return json_response(200, {"accounts": [], "statuses": found, "hashtags": []})

    def _page(self, status_id: str) -> Response:
        with self._lock:
            status = self._statuses.get(status_id)
        if status is None:
            return Response(404, b"<!doctype html><h1>Not found</h1>", HTML)
        who = html.escape(status["account"]["display_name"])
        page = f"<!doctype html><title>{who}</title><h1>{who}</h1>{status['content']}"
        return Response(200, page.encode(), HTML)

    # -- posting -----------------------------------------------------------------------

    def _authorized(self, req: Request) -> Response | None:
        if _who(req):
            return None
        return json_response(401, {"error": "The access token is invalid"})

    def _post(self, req: Request) -> Response:
        form = _form(req)
        text = form.get("status")
        text = text if isinstance(text, str) else ""
        key = req.headers.get("idempotency-key", "")
        with self._lock:
            if key and key in self._by_key:
                return json_response(200, self._statuses[self._by_key[key]])
        if not text.strip():
            return json_response(422, {"error": "Validation failed: Text can't be blank"})
        if len(text) > self.max_characters:
            limit = self.max_characters
            return json_response(
                422, {"error": f"Validation failed: Text character limit of {limit} exceeded"}
            )
        parent = form.get("in_reply_to_id")
        parent = str(parent) if isinstance(parent, str | int) and parent else None
        with self._lock:
            if parent is not None and parent not in self._statuses:
                return _not_found()
            self._next_id += 1
            status = self.status_of(str(self._next_id), _who(req), _as_html(text), parent, 0)
            status["created_at"] = _iso(None)
            status["visibility"] = str(form.get("visibility") or "public")
            self._statuses[status["id"]] = status
            if key:
                self._by_key[key] = status["id"]
            self.posted.append(status)
        return json_response(200, status)


def _who(req: Request) -> str:
    """The account a request's bearer token belongs to ("": none of this instance's)."""
    scheme, _, token = req.headers.get("authorization", "").partition(" ")
    return _ACCOUNTS.get(token, "") if scheme == "Bearer" else ""


def _form(req: Request) -> dict[str, Any]:
    if req.headers.get("content-type", "").startswith("application/json"):
        try:
            data = json.loads(req.body or b"{}")
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {}
    fields = parse_qs(req.body.decode("utf-8", "replace"), keep_blank_values=True)
    return {name: values[0] for name, values in fields.items()}


def _as_html(text: str) -> str:
    """Mastodon's plain text to HTML: paragraphs on blank lines, <br /> inside them."""
    paragraphs = [p for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]
    return "".join(
        "<p>" + html.escape(p, quote=False).replace("\n", "<br />") + "</p>" for p in paragraphs
    )


def _iso(ts: float | None) -> str:
    from datetime import UTC, datetime

    when = datetime.now(UTC) if ts is None else datetime.fromtimestamp(ts, UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def _not_found() -> Response:
    return json_response(404, {"error": "Record not found"})
