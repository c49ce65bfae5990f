"""Response helpers of the sample site: content types and small constructors."""

from __future__ import annotations

import json

from termnews.demo.blog import Response

HTML = "text/html; charset=UTF-8"
RSS = "application/rss+xml; charset=UTF-8"
ATOM = "application/atom+xml; charset=UTF-8"
JSON = "application/json; charset=UTF-8"
TEXT = "text/plain; charset=UTF-8"


def html_response(status: int, text: str) -> Response:
    return Response(status, text.encode("utf-8"), HTML)


def json_response(status: int, data: object) -> Response:
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Response(status, body, JSON)


def redirect(status: int, location: str) -> Response:
    return Response(status, b"", HTML).header("Location", location)


def method_not_allowed(allow: str) -> Response:
    return Response(405, b"", HTML).header("Allow", allow)
