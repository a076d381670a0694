"""Listing rows as column arrays in the index's vocabularies, and their candidate pairs.

``ListingBatch`` mirrors the index columns for a batch of published rows (ids of -1 mean a
value the watchlist never had). ``candidates`` looks every row's blocking keys up in the
index's key tables, all rows at once, and returns the distinct (row, person) pairs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import numpy.typing as npt

from matcher.features import Features
from matcher.index import KEY_KINDS, WatchlistIndex, person_keys
from matcher.keys import phone_int, str_hash

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
    names = (
        "fam", "giv", "fam_w", "giv_w", "fam_l", "giv_l", "order_known", "birth_lo",
        "birth_hi", "birth_day", "gender", "town", "city", "postal", "block", "unit", "phone",
        "masked", "email", "g_giv", "g_giv_l", "g_giv_l2", "unspaced",
    )  # fmt: skip
    kanji, loose = index.vocabs["kanji"].get, index.vocabs["loose"].get
    town, city = index.vocabs["town"].get, index.vocabs["city"].get
    records: list[tuple[int, ...]] = []
    for f in feats:
        p = f.place
        assert p is not None
        gl, _, gl2 = f.guardian_giv_l.partition("|")
        records.append((
            kanji(f.fam), kanji(f.giv), kanji(f.fam_w), kanji(f.giv_w), loose(f.fam_l),
            loose(f.giv_l), int(f.order_known), f.birth_lo, f.birth_hi,
            int(f.birth_precision == "day"), f.gender, town(p.town), city(p.city), p.postal,
            p.block, p.unit, phone_int(f.phone), int("?" in f.phone),
            str_hash("email\x1f" + f.email) if f.email else 0, kanji(f.guardian_giv),
            loose(gl), loose(gl2), int(f.unspaced),
        ))  # fmt: skip
    table = np.array(records, dtype=np.int64).reshape(len(records), len(names))
    cols = {k: np.ascontiguousarray(table[:, j]) for j, k in enumerate(names)}
    return ListingBatch(list(feats), cols)


def row_keys(
    index: WatchlistIndex, batch: ListingBatch, rows: Sequence[int] | None = None
) -> dict[str, tuple[list[int], list[int]]]:
    """(row numbers, keys) per key kind for the given rows (default: all)."""
    out: dict[str, tuple[list[int], list[int]]] = {k: ([], []) for k in KEY_KINDS}
    c = batch.cols
    for r in rows if rows is not None else range(len(batch)):
        f = batch.feats[r]
        ids = {
            "fam": int(c["fam"][r]), "giv": int(c["giv"][r]), "fam_l": int(c["fam_l"][r]),
            "giv_l": int(c["giv_l"][r]),
            "giv_l_alt": int(c["giv_l"][r]) if not f.order_known else 0,
        }  # fmt: skip
        years: list[int] = []
        if f.birth_lo and f.birth_hi and f.birth_hi - f.birth_lo <= 800:
            years = list(range(date.fromordinal(f.birth_lo).year,
                               date.fromordinal(f.birth_hi).year + 1))
        for kind, ks in person_keys(f, ids, years).items():
            rr, kk = out[kind]
            for k in ks:
                if k:
                    rr.append(r)
                    kk.append(k)
    return out


def candidates(
    index: WatchlistIndex, keys: dict[str, tuple[list[int], list[int]]]
) -> tuple[I64, I64]:
    """Distinct (row, person position) pairs sharing at least one blocking key."""
    all_r: list[I64] = []
    all_p: list[I64] = []
    for kind, (rr, kk) in keys.items():
        if not kk:
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
