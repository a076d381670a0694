"""Which record ids a file has already shown: exact enough, and small at 35 million rows.

Each id becomes a 64-bit keyed hash (Python's own string hash: SipHash under a key drawn
per process, so nobody can craft ids that collide); the hashes live in a few sorted numpy
arrays whose sizes at least double from one to the next (a log-structured set: each chunk
is checked by binary search, and arrays are merged as they fill up). 8 bytes an id: 280 MB
at 35 million, where a Python set of strings would take several gigabytes. Two different
ids collide with probability about n²/2⁶⁵ (3·10⁻⁵ for a whole 35-million file); such an id
would be rejected, with its line.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

I64 = npt.NDArray[np.int64]


class SeenKeys:
    def __init__(self) -> None:
        self._levels: list[I64] = []  # sorted, each at least twice the size of the next

    def _hashes(self, keys: Sequence[str]) -> I64:
        return np.fromiter(map(hash, keys), dtype=np.int64, count=len(keys))

    def add(self, keys: Sequence[str]) -> list[bool]:
        """For each key, whether it was seen before (earlier in ``keys`` or in an earlier
        call); all of them are seen from now on."""
        hashes = self._hashes(keys)
        repeated = np.zeros(len(keys), dtype=bool)
        for level in self._levels:
            at = np.searchsorted(level, hashes)
            found = at < len(level)
            found[found] = level[at[found]] == hashes[found]
            repeated |= found
        # Within the batch, every occurrence after the first is a repeat.
        _, first = np.unique(hashes, return_index=True)
        later = np.ones(len(keys), dtype=bool)
        later[first] = False
        repeated |= later
        self._push(np.unique(hashes[~repeated]))
        return [bool(x) for x in repeated]

    def _push(self, batch: I64) -> None:
        self._levels.append(batch)
        while len(self._levels) > 1 and len(self._levels[-2]) <= 2 * len(self._levels[-1]):
            top = self._levels.pop()
            # Two sorted runs of distinct values: a stable sort (timsort) merges them in
            # linear time.
            self._levels[-1] = np.sort(np.concatenate((self._levels[-1], top)), kind="stable")

    def __len__(self) -> int:
        return sum(len(level) for level in self._levels)
