"""The watchlist index: compact columns, encrypted save/load, incremental add and remove."""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import numpy as np
import pytest

from matcher import IndexFormatError, IndexKeyError, Matcher, WatchlistIndex
from matcher.columns import KeyTable
from synth.watchlist import generate_watchlist
from tests.matcher.conftest import HOUSEHOLD, row
from tests.samples import assert_same_index, old_version


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


def test_column_wise_build_files_what_the_person_by_person_rules_file() -> None:
    """The build computes ids and keys for whole columns; each person's row in the index is
    what the per-value rules (first-appearance ids, :func:`name_year_key`) give."""
    from matcher.columns import Vocab
    from matcher.index import _ids, name_year_key, name_year_keys

    words = [["山田", "", "高橋", "山田"], ["花子", "太郎", "", "花子"], ["", "山田", "x", "y"]]
    vocab, reference = Vocab(["", "高橋"]), Vocab(["", "高橋"])
    for chunk in (words, [["太郎", "新"], ["", "山田"], ["花子", "z"]]):
        # A chunk's own word list, first seen first, and its persons' ids into it.
        flat = [w for person in zip(*chunk, strict=True) for w in person]
        order = list(dict.fromkeys(flat))
        local = np.array([order.index(w) for w in flat], dtype=np.int32).reshape(-1, 3)
        got = _ids(vocab, order, local)
        want = [[reference.add(w) for w in person] for person in zip(*chunk, strict=True)]
        assert [list(map(int, c)) for c in got] == [list(c) for c in zip(*want, strict=True)]
        assert vocab.words == reference.words and vocab.ids == reference.ids

    a = np.array([0, 1, 5, 7, 7, 3, 2, 9], dtype=np.int32)
    b = np.array([4, 0, 2, 7, 1, 3, 8, 9], dtype=np.int32)
    years = np.array([1980, 1980, 2001, 0, 1849, 1850, 66884, 66885], dtype=np.int64)
    for ordered in (True, False):
        keys = name_year_keys(a, b, years, ordered).tolist()
        assert keys == [name_year_key(int(x), int(y), int(z), ordered)
                        for x, y, z in zip(a, b, years, strict=True)]  # fmt: skip


def test_adding_in_chunks_or_at_once_builds_the_same_index() -> None:
    people = HOUSEHOLD + list(generate_watchlist(300, 11))
    whole = WatchlistIndex.build(people)
    parts = WatchlistIndex()
    for i in range(0, len(people), 50):
        parts.add(people[i : i + 50])
    assert_same_index(whole, parts)
    assert [whole.record_id(i) for i in range(whole.size)] == [r["record_id"] for r in people]


def test_an_index_saved_by_another_version_asks_to_be_rebuilt(index: WatchlistIndex) -> None:
    # Normalisation changes between versions; an old index would silently miss rows.
    with pytest.raises(IndexFormatError, match="build it again"):
        WatchlistIndex.from_bytes(old_version(index))


def test_building_in_worker_processes_builds_the_same_index() -> None:
    people = HOUSEHOLD + list(generate_watchlist(1500, 12))
    one = WatchlistIndex.build(people)
    two = WatchlistIndex.build(people, workers=2)
    assert_same_index(one, two)


def test_a_table_of_sorted_runs_is_the_table_of_all_entries() -> None:
    rng = np.random.default_rng(7)
    keys = rng.integers(0, 40, 5000).astype(np.int64)  # many ties, and zeros (no key)
    idx = np.arange(5000, dtype=np.int32)
    cuts = [0, 1, 700, 701, 2500, 5000]  # runs of one person, and of none
    runs = [KeyTable.build(keys[a:b], idx[a:b]) for a, b in itertools.pairwise(cuts)]
    whole = KeyTable.build(keys, idx)
    merged = KeyTable.of_runs(runs)
    assert np.array_equal(merged.keys, whole.keys) and np.array_equal(merged.idx, whole.idx)
    assert 0 not in merged.keys
