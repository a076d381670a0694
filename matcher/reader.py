"""What matching reads of an index: the one interface a local and a sharded index answer.

:class:`matcher.WatchlistIndex` answers it from its own arrays; :class:`matcher.shards.
ShardedIndex` by asking the shards that hold the keys or persons concerned (processes on
other machines). Matching (``batch``, ``compare``, ``decide``, ``match``) reads an index
only through these methods, so both give the very same results: every answer is exactly
what one index of the whole watchlist would give.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from matcher.columns import Vocab

I64 = npt.NDArray[np.int64]


class IndexReader(Protocol):
    """The read side of a watchlist index (positions are the persons' numbers)."""

    @property
    def vocabs(self) -> Mapping[str, Vocab]:
        """Names and places as ids: the listing's words are looked up in these."""
        ...

    def __len__(self) -> int:
        """How many persons are alive."""
        ...

    def stats(self) -> dict[str, Any]:
        """Term frequencies (:mod:`matcher.frequencies`)."""
        ...

    def postings(self, kind: str, keys: I64, most: int) -> tuple[I64, I64]:
        """For each key, how many persons it files (0 if more than ``most``) and their
        positions, key after key, each key's in position order."""
        ...

    def count(self, kind: str, keys: I64) -> I64:
        """How many persons each key files."""
        ...

    def columns_at(self, pos: I64, names: Iterable[str] | None = None
                   ) -> dict[str, npt.NDArray[Any]]:  # fmt: skip
        """The persons' values, column by column (all columns by default)."""
        ...

    def column(self, name: str, pos: I64) -> npt.NDArray[Any]:
        """One column's values of the persons at ``pos``."""
        ...

    def alive_at(self, pos: I64) -> npt.NDArray[np.bool_]:
        """Whether each person is still in the watchlist."""
        ...

    def record_ids_at(self, positions: I64) -> list[str]:
        """The persons' record ids."""
        ...

    def guardian_of(self, hh: I64) -> I64:
        """The position of each household's guardian (-1: none registered)."""
        ...


__all__ = ["IndexReader"]
