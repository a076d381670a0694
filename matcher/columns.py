"""Compact storage: string vocabularies, packed strings, growable numpy columns.

The index keeps one small integer per person and field instead of an object per person, so 35
million people fit in memory; strings that repeat (names, towns) live once in a vocabulary,
unique strings (record ids) are packed into one byte buffer with offsets.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import islice, repeat

import numpy as np
import numpy.typing as npt


class Vocab:
    """Strings ↔ dense ids; id 0 is the empty string (unknown)."""

    def __init__(self, words: Sequence[str] = ("",)) -> None:
        self.words: list[str] = list(words) if words else [""]
        self.ids: dict[str, int] = {w: i for i, w in enumerate(self.words)}

    def add(self, word: str) -> int:
        i = self.ids.get(word)
        if i is None:
            i = len(self.words)
            self.words.append(word)
            self.ids[word] = i
        return i

    def sync(self) -> None:
        """Catch ``words`` up after ids were added to ``ids`` directly (``ids.setdefault(w,
        len(ids))`` in a hot loop): dicts keep insertion order, so the new words are last."""
        if len(self.words) < len(self.ids):
            self.words.extend(islice(self.ids, len(self.words), None))

    def get(self, word: str) -> int:
        """The id, 0 for "", -1 for a word never seen."""
        if not word:
            return 0
        return self.ids.get(word, -1)

    def ids_of(self, words: Sequence[str]) -> npt.NDArray[np.int64]:
        """:meth:`get` of each word, in one C-level pass."""
        if self.ids.get("") != 0:  # never so (see __init__), but ids_of must equal get
            return np.array([self.get(w) for w in words], dtype=np.int64)
        return np.fromiter(map(self.ids.get, words, repeat(-1)), dtype=np.int64,
                           count=len(words))  # fmt: skip

    def __len__(self) -> int:
        return len(self.words)


class PackedStrings:
    """Many short unique strings in one UTF-8 buffer with int64 offsets."""

    def __init__(self, data: bytes = b"", offsets: npt.NDArray[np.int64] | None = None) -> None:
        self.data = data
        self.offsets = offsets if offsets is not None else np.zeros(1, dtype=np.int64)

    @classmethod
    def of(cls, items: Iterable[str]) -> PackedStrings:
        encoded = [s.encode("utf-8") for s in items]
        offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
        np.cumsum([len(b) for b in encoded], out=offsets[1:])
        return cls(b"".join(encoded), offsets)

    def extend(self, items: Iterable[str]) -> None:
        more = PackedStrings.of(items)
        self.offsets = np.concatenate([self.offsets, more.offsets[1:] + self.offsets[-1]])
        self.data += more.data

    @classmethod
    def concat(cls, parts: Sequence[PackedStrings]) -> PackedStrings:
        """One buffer of ``parts`` in order (one copy, however many parts)."""
        if not parts:
            return cls()
        ends = np.cumsum([0] + [len(p.data) for p in parts[:-1]])
        offsets = np.concatenate(
            [parts[0].offsets[:1], *(p.offsets[1:] + e for p, e in zip(parts, ends, strict=True))]
        )
        return cls(b"".join(p.data for p in parts), offsets)

    def extend_packed(self, more: PackedStrings) -> None:
        self.offsets = np.concatenate([self.offsets, more.offsets[1:] + self.offsets[-1]])
        self.data += more.data

    def __getitem__(self, i: int) -> str:
        return self.data[int(self.offsets[i]) : int(self.offsets[i + 1])].decode("utf-8")

    def many(self, positions: npt.NDArray[np.int64]) -> list[str]:
        """The strings at ``positions``, decoded in one pass over their offsets."""
        data, offsets = self.data, self.offsets
        return [data[a:b].decode("utf-8") for a, b in zip(
            offsets[positions].tolist(), offsets[positions + 1].tolist(), strict=True)]

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def take(self, keep: npt.NDArray[np.bool_]) -> PackedStrings:
        return PackedStrings.of(self[int(i)] for i in np.flatnonzero(keep))

    @property
    def nbytes(self) -> int:
        return len(self.data) + self.offsets.nbytes


class KeyTable:
    """A blocking key: sorted key values with the person each one files (binary search)."""

    def __init__(
        self,
        keys: npt.NDArray[np.int64] | None = None,
        idx: npt.NDArray[np.int32] | None = None,
    ) -> None:
        self.keys = keys if keys is not None else np.zeros(0, dtype=np.int64)
        self.idx = idx if idx is not None else np.zeros(0, dtype=np.int32)

    @classmethod
    def build(cls, keys: npt.NDArray[np.int64], idx: npt.NDArray[np.int32]) -> KeyTable:
        keep = keys != 0
        keys, idx = keys[keep], idx[keep]
        order = np.argsort(keys, kind="stable")
        return cls(keys[order], idx[order])

    @classmethod
    def of_runs(cls, runs: Sequence[KeyTable]) -> KeyTable:
        """The table ``build`` makes of several built tables' entries, when each table files
        later persons than the one before (chunks of a build, in order): its entries are
        sorted runs, which a stable sort merges several times faster than it sorts."""
        if len(runs) == 1:
            return runs[0]
        # build's stable sort keeps ties in run order: persons in order.
        return cls.build(np.concatenate([r.keys for r in runs]),
                         np.concatenate([r.idx for r in runs]))  # fmt: skip

    def merge(self, other: KeyTable) -> KeyTable:
        """Both tables' entries, sorted (``other`` is a built table: sorted, no zeros)."""
        if not len(self.keys):  # a first build: nothing to merge, and no second sort
            return other
        return KeyTable.build(
            np.concatenate([self.keys, other.keys]), np.concatenate([self.idx, other.idx])
        )

    def lookup_many(self, keys: npt.NDArray[np.int64]) -> tuple[
        npt.NDArray[np.int64], npt.NDArray[np.int64]
    ]:
        """For each key its [start, end) range in the table."""
        return (
            np.searchsorted(self.keys, keys, side="left"),
            np.searchsorted(self.keys, keys, side="right"),
        )

    def count(self, keys: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        lo, hi = self.lookup_many(keys)
        return hi - lo

    def drop(self, dead: npt.NDArray[np.bool_], remap: npt.NDArray[np.int32]) -> KeyTable:
        keep = ~dead[self.idx]
        return KeyTable(self.keys[keep], remap[self.idx[keep]])

    @property
    def nbytes(self) -> int:
        return int(self.keys.nbytes + self.idx.nbytes)
