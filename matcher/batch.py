"""Listing rows as column arrays in the index's vocabularies, and their candidate pairs.

``ListingBatch`` mirrors the index columns for a batch of published rows (ids of -1 mean a
value the watchlist never had). ``candidates`` looks every row's blocking keys up in the
index's key tables, all rows at once, and returns the distinct (row, person) pairs.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from itertools import repeat
from operator import attrgetter
from typing import Any

import numpy as np
import numpy.typing as npt

from matcher.features import Features, Place
from matcher.index import KEY_KINDS, WatchlistIndex, name_year_keys
from matcher.keys import phone_head_key, phone_int, phone_tail_key, str_hash

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


def make_batch(index: WatchlistIndex, feats: Sequence[Features]) -> ListingBatch:
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
    return ListingBatch(list(feats), cols)


def row_keys(
    index: WatchlistIndex, batch: ListingBatch, rows: Sequence[int] | None = None
) -> dict[str, tuple[I64, I64]]:
    """(row numbers, keys) per key kind for the given rows (default: all): the keys
    :func:`~matcher.index.person_keys` gives each row, computed column by column."""
    del index  # the ids are already in the batch's columns
    c = batch.cols
    r = np.arange(len(batch), dtype=np.int64) if rows is None else \
        np.asarray(rows, dtype=np.int64).reshape(-1)
    fam, giv, fam_l, giv_l = c["fam"][r], c["giv"][r], c["fam_l"][r], c["giv_l"][r]
    out: dict[str, tuple[I64, I64]] = {}

    def put(kind: str, rr: I64, kk: npt.NDArray[np.int64]) -> None:
        keep = kk != 0  # no key
        out[kind] = (rr[keep], kk[keep].astype(np.int64))

    put("phone", r, c["phone"][r])  # 0 for a masked or missing number
    masked = r[c["masked"][r] == 1]
    feats = batch.feats
    put("ph_tail", masked, np.array([phone_tail_key(feats[i].phone) for i in masked.tolist()],
                                    dtype=np.int64))  # fmt: skip
    put("ph_head", masked, np.array([phone_head_key(feats[i].phone) for i in masked.tolist()],
                                    dtype=np.int64))  # fmt: skip
    post = c["postal"][r] << 24
    has_post = post != 0
    # Romaji of unknown order also files the given name's reading as the family name's.
    alt = has_post & (c["order_known"][r] == 0) & (giv_l > 0) & (giv_l != fam_l)
    fam_ok = has_post & (fam_l > 0)
    put("postal_fam", np.concatenate([r[fam_ok], r[alt]]),
        np.concatenate([post[fam_ok] | fam_l[fam_ok], post[alt] | giv_l[alt]]))
    put("postal_kanji", r, np.where(has_post & (fam > 0), post | fam, 0))
    put("block", r, c["block"][r])
    # Every year a birth interval of up to 800 days touches (a day, a month, an age's year).
    lo, hi = c["birth_lo"][r].tolist(), c["birth_hi"][r].tolist()
    spans = [
        (date.fromordinal(a).year, date.fromordinal(b).year) if a and b and b - a <= 800
        else (0, -1)
        for a, b in zip(lo, hi, strict=True)
    ]  # fmt: skip
    first = np.array([a for a, _ in spans], dtype=np.int64)
    count = np.array([max(b - a + 1, 0) for a, b in spans], dtype=np.int64)
    ry = np.repeat(r, count)
    nth = np.arange(int(count.sum()), dtype=np.int64) - np.repeat(np.cumsum(count) - count, count)
    years = np.repeat(first, count) + nth
    at = np.repeat(np.arange(len(r)), count)
    put("kana_year", ry, name_year_keys(fam_l[at], giv_l[at], years, False))
    put("kanji_year", ry, name_year_keys(fam[at], giv[at], years, True))
    put("email", r, c["email"][r])
    return {k: out[k] for k in KEY_KINDS}


def candidates(
    index: WatchlistIndex, keys: dict[str, tuple[I64, I64]]
) -> tuple[I64, I64]:
    """Distinct (row, person position) pairs sharing at least one blocking key."""
    all_r: list[I64] = []
    all_p: list[I64] = []
    for kind, (rr, kk) in keys.items():
        if not len(kk):
            continue
        table = index.tables[kind]
        lo, hi = table.lookup_many(np.array(kk, dtype=np.int64))
        n = hi - lo
        n[n > MAX_BLOCK] = 0
        total = int(n.sum())
        if not total:
            continue
        rows = np.repeat(np.array(rr, dtype=np.int64), n)
        starts = np.repeat(lo - np.concatenate([[0], np.cumsum(n)[:-1]]), n)
        pos = table.idx[starts + np.arange(total)]
        all_r.append(rows)
        all_p.append(pos.astype(np.int64))
    if not all_r:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    pair = sorted_unique((np.concatenate(all_r) << 32) | np.concatenate(all_p))
    r, p = pair >> 32, pair & 0xFFFFFFFF
    keep = index.alive[p]
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


def plausible(index: WatchlistIndex, batch: ListingBatch, rows: I64, pos: I64
              ) -> npt.NDArray[np.bool_]:
    """Pairs worth comparing: some name part agrees, or the phone, lot or e-mail does.

    A pair with neither (another family's masked number that happens to fit, a stranger with
    the same surname in the postal area) cannot reach `review`: dropping it early saves the
    string comparisons.
    """
    c, p = batch.cols, index.cols

    def eq(a: str, b: str) -> npt.NDArray[np.bool_]:
        x = c[a][rows]
        return np.asarray((x > 0) & (x == p[b][pos]), dtype=np.bool_)

    names = eq("fam", "fam") | eq("giv", "giv") | eq("fam_l", "fam_l") | eq("giv_l", "giv_l")
    names |= eq("fam_l", "giv_l") | eq("giv_l", "fam_l")  # romaji either way round
    block = c["block"][rows]
    phone = c["phone"][rows]
    email = c["email"][rows]
    located = ((block != 0) & (block == p["block"][pos])) | (
        (phone > 0) & (phone == p["phone"][pos])
    ) | ((email != 0) & (email == p["email"][pos]))
    return np.asarray(names | located, dtype=np.bool_)
