"""Downloading a post's attachment (a podcast episode, a video) to a directory.

The body is streamed through termnews.http (redirects checked hop by hop, a size cap)
into a hidden temporary file beside the target, which is renamed to its final name only
once the whole body has arrived: a failure or a cancel leaves no partial file behind. An
existing file is never overwritten ("episode.mp3", then "episode-2.mp3"). The name comes
from Content-Disposition or the URL and is made safe: no path separators, no leading
dots, no control characters, not too long.
"""

from __future__ import annotations

import email.message
import mimetypes
import os
import re
import tempfile
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

import httpx

from termnews.errors import DownloadError
from termnews.http import (
    HttpFailure,
    declared_size,
    failure,
    format_size,
    host_label,
    iter_body,
    media_type,
    open_get,
    status_line,
)
from termnews.sanitize import clean_line

DEFAULT_NAME = "download"
MAX_NAME = 120  # characters; most file systems allow 255 bytes
MAX_SUFFIXES = 1000
_UNSAFE = re.compile(r'[\x00-\x1f\x7f-\x9f/\\:*?"<>|]+')
_SPACES = re.compile(r"\s+")


@dataclass(slots=True)
class DownloadProgress:
    """How far a download is: what the reader's progress bar draws."""

    name: str
    received: int = 0
    total: int | None = None  # when the server announced it
    started: float = field(default_factory=time.monotonic)

    @property
    def rate(self) -> float:
        """Bytes a second so far."""
        elapsed = time.monotonic() - self.started
        return self.received / elapsed if elapsed > 0.05 else 0.0

    @property
    def fraction(self) -> float | None:
        if not self.total:
            return None
        return min(1.0, self.received / self.total)

    def size(self) -> str:
        """ "12.3 MB": how much has arrived."""
        return format_size(self.received)

    def line(self) -> str:
        """ "12.3 MB of 46 MB · 1.2 MB/s" (or "12.3 MB · 1.2 MB/s" without a total)."""
        done = format_size(self.received)
        size = f"{done} of {format_size(self.total)}" if self.total else done
        return f"{size} · {format_size(int(self.rate))}/s"


def safe_file_name(name: str) -> str:
    """A name that stays in its directory: the last path part, without control
    characters, separators or leading dots, at most MAX_NAME characters ("" if none)."""
    name = unicodedata.normalize("NFC", name)
    name = re.split(r"[/\\]", name)[-1]  # a path: only its last part
    name = _UNSAFE.sub("_", name)
    # Bidi overrides and other format characters could make "exe.mp3" read as "mp3.exe".
    name = "".join(ch for ch in name if unicodedata.category(ch) not in ("Cf", "Cc", "Co"))
    name = _SPACES.sub(" ", name).strip(" ._")
    if len(name) > MAX_NAME:
        stem, dot, ext = name.rpartition(".")
        ext = ext if dot and 0 < len(ext) <= 10 else ""
        keep = MAX_NAME - (len(ext) + 1 if ext else 0)
        name = (stem if ext else name)[:keep].rstrip(" ._") + (f".{ext}" if ext else "")
    return name


def disposition_name(header: str) -> str:
    """The file name a Content-Disposition header suggests (filename* first), or ""."""
    if not header:
        return ""
    message = email.message.Message()
    try:
        message["Content-Disposition"] = header
        found = message.get_filename() or ""
    except (ValueError, TypeError, LookupError, IndexError):
        return ""
    return str(found)


def file_name_for(url: str, content_disposition: str = "", content_type: str = "") -> str:
    """The name to save an answer under: Content-Disposition's, else the URL's last part,
    else "download" (with an extension from the content type when there is none)."""
    for candidate in (disposition_name(content_disposition), _url_name(url)):
        name = safe_file_name(candidate)
        if name:
            break
    else:
        name = DEFAULT_NAME
    if "." not in name:
        kind = media_type(content_type)
        ext = mimetypes.guess_extension(kind) if kind else None
        if ext:
            name += ext
    return name


def _url_name(url: str) -> str:
    try:
        path = urlsplit(url).path
    except ValueError:
        return ""
    return unquote(path.rstrip("/").rpartition("/")[2])


def place(temporary: Path, directory: Path, name: str) -> Path:
    """Move the finished `temporary` to `directory/name`, or name-2, name-3... if taken;
    never over an existing file (a hard link is made, which fails on an existing name)."""
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem:
        stem, ext = name, ""
    for n in range(1, MAX_SUFFIXES):
        candidate = name if n == 1 else f"{stem}-{n}{'.' + ext if ext else ''}"
        target = directory / candidate
        try:
            os.link(temporary, target)
        except FileExistsError:
            continue
        except OSError:
            # No hard links here (some USB and network file systems): check, then rename.
            if target.exists():
                continue
            os.replace(temporary, target)
            return target
        temporary.unlink()
        return target
    raise DownloadError(f"cannot save to {directory}: too many files named {name}")


async def download(
    client: httpx.AsyncClient,
    url: str,
    directory: Path,
    *,
    max_bytes: int,
    progress: Callable[[DownloadProgress], None] | None = None,
) -> Path:
    """Download `url` into `directory`; returns the file's path. Raises DownloadError with
    one line; on any failure or a cancel the partial file is removed."""
    host = host_label(url) or "the attachment's address"
    timeout = client.timeout.read or client.timeout.connect or 0.0
    try:
        directory.mkdir(parents=True, exist_ok=True)
        handle, part = tempfile.mkstemp(dir=directory, prefix=".termnews-", suffix=".part")
    except OSError as exc:
        raise DownloadError(f"cannot save to {directory}: {exc.strerror or exc}") from None
    temporary = Path(part)
    try:
        with os.fdopen(handle, "wb") as out:
            async with open_get(client, url) as response:
                if response.status_code != 200:
                    raise DownloadError(f"{host} answered {status_line(response.status_code)}")
                name = file_name_for(
                    str(response.url),
                    response.headers.get("content-disposition", ""),
                    response.headers.get("content-type", ""),
                )
                state = DownloadProgress(name, total=declared_size(response))
                if progress is not None:
                    progress(state)
                try:
                    async for chunk in iter_body(response, max_bytes):
                        out.write(chunk)
                        state.received += len(chunk)
                        if progress is not None:
                            progress(state)
                except HttpFailure as problem:
                    if problem.message.startswith("body larger than"):
                        raise DownloadError(
                            f"the attachment is larger than {format_size(max_bytes)} "
                            "(general.max_download_mb)"
                        ) from None
                    raise
                except (httpx.HTTPError, TimeoutError) as exc:
                    raise failure(exc, host, timeout=timeout, sent=True) from None
        return place(temporary, directory, name)
    except HttpFailure as problem:
        raise DownloadError(clean_line(f"{host}: {problem.message}", 300)) from None
    except OSError as exc:
        raise DownloadError(f"cannot save to {directory}: {exc.strerror or exc}") from None
    finally:
        # Failed, cancelled, or placed under a hard link: the temporary name goes.
        temporary.unlink(missing_ok=True)
