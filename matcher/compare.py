"""Comparison levels of (listing row, person) pairs, all pairs at once: one function per field.

Each field's function gives every pair one of the field's levels (its table in ``levels``
names them) and, where the chance agreement of a *random* person depends on the value (a
common surname, a popular birth year, a crowded block), a per-pair log2 u-probability from
the index's own frequencies (the level's ``tf``): term-frequency adjustment. Where it does
not, ``log2u`` is NaN and the model's level u is used. Levels are numpy ``int8`` codes set
by name (``levels[same] = Email.AGREE``); nothing is made per pair but in the few string
comparisons (typos, masked numbers) that numpy cannot do.
"""

from __future__ import annotations

from dataclasses import dataclass
from operator import attrgetter
from typing import Any

import numpy as np
import numpy.typing as npt
from rapidfuzz.distance import Levenshtein
from rapidfuzz.process import cpdist

from matcher.batch import ListingBatch, Numbers
from matcher.features import GUARDIAN, UNSPACED_NAME, UNSPACED_READING
from matcher.keys import confusable_typo, phone_head_key, phone_tail_key
from matcher.levels import (
    FIELDS,
    Birth,
    Email,
    FamilyName,
    Gender,
    GivenName,
    Guardian,
    Phone,
    Place,
)
from matcher.reader import IndexReader

F64 = npt.NDArray[np.float64]
I8 = npt.NDArray[np.int8]
I64 = npt.NDArray[np.int64]
Levels = tuple[I8, F64]  # a field's levels and log2 u of every pair

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


class _Pairs:
    """The pairs being compared, gathered once for every field: each pair's row values
    (``row``: the batch's columns) and person values (``person``: the index's columns)."""

    def __init__(self, index: IndexReader, batch: ListingBatch, rows: I64, pos: I64,
                 light: bool) -> None:  # fmt: skip
        self.index, self.batch, self.rows, self.pos, self.light = index, batch, rows, pos, light
        # Copies (fancy indexing): an unspaced name re-split for one pair changes no other.
        self.row = {k: v[rows] for k, v in batch.cols.items()}
        self.person: dict[str, npt.NDArray[Any]] = index.columns_at(pos)
        self.stats = index.stats()
        self.n: int = self.stats["n"]

    def empty(self) -> Levels:
        """Every pair at the null level (0), without a frequency of its own."""
        return np.zeros(len(self.rows), dtype=np.int8), np.full(len(self.rows), np.nan)

    def log2_share(self, tf: str, values: npt.NDArray[Any]) -> F64:
        """log2 of the share of the watchlist holding each value, by the index frequency
        ``tf``: a vocabulary column's counts (``fam``, ``town`` …) or a key table's."""
        counts = self.stats.get(tf)
        if counts is not None:
            found = counts[np.clip(values, 0, len(counts) - 1)]
        else:
            found = self.index.count(tf, values)
        return np.asarray(np.log2(np.maximum(found, 1) / self.n), dtype=np.float64)


def compare(
    index: IndexReader, batch: ListingBatch, rows: I64, pos: I64, *, light: bool = False
) -> Comparison:
    """Levels of every pair. ``light`` skips the per-pair string work (typos, fuzzy names,
    masked phones): enough to find the anchors of a listing's as-of date."""
    pairs = _Pairs(index, batch, rows, pos, light)
    several = _several_numbers(pairs)
    family, given = _names(pairs, several)
    fields = {
        "family_name": family, "given_name": given, "birth": _birth(pairs),
        "gender": _gender(pairs), "place": _place(pairs), "phone": _phone(pairs, several),
        "email": _email(pairs), "guardian": _guardian(pairs),
    }  # fmt: skip
    assert tuple(fields) == FIELDS  # the order weights are summed in
    levels = {f: lv for f, (lv, _) in fields.items()}
    log2u = {f: lu for f, (_, lu) in fields.items()}
    return Comparison(rows, pos, levels, log2u, float(np.log2(pairs.n)))


# --- names ------------------------------------------------------------------------------------

# Per-pair strings the re-split of an unspaced name gave: (pair, 0 family / 1 given, "k"
# kanji, "w" as written or "l" loose reading) -> the part.
Override = dict[tuple[int, int, str], str]


def _names(pairs: _Pairs, several: tuple[I64, I8, F64]) -> tuple[Levels, Levels]:
    """Family and given names: the same kanji, as written, or reading; then, where nothing
    better was found, typos and fuzzy readings."""
    override = _resplit_unspaced(pairs)
    c, p = pairs.row, pairs.person
    swap = _swapped(pairs)
    fam_l, giv_l = np.where(swap, c["giv_l"], c["fam_l"]), np.where(swap, c["fam_l"], c["giv_l"])
    family = _name_levels(pairs, FamilyName, (c["fam"], fam_l, p["fam"], p["fam_l"]))
    # The same kanji, and written the same old way (髙橋 for 髙橋): rarer than the common form.
    same_kanji = (c["fam"] != 0) & (p["fam"] > 0) & (c["fam"] == p["fam"])
    old = same_kanji & (c["fam_w"] == p["fam_w"]) & (p["fam_w"] != p["fam"])
    family[0][old] = FamilyName.EXACT_OLD_FORM
    family[1][old] = pairs.log2_share(FamilyName.EXACT_OLD_FORM.spec.tf, p["fam_w"][old])
    given = _name_levels(pairs, GivenName, (c["giv"], giv_l, p["giv"], p["giv_l"]))
    # Typos and fuzzy agreement only where nothing better was found and where they can
    # matter: the other name part agrees, or the row is located (phone, lot, postal code,
    # e-mail).
    located = _located(pairs, several)
    for part, (levels, _), table, other, other_table in (
        (0, family, FamilyName, given[0], GivenName),
        (1, given, GivenName, family[0], FamilyName),
    ):
        worth = (levels == table.DISAGREE) & (located | (other >= other_table.READING))
        if not pairs.light:
            _typos(pairs, (part, table), np.flatnonzero(worth), levels, swap, override)
    return family, given


def _name_levels(
    pairs: _Pairs,
    levels: type[FamilyName] | type[GivenName],
    values: tuple[I64, I64, npt.NDArray[Any], npt.NDArray[Any]],
) -> Levels:
    """One name part's levels from its kanji and loose reading (row's, person's)."""
    row_k, row_l, per_k, per_l = values
    lv, lu = pairs.empty()
    has_k = (row_k != 0) & (per_k > 0)
    has_l = (row_l != 0) & (per_l > 0)
    exact_k = has_k & (row_k == per_k)
    same_l = has_l & (row_l == per_l)
    lv[has_l] = levels.DISAGREE
    lv[has_k] = levels.DISAGREE
    # Kana-only agreement is the best a kana or romaji row can show: exact, but as
    # telling as the reading is common.
    kana_only = ~has_k & same_l
    lv[kana_only] = levels.EXACT
    lu[kana_only] = pairs.log2_share(levels.READING.spec.tf, per_l[kana_only])
    reading = has_k & ~exact_k & same_l
    lv[reading] = levels.READING
    lu[reading] = pairs.log2_share(levels.READING.spec.tf, per_l[reading])
    lv[exact_k] = levels.EXACT
    lu[exact_k] = pairs.log2_share(levels.EXACT.spec.tf, per_k[exact_k])
    return lv, lu


def _resplit_unspaced(pairs: _Pairs) -> Override:
    """A name or reading written without a space was split by a guess: re-split it where
    the person's own family name is a prefix (堀原由美子 is 堀原 + 由美子, not 堀 + 原由美子).
    Changes the pairs' row ids (``pairs.row``) and gives the new parts' strings."""
    c, p, index = pairs.row, pairs.person, pairs.index
    feats = pairs.batch.feats
    kanji, loose = index.vocabs["kanji"], index.vocabs["loose"]
    override: Override = {}
    for i in np.flatnonzero(c["unspaced"] != 0).tolist():
        f = feats[int(pairs.rows[i])]
        pf = kanji.word(int(p["fam"][i]))
        full = f.fam + f.giv
        if (
            f.unspaced & UNSPACED_NAME
            and f.fam
            and pf
            and f.fam != pf
            and full.startswith(pf)
            and len(full) > len(pf)
        ):
            cut = len(pf)
            written = f.fam_w + f.giv_w
            c["fam"][i], c["giv"][i] = kanji.get(pf), kanji.get(full[cut:])
            c["fam_w"][i], c["giv_w"][i] = kanji.get(written[:cut]), kanji.get(written[cut:])
            override[(i, 0, "k")], override[(i, 1, "k")] = pf, full[cut:]
            override[(i, 0, "w")], override[(i, 1, "w")] = written[:cut], written[cut:]
        lf = loose.word(int(p["fam_l"][i]))
        full_l = f.fam_l + f.giv_l
        if (
            f.unspaced & UNSPACED_READING
            and f.fam_l
            and lf
            and f.fam_l != lf
            and full_l.startswith(lf)
            and len(full_l) > len(lf)
        ):
            c["fam_l"][i], c["giv_l"][i] = loose.get(lf), loose.get(full_l[len(lf) :])
            override[(i, 0, "l")], override[(i, 1, "l")] = lf, full_l[len(lf) :]
    return override


def _swapped(pairs: _Pairs) -> npt.NDArray[np.bool_]:
    """Romaji lists may give the name either way round: the pairs where the other
    orientation fits (and the given one does not)."""
    c, p = pairs.row, pairs.person
    rf_l, rg_l = c["fam_l"], c["giv_l"]
    crossed = ((rf_l == p["giv_l"]) & (rf_l != 0)) | ((rg_l == p["fam_l"]) & (rg_l != 0))
    straight = ((rf_l == p["fam_l"]) & (rf_l != 0)) | ((rg_l == p["giv_l"]) & (rg_l != 0))
    return np.asarray((c["order_known"] == 0) & crossed & ~straight, dtype=np.bool_)


def _located(pairs: _Pairs, several: tuple[I64, I8, F64]) -> npt.NDArray[np.bool_]:
    """Pairs the row places at the person (lot, phone, a fitting mask, e-mail, postal code):
    where a typo in a name is worth looking for."""
    c, p = pairs.row, pairs.person
    located = (
        ((c["block"] != 0) & (c["block"] == p["block"]))
        | ((c["phone"] > 0) & (c["phone"] == p["phone"]))
        | ((c["masked"] == 1) & (p["phone"] > 0))
        | ((c["email"] != 0) & (c["email"] == p["email"]))
        | ((c["postal"] > 0) & (c["postal"] == p["postal"]))
    )
    at, phone_levels, _ = several
    located[at] |= phone_levels >= Phone.MASKED_COMPATIBLE
    return np.asarray(located, dtype=np.bool_)


def _typos(pairs: _Pairs, name: tuple[int, type[FamilyName] | type[GivenName]], todo: I64,
           levels: I8, swap: npt.NDArray[np.bool_], override: Override) -> None:  # fmt: skip
    """Raise the ``todo`` pairs of name part ``name`` (0 family, 1 given; its levels) to
    ``typo`` (one confusable character, in kanji or in the reading) or ``fuzzy`` (close
    readings)."""
    if not len(todo):
        return
    part, table = name
    row_k, row_kw, row_kana, row_l = _row_strings(pairs, part, todo, swap, override)
    per_k, per_kw, per_kana, per_l = _person_strings(pairs, part, todo)
    sim = cpdist(row_l, per_l, scorer=Levenshtein.normalized_similarity, processor=None)
    for j, i in enumerate(todo.tolist()):
        a, b = row_k[j], per_k[j]
        kana, theirs = row_kana[j], per_kana[j]
        if (
            a
            and len(a) == len(b)
            and (
                confusable_typo(a, b)
                or confusable_typo(row_kw[j], per_kw[j])
                or confusable_typo(row_kw[j], b)
            )
        ) or (
            kana
            and len(kana) == len(theirs)
            and (
                confusable_typo(kana, theirs)
                # the reading keeps ー for a written ウ (タロウ → タロー)
                or confusable_typo(kana, theirs.replace("ー", "ウ"))
            )
        ):
            levels[i] = table.TYPO
        elif sim[j] >= FUZZY_MIN and row_l[j] and per_l[j]:
            levels[i] = table.FUZZY


def _row_strings(
    pairs: _Pairs, part: int, todo: I64, swap: npt.NDArray[np.bool_], override: Override
) -> tuple[list[str], list[str], list[str], list[str]]:
    """The rows' kanji, kanji as written, reading and loose reading of name ``part`` (the
    other part's reading where the pair reads the romaji the other way round)."""
    feats = [pairs.batch.feats[r] for r in pairs.rows[todo].tolist()]
    at, swl = todo.tolist(), swap[todo].tolist()
    kanji, written, kana, loose = _GETTERS[part]
    other_kana, other_loose = _GETTERS[part ^ 1][2], _GETTERS[part ^ 1][3]
    row_k = [override.get((i, part, "k")) or kanji(f) for i, f in zip(at, feats, strict=True)]
    row_kw = [override.get((i, part, "w")) or written(f)
              for i, f in zip(at, feats, strict=True)]  # fmt: skip
    row_kana = [other_kana(f) if s else kana(f) for f, s in zip(feats, swl, strict=True)]
    row_l = [override.get((i, part ^ int(s), "l")) or (other_loose(f) if s else loose(f))
             for i, f, s in zip(at, feats, swl, strict=True)]  # fmt: skip
    return row_k, row_kw, row_kana, row_l


def _person_strings(
    pairs: _Pairs, part: int, todo: I64
) -> tuple[list[str], list[str], list[str], list[str]]:
    """The persons' kanji, kanji as written, reading and loose reading of name ``part``."""
    p, vocabs = pairs.person, pairs.index.vocabs
    prefix = ("fam", "giv")[part]
    kanji, kana, loose = vocabs["kanji"], vocabs["kana"], vocabs["loose"]
    return (
        kanji.words_at(p[prefix][todo]),
        kanji.words_at(p[prefix + "_w"][todo]),
        kana.words_at(p[prefix + "_k"][todo]),
        loose.words_at(p[prefix + "_l"][todo]),
    )


_GETTERS = (
    (attrgetter("fam"), attrgetter("fam_w"), attrgetter("fam_k"), attrgetter("fam_l")),
    (attrgetter("giv"), attrgetter("giv_w"), attrgetter("giv_k"), attrgetter("giv_l")),
)


# --- the other fields -------------------------------------------------------------------------


def _birth(pairs: _Pairs) -> Levels:
    """A day, or an interval (year, month, age or grade) that may contain it; u by how many
    persons were born in the row's interval."""
    lv, lu = pairs.empty()
    b, lo, hi = pairs.person["birth"], pairs.row["birth_lo"], pairs.row["birth_hi"]
    known = (b > 0) & (lo > 0)
    inside = known & (lo <= b) & (b <= hi)
    dist = np.maximum(lo - b, b - hi)
    lv[known] = Birth.DISAGREE
    lv[known & ~inside & (dist <= 366)] = Birth.NEAR
    lv[inside] = Birth.RANGE
    lv[inside & (pairs.row["birth_day"] == 1)] = Birth.EXACT
    births = pairs.stats[Birth.RANGE.spec.tf]  # every birth date, sorted
    # The queries in the table's own type: numpy would otherwise convert the whole table
    # (every person's birth date) at each call, which at 35 M persons is most of a request.
    top, bottom = hi[inside].astype(births.dtype), lo[inside].astype(births.dtype)
    cnt = np.searchsorted(births, top, "right") - np.searchsorted(births, bottom)
    lu[inside] = np.log2(np.maximum(cnt, 1) / pairs.n)
    return lv, lu


def _gender(pairs: _Pairs) -> Levels:
    lv, lu = pairs.empty()
    row, person = pairs.row["gender"], pairs.person["gender"]
    known = (row > 0) & (person > 0)
    lv[known] = Gender.DISAGREE
    lv[known & (row == person)] = Gender.AGREE
    return lv, lu


def _place(pairs: _Pairs) -> Levels:
    """The same flat, the same lot (another flat in the building, or no flat given), the
    same town or postal code, the same city."""
    c, p = pairs.row, pairs.person
    lv, lu = pairs.empty()
    has = ((c["city"] != 0) | (c["postal"] > 0)) & ((p["city"] > 0) | (p["postal"] > 0))
    lv[has] = Place.DISAGREE
    city = has & (c["city"] > 0) & (c["city"] == p["city"])
    town = has & (((c["town"] > 0) & (c["town"] == p["town"])) |
                  ((c["postal"] > 0) & (c["postal"] == p["postal"])))  # fmt: skip
    block = has & (c["block"] != 0) & (c["block"] == p["block"])
    both_units = (c["unit"] != 0) & (p["unit"] != 0)
    unit = block & both_units & (c["unit"] == p["unit"])
    other = block & both_units & (c["unit"] != p["unit"])
    lv[city] = Place.CITY
    lu[city] = pairs.log2_share(Place.CITY.spec.tf, p["city"][city])
    lv[town] = Place.TOWN
    lu[town] = pairs.log2_share(Place.TOWN.spec.tf, p["town"][town])
    lv[other] = Place.OTHER_ROOM
    lv[block & ~other] = Place.BLOCK
    on_lot = np.zeros(len(pairs.rows), dtype=np.int64)  # persons filed under the pair's lot
    on_lot[block] = pairs.index.count(Place.BLOCK.spec.tf, c["block"][block])
    lu[block] = np.log2(np.maximum(on_lot[block], 1) / pairs.n)
    lv[unit] = Place.UNIT
    # One flat holds one household: about three people.
    lu[unit] = np.log2(np.clip(on_lot[unit], 1, 3) / pairs.n)
    return lv, lu


def _phone(pairs: _Pairs, several: tuple[I64, I8, F64]) -> Levels:
    """Exact, or compatible with a masked number; for a cell of several numbers, the best
    any of them reaches (``several``: :func:`_several_numbers`)."""
    c, p = pairs.row, pairs.person
    lv, lu = pairs.empty()
    ph = p["phone"]
    both = (c["phone"] > 0) & (ph > 0)
    lv[both] = Phone.DISAGREE
    eq = both & (c["phone"] == ph)
    lv[eq] = Phone.EXACT
    lu[eq] = pairs.log2_share(Phone.EXACT.spec.tf, ph[eq])
    masked = np.flatnonzero((c["masked"] == 1) & (ph > 0))
    if len(masked) and not pairs.light:
        lv[masked] = Phone.DISAGREE
        cache: dict[str, float] = {}
        for i in masked.tolist():
            row_digits = pairs.batch.feats[int(pairs.rows[i])].phone
            if _fits_mask(row_digits, str(int(ph[i]))[1:]):
                lv[i] = Phone.MASKED_COMPATIBLE
                lu[i] = _masked_log2u(pairs, row_digits, cache)
    at, several_lv, several_lu = several
    better = several_lv > lv[at]
    lv[at[better]], lu[at[better]] = several_lv[better], several_lu[better]
    return lv, lu


def _several_numbers(pairs: _Pairs) -> tuple[I64, I8, F64]:
    """The pairs whose row gave several numbers (where in ``rows``), with the phone level and
    log2 u the best of the numbers reaches: one that is the person's phone or fax is
    ``exact`` (u: the share of persons with that phone or fax), a masked one that fits the
    person's phone ``masked_compatible``, anything else against a phone ``disagree``."""
    index, batch, rows, pos = pairs.index, pairs.batch, pairs.rows, pairs.pos
    multi = batch.cols["multi"]
    several = np.flatnonzero(multi[rows] == 1) if multi.any() else np.zeros(0, np.int64)
    lv = np.zeros(len(several), dtype=np.int8)
    lu = np.full(len(several), np.nan)
    if not len(several):
        return several, lv, lu
    numbers = Numbers(index, batch)
    cache: dict[str, float] = {}
    phones = pairs.person["phone"][several].tolist()
    for j, (r, q, ph) in enumerate(zip(rows[several].tolist(), pos[several].tolist(), phones,
                                       strict=True)):  # fmt: skip
        key = numbers.agreeing(r, q, ph)
        if key:
            k = np.array([key], dtype=np.int64)
            shared = int(index.count("phone", k)[0] + index.count("fax", k)[0])
            lv[j], lu[j] = Phone.EXACT, np.log2(max(shared, 1) / pairs.n)
        elif ph:
            lv[j] = Phone.DISAGREE
            mine = str(ph)[1:]
            for d in () if pairs.light else numbers.feats[r].phones:
                if "?" in d and _fits_mask(d, mine):
                    lv[j], lu[j] = Phone.MASKED_COMPATIBLE, _masked_log2u(pairs, d, cache)
                    break
    return several, lv, lu


def _fits_mask(masked: str, number: str) -> bool:
    """Whether ``number`` (digits) could be what ``masked`` ("?" for a hidden digit) shows."""
    return len(masked) == len(number) and all(
        x == y or x == "?" for x, y in zip(masked, number, strict=True)
    )


def _masked_log2u(pairs: _Pairs, digits: str, cache: dict[str, float]) -> float:
    """log2 share of the watchlist whose number fits this mask (its blocking key's size)."""
    got = cache.get(digits)
    if got is None:
        n = pairs.n
        counts = [
            int(pairs.index.count(kind, np.array([k], dtype=np.int64))[0])
            for kind, k in (
                ("ph_tail", phone_tail_key(digits)),
                ("ph_head", phone_head_key(digits)),
            )
            if k
        ]
        got = cache[digits] = float(np.log2(max(min(counts, default=n), 1) / n))
    return got


def _email(pairs: _Pairs) -> Levels:
    lv, lu = pairs.empty()
    row, person = pairs.row["email"], pairs.person["email"]
    em = (row != 0) & (person != 0)
    lv[em] = Email.DISAGREE
    same = em & (row == person)
    lv[same] = Email.AGREE
    # Not below 2**-10: synthetic and real handles alike (name + year @ a big provider) recur.
    lu[same] = np.maximum(pairs.log2_share(Email.AGREE.spec.tf, person[same]), EMAIL_U_FLOOR)
    return lv, lu


def _guardian(pairs: _Pairs) -> Levels:
    """The household's guardian, as the row's guardian_name gives it (given name in kanji,
    or its reading either way round)."""
    c, p, index = pairs.row, pairs.person, pairs.index
    lv, lu = pairs.empty()
    has_g = (c["g_giv"] != 0) | (c["g_giv_l"] != 0)
    if not has_g.any():
        return lv, lu
    gpos = index.guardian_of(p["hh"])
    known = has_g & (gpos >= 0)
    gp = np.maximum(gpos, 0)
    guardians = index.columns_at(gp, ("giv", "giv_l"))
    g_giv, g_giv_l = guardians["giv"], guardians["giv_l"]
    agree = known & (
        ((c["g_giv"] != 0) & (c["g_giv"] == g_giv))
        | ((c["g_giv_l"] != 0) & (c["g_giv_l"] == g_giv_l))
        | ((c["g_giv_l2"] != 0) & (c["g_giv_l2"] == g_giv_l))
    )
    lv[known] = Guardian.DISAGREE
    lv[agree] = Guardian.AGREE
    lv[has_g & (p["rel"] == GUARDIAN)] = Guardian.IS_THE_GUARDIAN
    # How many households' guardians have that given name: a common one (ともみ) tells less
    # than a rare one.
    named = lv == Guardian.AGREE
    counts = pairs.stats[Guardian.AGREE.spec.tf]
    lu[named] = np.log2(np.maximum(counts[np.clip(g_giv_l[named], 0, len(counts) - 1)], 1)
                        / pairs.stats["n_guardians"])  # fmt: skip
    return lv, lu


__all__ = ["Comparison", "compare"]
