"""The `leakwatch` console script at its edges, as real processes: two writers at once,
Ctrl-C, a full disk, an unexpected error, file modes. Every ending is one line and an exit
status; nothing committed is lost."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from store.models import AuditEvent, Household, RunStatus, WatchlistPerson, WorkRun
from store.runtime import Store
from store.settings import Settings
from synth.csvio import write_csv
from synth.watchlist import WATCHLIST_COLUMNS, generate_watchlist


@pytest.fixture
def home_env(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A key file made by `init` (no LEAKWATCH_KEY), as an operator's shell would have."""
    monkeypatch.delenv("LEAKWATCH_KEY")
    values = {k: v for k, v in os.environ.items() if k != "LEAKWATCH_KEY"}
    assert _run(values, "init").returncode == 0
    return values


def _run(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "office", *args], env=env, capture_output=True, text=True,
        timeout=timeout, check=False,
    )  # fmt: skip


def _start(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "office", *args], env=env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip


def _watchlist(path: Path, persons: int) -> list[dict[str, str]]:
    rows = list(generate_watchlist(persons, 21))
    write_csv(rows, path, WATCHLIST_COLUMNS)
    return rows


def _counts() -> tuple[int, int]:
    store = Store.open(Settings())
    try:
        with store.sessions() as s:
            persons = s.scalar(select(func.count()).select_from(WatchlistPerson)) or 0
            households = s.scalar(select(func.count()).select_from(Household)) or 0
            return persons, households
    finally:
        store.close()


def _one_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    assert "Traceback" not in text
    return lines[-1]


def test_two_imports_at_once_both_end_cleanly(home_env: dict[str, str], tmp_path: Path) -> None:
    rows = _watchlist(tmp_path / "w.csv", 4000)
    procs = [_start(home_env, "import-watchlist", str(tmp_path / "w.csv")) for _ in range(2)]
    ended = [(p.wait(timeout=300), p.communicate()[1]) for p in procs]
    codes = sorted(code for code, _ in ended)
    assert codes in ([0, 0], [0, 2]), ended
    for code, err in ended:
        assert "Traceback" not in err and len(err) < 2000
        if code == 2:
            assert "another watchlist.import is running" in _one_line(err)
    assert _counts() == (len(rows), len({r["household_id"] for r in rows}))


def test_ctrl_c_during_an_import_is_recorded_and_a_rerun_finishes(
    home_env: dict[str, str], tmp_path: Path
) -> None:
    rows = _watchlist(tmp_path / "w.csv", 6000)
    proc = _start(home_env, "import-watchlist", str(tmp_path / "w.csv"))
    store = Store.open(Settings())
    try:
        # Wait until the import has committed something, then press Ctrl-C.
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and _counts()[0] == 0:
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 130
        assert "committed; run the same command again to resume" in _one_line(err)
        with store.sessions() as s:
            run = s.scalars(select(WorkRun).order_by(WorkRun.id)).first()
            assert run is not None and run.status == RunStatus.INTERRUPTED
            event = s.scalars(
                select(AuditEvent).where(AuditEvent.action == "watchlist.import.interrupted")
            ).one()
            assert event.details["inserted"] == run.counts["inserted"] > 0
        assert _run(home_env, "import-watchlist", str(tmp_path / "w.csv")).returncode == 0
        assert _counts()[0] == len(rows)
    finally:
        store.close()


def test_an_unexpected_error_is_one_line_and_a_private_log(
    home_env: dict[str, str], tmp_path: Path
) -> None:
    if not Settings().db_url.startswith("sqlite"):
        pytest.skip("breaks the SQLite file itself")
    db = Path(Settings().db_url.split("///", 1)[1])
    db.write_bytes(b"this is not a database" * 100)
    for name in ("-wal", "-shm"):
        Path(str(db) + name).unlink(missing_ok=True)
    result = _run(home_env, "audit", "verify")
    line = _one_line(result.stderr)
    assert result.returncode == 70 and "unexpected DatabaseError" in line
    log = Path(line.rsplit("the details are in ", 1)[1])
    assert log.stat().st_mode & 0o777 == 0o600 and "Traceback" in log.read_text()


def test_init_makes_the_data_private_and_warns_about_wider_modes(
    home_env: dict[str, str],
) -> None:
    settings = Settings()
    assert settings.home.stat().st_mode & 0o777 == 0o700
    if settings.db_url.startswith("sqlite"):
        db = Path(settings.db_url.split("///", 1)[1])
        assert db.stat().st_mode & 0o777 == 0o600
        db.chmod(0o644)
        warned = _run(home_env, "codes", "status")
        assert warned.returncode == 0 and f"{db} has mode 644" in warned.stderr


@pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("unshare") is None, reason="needs root to mount a tmpfs"
)
def test_a_full_disk_leaves_the_keys_undelivered(home_env: dict[str, str], tmp_path: Path) -> None:
    _watchlist(tmp_path / "w.csv", 3000)
    assert _run(home_env, "import-watchlist", str(tmp_path / "w.csv")).returncode == 0
    full = tmp_path / "full"
    full.mkdir()
    # A private mount namespace with an 8 KiB disk: the codes file cannot fit on it.
    script = (
        f"mount -t tmpfs -o size=8k tmpfs {full} && "
        f"{sys.executable} -m office codes export --out {full}/codes.csv"
    )
    result = subprocess.run(
        ["unshare", "-m", "sh", "-c", script], env=home_env, capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode != 0 and "No space left on device" in _one_line(result.stderr)
    status = _run(home_env, "codes", "status")
    pending = int(status.stdout.split()[0].replace(",", ""))
    assert pending == _counts()[1] > 0  # every key still waits: none was lost
    done = _run(home_env, "codes", "export", "--out", str(tmp_path / "codes.csv"))
    assert done.returncode == 0 and f"{pending:,} login keys written" in done.stdout


def test_serve_refuses_a_taken_port_and_production_with_demo_accounts(
    home_env: dict[str, str],
) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        busy = _run(home_env, "serve", "--port", port)
    assert busy.returncode == 2 and f"port {port} on 127.0.0.1 is taken" in _one_line(busy.stderr)
    env = home_env | {"LEAKWATCH_PASSWORD": "a long demo password"}
    assert _run(env, "user", "add", "demo-admin", "--role", "admin").returncode == 0
    refused = _run(env | {"LEAKWATCH_ENV": "production"}, "serve", "--port", port)
    line = _one_line(refused.stderr)
    assert refused.returncode == 2 and "demo accounts with printed passwords" in line
