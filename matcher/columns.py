"""Compact storage: string vocabularies, packed strings, and the blocking-key tables.

The index keeps one small integer per person and field instead of an object per person, so
35 million people fit in memory. Strings that repeat (names, towns) live once in a
:class:`Vocab`: its words packed in one UTF-8 buffer, found through a sorted array of their
hashes, never a Python dict of strings (a dict costs about a hundred bytes a word; the
arrays twelve plus the text). Unique strings (record ids) are packed into one buffer with
offsets (:class:`PackedStrings`).

A blocking-key table files persons under a key. :class:`KeyTable` keeps each entry's key
(int64) beside its person's position (int32): twelve bytes an entry. :class:`DerivedTable`
keeps only the positions, sorted by key, because its keys are a function of the index's own
columns (a phone number, a postal code and a name id …): four bytes an entry, the key
computed for the few entries a binary search looks at, with every :data:`FENCE`-th key kept
so that a search starts within a fence of its answer. Both sort ties by position, so either
gives a key's persons in the order a stable sort of the whole index would.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from itertools import islice, pairwise
from zlib import crc32

import numpy as np
import numpy.typing as npt

I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]
U8 = npt.NDArray[np.uint8]
_MASK63 = (1 << 63) - 1


def word_hash(data: bytes) -> int:
    """A word's 63-bit hash (:func:`matcher.keys.str_hash` of its text, from its bytes)."""
    return (((crc32(data) << 31) ^ crc32(data, 0x9E3779B9)) & _MASK63) or 1


class PackedStrings:
    """Many short strings in one UTF-8 buffer (a uint8 array) with int64 offsets."""

    def __init__(self, data: bytes | U8 = b"", offsets: I64 | None = None) -> None:
        self.data: U8 = (np.frombuffer(data, dtype=np.uint8) if isinstance(data, bytes)
                         else data)  # fmt: skip
        self.offsets: I64 = offsets if offsets is not None else np.zeros(1, dtype=np.int64)

    @classmethod
    def of(cls, items: Iterable[str]) -> PackedStrings:
        return cls.of_bytes([s.encode("utf-8") for s in items])

    @classmethod
    def of_bytes(cls, encoded: Sequence[bytes]) -> PackedStrings:
        offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
        np.cumsum(np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded)),
                  out=offsets[1:])  # fmt: skip
        return cls(b"".join(encoded), offsets)

    @classmethod
    def concat(cls, parts: Sequence[PackedStrings]) -> PackedStrings:
        """One buffer of ``parts`` in order (one copy, however many parts)."""
        if not parts:
            return cls()
        if len(parts) == 1:
            return parts[0]
        ends = np.cumsum([0] + [len(p.data) for p in parts[:-1]])
        offsets = np.concatenate(
            [parts[0].offsets[:1], *(p.offsets[1:] + e for p, e in zip(parts, ends, strict=True))]
        )
        return cls(np.concatenate([p.data for p in parts]), offsets)

    def extend_packed(self, more: PackedStrings) -> None:
        self.offsets = np.concatenate([self.offsets, more.offsets[1:] + self.offsets[-1]])
        self.data = np.concatenate([self.data, more.data])

    def raw(self, i: int) -> bytes:
        return self.data[int(self.offsets[i]) : int(self.offsets[i + 1])].tobytes()

    def __getitem__(self, i: int) -> str:
        return self.raw(i).decode("utf-8")

    def many(self, positions: npt.NDArray[np.integer]) -> list[str]:
        """The strings at ``positions``, decoded in one pass over their offsets."""
        data, offsets = self.data, self.offsets
        return [
            data[a:b].tobytes().decode("utf-8")
            for a, b in zip(
                offsets[positions].tolist(), offsets[positions + 1].tolist(), strict=True
            )
        ]

    def all(self) -> list[str]:
        """Every string, in order (decoded from one copy of the buffer)."""
        text = self.data.tobytes()
        bounds = self.offsets.tolist()
        return [text[a:b].decode("utf-8") for a, b in pairwise(bounds)]

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def take(self, keep: npt.NDArray[np.bool_]) -> PackedStrings:
        """The strings where ``keep`` is true, in order (column by column, no decoding)."""
        starts, ends = self.offsets[:-1][keep], self.offsets[1:][keep]
        lengths = ends - starts
        offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        # Each kept byte's source: its string's start plus its place within the string.
        within = np.arange(int(offsets[-1]), dtype=np.int64) - np.repeat(offsets[:-1], lengths)
        return PackedStrings(self.data[np.repeat(starts, lengths) + within], offsets)

    @property
    def nbytes(self) -> int:
        return int(self.data.nbytes + self.offsets.nbytes)


class Vocab:
    """Strings ↔ dense ids; id 0 is the empty string (unknown).

    Words that came in a build or a load are *frozen*: packed, and found by the sorted
    hashes of their bytes (ties: every word of that hash is checked, so a collision never
    confuses two words). Words added since wait in a dict until :meth:`freeze`. Ids are
    numbered in the order words are first added, whichever part holds them."""

    def __init__(self, words: Sequence[str] = ("",)) -> None:
        self._packed = PackedStrings()
        self._hashes: I64 = np.zeros(0, dtype=np.int64)
        self._hash_ids: I32 = np.zeros(0, dtype=np.int32)
        self._new: list[str] = list(words) if words else [""]  # not frozen yet, in id order
        self.ids: dict[str, int] = {w: i for i, w in enumerate(self._new)}  # the same -> id

    @property
    def frozen(self) -> int:
        """How many words (ids 0 …) are frozen."""
        return len(self._packed)

    def add(self, word: str) -> int:
        i = self.get(word)
        if i < 0:
            i = len(self)
            self.ids[word] = i
            self._new.append(word)
        return i

    def add_words(self, words: list[str]) -> I32:
        """Each word's id, new words added in order of first appearance."""
        known = self._frozen_ids(words) if self.frozen else np.full(len(words), -1, np.int64)
        ids, base = self.ids, self.frozen
        # setdefault's default is the next free id for a word it adds.
        out = np.fromiter(
            (k if k >= 0 else ids.setdefault(w, base + len(ids))
             for w, k in zip(words, known.tolist(), strict=True)),
            dtype=np.int32, count=len(words),
        )  # fmt: skip
        self.sync()
        return out

    def sync(self) -> None:
        """Catch the id-ordered word list up after ids were set in ``ids`` directly (dicts
        keep insertion order, so the new words are last)."""
        if len(self._new) < len(self.ids):
            self._new.extend(islice(self.ids, len(self._new), None))

    def get(self, word: str) -> int:
        """The id, 0 for "", -1 for a word never seen."""
        if not word:
            return 0
        i = self.ids.get(word)
        if i is not None:
            return i
        return int(self._frozen_ids([word])[0]) if self.frozen else -1

    def ids_of(self, words: Sequence[str]) -> I64:
        """:meth:`get` of each word, in C-level passes (hashes, then one check each)."""
        out = self._frozen_ids(words) if self.frozen else np.full(len(words), -1, np.int64)
        if self.ids:
            missing = np.flatnonzero(out < 0)
            if len(missing):
                get = self.ids.get
                out[missing] = [get(words[i], -1) for i in missing.tolist()]
        empty = np.fromiter(map(_is_empty, words), dtype=np.bool_, count=len(words))
        out[empty] = 0
        return out

    def _frozen_ids(self, words: Sequence[str]) -> I64:
        """Ids of the frozen words among ``words`` (-1 for the others)."""
        if not len(self._hashes):
            return np.full(len(words), -1, dtype=np.int64)
        encoded = [w.encode("utf-8") for w in words]
        h = np.fromiter(map(word_hash, encoded), dtype=np.int64, count=len(words))
        at = np.minimum(np.searchsorted(self._hashes, h), len(self._hashes) - 1)
        ids = self._hash_ids[at].astype(np.int64)
        hit = self._hashes[at] == h
        packed = self._packed
        for i in np.flatnonzero(hit).tolist():
            if packed.raw(int(ids[i])) != encoded[i]:
                ids[i] = self._collided(encoded[i], int(h[i]), int(at[i]))
        ids[~hit] = -1
        return ids

    def _collided(self, word: bytes, h: int, at: int) -> int:
        """The id of ``word`` among the frozen words sharing its hash from ``at`` on."""
        while at < len(self._hashes) and int(self._hashes[at]) == h:
            i = int(self._hash_ids[at])
            if self._packed.raw(i) == word:
                return i
            at += 1
        return -1

    def freeze(self) -> None:
        """Move the words added since the last freeze into the packed, hashed part."""
        if not self._new:
            return
        more = PackedStrings.of(self._new)
        new_hashes = np.fromiter((word_hash(more.raw(i)) for i in range(len(more))),
                                 dtype=np.int64, count=len(more))  # fmt: skip
        new_ids = np.arange(self.frozen, self.frozen + len(more), dtype=np.int32)
        packed = PackedStrings.concat([self._packed, more]) if self.frozen else more
        hashes = np.concatenate([self._hashes, new_hashes])
        hash_ids = np.concatenate([self._hash_ids, new_ids])
        order = np.argsort(hashes, kind="stable")
        self._packed, self._hashes, self._hash_ids = packed, hashes[order], hash_ids[order]
        self.ids, self._new = {}, []

    def word(self, i: int) -> str:
        """The word of id ``i``."""
        if i < self.frozen:
            return self._packed[i]
        return self._new[i - self.frozen]

    def words_at(self, ids: npt.NDArray[np.integer]) -> list[str]:
        """The words of many ids."""
        if not self._new:
            return self._packed.many(np.asarray(ids, dtype=np.int64))
        return [self.word(i) for i in np.asarray(ids).tolist()]

    @property
    def words(self) -> list[str]:
        """Every word in id order (a new list: for saving and tests, not for lookups)."""
        return self._packed.all() + self._new

    def __len__(self) -> int:
        return self.frozen + len(self._new)

    # --- as arrays (saved, loaded, sent) ----------------------------------------------------

    def arrays(self) -> dict[str, npt.NDArray[np.generic]]:
        self.freeze()
        return {"data": self._packed.data, "offsets": self._packed.offsets,
                "hashes": self._hashes, "hash_ids": self._hash_ids}  # fmt: skip

    @classmethod
    def of_arrays(cls, a: dict[str, npt.NDArray[np.generic]]) -> Vocab:
        v = cls.__new__(cls)
        v._packed = PackedStrings(np.asarray(a["data"], dtype=np.uint8),
                                  np.asarray(a["offsets"], dtype=np.int64))  # fmt: skip
        v._hashes = np.asarray(a["hashes"], dtype=np.int64)
        v._hash_ids = np.asarray(a["hash_ids"], dtype=np.int32)
        v.ids, v._new = {}, []
        return v

    @property
    def nbytes(self) -> int:
        text = sum(len(w) * 3 + 100 for w in self._new)  # a dict entry and a str each
        return self._packed.nbytes + int(self._hashes.nbytes + self._hash_ids.nbytes) + text


def _is_empty(word: str) -> bool:
    return not word


class KeyTable:
    """A blocking key: sorted key values with the person each one files (binary search)."""

    def __init__(self, keys: I64 | None = None, idx: I32 | None = None) -> None:
        self.keys: I64 = keys if keys is not None else np.zeros(0, dtype=np.int64)
        self.idx: I32 = idx if idx is not None else np.zeros(0, dtype=np.int32)

    @classmethod
    def build(cls, keys: I64, idx: I32) -> KeyTable:
        keep = keys != 0
        keys, idx = keys[keep], idx[keep]
        order = np.argsort(keys, kind="stable")
        return cls(keys[order], idx[order])

    @classmethod
    def of_runs(cls, runs: Sequence[KeyTable]) -> KeyTable:
        """The table ``build`` makes of several built tables' entries, when each table files
        later persons than the one before (chunks of a build, in order)."""
        if len(runs) == 1:
            return runs[0]
        # build's stable sort keeps ties in run order: persons in order.
        return cls.build(np.concatenate([r.keys for r in runs]),
                         np.concatenate([r.idx for r in runs]))  # fmt: skip

    def merge(self, other: KeyTable) -> KeyTable:
        """Both tables' entries, sorted (``other`` is a built table of later persons)."""
        if not len(self.keys):  # a first build: nothing to merge, and no second sort
            return other
        at = np.searchsorted(self.keys, other.keys, side="right")
        # Later persons go after the entries of the same key already there: a stable sort's
        # order, in one copy instead of a sort of everything.
        return KeyTable(np.insert(self.keys, at, other.keys), np.insert(self.idx, at, other.idx))

    def lookup_many(self, keys: I64) -> tuple[I64, I64]:
        """For each key its [start, end) range in the table."""
        return (
            np.searchsorted(self.keys, keys, side="left"),
            np.searchsorted(self.keys, keys, side="right"),
        )

    def count(self, keys: I64) -> I64:
        lo, hi = self.lookup_many(keys)
        return hi - lo

    def without(self, keys: I64, positions: npt.NDArray[np.integer]) -> KeyTable:
        """The table without the persons at ``positions``, filed under ``keys``."""
        has = keys != 0
        keys = keys[has]
        at: I64 = np.asarray(positions, dtype=np.int64)[has]
        if not len(keys) or not len(self.idx):
            return self
        lo, hi = self.lookup_many(keys)
        entries = _entries(self.idx, lo, hi, at)
        return KeyTable(np.delete(self.keys, entries), np.delete(self.idx, entries))

    def without_positions(self, dead: npt.NDArray[np.integer]) -> KeyTable:
        """The table without any entry of the persons at ``dead`` (a scan: small tables)."""
        if not len(dead) or not len(self.idx):
            return self
        keep = ~np.isin(self.idx, dead)
        return KeyTable(self.keys[keep], self.idx[keep])

    def renumbered(self, remap: I32) -> KeyTable:
        """Positions renumbered by ``remap`` (monotonic: the order stays sorted)."""
        return KeyTable(self.keys, remap[self.idx])

    @property
    def nbytes(self) -> int:
        return int(self.keys.nbytes + self.idx.nbytes)


KeyOf = Callable[[I64], I64]  # positions -> their keys (0: none)
FENCE = 32  # every FENCE-th key of a derived table is kept: searches start within FENCE


class DerivedTable:
    """A blocking key whose keys are a function of the index's columns (``key_of``):
    positions sorted by key (ties by position), keys computed only where a search looks."""

    def __init__(self, key_of: KeyOf, idx: I32 | None = None, fence: I64 | None = None) -> None:
        self.key_of = key_of
        self.idx: I32 = idx if idx is not None else np.zeros(0, dtype=np.int32)
        self.fence: I64 = fence if fence is not None else self._fence()

    @classmethod
    def build(cls, key_of: KeyOf, keys: I64, positions: I32) -> DerivedTable:
        """The table of persons at ``positions`` (ascending) with ``keys`` (0: no key)."""
        has = keys != 0
        order = np.argsort(keys[has], kind="stable")
        return cls(key_of, positions[has][order].astype(np.int32, copy=False))

    def _fence(self) -> I64:
        return self.key_of(self.idx[::FENCE].astype(np.int64))

    @property
    def keys(self) -> I64:
        """Every entry's key (computed: for checks and sharding, not for searches)."""
        return self.key_of(self.idx.astype(np.int64))

    def _bound(self, q: I64, right: bool) -> I64:
        """The first entry whose key is > ``q`` (``right``) or ≥ ``q``, for each q."""
        n = len(self.idx)
        if not n or not len(q):
            return np.zeros(len(q), dtype=np.int64)
        j = np.searchsorted(self.fence, q, side="right" if right else "left").astype(np.int64)
        # The fence brackets the answer: within (FENCE·(j-1), FENCE·j].
        lo = np.maximum((j - 1) * FENCE + 1, 0)
        hi = np.minimum(j * FENCE, n)
        while True:
            active = lo < hi
            if not active.any():
                return lo
            mid = (lo + hi) >> 1
            k = self.key_of(self.idx[np.minimum(mid, n - 1)].astype(np.int64))
            go = active & ((k <= q) if right else (k < q))
            lo = np.where(go, mid + 1, lo)
            hi = np.where(active & ~go, mid, hi)

    def lookup_many(self, keys: I64) -> tuple[I64, I64]:
        """For each key its [start, end) range in the table."""
        q = np.asarray(keys, dtype=np.int64)
        return self._bound(q, right=False), self._bound(q, right=True)

    def count(self, keys: I64) -> I64:
        lo, hi = self.lookup_many(keys)
        return hi - lo

    def inserted(self, keys: I64, positions: I32) -> DerivedTable:
        """The table with the persons at ``positions`` (all after every person already filed,
        ascending) under ``keys`` (0: none): where a stable sort of everything puts them."""
        has = keys != 0
        keys, positions = keys[has], positions[has]
        order = np.argsort(keys, kind="stable")
        keys, positions = keys[order], positions[order]
        at = self._bound(keys, right=True)
        return DerivedTable(self.key_of, np.insert(self.idx, at, positions.astype(np.int32)))

    def without(self, keys: I64, positions: npt.NDArray[np.integer]) -> DerivedTable:
        """The table without the persons at ``positions``, filed under ``keys`` (as they were
        before their values were wiped; 0: not filed)."""
        has = keys != 0
        keys = keys[has]
        at: I64 = np.asarray(positions, dtype=np.int64)[has]
        if not len(keys):
            return self
        lo, hi = self.lookup_many(keys)
        return DerivedTable(self.key_of, np.delete(self.idx, _entries(self.idx, lo, hi, at)))

    def renumbered(self, remap: I32, key_of: KeyOf) -> DerivedTable:
        """Positions renumbered by ``remap`` (monotonic), keys read through ``key_of``."""
        return DerivedTable(key_of, remap[self.idx], self.fence)

    @property
    def nbytes(self) -> int:
        return int(self.idx.nbytes + self.fence.nbytes)


def _entries(idx: I32, lo: I64, hi: I64, positions: I64) -> I64:
    """Where each of ``positions`` is in ``idx`` within its key's range [lo, hi) (a key's
    entries are in position order), for those that are there."""
    n = len(idx)
    a, b = lo.copy(), hi.copy()
    while True:  # the first entry of the range whose position is not below the person's
        active = a < b
        if not active.any():
            break
        mid = (a + b) >> 1
        go = active & (idx[np.minimum(mid, n - 1)] < positions)
        a = np.where(go, mid + 1, a)
        b = np.where(active & ~go, mid, b)
    found = (a < hi) & (idx[np.minimum(a, n - 1)] == positions)
    out: I64 = a[found]
    return out
