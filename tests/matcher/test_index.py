"""The watchlist index: compact columns, encrypted save/load, incremental add and remove."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from matcher import IndexKeyError, Matcher, WatchlistIndex
from synth.watchlist import generate_watchlist
from tests.matcher.conftest import HOUSEHOLD, row


def test_columns_are_arrays_not_objects(index: WatchlistIndex) -> None:
    assert all(isinstance(c, np.ndarray) for c in index.cols.values())
    assert len(index) == index.size == len(index.cols["hh"])
    # About a few hundred bytes a person (35 M people in well under 16 GB).
    assert index.memory_bytes() / len(index) < 600


def test_record_lookup_and_household_guardian(index: WatchlistIndex) -> None:
    pos = index.position("W2")
    assert pos is not None and index.record_id(pos) == "W2"
    g = index.guardian_of(index.cols["hh"][[pos]])
    assert index.record_id(int(g[0])) == "W1"
    assert index.position("nobody") is None


def test_encrypted_round_trip(index: WatchlistIndex, tmp_path: Path) -> None:
    key = os.urandom(32)
    path = tmp_path / "watchlist.idx"
    index.save(path, key)
    raw = path.read_bytes()
    assert "山田".encode() not in raw and "九段南".encode() not in raw  # nothing readable
    loaded = WatchlistIndex.load(path, key)
    assert len(loaded) == len(index)
    r = [row(), row(row_id="R2", name="Taro Yamada", name_kana="")]
    a = Matcher(index, em=False).match(r).candidates
    b = Matcher(loaded, em=False).match(r).candidates
    assert [(c.row_id, c.record_id, round(c.score, 9), c.decision) for c in a] == [
        (c.row_id, c.record_id, round(c.score, 9), c.decision) for c in b
    ]


def test_wrong_key_or_altered_file_is_refused(index: WatchlistIndex, tmp_path: Path) -> None:
    key = os.urandom(32)
    path = tmp_path / "watchlist.idx"
    index.save(path, key)
    with pytest.raises(IndexKeyError):
        WatchlistIndex.load(path, os.urandom(32))
    data = bytearray(path.read_bytes())
    data[-5] ^= 1
    path.write_bytes(bytes(data))
    with pytest.raises(IndexKeyError):
        WatchlistIndex.load(path, key)
    with pytest.raises(ValueError):
        index.save(path, b"short")


def test_incremental_add_and_remove() -> None:
    filler = list(generate_watchlist(500, 7))
    index = WatchlistIndex.build(HOUSEHOLD[:1] + HOUSEHOLD[2:] + filler)  # without 太郎
    m = Matcher(index, em=False)
    assert all(c.record_id != "W2" for c in m.match([row()]).candidates)
    assert index.add([HOUSEHOLD[1]]) == 1
    found = Matcher(index, em=False).match([row()]).candidates
    assert (found[0].record_id, found[0].decision) == ("W2", "match")
    # Re-importing a record replaces it (a new phone number).
    index.add([{**HOUSEHOLD[1], "phone": "090-5555-6666"}])
    assert len(index) == len(HOUSEHOLD) + len(filler)
    c = Matcher(index, em=False).match([row(address="", postal_code="", phone="090-5555-6666")])
    assert c.candidates[0].record_id == "W2"
    # Erasure: gone at once, and gone from the saved file.
    assert index.remove(["W2"]) == 1
    assert index.remove(["W2"]) == 0
    assert all(c.record_id != "W2" for c in Matcher(index, em=False).match([row()]).candidates)
    index.compact()
    assert len(index) == index.size == len(HOUSEHOLD) + len(filler) - 1
    assert index.position("W2") is None and index.position("W3") is not None


def test_empty_index_matches_nothing() -> None:
    index = WatchlistIndex.build([])
    assert Matcher(index).match([row()]).candidates == []
