from __future__ import annotations

import pytest

from store.keyring import KeyRing, MasterKey
from store.vault import DecryptError, Vault


@pytest.fixture
def vault() -> Vault:
    return Vault(KeyRing((MasterKey.generate(),)))


def test_seal_open_round_trip_with_japanese(vault: Vault) -> None:
    payload = {"name": "髙橋 美咲", "address": "東京都千代田区九段南一丁目2番3号", "kana": "ﾀｶﾊｼ"}
    blob = vault.seal_json(payload, "t.c")
    assert vault.open_json(blob, "t.c") == payload
    assert "髙橋".encode() not in blob


def test_same_value_seals_differently(vault: Vault) -> None:
    assert vault.seal(b"x", "t.c") != vault.seal(b"x", "t.c")


def test_tampering_and_wrong_context_are_detected(vault: Vault) -> None:
    blob = bytearray(vault.seal(b"secret", "t.c"))
    with pytest.raises(DecryptError, match="elsewhere"):
        vault.open(bytes(blob), "other.column")
    blob[-1] ^= 1
    with pytest.raises(DecryptError, match="altered"):
        vault.open(bytes(blob), "t.c")
    with pytest.raises(DecryptError):
        vault.open(b"short", "t.c")


def test_old_key_still_opens_after_ring_grows(vault: Vault) -> None:
    blob = vault.seal(b"v", "t.c")
    newer = Vault(KeyRing((MasterKey.generate(), *vault.ring.keys)))
    assert newer.open(blob, "t.c") == b"v"
    assert Vault.key_id_of(newer.seal(b"v", "t.c")) != Vault.key_id_of(blob)
    stranger = Vault(KeyRing((MasterKey.generate(),)))
    with pytest.raises(DecryptError, match="unknown key"):
        stranger.open(blob, "t.c")


def test_blind_index_is_keyed_and_kind_separated(vault: Vault) -> None:
    a = vault.blind_index("phone", "0312345678")
    assert a == vault.blind_index("phone", "0312345678")
    assert a != vault.blind_index("postal", "0312345678")
    other = Vault(KeyRing((MasterKey.generate(),)))
    assert a != other.blind_index("phone", "0312345678")
    assert vault.blind_index("phone", "") is None
