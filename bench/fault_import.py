"""Fault injection: a watchlist import killed at random moments, then run to the end.

    .venv/bin/python bench/fault_import.py [--persons 50000] [--kills 10] [--seed 1]
        [--pg postgresql+psycopg://postgres@127.0.0.1:5432/postgres]

Runs `leakwatch import-watchlist W.csv --codes-out codes-N.csv` as a real process, kills it
with SIGKILL at random moments (and once with SIGINT), re-runs it after each, and finally
lets it finish. Then checks, against the file and every codes file written: persons and
households exactly as in the file (every sealed value equal to its row), every household
holding exactly one login key that some codes export delivered, no key left undelivered,
the audit chain intact, and an `interrupted` event for each killed run that had started.
Prints the counts. Without --pg it runs on SQLite; with --pg, on a throwaway database of
that server (and on SQLite too). The test suite runs the same code on a small file.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


@dataclass
class Report:
    database: str
    persons: int
    households: int
    signals: Counter[str] = field(default_factory=Counter)  # what each signal met
    phases: Counter[str] = field(default_factory=Counter)  # where each killed process was
    killed_pids: list[int] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    interrupted_events: int = 0
    interrupted_runs: int = 0
    codes_files: int = 0
    keys_delivered: int = 0
    audit_events: int = 0
    seconds: float = 0.0

    def lines(self) -> list[str]:
        return [
            f"{self.database}: {self.persons:,} persons, {self.households:,} households",
            "signals: " + ", ".join(f"{k} {v}" for k, v in sorted(self.signals.items())),
            "killed: " + ", ".join(f"{k} {v}" for k, v in sorted(self.phases.items())),
            f"runs recorded interrupted: {self.interrupted_runs} "
            f"(audit events: {self.interrupted_events})",
            f"codes files: {self.codes_files}, keys delivered: {self.keys_delivered:,}",
            f"audit chain: {self.audit_events:,} events, "
            + ("intact" if not any("audit" in p for p in self.problems) else "BROKEN"),
            "result: " + ("exact" if not self.problems else "; ".join(self.problems[:5])),
            f"time: {self.seconds:.0f} s",
        ]


def _env(home: Path, url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "LEAKWATCH_KEY"}
    env.update(LEAKWATCH_HOME=str(home), DATABASE_URL=url, PYTHONPATH=str(ROOT))
    return env


def _leakwatch(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "office", *args], env=env, cwd=ROOT,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def _import(env: dict[str, str], watchlist: Path, codes: Path) -> subprocess.Popen[str]:
    return _leakwatch(env, "import-watchlist", str(watchlist), "--codes-out", str(codes))


def _started(url: str, proc: subprocess.Popen[str], rows: int = 0, timeout: float = 120) -> float:
    """Wait until ``proc`` has begun its import run and committed at least ``rows`` rows (or
    has ended); the seconds waited."""
    from sqlalchemy import create_engine, select

    from store.models import WorkRun

    engine = create_engine(url)
    t = time.perf_counter()
    try:
        while proc.poll() is None and time.perf_counter() - t < timeout:
            with engine.connect() as conn:
                counts = conn.execute(
                    select(WorkRun.counts).where(WorkRun.pid == proc.pid)
                ).scalar()
            if counts is not None and counts.get("rows", 0) >= rows:
                break
            time.sleep(0.02)
    finally:
        engine.dispose()
    return time.perf_counter() - t


def _kill_at(proc: subprocess.Popen[str], delay: float, sig: signal.Signals) -> str:
    try:
        proc.wait(timeout=delay)
        return "ended before the signal"
    except subprocess.TimeoutExpired:
        children = psutil.Process(proc.pid).children(recursive=True)
        proc.send_signal(sig)
    if sig == signal.SIGINT:
        _, err = proc.communicate(timeout=120)
        # 130 when it stopped the work; 0 when the work was already done.
        ok = proc.returncode in (0, 130) and "Traceback" not in err
        return (f"SIGINT, clean exit {proc.returncode}" if ok else
                f"SIGINT, exit {proc.returncode}: {err[-200:]}")  # fmt: skip
    proc.wait(timeout=60)
    # Its reader process must notice and end too, not wait for ever on a full queue.
    _, alive = psutil.wait_procs(children, timeout=10)
    for orphan in alive:
        orphan.kill()
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    proc.stderr.close()
    return f"SIGKILL, {len(alive)} orphans left" if alive else "SIGKILL"


def run_experiment(
    home: Path,
    url: str,
    persons: int,
    kills: int,
    seed: int,
    label: str,
    batch: int = 2000,
    first_at_rows: int = 0,
) -> Report:
    """The whole experiment on one database (see the module docstring); ``batch`` rows per
    import transaction (small ones give a small file many moments to be killed at). With
    ``first_at_rows``, the first kill waits for that many rows committed instead of a
    random time (so that at least one kill surely lands in the middle of the import)."""
    from synth.csvio import write_csv
    from synth.watchlist import WATCHLIST_COLUMNS, generate_watchlist

    started = time.perf_counter()
    rng = random.Random(seed)
    env = _env(home, url) | {"IMPORT_BATCH_SIZE": str(batch)}
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    watchlist = home / "watchlist.csv"
    rows = list(generate_watchlist(persons, seed))
    write_csv(rows, watchlist, WATCHLIST_COLUMNS)
    init = _leakwatch(env, "init")
    if init.wait(timeout=120) != 0:
        raise RuntimeError(f"init failed: {init.communicate()[1]}")
    work = _timed_import(env, home, watchlist)
    report = Report(label, persons, len({r["household_id"] for r in rows}))
    codes = [home / "codes-0.csv"]
    sigint_at = rng.randrange(kills + 1)
    for n in range(kills + 1):
        sig = signal.SIGINT if n == sigint_at else signal.SIGKILL
        codes.append(home / f"codes-{n + 1}.csv")
        proc = _import(env, watchlist, codes[-1])
        # A random moment of the import's own work (start-up takes most of a small one).
        if n == 0 and first_at_rows:
            _started(url, proc, rows=first_at_rows)
            delay = 0.0
        else:
            _started(url, proc)
            delay = rng.uniform(0, work)
        report.signals[_kill_at(proc, delay, sig)] += 1
        report.killed_pids.append(proc.pid)
    codes.append(home / "codes-final.csv")
    last = _import(env, watchlist, codes[-1])
    _, err = last.communicate(timeout=600)
    if last.returncode != 0:
        report.problems.append(f"final import exit {last.returncode}: {err[-300:]}")
    _check(env, rows, [c for c in codes if c.exists()], report)
    report.seconds = time.perf_counter() - started
    return report


def _timed_import(env: dict[str, str], home: Path, watchlist: Path) -> float:
    """Seconds the work of an uninterrupted import takes here (its runs' own times, without
    start-up and exit), on a scratch SQLite store beside the real one."""
    from sqlalchemy import create_engine, func, select

    from store.models import WorkRun

    scratch = home / "scratch"
    url = f"sqlite:///{scratch / 'leakwatch.db'}"
    scratch_env = dict(env, LEAKWATCH_HOME=str(scratch), DATABASE_URL=url)
    _leakwatch(scratch_env, "init").wait(timeout=120)
    proc = _leakwatch(scratch_env, "import-watchlist", str(watchlist), "--codes-out",
                      str(scratch / "codes.csv"))  # fmt: skip
    proc.communicate(timeout=600)
    if proc.returncode != 0:
        raise RuntimeError(f"the calibration import failed: exit {proc.returncode}")
    engine = create_engine(url)
    with engine.connect() as conn:
        began, ended = conn.execute(
            select(func.min(WorkRun.started_at), func.max(WorkRun.finished_at))
        ).one()
    engine.dispose()
    return max(0.05, (ended - began).total_seconds())


def _check(env: dict[str, str], rows: list[dict[str, str]], codes: list[Path], report: Report
           ) -> None:  # fmt: skip
    os.environ.update(LEAKWATCH_HOME=env["LEAKWATCH_HOME"], DATABASE_URL=env["DATABASE_URL"])
    os.environ.pop("LEAKWATCH_KEY", None)
    from store.runtime import Store
    from store.settings import load_settings

    store = Store.open(load_settings())
    try:
        _check_persons(store, rows, report)
        _check_keys(store, codes, report)
        _check_audit(store, report)
    finally:
        store.close()


def _check_persons(store: object, rows: list[dict[str, str]], report: Report) -> None:
    from sqlalchemy import select

    from store.models import Household, WatchlistPerson
    from store.runtime import Store
    from store.sealed import PERSON_PII

    assert isinstance(store, Store)
    with store.sessions() as s:
        stored = {
            ref: (hh, store.vault.open_json(pii, PERSON_PII))
            for ref, hh, pii in s.execute(
                select(
                    WatchlistPerson.record_ref, Household.household_ref, WatchlistPerson.pii
                ).join(Household, Household.id == WatchlistPerson.household_id)
            )
        }
    if len(stored) != len(rows):
        report.problems.append(f"{len(stored)} persons stored, {len(rows)} in the file")
    for row in rows:
        got = stored.get(row["record_id"])
        if (
            got is None
            or got[0] != row["household_id"]
            or any(got[1].get(k, "") != row[k] for k in ("name", "address", "phone", "birthdate"))
        ):
            report.problems.append(f"record {row['record_id']} missing or different")
            return


def _check_keys(store: object, codes: list[Path], report: Report) -> None:
    from sqlalchemy import select

    from store.codes import check_login_key
    from store.codes_delivery import undelivered
    from store.models import Household
    from store.runtime import Store

    assert isinstance(store, Store)
    issued: dict[str, set[str]] = {}
    for path in codes:
        with open(path, encoding="utf-8") as handle:
            for line in csv.DictReader(handle):
                issued.setdefault(line["household_id"], set()).add(line["login_key"])
    report.codes_files = len(codes)
    report.keys_delivered = len(issued)
    with store.sessions() as s:
        pending = undelivered(s)
        households = s.execute(
            select(Household.household_ref, Household.login_key_salt, Household.login_key_hash)
        ).all()
    if pending:
        report.problems.append(f"{pending} keys never delivered")
    for ref, salt, digest in households:
        keys = issued.get(ref, set())
        if len(keys) != 1 or not check_login_key(next(iter(keys)), salt, digest):
            report.problems.append(f"household {ref}: {len(keys)} keys delivered, or a bad one")
            return
    if len(households) != report.households:
        report.problems.append(f"{len(households)} households stored, {report.households} in file")


def _check_audit(store: object, report: Report) -> None:
    from sqlalchemy import func, select

    from store import audit
    from store.models import AuditEvent, RunKind, RunStatus, WorkRun
    from store.runtime import Store

    assert isinstance(store, Store)
    with store.sessions() as s:
        chain = audit.verify(s)
        report.audit_events = chain.events
        if not chain.ok:
            report.problems.append(f"audit chain broken: {chain.problem}")
        report.interrupted_runs = s.scalar(
            select(func.count()).where(WorkRun.kind == RunKind.IMPORT,
                                       WorkRun.status == RunStatus.INTERRUPTED)
        ) or 0  # fmt: skip
        report.interrupted_events = (
            s.scalar(
                select(func.count()).where(AuditEvent.action == "watchlist.import.interrupted")
            )
            or 0
        )
        running = s.scalar(select(func.count()).where(WorkRun.status == RunStatus.RUNNING)) or 0
        for pid in report.killed_pids:
            report.phases[_phase(s, pid)] += 1
    if report.interrupted_events != report.interrupted_runs:
        report.problems.append("an interrupted import run has no audit event")
    if running:
        report.problems.append(f"{running} runs still marked running")


def _phase(session: object, pid: int) -> str:
    """Where the process ``pid`` was when it was stopped, from the runs it recorded."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from store.models import RunKind, RunStatus, WorkRun

    assert isinstance(session, Session)
    runs = {kind: status for kind, status in session.execute(
        select(WorkRun.kind, WorkRun.status).where(WorkRun.pid == pid))}  # fmt: skip
    if not runs:
        return "before the import began"
    if runs.get(RunKind.IMPORT) == RunStatus.INTERRUPTED:
        return "during the import"
    if runs.get(RunKind.CODES_EXPORT) == RunStatus.INTERRUPTED:
        return "during the codes export"
    return "after it finished"


def _postgres(server: str) -> Any:
    from store.db import throwaway_database

    return throwaway_database(server, "lw_bench")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--persons", type=int, default=50_000)
    p.add_argument("--kills", type=int, default=10)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--pg", help="PostgreSQL server URL (a throwaway database is made there)")
    args = p.parse_args()
    failed = False
    with tempfile.TemporaryDirectory(prefix="lw-fault-") as tmp:
        home = Path(tmp) / "sqlite"
        report = run_experiment(home, f"sqlite:///{home / 'leakwatch.db'}", args.persons,
                                args.kills, args.seed, "SQLite")  # fmt: skip
        print("\n".join(report.lines()), flush=True)
        failed |= bool(report.problems)
        if args.pg:
            with _postgres(args.pg) as url:
                report = run_experiment(Path(tmp) / "pg", url, args.persons, args.kills,
                                        args.seed + 1, "PostgreSQL")  # fmt: skip
            print("\n".join(report.lines()), flush=True)
            failed |= bool(report.problems)
    raise SystemExit(1 if failed else 0)


if __name__ == "__main__":
    main()
