"""Images of posts: fetched with the feeds' client and limits, kept in a bounded cache in
the data dir, decoded with Pillow under limits that a hostile file cannot get past.

Core (no Textual). Pillow is imported only when an image is decoded, never at start-up.
What leaves this module is a small RGB picture (`Picture`: width, height, bytes), never a
Pillow object, so the UI draws it without knowing Pillow.
"""

from __future__ import annotations

import hashlib
import io
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from termnews.errors import TermnewsError

if TYPE_CHECKING:
    from PIL.Image import Image as PillowImage

MAX_IMAGE_BYTES = 8 << 20  # the most an image download may be
MAX_PIXELS = 25_000_000  # the most pixels a file may declare (a decompression bomb: more)
MAX_SIDE = 20_000  # nor a side longer than this
PICTURE_SIDE = 512  # decoded pictures are scaled down to fit this box (cells are coarse)
IMAGE_ACCEPT = "image/png,image/jpeg,image/gif,image/webp,image/*;q=0.8"
# What the cache may hold on disk before the oldest files go.
DEFAULT_CACHE_BYTES = 64 << 20


class ImageError(TermnewsError):
    """An image that cannot be shown, worded for the user."""


@dataclass(frozen=True, slots=True)
class Picture:
    """A decoded image: `width` x `height` RGB pixels, row after row, 3 bytes each."""

    width: int
    height: int
    rgb: bytes = field(repr=False)

    def pixel(self, x: int, y: int) -> tuple[int, int, int]:
        at = (y * self.width + x) * 3
        return self.rgb[at], self.rgb[at + 1], self.rgb[at + 2]


class ImageCache:
    """Downloaded image files by address, at most `max_bytes` in all (oldest used go)."""

    def __init__(self, directory: Path, max_bytes: int = DEFAULT_CACHE_BYTES) -> None:
        self.directory = directory
        self.max_bytes = max_bytes

    def _path(self, url: str) -> Path:
        return self.directory / hashlib.sha256(url.encode()).hexdigest()

    def get(self, url: str) -> bytes | None:
        path = self._path(url)
        try:
            data = path.read_bytes()
            os.utime(path)  # used now: the last to be evicted
        except OSError:
            return None
        return data

    def put(self, url: str, data: bytes) -> None:
        if len(data) > self.max_bytes:
            return
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            path = self._path(url)
            partial = path.with_suffix(f".{os.getpid()}.part")
            partial.write_bytes(data)
            partial.replace(path)  # another process never reads half a file
            self._evict()
        except OSError:
            pass  # a full or read-only disk: the image is shown, not kept

    def _evict(self) -> None:
        files = []
        for entry in os.scandir(self.directory):
            if entry.is_file() and "." not in entry.name:
                stat = entry.stat()
                files.append((stat.st_mtime, stat.st_size, Path(entry.path)))
        total = sum(size for _, size, _ in files)
        for _, size, path in sorted(files):
            if total <= self.max_bytes:
                break
            try:
                path.unlink()
            except OSError:
                continue
            total -= size


async def download(url: str, *, timeout: float, max_bytes: int = MAX_IMAGE_BYTES) -> bytes:
    """The image's bytes, through the one client factory (redirects checked, body capped)."""
    from termnews.http import HttpFailure, get_ok, host_label, make_client

    try:
        async with make_client(timeout) as client:
            answer = await get_ok(
                client, url, max_bytes=max_bytes, accept=IMAGE_ACCEPT, what="the image"
            )
    except HttpFailure as exc:
        raise ImageError(exc.message) from None
    kind = answer.media_type
    if kind and not kind.startswith("image/") and kind != "application/octet-stream":
        raise ImageError(f"the address on {host_label(url)} is not an image ({kind})")
    return answer.body


def decode(data: bytes, box: int = PICTURE_SIDE) -> Picture:
    """Decode an image file into a Picture that fits `box` x `box`, safely: the declared
    size is checked before any pixel is decoded, Pillow's own bomb check is on, and any
    failure of a broken or hostile file is an ImageError."""
    try:
        from PIL import Image
    except ImportError:
        raise ImageError("showing images needs Pillow (pip install pillow)") from None
    Image.MAX_IMAGE_PIXELS = MAX_PIXELS  # larger raises DecompressionBombError
    try:
        with warnings.catch_warnings():
            # Pillow only warns between MAX_PIXELS and twice that: refuse those as well.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
        with image:
            width, height = image.size
            if width <= 0 or height <= 0 or width > MAX_SIDE or height > MAX_SIDE:
                raise ImageError(f"the image is {width}x{height} pixels: too large to show")
            if width * height > MAX_PIXELS:
                raise ImageError(f"the image is {width}x{height} pixels: too large to show")
            image.draft("RGB", (box, box))  # JPEG: decode at a reduced scale
            image.thumbnail((box, box))
            rgb = _flatten(image)
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageError("the image declares too many pixels: too large to show") from None
    except Exception as exc:  # Pillow raises many kinds on broken files
        raise ImageError(f"the image cannot be read ({_why(exc)})") from None
    return Picture(rgb.width, rgb.height, rgb.tobytes())


def _flatten(image: PillowImage) -> PillowImage:
    """RGB pixels; transparency over a mid-grey (readable on dark and light themes)."""
    from PIL import Image

    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        ground = Image.new("RGBA", rgba.size, (128, 128, 128, 255))
        return Image.alpha_composite(ground, rgba).convert("RGB")
    return image.convert("RGB")


def _why(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:120]
