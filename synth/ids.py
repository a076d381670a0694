"""Record and household identifiers that are unique, zero-padded and reveal nothing.

Owns the id scheme. Ids are a seeded permutation (a small Feistel network) of a running
index, so neither the order of a file nor an id's value tells ordinary records from seed
(decoy) records, which draw their indices from a reserved range of the same permutation.
"""

from __future__ import annotations

import random
from functools import cache

_DIGITS = 8
_HALF = 10**4  # the 8-digit domain split into two 4-digit halves for a Feistel network
SEED_INDEX_BASE = 90_000_000  # indices from here on belong to seed records
_ROUNDS = 4


@cache
def _round_tables(seed: int, salt: int) -> tuple[tuple[int, ...], ...]:
    # Random round functions as lookup tables: one list index per round keeps ids cheap.
    rng = random.Random(seed * 1_000_003 + salt)
    return tuple(tuple(rng.randrange(_HALF) for _ in range(_HALF)) for _ in range(_ROUNDS))


def _permute(index: int, seed: int, salt: int) -> int:
    """A keyed bijection on 0..10**8-1 (balanced Feistel network over two decimal halves)."""
    if not 0 <= index < _HALF * _HALF:
        raise ValueError(f"id index {index} out of range")
    left, right = divmod(index, _HALF)
    for table in _round_tables(seed, salt):
        left, right = right, (left + table[right]) % _HALF
    return left * _HALF + right


def record_id(index: int, seed: int) -> str:
    """The person id for the ``index``-th person of a watchlist generated with ``seed``."""
    return f"P{_permute(index, seed, 17):0{_DIGITS}d}"


def household_id(index: int, seed: int) -> str:
    """The household id for the ``index``-th household of a watchlist generated with ``seed``."""
    return f"H{_permute(index, seed, 29):0{_DIGITS}d}"
