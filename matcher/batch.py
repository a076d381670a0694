"""Listing rows as column arrays in the index's vocabularies, and their candidate pairs.

``ListingBatch`` mirrors the index columns for a batch of published rows (ids of -1 mean a
value the watchlist never had). ``candidates`` looks every row's blocking keys up in the
index's key tables, all rows at once, and returns the distinct (row, person) pairs.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from itertools import compress, repeat
from operator import attrgetter
from typing import Any

import numpy as np
import numpy.typing as npt

from matcher.features import Features, Place
from matcher.index import KEY_KINDS, name_year_keys
from matcher.keys import phone_head_key, phone_int, phone_tail_key, str_hash
from matcher.reader import IndexReader

# A key shared by more persons than this says nothing (a very common name in a big city).
MAX_BLOCK = 5000

I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]


@dataclass
class ListingBatch:
    feats: list[Features]
    cols: dict[str, npt.NDArray[np.int64]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.feats)


def make_batch(index: IndexReader, feats: Sequence[Features]) -> ListingBatch:
    """The rows' values as columns, words as ids in the index's vocabularies (-1: a word
    the watchlist never had), column by column through C-level passes."""
    n = len(feats)

    def of(name: str) -> list[Any]:
        return list(map(attrgetter(name), feats))

    def ids(vocab: str, words: list[str]) -> I64:
        return index.vocabs[vocab].ids_of(words)

    def ints(values: Iterable[int]) -> I64:
        return np.fromiter(values, dtype=np.int64, count=n)

    places: list[Place] = of("place")
    phones: list[str] = of("phone")
    guardian = [g.partition("|") for g in of("guardian_giv_l")]
    cols = {
        "fam": ids("kanji", of("fam")), "giv": ids("kanji", of("giv")),
        "fam_w": ids("kanji", of("fam_w")), "giv_w": ids("kanji", of("giv_w")),
        "fam_l": ids("loose", of("fam_l")), "giv_l": ids("loose", of("giv_l")),
        "order_known": ints(of("order_known")), "birth_lo": ints(of("birth_lo")),
        "birth_hi": ints(of("birth_hi")),
        "birth_day": ints(map("day".__eq__, of("birth_precision"))),
        "gender": ints(of("gender")),
        "town": ids("town", [p.town for p in places]),
        "city": ids("city", [p.city for p in places]),
        "postal": ints(p.postal for p in places), "block": ints(p.block for p in places),
        "unit": ints(p.unit for p in places), "phone": ints(map(phone_int, phones)),
        "masked": ints(map(str.__contains__, phones, repeat("?"))),
        "email": ints(str_hash("email\x1f" + e) if e else 0 for e in of("email")),
        "g_giv": ids("kanji", of("guardian_giv")),
        "g_giv_l": ids("loose", [g[0] for g in guardian]),
        "g_giv_l2": ids("loose", [g[2] for g in guardian]),
        "unspaced": ints(of("unspaced")),
    }  # fmt: skip
    # A cell of several numbers (1), found in one C-level pass: such rows are rare.
    cols["multi"] = np.zeros(n, dtype=np.int64)
    cols["multi"][np.fromiter(compress(range(n), map(_PHONES, feats)), dtype=np.int64)] = 1
    return ListingBatch(list(feats), cols)


_PHONES = attrgetter("phones")


def row_keys(
    index: IndexReader, batch: ListingBatch, rows: Sequence[int] | None = None
) -> dict[str, tuple[I64, I64]]:
    """(row numbers, keys) per key kind for the given rows (default: all): the keys
    :func:`~matcher.index.person_keys` gives each row, computed column by column."""
    del index  # the ids are already in the batch's columns
    c = batch.cols
    r = (
        np.arange(len(batch), dtype=np.int64)
        if rows is None
        else np.asarray(rows, dtype=np.int64).reshape(-1)
    )
    fam, giv, fam_l, giv_l = c["fam"][r], c["giv"][r], c["fam_l"][r], c["giv_l"][r]
    out: dict[str, tuple[I64, I64]] = {}

    def put(kind: str, rr: I64, kk: npt.NDArray[np.int64]) -> None:
        keep = kk != 0  # no key
        out[kind] = (rr[keep], kk[keep].astype(np.int64))

    feats = batch.feats
    many = r[c["multi"][r] == 1].tolist()  # rows whose cell gave several numbers (rare)
    # Each number after the first is looked up as a phone too, and every full one as a fax.
    later = [(i, d) for i in many for d in feats[i].phones[1:]]
    put("fax", *_pairs([(i, phone_int(d)) for i in many for d in feats[i].phones]))
    more_r, more_k = _pairs([(i, phone_int(d)) for i, d in later])
    put("phone", np.concatenate([r, more_r]), np.concatenate([c["phone"][r], more_k]))
    masked = r[c["masked"][r] == 1]
    digits = [feats[i].phone for i in masked.tolist()]
    hidden = [(i, d) for i, d in later if "?" in d]  # later numbers masked too
    masked = np.concatenate([masked, np.array([i for i, _ in hidden], dtype=np.int64)])
    digits += [d for _, d in hidden]
    put("ph_tail", masked, np.array([phone_tail_key(d) for d in digits], dtype=np.int64))
    put("ph_head", masked, np.array([phone_head_key(d) for d in digits], dtype=np.int64))
    post = c["postal"][r] << 24
    has_post = post != 0
    # Romaji of unknown order also files the given name's reading as the family name's.
    alt = has_post & (c["order_known"][r] == 0) & (giv_l > 0) & (giv_l != fam_l)
    fam_ok = has_post & (fam_l > 0)
    put(
        "postal_fam",
        np.concatenate([r[fam_ok], r[alt]]),
        np.concatenate([post[fam_ok] | fam_l[fam_ok], post[alt] | giv_l[alt]]),
    )
    put("postal_kanji", r, np.where(has_post & (fam > 0), post | fam, 0))
    put("block", r, c["block"][r])
    ry, years, at = _birth_years(c["birth_lo"][r], c["birth_hi"][r], r)
    put("kana_year", ry, name_year_keys(fam_l[at], giv_l[at], years, False))
    put("kanji_year", ry, name_year_keys(fam[at], giv[at], years, True))
    put("email", r, c["email"][r])
    return {k: out[k] for k in KEY_KINDS}


def _birth_years(lo_days: I64, hi_days: I64, r: I64) -> tuple[I64, I64, I64]:
    """Every year a birth interval of up to 800 days touches (a day, a month, an age's
    year): (row of each, the year, the position in ``r`` of its row)."""
    lo, hi = lo_days.tolist(), hi_days.tolist()
    spans = [
        (date.fromordinal(a).year, date.fromordinal(b).year) if a and b and b - a <= 800
        else (0, -1)
        for a, b in zip(lo, hi, strict=True)
    ]  # fmt: skip
    first = np.array([a for a, _ in spans], dtype=np.int64)
    count = np.array([max(b - a + 1, 0) for a, b in spans], dtype=np.int64)
    nth = np.arange(int(count.sum()), dtype=np.int64) - np.repeat(np.cumsum(count) - count, count)
    return np.repeat(r, count), np.repeat(first, count) + nth, np.repeat(np.arange(len(r)), count)


def _pairs(pairs: list[tuple[int, int]]) -> tuple[I64, I64]:
    """(rows, keys) of (row, key) pairs."""
    rows = np.array([i for i, _ in pairs], dtype=np.int64)
    return rows, np.array([k for _, k in pairs], dtype=np.int64)


def candidates(index: IndexReader, keys: dict[str, tuple[I64, I64]]) -> tuple[I64, I64]:
    """Distinct (row, person position) pairs sharing at least one blocking key."""
    all_r: list[I64] = []
    all_p: list[I64] = []
    for kind, (rr, kk) in keys.items():
        if not len(kk):
            continue
        n, pos = index.postings(kind, np.array(kk, dtype=np.int64), MAX_BLOCK)
        if not len(pos):
            continue
        all_r.append(np.repeat(np.array(rr, dtype=np.int64), n))
        all_p.append(pos)
    if not all_r:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    pair = sorted_unique((np.concatenate(all_r) << 32) | np.concatenate(all_p))
    r, p = pair >> 32, pair & 0xFFFFFFFF
    keep = index.alive_at(p)
    return r[keep], p[keep]


def sorted_unique(a: I64) -> I64:
    """``np.unique`` of an int64 array, sorted; numpy 2.4's ``np.unique`` takes a hash path
    that is ~50x slower than sort + neighbour test at a million pairs."""
    if not len(a):
        return a
    s = np.sort(a)
    keep = np.empty(len(s), dtype=np.bool_)
    keep[0] = True
    np.not_equal(s[1:], s[:-1], out=keep[1:])
    return s[keep]


_PLAUSIBLE = ("fam", "giv", "fam_l", "giv_l", "block", "phone", "email")


def plausible(
    index: IndexReader, batch: ListingBatch, rows: I64, pos: I64
) -> npt.NDArray[np.bool_]:
    """Pairs worth comparing: some name part agrees, or the phone, lot or e-mail does.

    A pair with neither (another family's masked number that happens to fit, a stranger with
    the same surname in the postal area) cannot reach `review`: dropping it early saves the
    string comparisons.
    """
    c = batch.cols
    p = index.columns_at(pos, _PLAUSIBLE)

    def eq(a: str, b: str) -> npt.NDArray[np.bool_]:
        x = c[a][rows]
        return np.asarray((x > 0) & (x == p[b]), dtype=np.bool_)

    names = eq("fam", "fam") | eq("giv", "giv") | eq("fam_l", "fam_l") | eq("giv_l", "giv_l")
    names |= eq("fam_l", "giv_l") | eq("giv_l", "fam_l")  # romaji either way round
    block = c["block"][rows]
    phone = c["phone"][rows]
    email = c["email"][rows]
    located = (
        ((block != 0) & (block == p["block"]))
        | ((phone > 0) & (phone == p["phone"]))
        | ((email != 0) & (email == p["email"]))
    )
    several = np.flatnonzero(c["multi"][rows] == 1) if c["multi"].any() else rows[:0]
    if len(several):
        numbers = Numbers(index, batch)
        located[several] |= np.array([
            numbers.agreeing(r, q, h) != 0 for r, q, h in zip(
                rows[several].tolist(), pos[several].tolist(),
                p["phone"][several].tolist(), strict=True)
        ], dtype=np.bool_)  # fmt: skip
    return np.asarray(names | located, dtype=np.bool_)


class Numbers:
    """Rows whose cell gave several numbers, against persons' phones and faxes: any of the
    row's full numbers that is the person's phone or fax agrees (TEL/FAX cells)."""

    def __init__(self, index: IndexReader, batch: ListingBatch) -> None:
        self.index = index
        self.feats = batch.feats
        self._faxed: dict[int, frozenset[int]] = {}

    def faxed(self, key: int) -> frozenset[int]:
        """Positions of the persons whose fax is the number ``key`` (a :func:`phone_int`)."""
        got = self._faxed.get(key)
        if got is None:
            _, pos = self.index.postings("fax", np.array([key], dtype=np.int64), 1 << 62)
            got = self._faxed[key] = frozenset(pos.tolist())
        return got

    def agreeing(self, row: int, pos: int, phone: int) -> int:
        """The row's first number that is the phone (``phone``: the person's, as the index
        keeps it) or the fax of the person at ``pos``; 0 if none is."""
        for digits in self.feats[row].phones:
            key = phone_int(digits)
            if key and (key == phone or pos in self.faxed(key)):
                return key
        return 0
