"""The index split over several processes (machines): blocking keys by hash, persons by range.

Beyond one machine the index is cut into ``S`` shards (:func:`split`). Shard ``s`` holds

* every blocking-key entry whose key hashes to ``s`` (all kinds, the household → guardian
  table too), as sorted keys and positions: a key's persons are all on its shard, so a
  key's count, and whether it files more than ``MAX_BLOCK`` persons, is decided exactly
  where it lives;
* the columns, alive flags and record ids of one range of positions.

A :class:`ShardedIndex` answers the matcher's reads (:class:`matcher.reader.IndexReader`) by
asking only the shards concerned — a key's postings or count from the shard of its hash, a
person's values from the shard of its range — and putting the answers back in the order
asked, so matching against it gives exactly what matching against the whole index gives.
It keeps the vocabularies and term frequencies itself: the coordinator normalises the
listing and compares; shards see keys and positions, never a listing row.

How a shard is reached is :class:`ShardCalls`' business: :class:`LocalCalls` calls
:class:`Shard` objects in this process (tests); ``store.matcher_dask`` calls them as Dask
actors on the workers of a cluster.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from matcher.columns import KeyTable, PackedStrings, Vocab
from matcher.index import COLUMNS, KEY_KINDS, WatchlistIndex

I64 = npt.NDArray[np.int64]
_KINDS = (*KEY_KINDS, "guardian")
_MIX = np.uint64(0x9E3779B97F4A7C15)


def shard_of(keys: I64, shards: int) -> I64:
    """Each key's shard: a multiplicative hash of the key (keys such as phone numbers or
    packed ids are far from uniform modulo a small number)."""
    mixed = np.asarray(keys, dtype=np.int64).view(np.uint64) * _MIX
    return ((mixed >> np.uint64(33)) % np.uint64(shards)).astype(np.int64)


@dataclass
class ShardData:
    """What one shard holds (plain arrays: cheap to send to another process)."""

    number: int
    lo: int  # the positions [lo, hi) whose values it holds
    hi: int
    tables: dict[str, tuple[I64, npt.NDArray[np.int32]]]  # kind -> (sorted keys, positions)
    cols: dict[str, npt.NDArray[Any]]
    alive: npt.NDArray[np.bool_]
    rid_offsets: I64
    rid_data: npt.NDArray[np.uint8]


class Shard:
    """One shard's reads; positions are the whole index's."""

    def __init__(self, data: ShardData) -> None:
        self.lo, self.hi = data.lo, data.hi
        self.tables = {k: KeyTable(keys, idx) for k, (keys, idx) in data.tables.items()}
        self.cols, self.alive = data.cols, data.alive
        self.record_ids = PackedStrings(data.rid_data, data.rid_offsets)

    def postings(self, kind: str, keys: I64, most: int) -> tuple[I64, I64]:
        table = self.tables[kind]
        lo, hi = table.lookup_many(keys)
        n = hi - lo
        n[n > most] = 0
        starts = np.repeat(lo - (np.cumsum(n) - n), n)
        return n, table.idx[starts + np.arange(int(n.sum()))].astype(np.int64)

    def count(self, kind: str, keys: I64) -> I64:
        return self.tables[kind].count(keys)

    def columns_at(self, pos: I64, names: Sequence[str]) -> dict[str, npt.NDArray[Any]]:
        at = pos - self.lo
        return {k: self.cols[k][at] for k in names}

    def alive_at(self, pos: I64) -> npt.NDArray[np.bool_]:
        return self.alive[pos - self.lo]

    def record_ids_at(self, pos: I64) -> list[str]:
        return self.record_ids.many(pos - self.lo)

    def guardian_of(self, hh: I64) -> I64:
        """The first guardian filed under each household (-1: none), as the index does."""
        table = self.tables["guardian"]
        lo, hi = table.lookup_many(hh)
        out = np.full(len(hh), -1, dtype=np.int64)
        has = hi > lo
        out[has] = table.idx[lo[has]]
        return out

    def nbytes(self) -> int:
        arrays = [*self.cols.values(), self.alive, self.record_ids.data, self.record_ids.offsets,
                  *(a for t in self.tables.values() for a in (t.keys, t.idx))]  # fmt: skip
        return sum(int(a.nbytes) for a in arrays)


@dataclass
class Coordinator:
    """What the coordinator keeps of a sharded index: words, frequencies, sizes."""

    vocabs: dict[str, Vocab]
    stats: dict[str, Any]
    persons: int
    bounds: I64  # shard s holds positions [bounds[s], bounds[s + 1])


def split(index: WatchlistIndex, shards: int) -> tuple[Coordinator, list[ShardData]]:
    """``index`` (compacted first) cut into ``shards`` shards and what the coordinator keeps."""
    index.compact()
    stats = index.stats()
    size = index.size
    bounds = np.array([size * s // shards for s in range(shards + 1)], dtype=np.int64)
    tables = {**index.tables, "guardian": index.guardians}
    by_kind = {}
    for kind in _KINDS:
        keys, idx = tables[kind].keys, tables[kind].idx
        home = shard_of(keys, shards)
        by_kind[kind] = [(keys[home == s], idx[home == s]) for s in range(shards)]
    out = []
    for s in range(shards):
        lo, hi = int(bounds[s]), int(bounds[s + 1])
        rid = index.record_ids.offsets[lo : hi + 1]
        out.append(ShardData(
            s, lo, hi, {k: by_kind[k][s] for k in _KINDS},
            {k: v[lo:hi].copy() for k, v in index.cols.items()}, index.alive[lo:hi].copy(),
            rid - rid[0], index.record_ids.data[int(rid[0]) : int(rid[-1])].copy(),
        ))  # fmt: skip
    vocabs = {k: Vocab.of_arrays(v.arrays()) for k, v in index.vocabs.items()}
    return Coordinator(vocabs, stats, len(index), bounds), out


class ShardCalls(Protocol):
    """Calls to shards, all sent before any answer is awaited (shards work in parallel)."""

    def each(self, calls: Sequence[tuple[int, str, tuple[Any, ...]]]) -> list[Any]: ...


class LocalCalls:
    """Shards in this process (tests; one machine without a cluster)."""

    def __init__(self, shards: Sequence[Shard]) -> None:
        self.shards = list(shards)

    def each(self, calls: Sequence[tuple[int, str, tuple[Any, ...]]]) -> list[Any]:
        return [getattr(self.shards[s], method)(*args) for s, method, args in calls]


class ShardedIndex:
    """The matcher's view (:class:`matcher.reader.IndexReader`) of a sharded index."""

    def __init__(self, coordinator: Coordinator, calls: ShardCalls) -> None:
        self.coordinator, self.calls = coordinator, calls
        self.shards = len(coordinator.bounds) - 1

    @property
    def vocabs(self) -> Mapping[str, Vocab]:
        return self.coordinator.vocabs

    def __len__(self) -> int:
        return self.coordinator.persons

    def stats(self) -> dict[str, Any]:
        return self.coordinator.stats

    def _by_key(self, kind: str, keys: I64, method: str, *extra: Any) -> tuple[I64, list[Any]]:
        """Each key's shard, and the answers of the shards asked (in shard order) for their
        keys (in the order given)."""
        home = shard_of(keys, self.shards)
        asked = [s for s in range(self.shards) if (home == s).any()]
        answers = self.calls.each([(s, method, (kind, keys[home == s], *extra)) for s in asked])
        return home, list(zip(asked, answers, strict=True))

    def postings(self, kind: str, keys: I64, most: int) -> tuple[I64, I64]:
        keys = np.asarray(keys, dtype=np.int64)
        n = np.zeros(len(keys), dtype=np.int64)
        if not len(keys):
            return n, np.zeros(0, dtype=np.int64)
        home, answers = self._by_key(kind, keys, "postings", most)
        start = np.zeros(len(keys), dtype=np.int64)
        parts, base = [], 0
        for s, (n_s, pos_s) in answers:
            mine = home == s
            n[mine] = n_s
            start[mine] = base + np.cumsum(n_s) - n_s  # where each key's run is, all shards
            parts.append(pos_s)
            base += len(pos_s)
        total = int(n.sum())
        at = np.repeat(start, n) + np.arange(total) - np.repeat(np.cumsum(n) - n, n)
        return n, np.concatenate(parts)[at] if total else np.zeros(0, dtype=np.int64)

    def count(self, kind: str, keys: I64) -> I64:
        keys = np.asarray(keys, dtype=np.int64)
        out = np.zeros(len(keys), dtype=np.int64)
        if len(keys):
            home, answers = self._by_key(kind, keys, "count")
            for s, counts in answers:
                out[home == s] = counts
        return out

    def guardian_of(self, hh: I64) -> I64:
        hh = np.asarray(hh, dtype=np.int64)
        out = np.full(len(hh), -1, dtype=np.int64)
        if len(hh):
            home = shard_of(hh, self.shards)
            asked = [s for s in range(self.shards) if (home == s).any()]
            found = self.calls.each([(s, "guardian_of", (hh[home == s],)) for s in asked])
            for s, got in zip(asked, found, strict=True):
                out[home == s] = got
        return out

    def _by_position(self, pos: I64, method: str, *extra: Any) -> tuple[I64, list[Any]]:
        home = np.searchsorted(self.coordinator.bounds, pos, side="right") - 1
        asked = [s for s in range(self.shards) if (home == s).any()]
        answers = self.calls.each([(s, method, (pos[home == s], *extra)) for s in asked])
        return home, list(zip(asked, answers, strict=True))

    def columns_at(self, pos: I64, names: Iterable[str] | None = None
                   ) -> dict[str, npt.NDArray[Any]]:  # fmt: skip
        pos = np.asarray(pos, dtype=np.int64)
        wanted = list(names) if names is not None else list(COLUMNS)
        out = {k: np.zeros(len(pos), dtype=COLUMNS[k][0]) for k in wanted}
        if len(pos):
            home, answers = self._by_position(pos, "columns_at", wanted)
            for s, cols in answers:
                for k in wanted:
                    out[k][home == s] = cols[k]
        return out

    def column(self, name: str, pos: I64) -> npt.NDArray[Any]:
        return self.columns_at(pos, (name,))[name]

    def alive_at(self, pos: I64) -> npt.NDArray[np.bool_]:
        pos = np.asarray(pos, dtype=np.int64)
        out = np.zeros(len(pos), dtype=np.bool_)
        if len(pos):
            home, answers = self._by_position(pos, "alive_at")
            for s, alive in answers:
                out[home == s] = alive
        return out

    def record_ids_at(self, positions: I64) -> list[str]:
        pos = np.asarray(positions, dtype=np.int64)
        out = [""] * len(pos)
        if len(pos):
            home, answers = self._by_position(pos, "record_ids_at")
            for s, ids in answers:
                for i, rid in zip(np.flatnonzero(home == s).tolist(), ids, strict=True):
                    out[i] = rid
        return out


__all__ = [
    "Coordinator",
    "LocalCalls",
    "Shard",
    "ShardCalls",
    "ShardData",
    "ShardedIndex",
    "shard_of",
    "split",
]
