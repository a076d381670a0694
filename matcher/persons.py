"""Watchlist persons normalised column by column: the index build's per-person work.

Values repeat across persons: a household's members share an address, a number and a
household id, and names and birth dates repeat across households. So each column is
normalised once per distinct value (a few C-level passes map the results back to persons):
200,000 benchmark persons hold 71,000 addresses and phones and 128,000 names. The result is what
:func:`matcher.features.person_features` gives each person, in the index's terms.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain, compress
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from matcher.address import parse_address
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
                 "relationship", "postal_code", "address", "phone", "email")  # fmt: skip

# (rid, its hash, household hash, 8 name strings, birth, birth year, gender, relationship,
#  town, city, postal, block, unit, phone int, phone tail key, phone head key, e-mail hash),
# column by column: 24 lists pickle (from a worker) and become numpy arrays far faster than
# as many tuples as persons.
PersonColumns = tuple[list[Any], ...]
FIELDS = 24

_parse_once = parse_address.__wrapped__  # the parser without its cache

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

# Names also repeat across chunks (a common name is common everywhere); bounded so that a
# huge watchlist cannot grow it without end.
_NAMES: dict[tuple[str, str], tuple[str, ...]] = {}
_NAMES_MAX = 1 << 18


def person_columns(rows: Iterable[Mapping[str, str]]) -> PersonColumns:
    """Watchlist rows (data-contract columns) reduced to :data:`PersonColumns`; rows without
    a record id are dropped."""
    rows = list(rows)
    return persons_from_columns({k: [r.get(k) or "" for r in rows] for k in PERSON_FIELDS},
                                len(rows))  # fmt: skip


def persons_from_columns(columns: Mapping[str, Sequence[str]], n: int) -> PersonColumns:
    """The same from ``n`` persons given column by column (a missing column is empty)."""
    empty = [""] * n
    cols = {k: columns.get(k) or empty for k in PERSON_FIELDS}
    rids = [r.strip() for r in cols["record_id"]]
    keep = list(map(bool, rids))
    if not all(keep):
        cols = {k: list(compress(v, keep)) for k, v in cols.items()}
        rids = list(compress(rids, keep))
    if not rids:
        return tuple([] for _ in range(FIELDS))
    households = [h.strip() or r for h, r in zip(cols["household_id"], rids, strict=True)]
    names = _each(list(zip(cols["name"], cols["name_kana"], strict=True)), _name_values)
    fam, giv, fam_w, giv_w, fam_k, giv_k, fam_l, giv_l = map(list, zip(*names, strict=True))
    birth, year = map(list, zip(*_each(cols["birthdate"], _birth_values), strict=True))
    named = [bool(a or b) for a, b in zip(fam, fam_k, strict=True)]
    rel = _each(list(zip(cols["relationship"], named, strict=True)), _relationship)
    place = _each(list(zip(cols["address"], cols["postal_code"], strict=True)), _place_values)
    town, city, postal, block, unit = map(list, zip(*place, strict=True))
    phone, tail, head = map(list, zip(*_each(cols["phone"], _phone_values), strict=True))
    return (rids, [str_hash("rid\x1f" + r) for r in rids],
            _each(households, _household_hash), fam, giv, fam_w, giv_w, fam_k, giv_k, fam_l,
            giv_l, birth, year, _each(cols["gender"], gender_code), rel, town, city, postal,
            block, unit, phone, tail, head, _each(cols["email"], _email_hash))  # fmt: skip


def _each(values: Sequence[K], fn: Callable[[K], V]) -> list[V]:
    """``[fn(v) for v in values]``, calling ``fn`` once per distinct value."""
    table = {v: fn(v) for v in dict.fromkeys(values)}
    return list(map(table.__getitem__, values))


def _name_values(pair: tuple[str, str]) -> tuple[str, ...]:
    got = _NAMES.get(pair)
    if got is None:
        if len(_NAMES) >= _NAMES_MAX:
            _NAMES.clear()
        got = _NAMES[pair] = name_columns(*pair)
    return got


def _birth_values(raw: str) -> tuple[int, int]:
    b = parse_birthdate(raw)
    # Only an exact date is filed: a year or a month is compared, not blocked on.
    if b.start is None or b.start != b.end:
        return 0, 0
    return b.start.toordinal(), b.start.year


def _relationship(pair: tuple[str, bool]) -> int:
    return relationship_code(*pair)


def _place_values(pair: tuple[str, str]) -> tuple[str, str, int, int, int]:
    # Each distinct address comes here once per chunk: the parser's cache would only churn.
    p = place_from(*pair, _parse_once)
    return p.town, p.city, p.postal, p.block, p.unit


def _phone_values(raw: str) -> tuple[int, int, int]:
    digits = phone_digits(raw)
    number = phone_int(digits)
    if not number:
        return 0, 0, 0
    return number, phone_tail_key(digits), phone_head_key(digits)


def _household_hash(household: str) -> int:
    return str_hash("hh\x1f" + household)


def _email_hash(raw: str) -> int:
    email = normalize_email(raw) if raw else ""
    return str_hash("email\x1f" + email) if email else 0


# Which PersonColumns go to which of the index's vocabularies, in the order their words are
# numbered (person by person, then column by column).
_VOCAB_COLUMNS = {"kanji": (3, 4, 5, 6), "kana": (7, 8), "loose": (9, 10), "town": (15,),
                  "city": (16,)}  # fmt: skip
_NUMBER_COLUMNS = {"rid_h": 1, "hh": 2, "birth": 11, "year": 12, "gender": 13, "rel": 14,
                   "postal": 17, "block": 18, "unit": 19, "phone": 20, "tail": 21, "head": 22,
                   "email": 23}  # fmt: skip


@dataclass
class PersonChunk:
    """Normalised persons ready for the index, cheap to send between processes: the names
    and places as ids into the chunk's own word lists, everything else as int64 arrays."""

    record_ids: list[str]
    words: dict[str, list[str]]  # vocabulary -> its words in this chunk, first seen first
    ids: dict[str, npt.NDArray[np.int32]]  # vocabulary -> (persons, its columns) word ids
    numbers: dict[str, npt.NDArray[np.int64]]

    def __len__(self) -> int:
        return len(self.record_ids)


def watchlist_chunk(columns: Mapping[str, Sequence[str]], n: int) -> PersonChunk:
    """``n`` watchlist persons given column by column (data-contract names; a missing column
    is empty) normalised for :meth:`WatchlistIndex.add_chunks`; persons without a record id
    are dropped."""
    return person_chunk(persons_from_columns(columns, n))


def person_chunk(columns: PersonColumns) -> PersonChunk:
    """:class:`PersonChunk` of :func:`person_columns` / :func:`persons_from_columns`."""
    words: dict[str, list[str]] = {}
    ids: dict[str, npt.NDArray[np.int32]] = {}
    for vocab, at in _VOCAB_COLUMNS.items():
        flat = list(chain.from_iterable(zip(*(columns[i] for i in at), strict=True)))
        order = list(dict.fromkeys(flat))
        local = {w: i for i, w in enumerate(order)}
        words[vocab] = order
        ids[vocab] = np.fromiter(map(local.__getitem__, flat), dtype=np.int32,
                                 count=len(flat)).reshape(-1, len(at))  # fmt: skip
    numbers = {k: np.array(columns[i], dtype=np.int64) for k, i in _NUMBER_COLUMNS.items()}
    return PersonChunk(list(columns[0]), words, ids, numbers)
