"""Login keys are never lost before a codes export has written them durably."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest
from sqlalchemy import func, select

from store.codes import check_login_key
from store.codes_delivery import export_codes, undelivered
from store.models import AuditEvent, Household
from store.private_files import OutputError
from store.runtime import Store
from store.watchlist_import import ImportResult, import_watchlist
from synth.csvio import write_csv as write_rows
from synth.watchlist import WATCHLIST_COLUMNS, generate_watchlist
from tests.samples import ROWS, write_csv


def _import(store: Store, path: Path, **kwargs: object) -> ImportResult:
    return import_watchlist(store.sessions, store.vault, path, actor="test", **kwargs)  # type: ignore[arg-type]


def _codes(path: Path) -> dict[str, str]:
    with open(path, encoding="utf-8") as handle:
        return {row["household_id"]: row["login_key"] for row in csv.DictReader(handle)}


def _households(store: Store) -> list[Household]:
    with store.sessions() as s:
        return list(s.scalars(select(Household).order_by(Household.id)))


def _watchlist(tmp_path: Path, persons: int, seed: int = 5) -> tuple[Path, list[dict[str, str]]]:
    rows = list(generate_watchlist(persons, seed))
    path = tmp_path / f"w{persons}.csv"
    write_rows(rows, path, WATCHLIST_COLUMNS)
    return path, rows


def test_keys_wait_sealed_until_an_export_writes_them(store: Store, tmp_path: Path) -> None:
    _import(store, write_csv(tmp_path / "w.csv", ROWS))
    with store.sessions() as s:
        assert undelivered(s) == 2
    out = tmp_path / "codes.csv"
    done = export_codes(store.sessions, store.vault, out, actor="test")
    assert (done.path, done.delivered) == (out, 2)
    assert os.stat(out).st_mode & 0o777 == 0o600
    keys = _codes(out)
    for hh in _households(store):
        assert hh.login_key_sealed is None and hh.key_delivered_at is not None
        assert check_login_key(keys[hh.household_ref], hh.login_key_salt, hh.login_key_hash)
    again = export_codes(store.sessions, store.vault, tmp_path / "codes2.csv", actor="test")
    assert again.path is None and not (tmp_path / "codes2.csv").exists()


def test_an_existing_codes_file_is_never_overwritten(store: Store, tmp_path: Path) -> None:
    codes = tmp_path / "codes.csv"
    first = _import(store, write_csv(tmp_path / "w.csv", ROWS), codes_out=codes)
    kept = codes.read_bytes()
    assert first.codes_delivered == 2 and len(_codes(codes)) == 2
    # The same command again: refused before any work, the keys of the first run intact.
    with pytest.raises(OutputError, match="never overwritten"):
        _import(store, tmp_path / "w.csv", codes_out=codes)
    assert codes.read_bytes() == kept


def test_half_then_whole_file_delivers_every_key_once(store: Store, tmp_path: Path) -> None:
    path, rows = _watchlist(tmp_path, 400)
    half = tmp_path / "half.csv"
    write_rows(rows[:200], half, WATCHLIST_COLUMNS)
    _import(store, half, codes_out=tmp_path / "c1.csv", batch_size=64)
    kept = (tmp_path / "c1.csv").read_bytes()
    whole = _import(store, path, codes_out=tmp_path / "c2.csv", batch_size=64)
    assert (tmp_path / "c1.csv").read_bytes() == kept  # never truncated by the second run
    first, second = _codes(tmp_path / "c1.csv"), _codes(tmp_path / "c2.csv")
    assert not first.keys() & second.keys()
    households = _households(store)
    assert len(households) == len({r["household_id"] for r in rows}) == len(first) + len(second)
    assert whole.households_created == len(second) and whole.undelivered == 0
    issued = first | second
    for hh in households:
        assert check_login_key(issued[hh.household_ref], hh.login_key_salt, hh.login_key_hash)


@pytest.mark.parametrize("target", ["/dev/full", "folder", "missing/codes.csv"])
def test_an_unwritable_codes_file_is_refused_before_anything_is_imported(
    store: Store, tmp_path: Path, target: str
) -> None:
    (tmp_path / "folder").mkdir()
    out = Path(target) if target.startswith("/") else tmp_path / target
    mode = os.stat(out).st_mode if out.exists() else None
    with pytest.raises(OutputError):
        _import(store, write_csv(tmp_path / "w.csv", ROWS), codes_out=out)
    assert _households(store) == []
    if mode is not None:
        assert os.stat(out).st_mode == mode  # never chmod a file we did not create
    with store.sessions() as s:
        assert s.scalar(select(func.count()).select_from(AuditEvent)) == 0


def test_households_split_across_batches_get_one_key_each(store: Store, tmp_path: Path) -> None:
    path, rows = _watchlist(tmp_path, 300, seed=9)
    # Batches of 7 rows cut most households in two: the second part must find the first.
    result = _import(store, path, batch_size=7, codes_out=tmp_path / "c.csv")
    households = _households(store)
    assert result.households_created == len(households) == len({r["household_id"] for r in rows})
    assert result.codes_delivered == len(_codes(tmp_path / "c.csv")) == len(households)
