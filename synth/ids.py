"""Record and household identifiers that are unique, zero-padded and reveal nothing.

Owns the id scheme. Ids are a seeded permutation (a small Feistel network) of a running
index, so neither the order of a file nor an id's value tells ordinary records from seed
(decoy) records, which draw their indices from a reserved range of the same permutation.
"""

from __future__ import annotations

_DIGITS = 8
_HALF = 10**4  # the 8-digit domain split into two 4-digit halves for a Feistel network
SEED_INDEX_BASE = 90_000_000  # indices from here on belong to seed records
_ROUNDS = 4


def _round(value: int, key: int) -> int:
    # A cheap integer mix; the ids only need to look unordered, not to resist cryptanalysis.
    x = (value * 0x9E3779B1 + key) & 0xFFFFFFFF
    x ^= x >> 15
    x = (x * 0x85EBCA6B) & 0xFFFFFFFF
    x ^= x >> 13
    return x % _HALF


def _permute(index: int, seed: int, salt: int) -> int:
    """A keyed bijection on 0..10**8-1 (balanced Feistel network over two decimal halves)."""
    if not 0 <= index < _HALF * _HALF:
        raise ValueError(f"id index {index} out of range")
    left, right = divmod(index, _HALF)
    for r in range(_ROUNDS):
        key = (seed * 0x27D4EB2F + salt * 0x165667B1 + r * 0x61C88647) & 0xFFFFFFFF
        left, right = right, (left + _round(right, key)) % _HALF
    return left * _HALF + right


def record_id(index: int, seed: int) -> str:
    """The person id for the ``index``-th person of a watchlist generated with ``seed``."""
    return f"P{_permute(index, seed, 17):0{_DIGITS}d}"


def household_id(index: int, seed: int) -> str:
    """The household id for the ``index``-th household of a watchlist generated with ``seed``."""
    return f"H{_permute(index, seed, 29):0{_DIGITS}d}"
