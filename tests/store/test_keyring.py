from __future__ import annotations

import os
from pathlib import Path

import pytest

from store.keyring import (
    KeyError_,
    KeyRing,
    MasterKey,
    load_key_ring,
    read_key_file,
    write_key_file,
)


def test_key_file_is_created_0600_and_round_trips(tmp_path: Path) -> None:
    ring = KeyRing((MasterKey.generate(), MasterKey.generate()))
    path = tmp_path / "k" / "leakwatch.key"
    write_key_file(path, ring)
    assert os.stat(path).st_mode & 0o777 == 0o600
    again = read_key_file(path)
    assert [k.key_id for k in again.keys] == [k.key_id for k in ring.keys]
    assert again.current.enc_key == ring.current.enc_key


def test_key_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "leakwatch.key"
    write_key_file(path, KeyRing((MasterKey.generate(),)))
    os.chmod(path, 0o644)
    with pytest.raises(KeyError_, match="0600"):
        read_key_file(path)


def test_environment_wins_over_file(tmp_path: Path) -> None:
    file_key, env_key = MasterKey.generate(), MasterKey.generate()
    path = tmp_path / "leakwatch.key"
    write_key_file(path, KeyRing((file_key,)))
    assert load_key_ring(env_key.to_text(), path).current.key_id == env_key.key_id
    assert load_key_ring(None, path).current.key_id == file_key.key_id


def test_missing_key_says_how_to_fix(tmp_path: Path) -> None:
    with pytest.raises(KeyError_, match="leakwatch init"):
        load_key_ring(None, tmp_path / "absent.key")


@pytest.mark.parametrize("text", ["not base64 !!", "c2hvcnQ", ""])
def test_malformed_keys_are_refused(text: str) -> None:
    with pytest.raises(KeyError_):
        KeyRing.from_text(text)


def test_subkeys_differ_and_repr_hides_material() -> None:
    key = MasterKey.generate()
    assert key.enc_key != key.mac_key != key.raw
    assert key.to_text() not in repr(key)
