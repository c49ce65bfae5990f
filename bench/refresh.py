"""Benchmark: refresh of the shared feed corpus from 127.0.0.1, termnews against newsboat.

    .venv/bin/python bench/refresh.py [--runs 3] [--corpus PATH] [--no-newsboat]
    .venv/bin/python bench/refresh.py --profile [--sort cumulative]

Serves every corpus feed from a loopback FeedServer (ETag, Last-Modified, 304), imports
them into an empty data dir with the real CLI, then times `termnews refresh` twice: the
first refresh (everything fetched, parsed and stored) and the conditional one (validators
sent, 304s expected). Prints wall time, feeds/s, articles stored and peak memory of the
command, where peak memory is both the largest single process (ru_maxrss from wait4) and
the peak sum of RSS over the command's process tree (sampled from /proc every 10 ms: the
parse pool's workers count too), and what the server saw (requests, and how many carried
validators). Where `newsboat` is on PATH, runs `newsboat -x reload` on the same URLs in a
temporary HOME (reload-threads 10) three times: newsboat 2.21 keeps a new feed's validators
only from its second download on, so its second reload fetches everything again and its
third is its first conditional one. Prints the termnews/newsboat wall-time ratios (< 1
means termnews is faster): first against first, conditional against newsboat's third.
With --runs N, each side is measured N times (a fresh data dir each time); the table shows
the median and the best wall time (ratios are of medians, best in brackets) and every run's
time is listed: newsboat's reloads are bimodal here (a conditional reload takes either
~0.35 s or ~1.35 s), so one run says little. The machine's load average is printed (the
numbers depend on it). The last line is a machine-readable summary.

--profile instead runs NewsService.refresh in this process under cProfile (first refresh,
then conditional) and prints the top functions; the parse pool's workers are not profiled,
so parse time shows up as waiting.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import pstats
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # for tests.support.feedserver

from tests.support.feedserver import FeedServer  # noqa: E402

DEFAULT_CORPUS = Path(os.environ.get("TERMNEWS_CORPUS") or REPO / ".." / "shared" / "corpus")
PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass(slots=True)
class Run:
    seconds: float
    max_rss_mb: float  # the largest single process of the command
    tree_rss_mb: float  # peak sum over the command's process tree (sampled)
    articles: int
    returncode: int


# -- measuring a command -------------------------------------------------------------------


def _children(pid: int) -> list[int]:
    """Child pids, from /proc/PID/task/*/children (children of every thread)."""
    found: list[int] = []
    for task in os.scandir(f"/proc/{pid}/task"):
        with open(f"{task.path}/children") as f:
            found.extend(int(child) for child in f.read().split())
    return found


def _tree_rss(root: int) -> int:
    """RSS in bytes summed over `root` and its descendants (0 for those already gone)."""
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        try:
            with open(f"/proc/{pid}/statm") as f:
                total += int(f.read().split()[1]) * PAGE
            todo.extend(_children(pid))
        except (OSError, ValueError):
            continue
    return total


def measure(argv: list[str], env: dict[str, str], log: Path) -> tuple[float, int, float, float]:
    """Run argv; returns (seconds, return code, ru_maxrss MB, peak tree RSS MB)."""
    with log.open("ab") as out:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT)
        peak = 0
        done = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not done.wait(0.01):
                peak = max(peak, _tree_rss(proc.pid))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        done.set()
        sampler.join()
        proc.returncode = os.waitstatus_to_exitcode(status)  # already reaped by wait4
    return seconds, proc.returncode, usage.ru_maxrss / 1024, peak / 2**20


def count_rows(database: Path, table: str) -> int:
    if not database.exists():
        return 0
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
        return int(db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


# -- the two readers -----------------------------------------------------------------------


def termnews_runs(urls_file: Path, work: Path) -> list[Run]:
    data = Path(tempfile.mkdtemp(prefix="termnews-data-", dir=work))
    config = work / "termnews.toml"
    config.write_text("")  # defaults, whatever the user's own settings say
    env = dict(os.environ, TERMNEWS_CONFIG=str(config), TERMNEWS_DATA_DIR=str(data))
    # The options go after the subcommand: there they are never shadowed by its defaults.
    where = ["--config", str(config), "--data-dir", str(data)]
    termnews = [sys.executable, "-m", "termnews"]
    log = work / "termnews.log"
    subprocess.run(
        [*termnews, "import", *where, str(urls_file)],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    database = data / "termnews.db"
    if not database.exists():
        sys.exit(f"termnews import did not create {database}")
    runs = []
    for _ in range(2):
        seconds, code, max_rss, tree = measure([*termnews, "refresh", *where], env, log)
        runs.append(Run(seconds, max_rss, tree, count_rows(database, "articles"), code))
    shutil.rmtree(data, ignore_errors=True)
    return runs


def newsboat_runs(newsboat: str, urls_file: Path, work: Path) -> list[Run]:
    """First, second and third reload. newsboat 2.21 saves a new feed's validators only
    from its second download on (the first download's UPDATE finds no row yet), so its
    second reload fetches everything again and its third is the first conditional one."""
    home = Path(tempfile.mkdtemp(prefix="newsboat-home-", dir=work))
    config = home / "config"
    # Fair settings: ten parallel downloads, as termnews' global limit; no article limit.
    config.write_text("reload-threads 10\nshow-read-feeds yes\nmax-items 0\n")
    cache = home / "cache.db"
    env = dict(os.environ, HOME=str(home), XDG_CONFIG_HOME=str(home), XDG_DATA_HOME=str(home))
    argv = [newsboat, "-u", str(urls_file), "-c", str(cache), "-C", str(config), "-x", "reload"]
    runs = []
    for _ in range(3):
        seconds, code, max_rss, tree = measure(argv, env, work / "newsboat.log")
        runs.append(Run(seconds, max_rss, tree, count_rows(cache, "rss_item"), code))
    shutil.rmtree(home, ignore_errors=True)
    return runs


@dataclass(slots=True)
class Step:
    reader: str
    kind: str
    runs: list[Run]

    @property
    def median(self) -> float:
        return statistics.median(run.seconds for run in self.runs)

    @property
    def best(self) -> float:
        return min(run.seconds for run in self.runs)


def steps(reader: str, kinds: list[str], repeats: list[list[Run]]) -> list[Step]:
    """Repeats (each a list of runs, one per kind) regrouped by kind."""
    by_kind = zip(*repeats, strict=True)
    return [Step(reader, kind, list(runs)) for kind, runs in zip(kinds, by_kind, strict=True)]


# -- output --------------------------------------------------------------------------------


def requests_seen(server: FeedServer, since: int, feeds: int) -> str:
    """What the server saw, pass by pass: requests, and how many carried validators."""
    seen = server.requests[since:]
    passes = []
    for start in range(0, len(seen), feeds):
        chunk = seen[start : start + feeds]
        validated = sum(
            1 for r in chunk if r.header("If-None-Match") or r.header("If-Modified-Since")
        )
        passes.append(f"{len(chunk)} requests/{validated} with validators")
    return "; ".join(passes)


def load() -> str:
    return " ".join(f"{n:.2f}" for n in os.getloadavg())


def table(rows: list[Step], feeds: int) -> None:
    print(
        f"{'reader':<9} {'refresh':<22} {'median s':>8} {'best s':>7} {'feeds/s':>8} "
        f"{'articles':>9} {'max RSS MB':>11} {'tree RSS MB':>12} {'exit':>5}"
    )
    for step in rows:
        last = step.runs[-1]
        print(
            f"{step.reader:<9} {step.kind:<22} {step.median:8.2f} {step.best:7.2f} "
            f"{feeds / step.median:8.0f} {last.articles:9d} "
            f"{max(r.max_rss_mb for r in step.runs):11.1f} "
            f"{max(r.tree_rss_mb for r in step.runs):12.1f} "
            f"{max((r.returncode for r in step.runs), key=abs):5d}"
        )
    if len(rows[0].runs) > 1:
        for step in rows:
            times = " ".join(f"{r.seconds:.2f}" for r in step.runs)
            print(f"  {step.reader} {step.kind}: {times}")


def compare(args: argparse.Namespace) -> int:
    feeds_dir = args.corpus / "feeds"
    if not feeds_dir.is_dir():
        sys.exit(f"feed corpus not found at {args.corpus} (set TERMNEWS_CORPUS or --corpus)")
    newsboat = None if args.no_newsboat else shutil.which("newsboat")
    with FeedServer() as server, tempfile.TemporaryDirectory(prefix="bench-refresh-") as tmp:
        work = Path(tmp)
        paths = server.serve_directory("/feeds/", feeds_dir)
        urls_file = work / "urls"
        urls_file.write_text("".join(server.url_for(p) + "\n" for p in paths))
        feeds = len(paths)
        size_mb = sum(p.stat().st_size for p in feeds_dir.iterdir() if p.is_file()) / 1e6
        print(f"corpus: {feeds} feeds, {size_mb:.1f} MB, served from {server.url}feeds/")
        print(f"{os.cpu_count()} cores, load average {load()} before")

        tn_repeats: list[list[Run]] = []
        nb_repeats: list[list[Run]] = []
        for _ in range(args.runs):
            mark = len(server.requests)
            tn_repeats.append(termnews_runs(urls_file, work))
            print(f"termnews server log: {requests_seen(server, mark, feeds)}")
            if newsboat:
                mark = len(server.requests)
                nb_repeats.append(newsboat_runs(newsboat, urls_file, work))
                print(f"newsboat server log: {requests_seen(server, mark, feeds)}")
        rows = steps("termnews", ["first", "conditional"], tn_repeats)
        tn_first, tn_cond = rows
        summary: dict[str, object] = {
            "feeds": feeds,
            "runs": args.runs,
            "termnews_first_s": round(tn_first.median, 3),
            "termnews_conditional_s": round(tn_cond.median, 3),
            "termnews_articles": tn_first.runs[-1].articles,
            "termnews_tree_rss_mb": round(max(r.tree_rss_mb for r in tn_first.runs), 1),
        }
        if newsboat:
            kinds = ["first", "second (no validators)", "third (conditional)"]
            nb_first, nb_second, nb_cond = steps("newsboat", kinds, nb_repeats)
            rows += [nb_first, nb_second, nb_cond]
            summary |= {
                "newsboat_first_s": round(nb_first.median, 3),
                "newsboat_second_s": round(nb_second.median, 3),
                "newsboat_conditional_s": round(nb_cond.median, 3),
                "newsboat_articles": nb_first.runs[-1].articles,
                "newsboat_tree_rss_mb": round(max(r.tree_rss_mb for r in nb_first.runs), 1),
                "ratio_first": round(tn_first.median / nb_first.median, 2),
                "ratio_conditional": round(tn_cond.median / nb_cond.median, 2),
                "ratio_first_best": round(tn_first.best / nb_first.best, 2),
                "ratio_conditional_best": round(tn_cond.best / nb_cond.best, 2),
            }
        print(f"{args.runs} run(s) each; load average {load()} after:")
        table(rows, feeds)
        if newsboat:
            print(
                "termnews/newsboat wall time (< 1: termnews is faster), median (best): "
                f"first {summary['ratio_first']} ({summary['ratio_first_best']}), "
                f"conditional {summary['ratio_conditional']} "
                f"({summary['ratio_conditional_best']}) against newsboat's third reload"
            )
        elif args.no_newsboat:
            print("newsboat: skipped (--no-newsboat)")
        else:
            print("newsboat is not installed: skipped (apt-get install newsboat to compare)")
        print("SUMMARY " + json.dumps(summary, separators=(",", ":")))
    return 0


# -- in-process profile --------------------------------------------------------------------


def profile(args: argparse.Namespace) -> int:
    from termnews.config import Paths, Settings
    from termnews.service import NewsService

    feeds_dir = args.corpus / "feeds"
    if not feeds_dir.is_dir():
        sys.exit(f"feed corpus not found at {args.corpus} (set TERMNEWS_CORPUS or --corpus)")
    with FeedServer() as server, tempfile.TemporaryDirectory(prefix="bench-profile-") as tmp:
        paths = server.serve_directory("/feeds/", feeds_dir)
        service = NewsService.open(Paths(Path(tmp) / "config.toml", Path(tmp)), Settings())
        try:
            for path in paths:
                service.subscribe(server.url_for(path))
            for kind in ("first", "conditional"):
                mark = len(server.requests)
                profiler = cProfile.Profile()
                started = time.perf_counter()
                report = profiler.runcall(asyncio.run, service.refresh(index=False))
                elapsed = time.perf_counter() - started
                outcomes = Counter(str(r.outcome) for r in report.results)
                print(f"== {kind} refresh: {elapsed:.2f} s under cProfile, {dict(outcomes)}")
                print(f"   server log: {requests_seen(server, mark, len(paths))}")
                pstats.Stats(profiler).sort_stats(args.sort).print_stats(args.top)
        finally:
            service.close()
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--runs", type=int, default=3, help="measure each side N times")
    parser.add_argument("--no-newsboat", action="store_true", help="termnews only")
    parser.add_argument("--profile", action="store_true", help="cProfile in this process")
    parser.add_argument("--sort", default="cumulative", help="pstats sort key (--profile)")
    parser.add_argument("--top", type=int, default=25, help="functions shown (--profile)")
    args = parser.parse_args()
    return profile(args) if args.profile else compare(args)


if __name__ == "__main__":
    sys.exit(main())
