"""Watchlist persons normalised column by column: the index build's per-person work.

Values repeat across persons: a household's members share an address, a number and a
household id, and names and birth dates repeat across households. So each column is
normalised once per distinct value, and the results reach the persons through numpy
indexing: 200,000 benchmark persons hold 71,000 addresses and phones and 128,000 names.
The result is what :func:`matcher.features.person_features` gives each person, in the
index's terms.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain, compress
from typing import Any, Generic, TypeVar

import numpy as np
import numpy.typing as npt

from matcher.dates import parse_birthdate
from matcher.features import (
    gender_code,
    name_columns,
    phone_digits,
    place_from,
    relationship_code,
)
from matcher.keys import phone_head_key, phone_int, phone_tail_key, str_hash
from matcher.mail import normalize_email

# The data-contract columns a person's index entry is made of.
PERSON_FIELDS = ("record_id", "household_id", "name", "name_kana", "gender", "birthdate",
                 "relationship", "postal_code", "address", "phone", "fax", "email")  # fmt: skip

I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class _Memo(Generic[K, V]):
    """``fn`` remembered across chunks, for values that repeat all over a watchlist, not
    only within a chunk (a common name, a birth date); bounded (``most``) so that a huge,
    varied watchlist cannot grow it without end."""

    def __init__(self, fn: Callable[[K], V], most: int) -> None:
        self.fn = fn
        self.most = most
        self.seen: dict[K, V] = {}

    def __call__(self, value: K) -> V:
        got = self.seen.get(value)
        if got is None:
            if len(self.seen) >= self.most:
                self.seen.clear()
            got = self.seen[value] = self.fn(value)
        return got


@dataclass
class PersonChunk:
    """Normalised persons ready for the index, cheap to send between processes: the names
    and places as ids into the chunk's own word lists, everything else as int64 arrays."""

    record_ids: list[str]
    words: dict[str, list[str]]  # vocabulary -> its words in this chunk, first seen first
    ids: dict[str, I32]  # vocabulary -> (persons, its columns) word ids
    numbers: dict[str, I64]

    def __len__(self) -> int:
        return len(self.record_ids)


class _Distinct(Generic[K]):
    """One column (or pair of columns) normalised by ``fn`` once per distinct value, in the
    order first seen; ``inverse[i]`` is person i's value."""

    def __init__(self, values: Sequence[K], fn: Callable[[K], tuple[Any, ...]]) -> None:
        seen = dict.fromkeys(values)
        at = {v: i for i, v in enumerate(seen)}
        self.inverse: I32 = np.fromiter(map(at.__getitem__, values), dtype=np.int32,
                                        count=len(values))  # fmt: skip
        self.results = [fn(v) for v in seen]
        # Field by field, for the C-level passes below.
        self.fields: list[tuple[Any, ...]] = list(zip(*self.results, strict=True))

    def numbers(self, i: int) -> I64:
        """Result field ``i`` (an int) of each person."""
        if not self.results:
            return np.zeros(0, dtype=np.int64)
        return np.array(self.fields[i], dtype=np.int64)[self.inverse]

    def word_ids(self, fields: tuple[int, ...]) -> tuple[list[str], I32]:
        """Result ``fields`` (strings) as one vocabulary: its words, first seen first (person
        by person, then field by field), and each person's word ids, (persons, fields)."""
        if not self.results:
            return [], np.zeros((0, len(fields)), dtype=np.int32)
        # Going through distinct values in the order first seen meets the words in the order
        # going through the persons would: a repeated value brings no new word.
        flat = list(chain.from_iterable(zip(*(self.fields[i] for i in fields), strict=True)))
        words = list(dict.fromkeys(flat))
        local = {w: i for i, w in enumerate(words)}
        ids = np.fromiter(map(local.__getitem__, flat), dtype=np.int32, count=len(flat))
        return words, ids.reshape(-1, len(fields))[self.inverse]


# vocabulary -> (the _Distinct it comes from, result fields)
_NAME_WORDS = {"kanji": (0, 1, 2, 3), "kana": (4, 5), "loose": (6, 7)}
_PLACE_WORDS = {"town": (0,), "city": (1,)}


def watchlist_chunk(columns: Mapping[str, Sequence[str]], n: int) -> PersonChunk:
    """``n`` watchlist persons given column by column (data-contract names; a missing column
    is empty) normalised for :meth:`WatchlistIndex.add_chunks`; persons without a record id
    are dropped."""
    empty = [""] * n
    cols = {k: columns.get(k) or empty for k in PERSON_FIELDS}
    rids = [r.strip() for r in cols["record_id"]]
    keep = list(map(bool, rids))
    if not all(keep):
        cols = {k: list(compress(v, keep)) for k, v in cols.items()}
        rids = list(compress(rids, keep))
    households = [h.strip() or r for h, r in zip(cols["household_id"], rids, strict=True)]
    names = _Distinct(list(zip(cols["name"], cols["name_kana"], strict=True)), _name_values)
    places = _Distinct(list(zip(cols["address"], cols["postal_code"], strict=True)),
                       _place_values)  # fmt: skip
    births = _Distinct(cols["birthdate"], _birth_values)
    phones = _Distinct(cols["phone"], _phone_values)
    rel = _Distinct(cols["relationship"], _relationship_codes)
    words: dict[str, list[str]] = {}
    ids: dict[str, I32] = {}
    for vocab, fields in _NAME_WORDS.items():
        words[vocab], ids[vocab] = names.word_ids(fields)
    for vocab, fields in _PLACE_WORDS.items():
        words[vocab], ids[vocab] = places.word_ids(fields)
    # A named person's empty relationship is unknown, an unnamed one's is a due date.
    named = np.array([bool(r[0] or r[4]) for r in names.results], dtype=bool)[names.inverse]
    numbers = {
        "rid_h": np.array([str_hash("rid\x1f" + r) for r in rids], dtype=np.int64),
        "hh": _Distinct(households, _household_hash).numbers(0),
        "birth": births.numbers(0), "year": births.numbers(1),
        "gender": _Distinct(cols["gender"], _gender).numbers(0),
        "rel": np.where(named, rel.numbers(0), rel.numbers(1)),
        "postal": places.numbers(2), "block": places.numbers(3), "unit": places.numbers(4),
        "phone": phones.numbers(0), "tail": phones.numbers(1), "head": phones.numbers(2),
        "fax": _Distinct(cols["fax"], _fax_number).numbers(0),
        "email": _Distinct(cols["email"], _email_hash).numbers(0),
    }  # fmt: skip
    return PersonChunk(rids, words, ids, numbers)


def _name_columns(pair: tuple[str, str]) -> tuple[str, ...]:
    return name_columns(*pair)


def _birth_columns(raw: str) -> tuple[int, int]:
    b = parse_birthdate(raw)
    # Only an exact date is filed: a year or a month is compared, not blocked on.
    if b.start is None or b.start != b.end:
        return 0, 0
    return b.start.toordinal(), b.start.year


# 200,000 benchmark persons in 24 chunks: 188,000 names and 127,000 birth dates distinct
# within their chunk, 128,000 and 15,000 in the whole file.
_name_values = _Memo(_name_columns, 1 << 18)
_birth_values = _Memo(_birth_columns, 1 << 16)


def _relationship_codes(relationship: str) -> tuple[int, int]:
    return relationship_code(relationship, True), relationship_code(relationship, False)


def _gender(raw: str) -> tuple[int]:
    return (gender_code(raw),)


def _place_values(pair: tuple[str, str]) -> tuple[str, str, int, int, int]:
    # Each distinct address comes here once per chunk: a cache would only churn.
    p = place_from(*pair)
    return p.town, p.city, p.postal, p.block, p.unit


def _phone_values(raw: str) -> tuple[int, int, int]:
    digits = phone_digits(raw)
    number = phone_int(digits)
    if not number:
        return 0, 0, 0
    return number, phone_tail_key(digits), phone_head_key(digits)


def _fax_number(raw: str) -> tuple[int]:
    # Filed only to be found by a listing cell of several numbers (TEL/FAX …): see
    # matcher.batch.Numbers.
    return (phone_int(phone_digits(raw)),)


def _household_hash(household: str) -> tuple[int]:
    return (str_hash("hh\x1f" + household),)


def _email_hash(raw: str) -> tuple[int]:
    email = normalize_email(raw) if raw else ""
    return (str_hash("email\x1f" + email) if email else 0,)
