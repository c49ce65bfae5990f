"""Thread descriptions and JSON helpers shared by the discussion stand-ins (discussions.py)."""

from __future__ import annotations

import datetime
import json
import sys
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "T0",
    "Canned",
    "Reply",
    "children_of",
    "deep_chain",
    "dumps",
    "iso",
    "nested",
    "wide_thread",
]

T0 = 1_700_000_000


@dataclass(slots=True)
class Reply:
    """One comment, in no service's shape: id, who, what, and which reply it answers."""

    id: str
    author: str
    text: str
    parent: str | None = None  # None: answers the story / post itself
    created: int = T0
    score: int = 1


def deep_chain(depth: int, text: str = "deeper") -> list[Reply]:
    """Each reply answers the one before: `depth` levels of nesting."""
    return [
        Reply(str(n), f"user{n}", f"<p>{text} {n}</p>", str(n - 1) if n > 1 else None, T0 + n)
        for n in range(1, depth + 1)
    ]


def wide_thread(count: int) -> list[Reply]:
    """`count` top-level replies."""
    return [
        Reply(str(n), f"user{n}", f"<p>reply {n}</p>", None, T0 + n) for n in range(1, count + 1)
    ]


def iso(seconds: int) -> str:
    return datetime.datetime.fromtimestamp(seconds, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def children_of(replies: list[Reply]) -> dict[str | None, list[Reply]]:
    by_parent: dict[str | None, list[Reply]] = {}
    for reply in replies:
        by_parent.setdefault(reply.parent, []).append(reply)
    return by_parent


def nested(replies: list[Reply], node: Any, kids_key: str, make: Any) -> None:
    """Nest `replies` under `node` (a dict) without recursion: node[kids_key] = [make(r)...]."""
    by_parent = children_of(replies)
    stack: list[tuple[dict[str, Any], str | None]] = [(node, None)]
    while stack:
        into, parent = stack.pop()
        into[kids_key] = []
        for reply in by_parent.get(parent, []):
            child = make(reply, parent)
            into[kids_key].append(child)
            stack.append((child, reply.id))


def dumps(value: Any) -> bytes:
    """JSON without the encoder's recursion limit (400-deep threads are ~800 containers)."""
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old, 20_000))
    try:
        return json.dumps(value).encode()
    finally:
        sys.setrecursionlimit(old)


@dataclass(slots=True)
class Canned:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
