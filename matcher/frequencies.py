"""The index's term frequencies: how many persons hold each name, town, birth date.

The comparison weighs an agreement by how common the value is (``compare._Pairs.log2_share``):
a vocabulary column's counts by word id, the sorted birth dates, the guardians' given-name
readings. They are computed once from the columns (:func:`compute`), saved with the index,
and kept up to date person by person as persons are added or removed (:func:`add`,
:func:`remove`), always equal to what :func:`compute` gives afresh: a resident index that
changes all day never pays a recount of 35 million persons.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from matcher.features import GUARDIAN

Stats = dict[str, Any]
# column -> the vocabulary its ids are from: the columns counted by word
COUNTED = {"fam": "kanji", "giv": "kanji", "fam_w": "kanji", "fam_l": "loose",
           "giv_l": "loose", "town": "town", "city": "city"}  # fmt: skip
ARRAYS = (*COUNTED, "births", "g_giv_l")  # the arrays a saved index keeps


def compute(cols: Mapping[str, npt.NDArray[Any]], alive: npt.NDArray[np.bool_],
            sizes: Mapping[str, int]) -> Stats:  # fmt: skip
    """The frequencies of the alive persons (``sizes``: each vocabulary's length)."""
    s: Stats = {"n": max(int(alive.sum()), 1)}
    for name, voc in COUNTED.items():
        s[name] = np.bincount(cols[name][alive], minlength=sizes[voc]).astype(np.int32)
    births = cols["birth"][alive]
    s["births"] = np.sort(births[births > 0])
    # Guardians' given-name readings: how common the name a row gives as its guardian's is.
    g = alive & (cols["rel"] == GUARDIAN)
    s["guardians"] = int(g.sum())
    s["n_guardians"] = max(s["guardians"], 1)
    s["g_giv_l"] = np.bincount(cols["giv_l"][g], minlength=sizes["loose"]).astype(np.int32)
    return s


def _counts(s: Stats, name: str, values: npt.NDArray[Any], size: int, sign: int) -> None:
    old = s[name]
    if len(old) < size:
        old = np.concatenate([old, np.zeros(size - len(old), dtype=np.int32)])
    delta = np.bincount(values, minlength=size).astype(np.int32)
    s[name] = old + sign * delta


def add(s: Stats, new: Mapping[str, npt.NDArray[Any]], alive_n: int,
        sizes: Mapping[str, int]) -> None:  # fmt: skip
    """Count the persons whose columns are ``new`` (``alive_n``: the persons alive after)."""
    _change(s, new, alive_n, sizes, +1)
    births = new["birth"][new["birth"] > 0]
    births = np.sort(births)
    # Each at its place in the sorted dates: the array a sort of everything gives.
    s["births"] = np.insert(s["births"], np.searchsorted(s["births"], births), births)


def remove(s: Stats, old: Mapping[str, npt.NDArray[Any]], alive_n: int,
           sizes: Mapping[str, int]) -> None:  # fmt: skip
    """Stop counting the persons whose columns were ``old``."""
    _change(s, old, alive_n, sizes, -1)
    gone = np.sort(old["birth"][old["birth"] > 0])
    if len(gone):
        # One occurrence of each: equal dates take consecutive places from their first.
        first = np.searchsorted(s["births"], gone, side="left")
        starts = np.r_[0, np.flatnonzero(gone[1:] != gone[:-1]) + 1]
        rank = np.arange(len(gone)) - np.repeat(starts, np.diff(np.r_[starts, len(gone)]))
        s["births"] = np.delete(s["births"], first + rank)


def _change(s: Stats, c: Mapping[str, npt.NDArray[Any]], alive_n: int,
            sizes: Mapping[str, int], sign: int) -> None:  # fmt: skip
    for name, voc in COUNTED.items():
        _counts(s, name, c[name], sizes[voc], sign)
    g = c["rel"] == GUARDIAN
    s["guardians"] += sign * int(g.sum())
    s["n_guardians"] = max(s["guardians"], 1)  # a divisor
    _counts(s, "g_giv_l", c["giv_l"][g], sizes["loose"], sign)
    s["n"] = max(alive_n, 1)


def resized(s: Stats, sizes: Mapping[str, int]) -> Stats:
    """The counts padded to vocabularies that grew (words added, none counted yet)."""
    for name, voc in (*COUNTED.items(), ("g_giv_l", "loose")):
        if len(s[name]) < sizes[voc]:
            _counts(s, name, np.zeros(0, dtype=np.int64), sizes[voc], +1)
    return s


__all__ = ["ARRAYS", "COUNTED", "Stats", "add", "compute", "remove", "resized"]
