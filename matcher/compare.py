"""Comparison levels for (listing row, person) pairs, all pairs at once.

Each field gets a level per pair (``LEVELS`` names them) and, where the chance agreement of a
*random* person depends on the value (a common surname, a popular birth year, a crowded
block), a per-pair log2 u-probability from the index's own frequencies: term-frequency
adjustment. Where it does not, ``log2u`` is NaN and the model's level u is used.
"""

from __future__ import annotations

from dataclasses import dataclass
from operator import attrgetter

import numpy as np
import numpy.typing as npt
from rapidfuzz.distance import Levenshtein
from rapidfuzz.process import cpdist

from matcher.batch import ListingBatch, Numbers
from matcher.features import GUARDIAN, UNSPACED_NAME, UNSPACED_READING
from matcher.index import WatchlistIndex
from matcher.keys import confusable_typo, phone_head_key, phone_tail_key

F64 = npt.NDArray[np.float64]
I8 = npt.NDArray[np.int8]
I64 = npt.NDArray[np.int64]

NAME_LEVELS = ("missing", "disagree", "fuzzy", "typo", "reading", "exact", "exact_old_form")
LEVELS: dict[str, tuple[str, ...]] = {
    "family_name": NAME_LEVELS,
    "given_name": NAME_LEVELS[:-1],
    "birth": ("missing", "disagree", "near", "range", "exact"),
    "gender": ("missing", "disagree", "agree"),
    "place": ("missing", "disagree", "city", "town", "other_room", "block", "unit"),
    "phone": ("missing", "disagree", "masked_compatible", "exact"),
    "email": ("missing", "disagree", "agree"),
    "guardian": ("missing", "is_the_guardian", "disagree", "agree"),
}
FIELDS = tuple(LEVELS)
FUZZY_MIN = 0.75
EMAIL_U_FLOOR = -10.0  # log2: an e-mail handle says at most ~10 bits


@dataclass
class Comparison:
    rows: I64
    pos: I64
    levels: dict[str, I8]
    log2u: dict[str, F64]
    log2n: float  # log2 of the watchlist's size: log2u are shares of it

    def __len__(self) -> int:
        return len(self.rows)

    def take(self, keep: npt.NDArray[np.bool_]) -> Comparison:
        return Comparison(
            self.rows[keep], self.pos[keep],
            {k: v[keep] for k, v in self.levels.items()},
            {k: v[keep] for k, v in self.log2u.items()}, self.log2n,
        )  # fmt: skip


def _freq(counts: npt.NDArray[np.int32], ids: I64, n: int) -> F64:
    safe = np.clip(ids, 0, len(counts) - 1)
    return np.log2(np.maximum(counts[safe], 1) / n)


def compare(
    index: WatchlistIndex, batch: ListingBatch, rows: I64, pos: I64, *, light: bool = False
) -> Comparison:
    """Levels of every pair. ``light`` skips the per-pair string work (typos, fuzzy names,
    masked phones): enough to find the anchors of a listing's as-of date."""
    c = {k: v[rows] for k, v in batch.cols.items()}
    p = {k: v[pos] for k, v in index.cols.items()}
    st = index.stats()
    n = st["n"]
    levels: dict[str, I8] = {}
    log2u: dict[str, F64] = {}
    nan = np.full(len(rows), np.nan)

    feats = batch.feats
    kana_words = index.vocabs["kana"].words
    loose_words = index.vocabs["loose"].words
    kanji_words = index.vocabs["kanji"].words
    # A name or reading written without a space was split by a guess: re-split it where the
    # person's own family name is a prefix (堀原由美子 is 堀原 + 由美子, not 堀 + 原由美子).
    override: dict[tuple[int, int, str], str] = {}
    for i in np.flatnonzero(c["unspaced"] != 0).tolist():
        f = feats[int(rows[i])]
        pf = kanji_words[int(p["fam"][i])]
        full = f.fam + f.giv
        if (f.unspaced & UNSPACED_NAME and f.fam and pf and f.fam != pf
                and full.startswith(pf) and len(full) > len(pf)):
            cut = len(pf)
            written = f.fam_w + f.giv_w
            kv = index.vocabs["kanji"]
            c["fam"][i], c["giv"][i] = kv.get(pf), kv.get(full[cut:])
            c["fam_w"][i], c["giv_w"][i] = kv.get(written[:cut]), kv.get(written[cut:])
            override[(i, 0, "k")], override[(i, 1, "k")] = pf, full[cut:]
            override[(i, 0, "w")], override[(i, 1, "w")] = written[:cut], written[cut:]
        lf = loose_words[int(p["fam_l"][i])]
        full_l = f.fam_l + f.giv_l
        if (f.unspaced & UNSPACED_READING and f.fam_l and lf and f.fam_l != lf
                and full_l.startswith(lf) and len(full_l) > len(lf)):
            lv_ = index.vocabs["loose"]
            c["fam_l"][i], c["giv_l"][i] = lv_.get(lf), lv_.get(full_l[len(lf):])
            override[(i, 0, "l")], override[(i, 1, "l")] = lf, full_l[len(lf):]

    # Romaji lists may give the name either way round: use the orientation that fits.
    rf_l, rg_l = c["fam_l"], c["giv_l"]
    swap = (c["order_known"] == 0) & (
        ((rf_l == p["giv_l"]) & (rf_l != 0)) | ((rg_l == p["fam_l"]) & (rg_l != 0))
    ) & ~(((rf_l == p["fam_l"]) & (rf_l != 0)) | ((rg_l == p["giv_l"]) & (rg_l != 0)))
    rf_l, rg_l = np.where(swap, rg_l, rf_l), np.where(swap, rf_l, rg_l)

    pending: list[tuple[str, I64, I64, I64, I64]] = []
    for fld, rk, rw, rl, pk, pw, pl, pkana, counts in (
        ("family_name", c["fam"], c["fam_w"], rf_l, p["fam"], p["fam_w"], p["fam_l"],
         p["fam_k"], "fam"),
        ("given_name", c["giv"], c["giv_w"], rg_l, p["giv"], p["giv_w"], p["giv_l"],
         p["giv_k"], "giv"),
    ):  # fmt: skip
        lv = np.zeros(len(rows), dtype=np.int8)
        lu = nan.copy()
        has_k = (rk != 0) & (pk > 0)
        has_l = (rl != 0) & (pl > 0)
        exact_k = has_k & (rk == pk)
        same_l = has_l & (rl == pl)
        lv[has_l] = 1
        lv[has_k] = 1
        # kana-only agreement is the best a kana or romaji row can show
        kana_only = ~has_k & same_l
        lv[kana_only] = 5
        lu[kana_only] = _freq(st[counts[:3] + "_l"], pl[kana_only], n)
        reading = has_k & ~exact_k & same_l
        lv[reading] = 4
        lu[reading] = _freq(st[counts[:3] + "_l"], pl[reading], n)
        lv[exact_k] = 5
        lu[exact_k] = _freq(st[counts], pk[exact_k], n)
        if fld == "family_name":
            old = exact_k & (rw == pw) & (pw != pk)
            lv[old] = 6
            lu[old] = _freq(st["fam_w"], pw[old], n)
        levels[fld] = lv
        log2u[fld] = lu
        pending.append((fld, pk, pw, pl, pkana))

    # Typos and fuzzy agreement, only where nothing better was found and where it can matter:
    # the other name part agrees, or the row is located (phone, lot, postal code, e-mail).
    located = (
        ((c["block"] != 0) & (c["block"] == p["block"]))
        | ((c["phone"] > 0) & (c["phone"] == p["phone"]))
        | ((c["masked"] == 1) & (p["phone"] > 0))
        | ((c["email"] != 0) & (c["email"] == p["email"]))
        | ((c["postal"] > 0) & (c["postal"] == p["postal"]))
    )
    several, several_lv, several_lu = _several_numbers(index, batch, rows, pos, light, n)
    located[several] |= several_lv >= 2
    for fld, pk, pw, pl, pkana in pending:
        lv = levels[fld]
        other = levels["given_name" if fld == "family_name" else "family_name"]
        worth = (lv == 1) & (located | (other >= 4))
        todo = np.flatnonzero(worth) if not light else np.zeros(0, dtype=np.int64)
        if len(todo):
            part = 0 if fld == "family_name" else 1
            rr = rows[todo]
            sw = swap[todo]
            row_f = [feats[r] for r in rr.tolist()]
            tl = todo.tolist()
            swl = sw.tolist()
            ak, aw, akana, al = _GETTERS[part]
            bkana, bl = _GETTERS[part ^ 1][2], _GETTERS[part ^ 1][3]
            row_k = [override.get((i, part, "k")) or ak(f) for i, f in zip(tl, row_f, strict=True)]
            row_kw = [override.get((i, part, "w")) or aw(f)
                      for i, f in zip(tl, row_f, strict=True)]
            row_kana = [bkana(f) if s else akana(f) for f, s in zip(row_f, swl, strict=True)]
            row_l = [override.get((i, part ^ int(s), "l")) or (bl(f) if s else al(f))
                     for i, f, s in zip(tl, row_f, swl, strict=True)]
            per_k = [kanji_words[i] for i in pk[todo]]
            per_kw = [kanji_words[i] for i in pw[todo]]
            per_kana = [kana_words[i] for i in pkana[todo]]
            per_l = [loose_words[i] for i in pl[todo]]
            sim = cpdist(row_l, per_l, scorer=Levenshtein.normalized_similarity,
                         processor=None)
            for j, i in enumerate(tl):
                a, b = row_k[j], per_k[j]
                if (a and len(a) == len(b) and (confusable_typo(a, b)
                                                or confusable_typo(row_kw[j], per_kw[j])
                                                or confusable_typo(row_kw[j], b))) or (
                    row_kana[j] and len(row_kana[j]) == len(per_kana[j])
                    and (confusable_typo(row_kana[j], per_kana[j])
                         # the reading keeps ー for a written ウ (タロウ → タロー)
                         or confusable_typo(row_kana[j], per_kana[j].replace("ー", "ウ")))
                ):
                    lv[i] = 3
                elif sim[j] >= FUZZY_MIN and row_l[j] and per_l[j]:
                    lv[i] = 2

    # Birth: a day, or an interval (year, month, age or grade) that may contain it.
    lv = np.zeros(len(rows), dtype=np.int8)
    lu = nan.copy()
    b, lo, hi = p["birth"], c["birth_lo"], c["birth_hi"]
    known = (b > 0) & (lo > 0)
    inside = known & (lo <= b) & (b <= hi)
    dist = np.maximum(lo - b, b - hi)
    lv[known] = 1
    lv[known & ~inside & (dist <= 366)] = 2
    lv[inside] = 3
    lv[inside & (c["birth_day"] == 1)] = 4
    births = st["births"]
    cnt = np.searchsorted(births, hi[inside], "right") - np.searchsorted(births, lo[inside])
    lu[inside] = np.log2(np.maximum(cnt, 1) / n)
    levels["birth"], log2u["birth"] = lv, lu

    g = np.zeros(len(rows), dtype=np.int8)
    gk = (c["gender"] > 0) & (p["gender"] > 0)
    g[gk] = 1
    g[gk & (c["gender"] == p["gender"])] = 2
    levels["gender"], log2u["gender"] = g, nan.copy()

    # Place: the same flat, the same lot, another flat in the same building, town, city.
    lv = np.zeros(len(rows), dtype=np.int8)
    lu = nan.copy()
    has = ((c["city"] != 0) | (c["postal"] > 0)) & ((p["city"] > 0) | (p["postal"] > 0))
    lv[has] = 1
    city = has & (c["city"] > 0) & (c["city"] == p["city"])
    town = has & (((c["town"] > 0) & (c["town"] == p["town"])) |
                  ((c["postal"] > 0) & (c["postal"] == p["postal"])))  # fmt: skip
    block = has & (c["block"] != 0) & (c["block"] == p["block"])
    both_units = (c["unit"] != 0) & (p["unit"] != 0)
    unit = block & both_units & (c["unit"] == p["unit"])
    other = block & both_units & (c["unit"] != p["unit"])
    lv[city] = 2
    lu[city] = _freq(st["city"], p["city"][city], n)
    lv[town] = 3
    lu[town] = _freq(st["town"], p["town"][town], n)
    lv[other] = 4
    lv[block & ~other] = 5
    bc = np.zeros(len(rows), dtype=np.int64)
    bc[block] = index.tables["block"].count(c["block"][block])
    lu[block] = np.log2(np.maximum(bc[block], 1) / n)
    lv[unit] = 6
    # One flat holds one household: about three people.
    lu[unit] = np.log2(np.clip(bc[unit], 1, 3) / n)
    levels["place"], log2u["place"] = lv, lu

    # Phone: exact, or compatible with a masked number.
    lv = np.zeros(len(rows), dtype=np.int8)
    lu = nan.copy()
    ph = p["phone"]
    both = (c["phone"] > 0) & (ph > 0)
    lv[both] = 1
    eq = both & (c["phone"] == ph)
    lv[eq] = 3
    lu[eq] = np.log2(np.maximum(index.tables["phone"].count(ph[eq]), 1) / n)
    masked = np.flatnonzero((c["masked"] == 1) & (ph > 0))
    if len(masked) and not light:
        lv[masked] = 1
        mcache: dict[str, float] = {}
        for i in masked.tolist():
            row_digits = feats[int(rows[i])].phone
            mine = str(int(ph[i]))[1:]
            if len(mine) == len(row_digits) and all(
                x == y or x == "?" for x, y in zip(row_digits, mine, strict=True)
            ):
                lv[i] = 2
                lu[i] = _masked_log2u(index, row_digits, n, mcache)
    better = several_lv > lv[several]  # a cell of several numbers: the best any reaches
    lv[several[better]], lu[several[better]] = several_lv[better], several_lu[better]
    levels["phone"], log2u["phone"] = lv, lu

    lv = np.zeros(len(rows), dtype=np.int8)
    lu = nan.copy()
    em = (c["email"] != 0) & (p["email"] != 0)
    lv[em] = 1
    same = em & (c["email"] == p["email"])
    lv[same] = 2
    # Not below 2**-10: synthetic and real handles alike (name + year @ a big provider) recur.
    lu[same] = np.maximum(
        np.log2(np.maximum(index.tables["email"].count(p["email"][same]), 1) / n), EMAIL_U_FLOOR
    )
    levels["email"], log2u["email"] = lv, lu

    # The household's guardian, as the row's guardian_name gives it.
    lv = np.zeros(len(rows), dtype=np.int8)
    lu_g = nan.copy()
    has_g = (c["g_giv"] != 0) | (c["g_giv_l"] != 0)
    if has_g.any():
        gpos = index.guardian_of(p["hh"])
        known_g = has_g & (gpos >= 0)
        gp = np.maximum(gpos, 0)
        g_giv, g_giv_l = index.cols["giv"][gp], index.cols["giv_l"][gp]
        agree = known_g & (
            ((c["g_giv"] != 0) & (c["g_giv"] == g_giv))
            | ((c["g_giv_l"] != 0) & (c["g_giv_l"] == g_giv_l))
            | ((c["g_giv_l2"] != 0) & (c["g_giv_l2"] == g_giv_l))
        )
        lv[known_g] = 2
        lv[agree] = 3
        lv[has_g & (p["rel"] == GUARDIAN)] = 1
        # How many households' guardians have that given name: a common one (ともみ) tells
        # less than a rare one.
        g_agree = lv == 3
        g_counts = st["g_giv_l"]
        lu_g[g_agree] = np.log2(
            np.maximum(g_counts[np.clip(g_giv_l[g_agree], 0, len(g_counts) - 1)], 1)
            / st["n_guardians"]
        )
    levels["guardian"], log2u["guardian"] = lv, lu_g
    return Comparison(rows, pos, levels, log2u, float(np.log2(n)))


def _several_numbers(
    index: WatchlistIndex, batch: ListingBatch, rows: I64, pos: I64, light: bool, n: int
) -> tuple[I64, I8, F64]:
    """The pairs whose row gave several numbers (where in ``rows``), with the phone level and
    log2 u the best of the numbers reaches: one that is the person's phone or fax is
    ``exact`` (u: the share of persons with that phone or fax), a masked one that fits the
    person's phone ``masked_compatible``, anything else against a phone ``disagree``."""
    multi = batch.cols["multi"]
    several = np.flatnonzero(multi[rows] == 1) if multi.any() else np.zeros(0, np.int64)
    lv = np.zeros(len(several), dtype=np.int8)
    lu = np.full(len(several), np.nan)
    if not len(several):
        return several, lv, lu
    numbers = Numbers(index, batch)
    mcache: dict[str, float] = {}
    phones = index.cols["phone"][pos[several]].tolist()
    for j, (r, q, ph) in enumerate(zip(rows[several].tolist(), pos[several].tolist(), phones,
                                       strict=True)):  # fmt: skip
        key = numbers.agreeing(r, q, ph)
        if key:
            k = np.array([key], dtype=np.int64)
            shared = int(index.tables["phone"].count(k)[0] + index.tables["fax"].count(k)[0])
            lv[j], lu[j] = 3, np.log2(max(shared, 1) / n)
        elif ph:
            lv[j] = 1
            mine = str(ph)[1:]
            for d in () if light else numbers.feats[r].phones:
                if "?" in d and len(d) == len(mine) and all(
                    x == y or x == "?" for x, y in zip(d, mine, strict=True)
                ):
                    lv[j], lu[j] = 2, _masked_log2u(index, d, n, mcache)
                    break
    return several, lv, lu


def _masked_log2u(index: WatchlistIndex, digits: str, n: int, cache: dict[str, float]) -> float:
    """log2 share of the watchlist whose number fits this mask (its blocking key's size)."""
    got = cache.get(digits)
    if got is None:
        counts = [
            int(index.tables[kind].count(np.array([k], dtype=np.int64))[0])
            for kind, k in (
                ("ph_tail", phone_tail_key(digits)), ("ph_head", phone_head_key(digits))
            )
            if k
        ]
        got = cache[digits] = float(np.log2(max(min(counts, default=n), 1) / n))
    return got


_GETTERS = (
    (attrgetter("fam"), attrgetter("fam_w"), attrgetter("fam_k"), attrgetter("fam_l")),
    (attrgetter("giv"), attrgetter("giv_w"), attrgetter("giv_k"), attrgetter("giv_l")),
)
