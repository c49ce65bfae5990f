"""Rendered long posts kept on disk, shared by every process on the data dir.

A long post takes tens of milliseconds to render (a 40k-word one 16-50 ms), and on a
`termnews serve` host every session that opens it rendered it again. A document of at
least MIN_LINES lines is written here as plain data (marshal: the lines' text and spans,
a table of styles, the links), after a digest of that data, under a digest of everything
that made it: this format, the renderer's own source, Rich's version, the width, the
address links resolve against and the HTML. A file whose data does not match its digest
is ignored (the post is rendered again). A loaded document's lines become Rich Texts one
by one as they are first read (`KeptLines`): the reader draws only the screenful it shows,
so loading costs the file's read and its digest, about a twentieth of rendering it. Files
are replaced atomically, so sessions writing the same post at once leave one whole file;
past MAX_FILES the oldest go. Sessions that open the same post at
the same moment (a host's members stepping onto a new long post) render it once: the
first takes the post's lock file and renders, the others wait up to WAIT seconds for it
and load what it wrote.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import marshal
import os
import re
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any, overload

from rich.style import Style
from rich.text import Span, Text

from termnews.render import Link, RenderedDocument
from termnews.render.lines import new_text

FORMAT = 2  # 2: a digest before the data, lines made as they are read
MIN_LINES = 800  # smaller documents render faster than their file is worth
MIN_HTML = 40_000  # characters of HTML below which a post is not even looked up
MAX_FILES = 64
WAIT = 2.0  # seconds a session waits for another one rendering the same post
POLL = 0.01
ATTRIBUTES = ("bold", "dim", "italic", "underline", "strike", "reverse", "blink", "conceal")


# No rendered line holds a control character: a kept line with one is not what was written.
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
DIGEST_SIZE = 32


@lru_cache(maxsize=1)
def renderer_digest() -> bytes:
    """What the renderer is: its source files and Rich's version (a change renders anew)."""
    digest = hashlib.sha256(f"format {FORMAT}".encode())
    with contextlib.suppress(metadata.PackageNotFoundError):
        digest.update(metadata.version("rich").encode())
    package = Path(__file__).resolve().parent / "render"
    for path in sorted(package.glob("*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.digest()


def encode_style(style: Style | str) -> tuple[Any, ...] | None:
    """A style as plain data, or None if it would not come back the same."""
    if isinstance(style, str):
        return ("name", style)
    color = style.color.name if style.color else None
    background = style.bgcolor.name if style.bgcolor else None
    flags = tuple(getattr(style, name) for name in ATTRIBUTES)
    encoded = ("style", color, background, flags, style.link)
    decoded = decode_style(encoded)
    return encoded if decoded is not None and str(decoded) == str(style) else None


def decode_style(data: Any) -> Style | str | None:
    if not isinstance(data, tuple) or not data:
        return None
    if data[0] == "name" and len(data) == 2 and isinstance(data[1], str):
        return data[1]
    if data[0] != "style" or len(data) != 5:
        return None
    _, color, background, flags, link = data
    if not (isinstance(flags, tuple) and len(flags) == len(ATTRIBUTES)):
        return None
    if any(flag not in (None, True, False) for flag in flags):
        return None
    if not all(value is None or isinstance(value, str) for value in (color, background, link)):
        return None
    try:
        return Style(
            color=color, bgcolor=background, link=link, **dict(zip(ATTRIBUTES, flags, strict=True))
        )
    except Exception:  # an unknown colour name: not a file this module wrote
        return None


def encode(document: RenderedDocument) -> bytes | None:
    """The document as bytes, or None if some part of it would not come back the same."""
    styles: dict[Style | str, int] = {}
    lines = []
    for line in document.lines:
        if line.style or line.end != "\n" or line.justify or line.overflow or line.no_wrap:
            return None
        if line.tab_size is not None:
            return None
        spans = [(s.start, s.end, styles.setdefault(s.style, len(styles))) for s in line.spans]
        lines.append((line.plain, spans))
    table = [encode_style(style) for style in styles]
    if any(style is None for style in table):
        return None
    links = [(link.number, link.url, link.text, link.image) for link in document.links]
    payload = marshal.dumps((FORMAT, document.width, table, lines, links))
    return _digest(payload) + payload


def _digest(payload: bytes) -> bytes:
    return hashlib.blake2b(payload, digest_size=DIGEST_SIZE).digest()


def decode(data: bytes) -> RenderedDocument | None:
    """What `encode` wrote, its digest checked; None for anything else. The lines are
    checked and made into Texts as they are read (`KeptLines`)."""
    payload = data[DIGEST_SIZE:]
    if len(data) <= DIGEST_SIZE or data[:DIGEST_SIZE] != _digest(payload):
        return None  # cut short, spoilt, or not written by `encode`
    try:
        fmt, width, table, lines, links = marshal.loads(payload)
    except (EOFError, ValueError, TypeError):
        return None
    if fmt != FORMAT or not isinstance(width, int):
        return None
    if not (isinstance(table, list) and isinstance(lines, list) and isinstance(links, list)):
        return None
    styles = [style for entry in table if (style := decode_style(entry)) is not None]
    if len(styles) != len(table):
        return None
    kept = []
    for link in links:
        if not (isinstance(link, tuple) and len(link) == 4):
            return None
        number, url, text, image = link
        if not (isinstance(number, int) and isinstance(url, str) and isinstance(text, str)):
            return None
        kept.append(Link(number, url, text, image is True))
    return RenderedDocument(KeptLines(lines, styles), kept, width)


class KeptLines(Sequence[Text]):
    """A loaded document's lines: each entry (its text, its spans as (start, end, index
    into `styles`)) becomes a Text the first time it is read, and stays one. An entry that
    is not what `encode` writes (only a forged file with a matching digest has one) reads
    as an empty line."""

    __slots__ = ("_lines", "_styles")

    def __init__(self, lines: list[Any], styles: list[Style | str]) -> None:
        self._lines = lines
        self._styles = styles

    def __len__(self) -> int:
        return len(self._lines)

    @overload
    def __getitem__(self, index: int) -> Text: ...
    @overload
    def __getitem__(self, index: slice) -> list[Text]: ...
    def __getitem__(self, index: int | slice) -> Text | list[Text]:
        if isinstance(index, slice):
            return [self[at] for at in range(*index.indices(len(self._lines)))]
        entry = self._lines[index]
        if isinstance(entry, Text):
            return entry
        text = self._make(entry)
        self._lines[index] = text  # two threads reading it at once make equal Texts
        return text

    def __iter__(self) -> Iterator[Text]:
        for index in range(len(self._lines)):
            yield self[index]

    def _make(self, entry: Any) -> Text:
        try:
            plain, spans = entry
            if not isinstance(plain, str) or CONTROL.search(plain):
                return new_text("", [])
            styles, made, size = self._styles, [], len(plain)
            for start, end, index in spans:
                if not (type(start) is int and type(end) is int and 0 <= start <= end <= size):
                    return new_text("", [])
                if type(index) is not int or index < 0:
                    return new_text("", [])
                made.append(Span(start, end, styles[index]))
        except (TypeError, ValueError, IndexError):
            return new_text("", [])
        return new_text(plain, made)


class RenderStore:
    """Long posts' renders in `directory` (made on first write, private to the user)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    @staticmethod
    def wanted(html: str) -> bool:
        return len(html) >= MIN_HTML

    def key(self, html: str, width: int, base_url: str | None) -> str:
        digest = hashlib.sha256(renderer_digest())
        digest.update(f"{width}\0{base_url or ''}\0".encode())
        digest.update(html.encode("utf-8", "surrogatepass"))
        return digest.hexdigest()

    def load(self, key: str) -> RenderedDocument | None:
        try:
            data = (self.directory / f"{key}.render").read_bytes()
        except OSError:
            return None
        return decode(data)

    def get(self, key: str, make: Callable[[], RenderedDocument]) -> RenderedDocument:
        """The document kept under `key`, or `make()` kept there. While one process (or
        thread) makes it, the others on the same key wait for that one and load its file."""
        document = self.load(key)
        if document is not None:
            return document
        try:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            lock = os.open(
                self.directory / f"{key}.lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600
            )
        except OSError:
            return make()
        keeping = False
        try:
            if not _locked(lock, wait=0.0):  # another one is making it: wait, then load
                if _locked(lock, wait=WAIT):
                    # Let go before rendering: when the other one kept nothing (a document
                    # too short to keep), the next waiter must not queue behind this one.
                    fcntl.flock(lock, fcntl.LOCK_UN)
                document = self.load(key)
                if document is not None:
                    return document
            document = make()
            if len(document.lines) >= MIN_LINES:
                # Written on a thread of its own (the reader shows the post meanwhile), the
                # lock held until the file is whole; the process waits for it at exit.
                args = (key, document, lock)
                threading.Thread(target=self._keep, args=args, name="keep-render").start()
                keeping = True
            return document
        finally:
            if not keeping:
                os.close(lock)  # the lock goes with it

    def _keep(self, key: str, document: RenderedDocument, lock: int) -> None:
        try:
            self.save(key, document)
        except Exception:  # best effort, and never a traceback on a thread's stderr
            pass
        finally:
            os.close(lock)

    def save(self, key: str, document: RenderedDocument) -> None:
        """Keep `document` if it is long enough to be worth it (best effort)."""
        if len(document.lines) < MIN_LINES:
            return
        data = encode(document)
        if data is None:
            return
        try:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            handle, name = tempfile.mkstemp(dir=self.directory, prefix=".", suffix=".part")
            try:
                with os.fdopen(handle, "wb") as file:
                    file.write(data)
                os.replace(name, self.directory / f"{key}.render")
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(name)
                raise
            self._trim()
        except OSError:
            return

    def _trim(self) -> None:
        files = sorted(self.directory.glob("*.render"), key=lambda path: path.stat().st_mtime)
        for path in files[: max(0, len(files) - MAX_FILES)]:
            with contextlib.suppress(OSError):
                path.unlink()
        kept = {path.stem for path in files[-MAX_FILES:]}
        for path in self.directory.glob("*.lock"):  # a lock only saves work while its post
            if path.stem not in kept:  # renders: one removed early costs a second render
                with contextlib.suppress(OSError):
                    path.unlink()


def _locked(fd: int, *, wait: float) -> bool:
    """Take the exclusive lock on `fd` within `wait` seconds (0: only if free now)."""
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(POLL)
        except OSError:
            return False
