"""The account side of the discussion stand-ins: Mastodon posting and OAuth, a Bluesky PDS.

Mixed into `DiscussionServer` (discussions.py), whose state and JSON helpers it uses.
"""

from __future__ import annotations

import json
import time
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import urlsplit
from xml.sax.saxutils import escape

from tests.support.discussion_shapes import T0, Canned


class AccountsStandIn:
    """POST routes: /api/v1/apps, /oauth/token, /api/v1/statuses and the XRPC procedures."""

    # Provided by DiscussionServer.
    overrides: dict[str, Canned]
    requests: list[tuple[str, dict[str, str]]]
    url: str
    _json: Any
    _status: Any
    _send: Any
    _authorized: Any
    _xrpc_error: Any
    lock: Any
    mastodon_token: str
    mastodon_me: str
    mastodon_threads: dict[str, list[dict[str, Any]]]
    posted: list[dict[str, Any]]
    idempotency: dict[str, dict[str, Any]]
    post_delay: float
    bluesky_threads: dict[str, dict[str, Any]]
    bluesky_login: tuple[str, str]
    bluesky_records: dict[str, dict[str, Any]]

    def _handle_post(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        self.requests.append((parts.path, {"method": "POST"}))
        canned = self.overrides.get(parts.path)
        if canned is None and parts.path in ("/api/v1/apps", "/oauth/token"):
            canned = self._oauth(parts.path, json.loads(raw or b"{}"))
        if canned is None and parts.path == "/api/v1/statuses":
            canned = self._post_status(handler, raw)
        elif canned is None and parts.path.startswith("/xrpc/"):
            canned = self._post_xrpc(handler, parts.path, raw)
        self._send(handler, canned)

    def _oauth(self, path: str, form: dict[str, Any]) -> Canned:
        """Mastodon's app registration and code exchange; the right code is "the-code"."""
        if path == "/api/v1/apps":
            return self._json(
                {
                    "id": "1",
                    "name": form.get("client_name"),
                    "redirect_uri": form.get("redirect_uris"),
                    "client_id": "client-id-1",
                    "client_secret": "client-secret-1",
                }
            )
        good = (form.get("code"), form.get("client_id"), form.get("client_secret"))
        if good != ("the-code", "client-id-1", "client-secret-1"):
            error = {
                "error": "invalid_grant",
                "error_description": "The provided authorization grant is invalid.",
            }
            return self._json(error, status=400)
        token = {"access_token": self.mastodon_token, "token_type": "Bearer", "created_at": T0}
        return self._json({**token, "scope": form.get("scope")})

    def _post_status(self, handler: BaseHTTPRequestHandler, raw: bytes) -> Canned:
        if not self._authorized(handler):
            return self._json({"error": "The access token is invalid"}, status=401)
        form = json.loads(raw or b"{}")
        text = form.get("status") or ""
        if len(text) > 500:
            return self._json(
                {"error": "Validation failed: Text character limit of 500 exceeded"}, status=422
            )
        key = handler.headers.get("Idempotency-Key") or ""
        with self.lock:
            if key and key in self.idempotency:
                return self._json(self.idempotency[key])
            status_id = str(200_000 + len(self.posted))
            status = self._status(
                status_id,
                self.mastodon_me,
                "<p>" + escape(text) + "</p>",
                form.get("in_reply_to_id"),
                T0 + 10_000,
                f"{self.url}/@{self.mastodon_me}/{status_id}",
            )
            self.posted.append({"form": form, "key": key, "status": status})
            if key:
                self.idempotency[key] = status
            parent = form.get("in_reply_to_id")
            for root, descendants in self.mastodon_threads.items():
                if parent == root or any(other["id"] == parent for other in descendants):
                    descendants.append(status)
                    break
        if self.post_delay:
            time.sleep(self.post_delay)
        return self._json(status)

    def _post_xrpc(self, handler: BaseHTTPRequestHandler, path: str, raw: bytes) -> Canned:
        data = json.loads(raw or b"{}")
        if path == "/xrpc/com.atproto.server.createSession":
            if (data.get("identifier"), data.get("password")) != self.bluesky_login:
                error = {
                    "error": "AuthenticationRequired",
                    "message": "Invalid identifier or password",
                }
                return self._json(error, status=401)
            return self._json(
                {
                    "did": "did:plc:me",
                    "handle": self.bluesky_login[0],
                    "accessJwt": "access-jwt-1",
                    "refreshJwt": "refresh-jwt-1",
                }
            )
        if path == "/xrpc/com.atproto.repo.createRecord":
            if handler.headers.get("Authorization") != "Bearer access-jwt-1":
                return self._json(
                    {"error": "AuthMissing", "message": "Authentication Required"}, 401
                )
            rkey = data.get("rkey") or f"auto{len(self.bluesky_records)}"
            record = data.get("record") or {}
            with self.lock:
                if rkey in self.bluesky_records:  # this stand-in's wording; no second record
                    return self._xrpc_error("InvalidRequest", "Record already exists")
                uri = f"at://did:plc:me/app.bsky.feed.post/{rkey}"
                stored = {"uri": uri, "cid": f"bafyreime{rkey}", "value": record}
                self.bluesky_records[rkey] = stored
                self._attach_bluesky_reply(stored)
            if self.post_delay:
                time.sleep(self.post_delay)
            return self._json({"uri": uri, "cid": stored["cid"]})
        return self._xrpc_error("MethodNotImplemented", f"no {path} here")

    def _bluesky_node(self, uri: str) -> dict[str, Any] | None:
        for thread in self.bluesky_threads.values():
            stack = [thread]
            while stack:
                node = stack.pop()
                if node.get("post", {}).get("uri") == uri:
                    return node
                stack.extend(node.get("replies", []))
        return None

    def _attach_bluesky_reply(self, stored: dict[str, Any]) -> None:
        parent_uri = stored["value"].get("reply", {}).get("parent", {}).get("uri")
        view = {
            "$type": "app.bsky.feed.defs#threadViewPost",
            "post": {
                "uri": stored["uri"],
                "cid": stored["cid"],
                "author": {"did": "did:plc:me", "handle": self.bluesky_login[0]},
                "record": stored["value"],
                "likeCount": 0,
            },
        }
        for thread in self.bluesky_threads.values():
            stack = [thread]
            while stack:
                node = stack.pop()
                if node.get("post", {}).get("uri") == parent_uri:
                    node.setdefault("replies", []).append(view)
                    return
                stack.extend(node.get("replies", []))
