"""The index cut into shards (keys by hash, persons by range) matches exactly like the whole:
every read the matcher makes is answered by the shards concerned, in the order asked."""

from __future__ import annotations

import numpy as np
import pytest

from matcher import Matcher, WatchlistIndex
from matcher.batch import MAX_BLOCK
from matcher.shards import LocalCalls, Shard, ShardedIndex, shard_of, split
from synth.listing import generate_listing
from synth.watchlist import generate_watchlist
from tests.matcher.conftest import HOUSEHOLD


def sharded(index: WatchlistIndex, shards: int) -> ShardedIndex:
    coordinator, parts = split(index, shards)
    return ShardedIndex(coordinator, LocalCalls([Shard(p) for p in parts]))


@pytest.fixture(scope="module")
def whole() -> WatchlistIndex:
    return WatchlistIndex.build(HOUSEHOLD + list(generate_watchlist(5000, 61)))


@pytest.mark.parametrize("shards", [1, 2, 3])
def test_every_read_is_the_whole_index_answer(whole: WatchlistIndex, shards: int) -> None:
    parts = sharded(whole, shards)
    rng = np.random.default_rng(shards)
    pos = rng.integers(0, whole.size, 500).astype(np.int64)
    for name, col in parts.columns_at(pos).items():
        assert np.array_equal(col, whole.cols[name][pos]), name
    assert parts.record_ids_at(pos) == whole.record_ids_at(pos)
    assert np.array_equal(parts.alive_at(pos), whole.alive[pos])
    hh = np.concatenate([whole.cols["hh"][pos], [12345]])
    assert np.array_equal(parts.guardian_of(hh), whole.guardian_of(hh))
    for kind, table in whole.tables.items():
        keys = np.concatenate([table.keys[rng.integers(0, len(table.keys), 300)], [7, 0]])
        assert np.array_equal(parts.count(kind, keys), whole.count(kind, keys)), kind
        for most in (MAX_BLOCK, 1):
            got, want = parts.postings(kind, keys, most), whole.postings(kind, keys, most)
            assert all(np.array_equal(a, b) for a, b in zip(got, want, strict=True)), kind


def test_keys_spread_over_the_shards() -> None:
    keys = np.arange(1, 100_001, dtype=np.int64) * 10_000  # regular, like packed numbers
    counts = np.bincount(shard_of(keys, 3), minlength=3)
    assert counts.min() > 30_000


def test_matching_on_shards_gives_the_whole_index_results(whole: WatchlistIndex) -> None:
    people = HOUSEHOLD + list(generate_watchlist(5000, 61))
    rows, _ = generate_listing(people, 800, 62)
    want = Matcher(whole).match(rows)
    got = Matcher(sharded(whole, 3)).match(rows)
    assert got.pairs == want.pairs > 0 and got.as_of == want.as_of
    assert [(c.row_id, c.record_id, c.score, c.decision, c.explanation) for c in got.candidates
            ] == [(c.row_id, c.record_id, c.score, c.decision, c.explanation)
                  for c in want.candidates]  # fmt: skip
