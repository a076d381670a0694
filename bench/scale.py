"""The watchlist at scale: build, save, load and serve N persons on this machine, measured.

    .venv/bin/python bench/scale.py                    # 1 M and 5 M persons
    .venv/bin/python bench/scale.py --persons 35000000 # the real watchlist's size (an hour+)

For each N: a synthetic watchlist of N persons is generated streaming to a CSV (kept for the
next run; ``--delete-csv`` removes it after the build), then, each as its own `leakwatch`
process measured by ``/usr/bin/time`` (peak RSS, as the issue measured) and by sampling the
process tree (peak proportional set size, helpers included):

1. build + save: ``leakwatch match --watchlist W.csv --listing (20 rows) --save-index W.idx``;
2. load + match: ``leakwatch match --index W.idx --listing (20 rows)``;
3. serve: ``leakwatch matcher serve --index W.idx`` until ready (load time, resident
   memory), then 10-row requests over one connection and over a new connection each
   (latency p50 / p99), and a 2,000-row listing in one request (precision, recall and F1
   against the synthetic truth: the same matcher at N persons, namesakes and all).

The listing rows are made from a contiguous slice of the watchlist (whole households) taken
from the middle of the file; the seed (default 2015) is not the one anything was tuned on.
Targets for 35 M persons: build within 12 GB, resident within 8 GB, load in 15 s, a 10-row
request's p99 under 100 ms.
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from matcher import Candidate  # noqa: E402
from store.keyring import MasterKey  # noqa: E402
from store.matcher_client import NotServing, ResidentClient  # noqa: E402
from store.matcher_wire import token_of  # noqa: E402
from synth.listing import generate_listing  # noqa: E402
from synth.watchlist import generate_watchlist, write_csv  # noqa: E402

# `leakwatch` with the `matcher` commands (registered here until office/cli.py lists them).
LEAKWATCH = [sys.executable, "-c", "from office import cli; "
             "cli.COMMANDS.setdefault('matcher', 'cli_matcher'); cli.main()"]  # fmt: skip
TARGETS_35M = {"build_gb": 12.0, "resident_gb": 8.0, "load_s": 15.0, "p99_ms": 100.0}
GB = 1e9


@dataclass
class Measured:
    """A child process's wall time, its peak RSS (/usr/bin/time) and the tree's peak PSS."""

    seconds: float = 0.0
    max_rss: float = 0.0
    tree_pss: float = 0.0
    output: str = ""


class TreeSampler(threading.Thread):
    """The peak proportional set size of a process and its descendants (PSS counts pages
    shared after a fork once, not once per process)."""

    def __init__(self, pid: int, every: float = 0.5) -> None:
        super().__init__(daemon=True)
        self.pid, self.every, self.peak = pid, every, 0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(self.every):
            try:
                root = psutil.Process(self.pid)
                procs = [root, *root.children(recursive=True)]
                total = sum(p.memory_full_info().pss for p in procs)
            except psutil.Error:
                continue
            self.peak = max(self.peak, total)


def run_measured(cmd: list[str], env: dict[str, str], work: Path) -> Measured:
    """``cmd`` run to its end under /usr/bin/time and the tree sampler."""
    stats = work / "time.txt"
    t = time.perf_counter()
    proc = subprocess.Popen(
        ["/usr/bin/time", "-f", "%M", "-o", str(stats), *cmd],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    sampler = TreeSampler(proc.pid)
    sampler.start()
    out, _ = proc.communicate()
    sampler.done.set()
    seconds = time.perf_counter() - t
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[3:])} failed:\n{out[-3000:]}")
    max_rss = float(stats.read_text().split()[-1]) * 1024
    return Measured(seconds, max_rss, float(sampler.peak), out)


def stage_seconds(output: str, stage: str) -> float:
    """A stage's time from `leakwatch match`'s summary ("time: load index │ 1.23 s")."""
    found = re.search(rf"time: {re.escape(stage)}\s*│\s*([0-9.]+) s", output)
    return float(found.group(1)) if found else float("nan")


# --- data ---------------------------------------------------------------------------------------


def watchlist_csv(n: int, seed: int, work: Path) -> tuple[Path, float]:
    """The watchlist CSV of ``n`` persons (generated streaming if missing), and seconds."""
    path = work / f"watchlist_{n}_{seed}.csv"
    if path.exists():
        return path, 0.0
    t = time.perf_counter()
    part = path.with_suffix(".csv.part")
    write_csv(generate_watchlist(n, seed), part)
    part.rename(path)
    return path, time.perf_counter() - t


def middle_slice(path: Path, rows: int) -> list[dict[str, str]]:
    """``rows`` consecutive watchlist rows from the middle of the file (whole households:
    the slice starts and ends at a household's edge)."""
    with path.open("rb") as fh:
        header = next(csv.reader([fh.readline().decode("utf-8")]))
        fh.seek(path.stat().st_size // 2)
        fh.readline()  # to the next record's start
        lines = [fh.readline().decode("utf-8") for _ in range(rows + 20)]
    found = list(csv.DictReader([ln for ln in lines if ln], fieldnames=header))
    edges = [i for i in range(1, len(found))
             if found[i]["household_id"] != found[i - 1]["household_id"]]  # fmt: skip
    return found[edges[0] : edges[-1]]


def listings(path: Path, seed: int, work: Path, n: int) -> tuple[Path, Path, list[dict[str, str]],
                                                                 list[dict[str, str]]]:  # fmt: skip
    """A 20-row listing file, a 2,000-row one, and the latter's rows and truth."""
    rows, truth = generate_listing(middle_slice(path, 30_000), 2000, seed + 7)
    small, big = work / f"listing20_{n}.csv", work / f"listing2000_{n}.csv"
    for target, part in ((small, rows[:20]), (big, rows)):
        with target.open("w", encoding="utf-8", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(part[0]))
            w.writeheader()
            w.writerows(part)
    return small, big, rows, truth


# --- the resident matcher -----------------------------------------------------------------------


@dataclass
class Served:
    ready_s: float = 0.0
    load_peak_pss: float = 0.0
    rss_ready: float = 0.0
    rss_after: float = 0.0
    kept: list[float] = field(default_factory=list)  # ms, one connection
    fresh: list[float] = field(default_factory=list)  # ms, a connection each
    quality: dict[str, float] = field(default_factory=dict)


def serve(index: Path, env: dict[str, str], key: bytes, rows: list[dict[str, str]],
          truth: list[dict[str, str]], requests: int) -> Served:  # fmt: skip
    sock = Path(env["LEAKWATCH_HOME"]) / "bench-matcher.sock"
    proc = subprocess.Popen([*LEAKWATCH, "matcher", "serve", "--index", str(index), "--socket",
                             str(sock)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)  # fmt: skip
    sampler = TreeSampler(proc.pid, every=0.2)
    sampler.start()
    out = Served()
    try:
        out.ready_s = wait_ready(f"unix:{sock}", token_of(key), proc)
        sampler.done.set()
        out.load_peak_pss = float(sampler.peak)
        out.rss_ready = float(psutil.Process(proc.pid).memory_info().rss)
        out.kept, out.fresh = latencies(f"unix:{sock}", token_of(key), rows, requests)
        with ResidentClient(f"unix:{sock}", token_of(key)) as client:
            result = client.match(rows)
        out.quality = quality(result.candidates, truth)
        out.rss_after = float(psutil.Process(proc.pid).memory_info().rss)
    finally:
        sampler.done.set()
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    return out


def wait_ready(address: str, token: bytes, proc: subprocess.Popen[bytes]) -> float:
    """Seconds from the service's start until it says it is ready."""
    t = time.perf_counter()
    while proc.poll() is None:
        try:
            with ResidentClient(address, token) as client:
                state = client.status()["state"]
            if state == "ready":
                return time.perf_counter() - t
            if state == "failed":
                raise SystemExit("the resident matcher failed to load the index")
        except NotServing:
            pass
        time.sleep(0.05)
    raise SystemExit("the resident matcher ended early")


def latencies(address: str, token: bytes, rows: list[dict[str, str]], requests: int
              ) -> tuple[list[float], list[float]]:  # fmt: skip
    """Milliseconds per 10-row request: over one kept connection, and connecting each time
    (as a crawl or `leakwatch match --server` does)."""
    batches = [rows[i : i + 10] for i in range(0, len(rows) - 9, 10)]
    kept: list[float] = []
    with ResidentClient(address, token) as client:
        for i in range(requests):
            t = time.perf_counter()
            client.match(batches[i % len(batches)])
            kept.append((time.perf_counter() - t) * 1000)
    fresh: list[float] = []
    for i in range(requests // 5):
        t = time.perf_counter()
        with ResidentClient(address, token) as client:
            client.match(batches[(i * 7) % len(batches)])
        fresh.append((time.perf_counter() - t) * 1000)
    return kept, fresh


def quality(candidates: list[Candidate], truth: list[dict[str, str]]) -> dict[str, float]:
    want = {t["row_id"]: t["record_id"] for t in truth if t["kind"] == "positive"}
    pred = {c.row_id: c.record_id for c in candidates if c.decision == "match"}
    tp = sum(want.get(r) == rec for r, rec in pred.items())
    p, r = tp / max(len(pred), 1), tp / max(len(want), 1)
    return {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0}


def pct(values: list[float], q: float) -> float:
    return (
        statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]
        if len(values) > 1
        else values[0]
    )


# --- one size -----------------------------------------------------------------------------------


def one_size(n: int, args: argparse.Namespace, key: MasterKey) -> dict[str, float]:
    work: Path = args.work
    env = {**os.environ, "LEAKWATCH_KEY": key.to_text(), "LEAKWATCH_HOME": str(work / "home"),
           "COLUMNS": "200", "LEAKWATCH_MATCHER": "off"}  # fmt: skip
    (work / "home").mkdir(mode=0o700, parents=True, exist_ok=True)
    wl, gen_s = watchlist_csv(n, args.seed, work)
    small, _, rows, truth = listings(wl, args.seed, work, n)
    idx = work / f"watchlist_{n}_{args.seed}.idx"
    print(
        f"\n== {n:,} persons (CSV {wl.stat().st_size / GB:.2f} GB"
        + (f", generated in {gen_s:.0f} s" if gen_s else "")
        + ")",
        flush=True,
    )
    build = run_measured(
        [
            *LEAKWATCH,
            "match",
            "--watchlist",
            str(wl),
            "--listing",
            str(small),
            "--out",
            str(work / "m20.csv"),
            "--save-index",
            str(idx),
        ],
        env,
        work,
    )
    print(f"  build + save: {build.seconds:.0f} s, peak RSS {build.max_rss / GB:.2f} GB "
          f"(tree PSS {build.tree_pss / GB:.2f} GB), index file {idx.stat().st_size / GB:.2f} "
          f"GB", flush=True)  # fmt: skip
    if args.delete_csv:
        wl.unlink()
    load = run_measured([*LEAKWATCH, "match", "--index", str(idx), "--listing", str(small),
                         "--out", str(work / "m20i.csv")], env, work)  # fmt: skip
    load_s = stage_seconds(load.output, "load index")
    print(f"  load + match (20 rows): {load.seconds:.1f} s (load {load_s:.1f} s), peak RSS "
          f"{load.max_rss / GB:.2f} GB", flush=True)  # fmt: skip
    s = serve(idx, env, key.index_key, rows, truth, args.requests)
    print(
        f"  serve: ready in {s.ready_s:.1f} s, RSS {s.rss_ready / GB:.2f} GB ready, "
        f"{s.rss_after / GB:.2f} GB after {args.requests + args.requests // 5 + 1} "
        f"requests (peak PSS while loading {s.load_peak_pss / GB:.2f} GB)",
        flush=True,
    )
    print(f"  10-row requests: one connection p50 {pct(s.kept, 50):.1f} ms, p99 "
          f"{pct(s.kept, 99):.1f} ms, max {max(s.kept):.1f} ms ({len(s.kept)}); a connection "
          f"each p50 {pct(s.fresh, 50):.1f} ms, p99 {pct(s.fresh, 99):.1f} ms "
          f"({len(s.fresh)})", flush=True)  # fmt: skip
    q = s.quality
    print(
        f"  2,000-row listing against {n:,} persons: P {q['precision']:.4f} R "
        f"{q['recall']:.4f} F1 {q['f1']:.4f}",
        flush=True,
    )
    return {"persons": n, "build_s": build.seconds, "build_rss": build.max_rss,
            "build_pss": build.tree_pss, "index_bytes": float(idx.stat().st_size),
            "load_s": load_s, "load_rss": load.max_rss, "ready_s": s.ready_s,
            "resident_rss": max(s.rss_ready, s.rss_after), "p50": pct(s.kept, 50),
            "p99": pct(s.kept, 99), "p99_fresh": pct(s.fresh, 99), **q}  # fmt: skip


def report(results: list[dict[str, float]]) -> None:
    print("\n== summary (bytes per person; at 35 M, measured or projected linearly)")
    print(
        f"{'persons':>12}{'build GB':>10}{'B/p':>6}{'resident GB':>12}{'B/p':>6}"
        f"{'load s':>8}{'p50 ms':>8}{'p99 ms':>8}{'index GB':>10}{'F1':>8}"
    )
    for r in results:
        n = r["persons"]
        print(
            f"{int(n):>12,}{r['build_rss'] / GB:>10.2f}{r['build_rss'] / n:>6.0f}"
            f"{r['resident_rss'] / GB:>12.2f}{r['resident_rss'] / n:>6.0f}"
            f"{r['ready_s']:>8.1f}{r['p50']:>8.1f}{r['p99']:>8.1f}"
            f"{r['index_bytes'] / GB:>10.2f}{r['f1']:>8.4f}"
        )
    at = {k: at_35m(results, k) for k in ("build_rss", "resident_rss", "ready_s")}
    top = max(results, key=lambda r: r["persons"])
    t = TARGETS_35M
    basis = (
        "measured"
        if top["persons"] == 35e6
        else ("projected from the two largest runs: their bytes and seconds per extra person")
    )
    print(
        f"  at 35 M ({basis}): build {at['build_rss'] / GB:.1f} GB (target {t['build_gb']}),"
        f" resident {at['resident_rss'] / GB:.1f} GB (target {t['resident_gb']}), load "
        f"{at['ready_s']:.1f} s (target {t['load_s']}); p99 of a 10-row request "
        f"{top['p99']:.1f} ms at {int(top['persons']):,} (target {t['p99_ms']:.0f})"
    )


def at_35m(results: list[dict[str, float]], key: str) -> float:
    """``key`` at 35 M persons: measured, or extended along the line through the two
    largest runs (one run: proportionally)."""
    runs = sorted(results, key=lambda r: r["persons"])
    if runs[-1]["persons"] == 35e6 or len(runs) == 1:
        return runs[-1][key] * 35e6 / runs[-1]["persons"]
    a, b = runs[-2], runs[-1]
    slope = (b[key] - a[key]) / (b["persons"] - a["persons"])
    return b[key] + slope * (35e6 - b["persons"])


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--persons", type=int, nargs="+", default=[1_000_000, 5_000_000])
    ap.add_argument("--seed", type=int, default=2015)
    ap.add_argument("--requests", type=int, default=500, help="10-row requests to time")
    ap.add_argument("--work", type=Path, default=ROOT / "var" / "bench-scale")
    ap.add_argument("--delete-csv", action="store_true", help="remove each CSV once built")
    return ap.parse_args()


def main() -> None:
    args = parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    print(
        f"machine: {os.cpu_count()} cores, {psutil.virtual_memory().total / GB:.0f} GB, "
        f"load {', '.join(f'{x:.1f}' for x in os.getloadavg())}",
        flush=True,
    )
    key = MasterKey.generate()
    results = [one_size(n, args, key) for n in args.persons]
    report(results)


if __name__ == "__main__":
    main()
