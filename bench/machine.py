"""How fast this machine runs Python right now, printed with the benchmarks' numbers.

    .venv/bin/python bench/machine.py

The machines the benchmarks run on differ, and one machine's speed drifts with its
neighbours: a number from another day is comparable only beside this one.
"""

from __future__ import annotations

import argparse
import os
import time


def python_speed() -> str:
    """Ten million additions in a pure Python loop (the best of three runs of three
    million, scaled), and the load average: e.g. "10M additions 0.61 s, load 0.3"."""
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        total = 0
        for number in range(3_000_000):
            total += number
        best = min(best, time.perf_counter() - started)
    return f"10M additions in Python {best * 10 / 3:.2f} s, load {os.getloadavg()[0]:.1f}"


def main() -> None:
    argparse.ArgumentParser(description=__doc__.split("\n")[0]).parse_args()
    print(python_speed())


if __name__ == "__main__":
    main()
