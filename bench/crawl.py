"""Crawl throughput: pages/s and peak memory over N fixture pages on 127.0.0.1.

Runs the fixture broker web, registers a local source on its ``/bench/N/`` tree (every page a
10-row table and 10 links), and crawls it twice through the real launcher (one ``scrapy``
subprocess each): with WARC capture and storage on, then with both off. Peak memory is the
crawl process's own maximum RSS (``getrusage`` in the crawl), pages/s is pages over the
crawl's own wall time (Scrapy start-up excluded); the launcher's wall time is printed too.

    .venv/bin/python bench/crawl.py --pages 5000
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--pages", type=int, default=5000)
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
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    assert server.stdout is not None
    base = server.stdout.readline().strip().split(" on ", 1)[1].rstrip("/")
    from crawler.launch import add_source, run_crawl

    results = {}
    try:
        for label, on in (("capture+storage on", True), ("capture+storage off", False)):
            name = f"bench-{'on' if on else 'off'}"
            add_source(
                store,
                name,
                [f"{base}/bench/{a.pages}/"],
                actor="bench",
                is_local=True,
                options={"depth": 10, "page_limit": a.pages + 10},
            )
            t = time.perf_counter()
            r = run_crawl(
                store,
                name,
                actor="bench",
                evidence=on,
                storage=on,
                extra_settings={"ROBOTSTXT_OBEY": "False", "LOG_LEVEL": "WARNING"},
            )
            wall = time.perf_counter() - t
            s = r.summary
            if r.returncode != 0:
                raise SystemExit(f"{label}: crawl failed, see {r.log_path}")
            warc = s.warc_path
            results[label] = {
                "pages": s.pages,
                "records": s.records,
                "crawl_s": s.seconds,
                "pages_per_s": s.pages_per_s,
                "peak_rss_mb": s.peak_rss_mb,
                "wall_s_with_startup": round(wall, 2),
                "warc_mb": round(os.path.getsize(warc) / 1e6, 1) if warc else 0,
                "rows_stored": s.rows_new or 0,
            }
            print(label, json.dumps(results[label]), flush=True)
    finally:
        server.terminate()
        server.wait(timeout=10)
        store.close()
    on, off = results["capture+storage on"], results["capture+storage off"]
    print(
        f"\n{a.pages} pages on 127.0.0.1: {on['pages_per_s']} pages/s, {on['peak_rss_mb']} MB peak "
        f"with WARC capture and storage; {off['pages_per_s']} pages/s, {off['peak_rss_mb']} MB "
        f"without (capture+storage cost {on['crawl_s'] / off['crawl_s']:.2f}x the time)"
    )
    print(f"(database {url.split(':')[0]}, evidence in {home})")


if __name__ == "__main__":
    main()
