"""The `leakwatch` command line, run in-process against a real database."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from typer.testing import CliRunner

from office.cli import app
from store.keyring import read_key_file
from store.models import WatchlistPerson
from store.runtime import Store
from store.settings import Settings
from tests.samples import ROWS, write_csv

runner = CliRunner()


@pytest.fixture
def file_key_env(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Key in the key file made by `init`, not in the environment."""
    monkeypatch.delenv("LEAKWATCH_KEY")
    return env


def _notices() -> list[tuple[str, str]]:
    """The demo store's letters (status, kind), through the store of the environment."""
    from store.models import Notice

    store = Store.open(Settings())
    try:
        with store.sessions() as s:
            return [(n.status.value, n.kind.value) for n in s.scalars(select(Notice))]
    finally:
        store.close()


def _persons() -> int:
    store = Store.open(Settings())
    try:
        with store.sessions() as s:
            return s.scalar(select(func.count()).select_from(WatchlistPerson)) or 0
    finally:
        store.close()


def test_init_creates_a_private_key_once(file_key_env: dict[str, str]) -> None:
    first = runner.invoke(app, ["init"])
    assert first.exit_code == 0, first.output
    key_file = Path(file_key_env["LEAKWATCH_HOME"]) / "leakwatch.key"
    assert os.stat(key_file).st_mode & 0o777 == 0o600
    key = key_file.read_bytes()
    again = runner.invoke(app, ["init"])
    assert again.exit_code == 0 and "kept" in again.output
    assert key_file.read_bytes() == key


def test_import_reports_and_rejects(file_key_env: dict[str, str], tmp_path: Path) -> None:
    runner.invoke(app, ["init"])
    path = write_csv(tmp_path / "w.csv", [*ROWS, ROWS[0] | {"record_id": "P9", "birthdate": "x"}])
    result = runner.invoke(
        app, ["import-watchlist", str(path), "--codes-out", str(tmp_path / "c.csv")]
    )
    assert result.exit_code == 0, result.output
    assert (
        "inserted" in result.output and "line 7" in result.output and "birthdate" in result.output
    )
    assert _persons() == 5
    with open(tmp_path / "c.csv", encoding="utf-8") as handle:
        assert len(list(csv.DictReader(handle))) == 2


def test_import_of_a_missing_or_broken_file_is_a_clean_error(
    file_key_env: dict[str, str], tmp_path: Path
) -> None:
    runner.invoke(app, ["init"])
    missing = runner.invoke(app, ["import-watchlist", str(tmp_path / "nope.csv")])
    assert missing.exit_code == 2 and "cannot open" in missing.output
    assert "Traceback" not in missing.output
    binary = tmp_path / "photo.csv"
    binary.write_bytes(bytes(range(256)) * 100)
    broken = runner.invoke(app, ["import-watchlist", str(binary)])
    assert broken.exit_code == 2 and "photo.csv" in broken.output


def test_no_key_is_a_clean_error(file_key_env: dict[str, str], tmp_path: Path) -> None:
    from store.db import upgrade

    upgrade(Settings().db_url)
    result = runner.invoke(app, ["import-watchlist", str(write_csv(tmp_path / "w.csv", ROWS))])
    assert result.exit_code == 2 and "leakwatch init" in result.output


def test_audit_verify_passes_then_catches_tampering(
    file_key_env: dict[str, str], tmp_path: Path
) -> None:
    runner.invoke(app, ["init"])
    runner.invoke(app, ["import-watchlist", str(write_csv(tmp_path / "w.csv", ROWS))])
    ok = runner.invoke(app, ["audit", "verify"])
    assert ok.exit_code == 0 and "intact: 2 events" in ok.output  # import started, finished
    store = Store.open(Settings())
    with store.engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.execute(text("DROP TRIGGER audit_event_no_update"))
        else:
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text("UPDATE audit_event SET actor = 'someone' WHERE seq = 1"))
    store.close()
    bad = runner.invoke(app, ["audit", "verify"])
    assert bad.exit_code == 1 and "event 1" in bad.output


def test_rotate_key_with_key_file(file_key_env: dict[str, str], tmp_path: Path) -> None:
    runner.invoke(app, ["init"])
    runner.invoke(app, ["import-watchlist", str(write_csv(tmp_path / "w.csv", ROWS))])
    key_file = Path(file_key_env["LEAKWATCH_HOME"]) / "leakwatch.key"
    before = read_key_file(key_file).current.key_id
    result = runner.invoke(app, ["rotate-key"])
    assert result.exit_code == 0, result.output
    # 5 persons and the login keys of 2 households not delivered yet
    assert "7 values re-sealed" in " ".join(result.output.split())
    assert "back up the new key now" in " ".join(result.output.split())
    after = read_key_file(key_file)
    assert len(after.keys) == 1 and after.current.key_id != before
    reimport = runner.invoke(app, ["import-watchlist", str(tmp_path / "w.csv")])
    assert "unchanged" in reimport.output and _persons() == 5


def test_rotate_key_with_env_key_needs_a_file(env: dict[str, str], tmp_path: Path) -> None:
    runner.invoke(app, ["init"])
    refused = runner.invoke(app, ["rotate-key"])
    assert refused.exit_code == 2 and "--new-key-file" in refused.output
    new_file = tmp_path / "new.key"
    done = runner.invoke(app, ["rotate-key", "--new-key-file", str(new_file)])
    assert done.exit_code == 0, done.output
    assert os.stat(new_file).st_mode & 0o777 == 0o600


def test_config_hides_the_key_and_lists_every_setting(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from office.console import console

    monkeypatch.setattr(console, "width", 250)  # names are never cut short ("…") here
    result = runner.invoke(app, ["config"])
    assert result.exit_code == 0
    assert env["LEAKWATCH_KEY"] not in result.output and "(hidden)" in result.output
    for name in Settings.model_fields:  # LEAKWATCH_NATIVE and XDG_CACHE_HOME included
        assert name.upper() in result.output, name


def test_every_command_explains_itself() -> None:
    for args in (
        ["--help"],
        ["init", "--help"],
        ["import-watchlist", "--help"],
        ["audit", "verify", "--help"],
        ["rotate-key", "--help"],
        ["synth", "--help"],
        ["demo", "--help"],
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == 0 and "Usage" in result.output, args


def test_demo_runs_as_a_real_process(file_key_env: dict[str, str]) -> None:
    """The README's first command, minus the install: a fresh home, real subprocesses."""
    result = subprocess.run(
        [sys.executable, "-m", "office", "demo", "--no-serve"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    out = " ".join(result.stdout.split())
    assert "imported: 1,500 new" in out and "audit chain: intact" in out
    assert "precision 1.000" in out or "precision 0.99" in out
    assert "matching: matched" in out and "evidence for one match" in out and "sha256" in out
    assert "a customer (with findings): registration code" in out
    assert "staff demo-admin: password" in out and "staff demo-operator: password" in out
    assert "staff demo-legal-2: password" in out and "a cease-use letter waits" in out
    assert _persons() == 1500
    assert _notices() == [("draft", "cease_use")]  # drafted by demo-legal, not yet approved


def test_commands_before_init_say_to_run_init(
    env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through the console script's entry point: one clear line, no traceback."""
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'never-initialised.db'}")
    path = write_csv(tmp_path / "w.csv", ROWS)
    result = subprocess.run(
        [sys.executable, "-m", "office", "import-watchlist", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    err = " ".join(result.stderr.split())
    assert result.returncode == 2 and "run `leakwatch init` first" in err
    assert "Traceback" not in result.stderr
