"""What a picture in the reader costs: decoding, drawing and the bytes a terminal gets.

    .venv/bin/python bench/images.py [--runs 5]

Makes its own images with Pillow (a 3000x2000 JPEG of noise, the worst case for every
encoder, and a 4000x4000 flat PNG, the largest kind the pixel limit lets through fast),
then times `images.decode` (best of --runs), the half-block lines of a 64x20-cell picture,
and counts the bytes the output layer sends for that picture (truecolor) and the size of
the Kitty graphics commands that send it, for the noise and for a smooth gradient.
Not run by CI.
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))


def best_ms(action: Callable[[], object], runs: int) -> float:
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        action()
        best = min(best, time.perf_counter() - started)
    return best * 1000


def layer_bytes(lines: list[object], width: int) -> int:
    """Bytes of the output layer's frame that draws these lines on a blank screen."""
    from rich.console import Console
    from rich.text import Text
    from textual._compositor import LayoutUpdate
    from textual.geometry import Region
    from textual.strip import Strip

    from termnews.terminal.cells import PenTable
    from termnews.terminal.diff import Screen
    from termnews.terminal.updates import draw_update

    console = Console(file=io.StringIO(), force_terminal=True, color_system="truecolor")
    strips = []
    for line in lines:
        assert isinstance(line, Text)
        strips.append(Strip(list(line.render(console, end=""))).extend_cell_length(width))
    screen = Screen(width, len(strips))
    update = LayoutUpdate([[strip] for strip in strips], Region(0, 0, width, len(strips)))
    # Rich keeps the colour system private; None only without a terminal (forced here).
    draw_update(screen, update, PenTable(console._color_system))  # type: ignore[arg-type]
    return len(screen.frame((0, 0)).encode())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    from PIL import Image

    from termnews.images import decode
    from termnews.render.pictures import fit_cells, halfblock_lines, kitty_transmit

    noise = io.BytesIO()
    Image.effect_noise((3000, 2000), 64).convert("RGB").save(noise, "JPEG", quality=85)
    flat = io.BytesIO()
    Image.new("RGB", (4000, 4000), (10, 20, 30)).save(flat, "PNG")
    for name, data in (("3000x2000 JPEG", noise.getvalue()), ("4000x4000 PNG", flat.getvalue())):
        took = best_ms(lambda data=data: decode(data), args.runs)
        print(f"decode {name} ({len(data) >> 10} KB): {took:.1f} ms")
    gradient = io.BytesIO()
    Image.linear_gradient("L").resize((512, 340)).convert("RGB").save(gradient, "PNG")
    for name, data in (("noise", noise.getvalue()), ("gradient", gradient.getvalue())):
        picture = decode(data)
        took = best_ms(lambda picture=picture: halfblock_lines(picture, 64, 20), args.runs)
        lines = halfblock_lines(picture, 64, 20)
        columns, rows = fit_cells(picture, 64, 20)
        kitty = kitty_transmit(picture, picture.rgb, 5, columns, rows)
        print(
            f"{name}: half blocks {columns}x{rows} cells in {took:.2f} ms, "
            f"{layer_bytes(list(lines), 80) >> 10} KB through the output layer; "
            f"Kitty commands {len(kitty) >> 10} KB"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
