"""The store knows its key: a wrong or new key is refused before anything is sealed."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import delete, func, select

from store import rotation
from store.key_check import KeyMismatch, recorded_key_ids
from store.keyring import KeyError_, KeyRing, MasterKey, read_key_file, write_key_file
from store.models import StoreKey, WatchlistPerson
from store.runtime import Store
from store.settings import Settings
from store.setup import initialise
from store.watchlist_import import import_watchlist
from tests.samples import ROWS, write_csv


def _persons(store: Store) -> int:
    with store.sessions() as s:
        return s.scalar(select(func.count()).select_from(WatchlistPerson)) or 0


def _fill(store: Store, tmp_path: Path) -> None:
    import_watchlist(store.sessions, store.vault, write_csv(tmp_path / "w.csv", ROWS), actor="t")


def test_first_use_records_the_key_and_a_wrong_one_is_refused(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fill(store, tmp_path)
    with store.sessions() as s:
        assert recorded_key_ids(s) == [store.vault.ring.current.key_id.hex()]
    wrong = MasterKey.generate()
    monkeypatch.setenv("LEAKWATCH_KEY", wrong.to_text())
    other = Store.open(Settings())
    with pytest.raises(KeyMismatch, match=f"LEAKWATCH_KEY \\(id {wrong.key_id.hex()}\\)"):
        _fill(other, tmp_path)  # the import opens the vault first: nothing is re-sealed
    other.close()
    assert _persons(store) == len(ROWS)
    with store.sessions() as s:  # every value still opens under the right key
        for blob in s.scalars(select(WatchlistPerson.pii)):
            store.vault.open(blob, "watchlist_person.pii")


def test_a_store_from_before_key_checks_proves_its_key_by_its_data(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fill(store, tmp_path)
    right = store.vault.ring.current
    with store.sessions.begin() as s:
        s.execute(delete(StoreKey))  # as a database migrated from schema 0002 would be
    monkeypatch.setenv("LEAKWATCH_KEY", MasterKey.generate().to_text())
    wrong = Store.open(Settings())
    with pytest.raises(KeyMismatch):
        _ = wrong.vault
    wrong.close()
    monkeypatch.setenv("LEAKWATCH_KEY", right.to_text())
    fresh = Store.open(Settings())
    _ = fresh.vault  # opens the data: learned
    with fresh.sessions() as s:
        assert recorded_key_ids(s) == [right.key_id.hex()]
    fresh.close()


def _file_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Settings:
    monkeypatch.delenv("LEAKWATCH_KEY", raising=False)
    monkeypatch.setenv("LEAKWATCH_KEY_FILE", str(tmp_path / "leakwatch.key"))
    return Settings()


def test_init_never_makes_a_new_key_for_a_store_with_data(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fill(store, tmp_path)
    settings = _file_settings(monkeypatch, tmp_path)
    with pytest.raises(KeyError_, match="restore the key file from your backup"):
        initialise(settings)
    assert not settings.key_file.exists()
    # A key file made by hand with another key: refused, and left as it is.
    write_key_file(settings.key_file, KeyRing((MasterKey.generate(),)))
    before = settings.key_file.read_bytes()
    with pytest.raises(KeyMismatch):
        initialise(settings)
    assert settings.key_file.read_bytes() == before
    # The restored key: accepted.
    write_key_file(settings.key_file, store.vault.ring)
    assert "the store's key" in initialise(settings).key


def test_init_refuses_a_key_file_others_may_read(
    env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = _file_settings(monkeypatch, tmp_path)
    write_key_file(settings.key_file, KeyRing((MasterKey.generate(),)))
    settings.key_file.chmod(0o644)
    with pytest.raises(KeyError_, match="chmod 600"):
        initialise(settings)


def test_a_failed_rotation_leaves_the_key_file_as_it_was(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fill(store, tmp_path)
    settings = _file_settings(monkeypatch, tmp_path)
    write_key_file(settings.key_file, KeyRing((MasterKey.generate(),)))  # not the store's
    before = settings.key_file.read_bytes()
    for _ in range(3):
        wrong = Store.open(settings)
        with pytest.raises(KeyMismatch):
            rotation.rotate_key(wrong, actor="t")
        wrong.close()
    assert settings.key_file.read_bytes() == before
    assert len(read_key_file(settings.key_file).keys) == 1


def test_after_a_rotation_only_the_new_key_is_the_stores(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fill(store, tmp_path)
    old = store.vault.ring.current
    settings = _file_settings(monkeypatch, tmp_path)
    write_key_file(settings.key_file, store.vault.ring)
    file_store = Store.open(settings)
    result = rotation.rotate_key(file_store, actor="t")
    file_store.close()
    with store.sessions() as s:
        assert recorded_key_ids(s) == [result.new_key_id]
    monkeypatch.setenv("LEAKWATCH_KEY", old.to_text())
    stale = Store.open(Settings())
    with pytest.raises(KeyMismatch):
        _ = stale.vault
    stale.close()
