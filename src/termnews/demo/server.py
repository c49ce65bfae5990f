"""The sample site's HTTP server: `DemoSite` (for tests and the CLI) and `serve_forever`."""

from __future__ import annotations

import contextlib
import signal
import socket
import sys
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, TextIO
from urllib.parse import parse_qs, unquote, urlsplit

from termnews.demo.blog import Blog, DemoPost, Request, Response, SiteOptions, iso_local
from termnews.demo.outside import StandIns
from termnews.demo.responses import TEXT
from termnews.demo.routes import FAULTY_KINDS, handle, resolve, stand_ins_of
from termnews.demo.state import APPROVED, CommentStore, DemoStateError

MAX_BODY = 2 * 1024 * 1024


@dataclass(slots=True)
class _Faults:
    latency: float = 0.0
    fail_next: int = 0
    drop_next: int = 0
    fail_status: int = 500


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    site: DemoSite


class _Server6(_Server):
    address_family = socket.AF_INET6


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "termnews-demo/1"
    sys_version = ""
    timeout = 30  # idle keep-alive connections give their thread back after this
    disable_nagle_algorithm = True  # headers and body go out at once, not 40 ms apart
    wbufsize = 64 * 1024
    server: _Server

    def do_GET(self) -> None:
        self._serve()

    do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        log = self.server.site.log
        if log is not None:
            print(f"{self.address_string()} - {format % args}", file=log, flush=True)

    def _serve(self) -> None:
        site = self.server.site
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY:
            self.close_connection = True
            self._write(Response(413, b"Request body too large or malformed length.\n", TEXT))
            return
        body = self.rfile.read(length) if length else b""
        split = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        request = Request(
            method=self.command,
            path=unquote(split.path) or "/",
            query=query,
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
            client_ip=self.client_address[0],
        )
        try:
            if resolve(site.blog, request).kind in FAULTY_KINDS:
                fault = site._take_fault()
                if fault == "drop":
                    self.close_connection = True
                    return
                if fault is not None:
                    status = int(fault)
                    response = Response(status, f"Injected fault: HTTP {status}\n".encode(), TEXT)
                    if status in (429, 503):
                        response.header("Retry-After", "1")
                    self._write(response)
                    return
            response = handle(site.blog, request)
        except Exception as exc:  # a bug in the sample site must not kill the connection thread
            site.errors.append(f"{request.method} {self.path}: {exc!r}")
            response = Response(500, f"The sample site failed: {exc!r}\n".encode(), TEXT)
        self._write(response)

    def _write(self, response: Response) -> None:
        try:
            self.send_response(response.status)
            for name, value in response.headers:
                self.send_header(name, value)
            has_body = response.status not in (204, 304) and response.status >= 200
            if response.content_type and has_body:
                self.send_header("Content-Type", response.content_type)
            if has_body:
                self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            if has_body and self.command != "HEAD":
                self.wfile.write(response.body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True


class DemoSite:
    """termnews' sample site: three small blogs on one loopback HTTP server.

    Use as a context manager, or call start() and stop(). URLs and posts are known once
    started.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        moderate_new_authors: bool = False,
        allow_anonymous_rest: bool = False,
        flood_seconds: float = 15.0,
        state_file: Path | None = None,
        app_passwords: dict[str, str] | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.options = SiteOptions(
            moderate_new_authors=moderate_new_authors,
            allow_anonymous_rest=allow_anonymous_rest,
            flood_seconds=flood_seconds,
            app_passwords=dict(app_passwords or {}),
        )
        self.state_file = Path(state_file) if state_file is not None else None
        self.errors: list[str] = []  # unexpected exceptions while serving (should stay empty)
        self.log: TextIO | None = None  # where to print an access log, if anywhere
        self._faults = _Faults()
        self._fault_lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._blog: Blog | None = None

    # --- life cycle -------------------------------------------------------------------------

    def start(self) -> DemoSite:
        """Bind and serve in a background thread. Raises DemoStateError or OSError."""
        if self._server is not None:
            return self
        store = CommentStore(self.state_file)
        server_class = _Server6 if ":" in self.host else _Server
        server = server_class((self.host, self.port), _Handler)
        server.site = self
        port = server.server_address[1]
        if self.host in ("", "0.0.0.0"):
            shown = "127.0.0.1"
        elif self.host == "::":
            shown = "[::1]"
        elif ":" in self.host:
            shown = f"[{self.host}]"
        else:
            shown = self.host
        self._blog = Blog(f"http://{shown}:{port}/", self.options, store)
        stand_ins_of(self._blog)
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
        )
        self._thread.name = f"termnews-demo-{port}"
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None:
            return
        self._server = self._thread = None
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> DemoSite:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # --- what tests and the CLI need to know ------------------------------------------------

    @property
    def blog(self) -> Blog:
        if self._blog is None:
            raise RuntimeError("the demo site is not started yet: call start() first")
        return self._blog

    @property
    def url(self) -> str:
        """The site root, e.g. "http://127.0.0.1:PORT/"."""
        return self.blog.base

    @property
    def feed_urls(self) -> list[str]:
        """The feeds to subscribe to: WordPress RSS first, then Blogger Atom, CommentAPI RSS."""
        base = self.url
        return [base + "feed/", base + "blogger/feeds/posts/default", base + "tidewater/rss.xml"]

    @property
    def discussions(self) -> StandIns:
        """The HN, Lobsters and Mastodon stand-ins (their threads, faults, posted replies)."""
        return stand_ins_of(self.blog)

    @property
    def comments_feed_url(self) -> str:
        return self.url + "comments/feed/"

    @property
    def rest_url(self) -> str:
        return self.url + "wp-json/"

    @property
    def comment_post_url(self) -> str:
        return self.url + "wp-comments-post.php"

    @property
    def posts(self) -> list[DemoPost]:
        """Every sample post, by id."""
        return [self.blog.posts[i] for i in sorted(self.blog.posts)]

    @property
    def post_ids(self) -> list[int]:
        return sorted(self.blog.posts)

    def post(self, post_id: int) -> DemoPost:
        return self.blog.posts[post_id]

    def post_for(self, role: str) -> DemoPost:
        """The post that plays a role: news, showcase, long, closed, threaded, commentapi,
        blogger-comments, blogger-quiet, blogger-thread, release, bugfix."""
        for post in self.blog.posts.values():
            if post.role == role:
                return post
        raise KeyError(f"no sample post has the role {role!r}")

    def comments_for(self, post_id: int, include_held: bool = True) -> list[dict[str, Any]]:
        """What the site has stored for a post, oldest first."""
        blog = self.blog
        return [
            {
                "id": c.id,
                "post": c.post_id,
                "parent": c.parent,
                "author_name": c.author,
                "author_email": c.email,
                "author_url": c.url,
                "content": c.content_html,
                "text": c.text,
                "date": c.date,
                "date_gmt": iso_local(c.date),
                "status": "approved" if c.status == APPROVED else "hold",
                "link": blog.comment_link(c),
                "via": c.via,
            }
            for c in blog.store.for_post(post_id, include_held=include_held)
        ]

    def approve_comment(self, comment_id: int) -> bool:
        """Approve a held comment, as a moderator would. False if there was nothing to do."""
        return self.blog.store.approve(comment_id)

    # --- faults -----------------------------------------------------------------------------

    def set_faults(
        self,
        *,
        latency: float = 0.0,
        fail_next: int = 0,
        drop_next: int = 0,
        fail_status: int = 500,
    ) -> None:
        """Faults for feeds and comment endpoints (pages and images are spared).

        latency: seconds added to every such request until changed; fail_next: that many
        requests answer `fail_status`; drop_next: that many requests get the connection
        closed without a response (drops come first when both are set).
        """
        if latency < 0 or fail_next < 0 or drop_next < 0:
            raise ValueError("latency, fail_next and drop_next must not be negative")
        if not 100 <= fail_status <= 599:
            raise ValueError(f"fail_status must be an HTTP status code, not {fail_status}")
        with self._fault_lock:
            self._faults = _Faults(latency, fail_next, drop_next, fail_status)

    def _take_fault(self) -> str | int | None:
        with self._fault_lock:
            faults = self._faults
            latency = faults.latency
            if faults.drop_next > 0:
                faults.drop_next -= 1
                outcome: str | int | None = "drop"
            elif faults.fail_next > 0:
                faults.fail_next -= 1
                outcome = faults.fail_status
            else:
                outcome = None
        if latency:
            time.sleep(latency)
        return outcome


# --- the command line ---------------------------------------------------------------------

_SITE_OPTIONS = (
    "moderate_new_authors",
    "allow_anonymous_rest",
    "flood_seconds",
    "state_file",
    "app_passwords",
)
_FAULT_OPTIONS = ("latency", "fail_next", "drop_next", "fail_status")
# The discussion stand-ins' own faults (StandIns.set_faults), named outside_* on this side.
_OUTSIDE_OPTIONS = ("outside_fail_next", "outside_fail_status", "outside_retry_after")


def outside_faults(options: dict[str, Any]) -> dict[str, Any]:
    """StandIns.set_faults' arguments from the outside_* options (removed from `options`)."""
    return {
        name.removeprefix("outside_"): options.pop(name)
        for name in _OUTSIDE_OPTIONS
        if name in options
    }


def serve_forever(host: str = "127.0.0.1", port: int = 0, **options: Any) -> None:
    """Run the sample site until Ctrl-C (or SIGTERM). Prints its URL and feed URLs.

    `options`: DemoSite's keyword arguments plus set_faults' (latency, fail_next, ...),
    and `out` (a text stream; stdout by default). A state file that cannot be read or a
    port that cannot be bound ends with a one-line message and SystemExit(1).
    """
    out: TextIO = options.pop("out", None) or sys.stdout
    unknown = set(options) - set(_SITE_OPTIONS) - set(_FAULT_OPTIONS) - set(_OUTSIDE_OPTIONS)
    if unknown:
        raise TypeError(f"serve_forever() got unexpected options: {', '.join(sorted(unknown))}")
    site_kwargs = {k: options[k] for k in _SITE_OPTIONS if k in options}
    fault_kwargs = {k: options[k] for k in _FAULT_OPTIONS if k in options}
    outside_kwargs = outside_faults(options)
    site = DemoSite(host, port, **site_kwargs)
    try:
        site.start()
    except DemoStateError as exc:
        print(f"termnews demo: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
    except OSError as exc:
        print(
            f"termnews demo: cannot listen on {host}:{port}: {exc.strerror or exc}", file=sys.stderr
        )
        raise SystemExit(1) from None
    try:
        if fault_kwargs:
            site.set_faults(**fault_kwargs)
        if outside_kwargs:
            site.discussions.set_faults(**outside_kwargs)
        print(f"termnews sample site: {site.url}", file=out)
        print("feeds:", file=out)
        for url in site.feed_urls:
            print(f"  {url}", file=out)
        print(f"comments feed: {site.comments_feed_url}", file=out)
        print(f"REST API: {site.rest_url}", file=out)
        origin = site.url.rstrip("/")
        print(
            f"stand-ins: Hacker News {origin}/hn, Lobsters {origin}/lobsters, Mastodon {origin}",
            file=out,
        )
        print("press Ctrl-C to stop", file=out, flush=True)
        _wait_for_interrupt()
    finally:
        site.stop()
    print("sample site stopped", file=out, flush=True)


def _wait_for_interrupt() -> None:
    stop = threading.Event()
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        with contextlib.suppress(KeyboardInterrupt):
            while not stop.wait(0.5):
                pass
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
