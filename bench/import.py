"""Watchlist import benchmark: rows/s and peak memory for N synthetic rows on SQLite and
PostgreSQL, beside a read-and-validate-only baseline measured in the same run.

    .venv/bin/python bench/import.py [--rows 1000000] [--pg postgresql+psycopg://postgres@127.0.0.1/postgres]

Each import runs in a fresh process (a new database, a new key) so peak memory is its own;
the figure is the importer's peak plus its reader worker's peak.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def make_watchlist(rows: int, path: Path) -> float:
    from synth.watchlist import generate_watchlist, write_csv

    started = time.perf_counter()
    write_csv(generate_watchlist(rows, seed=7), path)
    return time.perf_counter() - started


def baseline(path: Path) -> dict[str, float]:
    """Read and validate only: the floor any import pays (no sealing, no database)."""
    from store.csv_input import CsvFile
    from store.watchlist_rows import validate

    started = time.perf_counter()
    n = 0
    with CsvFile(path) as source:
        for record in source.records():
            if not isinstance(record, tuple):
                validate(dict(zip(source.header, record.fields, strict=False)))
            n += 1
    seconds = time.perf_counter() - started
    return {"rows": n, "seconds": seconds, "rows_per_s": n / seconds}


def run_one(url: str, path: Path, home: Path) -> dict[str, float]:
    """Executed in a child process: migrate, import, import again (unchanged), report."""
    os.environ["LEAKWATCH_HOME"] = str(home)
    os.environ["DATABASE_URL"] = url
    from store.db import upgrade
    from store.keyring import KeyRing, MasterKey
    from store.runtime import Store
    from store.settings import Settings
    from store.watchlist_import import import_watchlist

    os.environ["LEAKWATCH_KEY"] = KeyRing((MasterKey.generate(),)).current.to_text()
    upgrade(url)
    store = Store.open(Settings())
    first = import_watchlist(store.sessions, store.vault, path, actor="bench")
    again = import_watchlist(store.sessions, store.vault, path, actor="bench")
    store.close()
    self_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    child_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    assert first.inserted == first.rows and again.unchanged == again.rows
    return {
        "rows": first.rows,
        "seconds": first.seconds,
        "rows_per_s": first.rows_per_second,
        "reimport_seconds": again.seconds,
        "reimport_rows_per_s": again.rows_per_second,
        "peak_mb_importer": self_peak,
        "peak_mb_reader": child_peak,
        "peak_mb_total": self_peak + child_peak,
    }


def spawn(url: str, path: Path, home: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", url, str(path), str(home)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    result: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    return result


def pg_database(server: str) -> tuple[str, str]:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"lw_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(make_url(server).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(server).set(database=name).render_as_string(hide_password=False), name


def drop_pg(server: str, name: str) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = create_engine(make_url(server).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--no-pg", action="store_true")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        url, path, home = args.child
        print(json.dumps(run_one(url, Path(path), Path(home))))
        return

    with tempfile.TemporaryDirectory(prefix="lw-bench-") as tmp:
        work = Path(tmp)
        csv_path = work / "watchlist.csv"
        gen_s = make_watchlist(args.rows, csv_path)
        size_mb = csv_path.stat().st_size / 1e6
        print(f"synthetic watchlist: {args.rows:,} rows, {size_mb:,.0f} MB, made in {gen_s:.1f} s")
        base = baseline(csv_path)
        print(f"baseline (read + validate only): {base['rows_per_s']:,.0f} rows/s")
        results = {"sqlite": spawn(f"sqlite:///{work / 'bench.db'}", csv_path, work / "h1")}
        if not args.no_pg:
            url, name = pg_database(args.pg)
            try:
                results["postgresql"] = spawn(url, csv_path, work / "h2")
            finally:
                drop_pg(args.pg, name)
        targets = {"sqlite": 180.0, "postgresql": 300.0}
        print()
        print(
            f"{'database':<11} {'rows':>10} {'seconds':>8} {'rows/s':>8} {'vs base':>8} "
            f"{'re-import rows/s':>17} {'peak MB':>8} {'target':>9}"
        )
        for db, r in results.items():
            # Targets are for 1,000,000 rows; scale for smaller runs.
            limit = targets[db] * r["rows"] / 1_000_000
            verdict = "OK" if r["seconds"] <= limit and r["peak_mb_total"] <= 500 else "MISSED"
            print(
                f"{db:<11} {r['rows']:>10,.0f} {r['seconds']:>8.1f} {r['rows_per_s']:>8,.0f} "
                f"{r['rows_per_s'] / base['rows_per_s']:>8.2f} {r['reimport_rows_per_s']:>17,.0f} "
                f"{r['peak_mb_total']:>8.0f} {verdict:>9}"
            )
            print(
                f"{'':<11} peak = importer {r['peak_mb_importer']:.0f} MB + reader "
                f"{r['peak_mb_reader']:.0f} MB; target ≤ {limit:.0f} s, ≤ 500 MB"
            )


if __name__ == "__main__":
    main()
