"""Crawl throughput: pages/s and peak memory over N fixture pages on 127.0.0.1.

Runs the fixture broker web, registers local sources on its ``/bench/N/`` tree (every page a
10-row table and 10 links), and crawls it twice through the real launcher (one ``scrapy``
subprocess each): with WARC capture and storage on, then with both off. Then a JavaScript
crawl (a source marked ``--javascript``) of ``/jsbench/M/``, whose pages are empty until their
script builds the table and the links, rendered in headless Chromium with capture and storage
on.

Peak memory of the plain crawls is the crawl process's own maximum RSS (``getrusage`` in the
crawl); for the JavaScript crawl also the peak of the crawl process and all its children
(Playwright's driver, Chromium's processes) summed as PSS (shared pages counted once, in
shares), sampled every 0.1 s with psutil.
Pages/s is pages over the crawl's own wall time (Scrapy start-up excluded); the launcher's
wall time is printed too.

    .venv/bin/python bench/crawl.py --pages 5000 --js-pages 300
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any


def _tree_rss_mb(root: Any) -> float:
    """Memory (PSS) of the crawl processes among ``root``'s children, with all their descendants
    (Playwright's driver, Chromium's processes); the fixture server is not counted."""
    import psutil

    total = 0
    for child in root.children():
        with contextlib.suppress(psutil.Error):
            if "scrapy" not in " ".join(child.cmdline()):
                continue
            for proc in [child, *child.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):
                    # PSS: Chromium's processes share most of their pages; RSS would count
                    # them once per process
                    total += proc.memory_full_info().pss
    return total / 1e6


class TreePeak:
    """Samples the RSS of this process's descendants until stopped; keeps the peak."""

    def __init__(self) -> None:
        import psutil

        self.root = psutil.Process()
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> TreePeak:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            self.peak = max(self.peak, _tree_rss_mb(self.root))


def _crawl(store: Any, name: str, url: str, *, on: bool, js: bool, pages: int) -> dict[str, Any]:
    from crawler.launch import add_source, run_crawl

    options: dict[str, Any] = {"depth": 10, "page_limit": pages + 10}
    if js:
        options["javascript"] = True
    add_source(store, name, [url], actor="bench", is_local=True, options=options)
    t = time.perf_counter()
    with TreePeak() as tree:
        r = run_crawl(
            store, name, actor="bench", evidence=on, storage=on,
            extra_settings={"ROBOTSTXT_OBEY": "False", "LOG_LEVEL": "WARNING"},
        )  # fmt: skip
    wall = time.perf_counter() - t
    s = r.summary
    if r.returncode != 0 or s.error:
        raise SystemExit(f"{name}: crawl failed ({s.error}), see {r.log_path}")
    warc = s.warc_path
    out = {
        "pages": s.pages, "records": s.records, "crawl_s": s.seconds,
        "pages_per_s": s.pages_per_s, "peak_rss_mb": s.peak_rss_mb,
        "wall_s_with_startup": round(wall, 2),
        "warc_mb": round(os.path.getsize(warc) / 1e6, 1) if warc else 0,
        "rows_stored": s.rows_new or 0,
    }  # fmt: skip
    if js:
        out["rendered"] = s.rendered
        out["rendered_per_s"] = round(s.rendered / s.seconds, 1) if s.seconds else 0.0
        out["peak_pss_mb_with_browser"] = round(tree.peak, 1)
        out["render_errors"] = len(s.render_errors)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--pages", type=int, default=5000)
    p.add_argument("--js-pages", type=int, default=300, help="0: no JavaScript crawl")
    p.add_argument("--database-url", default="", help="default: a SQLite file in a temp folder")
    a = p.parse_args()

    from store.db import upgrade
    from store.keyring import KeyRing, MasterKey
    from store.runtime import Store
    from store.settings import Settings

    home = Path(tempfile.mkdtemp(prefix="lw-bench-crawl-"))
    url = a.database_url or f"sqlite:///{home / 'leakwatch.db'}"
    upgrade(url)
    key = KeyRing((MasterKey.generate(),)).current.to_text()
    store = Store.open(Settings(leakwatch_home=home, database_url=url, leakwatch_key=key))
    server = subprocess.Popen(
        [sys.executable, "-m", "synth.broker_web", "--port", "0"],
        stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parent.parent,
    )  # fmt: skip
    assert server.stdout is not None
    base = server.stdout.readline().strip().split(" on ", 1)[1].rstrip("/")
    runs = [
        ("capture+storage on", f"{base}/bench/{a.pages}/", True, False, a.pages),
        ("capture+storage off", f"{base}/bench/{a.pages}/", False, False, a.pages),
    ]
    if a.js_pages:
        runs.append(("javascript, capture+storage on", f"{base}/jsbench/{a.js_pages}/", True,
                     True, a.js_pages))  # fmt: skip
    results = {}
    try:
        for n, (label, start, on, js, pages) in enumerate(runs):
            results[label] = _crawl(store, f"bench-{n}", start, on=on, js=js, pages=pages)
            print(label, json.dumps(results[label]), flush=True)
    finally:
        server.terminate()
        server.wait(timeout=10)
        store.close()
    _print(a, results, url, home)


def _print(a: argparse.Namespace, results: dict[str, dict[str, Any]], url: str, home: Path) -> None:
    on, off = results["capture+storage on"], results["capture+storage off"]
    print(
        f"\n{a.pages} pages on 127.0.0.1: {on['pages_per_s']} pages/s, {on['peak_rss_mb']} MB peak "
        f"with WARC capture and storage; {off['pages_per_s']} pages/s, {off['peak_rss_mb']} MB "
        f"without (capture+storage cost {on['crawl_s'] / off['crawl_s']:.2f}x the time)"
    )
    js = results.get("javascript, capture+storage on")
    if js:
        print(
            f"{a.js_pages} script-rendered pages in headless Chromium: {js['rendered_per_s']} "
            f"pages/s rendered ({js['pages_per_s']} responses/s), {js['peak_rss_mb']} MB peak "
            f"in the crawl process, {js['peak_pss_mb_with_browser']} MB (PSS) with the "
            f"browser's processes"
        )
    print(f"(database {url.split(':')[0]}, evidence in {home})")


if __name__ == "__main__":
    main()
