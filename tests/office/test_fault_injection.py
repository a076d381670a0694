"""The fault-injection benchmark's own code on a small file: an import killed at random
moments (SIGKILL, and once SIGINT) and re-run loses, doubles and hides nothing."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from tests.databases import ON_POSTGRES, throwaway_postgres

BENCH = Path(__file__).resolve().parents[2] / "bench" / "fault_import.py"


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fault_import", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def database(tmp_path: Path) -> Iterator[str]:
    if ON_POSTGRES:
        with throwaway_postgres("lw_fault") as url:
            yield url
    else:
        yield f"sqlite:///{tmp_path / 'home' / 'leakwatch.db'}"


def test_killed_imports_lose_and_double_nothing(
    tmp_path: Path, database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LEAKWATCH_KEY", raising=False)
    report = _bench().run_experiment(
        tmp_path / "home", database, 2000, 4, 11, "test", batch=50, first_at_rows=400
    )
    assert report.problems == [], report.lines()
    assert sum(report.signals.values()) == 5 and report.keys_delivered == report.households
    # Kills land in the import's own work, not only before or after it (the first after
    # 400 rows are committed; later ones at random moments of shorter re-runs).
    assert report.phases["during the import"] >= 1
    assert (
        report.interrupted_runs == report.interrupted_events == report.phases["during the import"]
    )
