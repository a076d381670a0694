"""Blocking keys as functions of the index's columns, for whole columns at once.

Every blocking key a watchlist person is filed under, but the fax, is computed from values
the index keeps anyway (the phone number, the postal code, name ids, the birth date, the lot,
the e-mail hash, the household): so the index's key tables keep only positions
(:class:`matcher.columns.DerivedTable`), and these functions give the keys of any positions
when a search needs them. Each gives exactly what :func:`matcher.index.person_keys` files a
person under (``tests/matcher/test_index.py`` checks it on synthetic persons).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

I64 = npt.NDArray[np.int64]
YEAR0 = 1850  # years are stored as offsets (16 bits)
_ORDINAL_1970 = 719_163  # date(1970, 1, 1).toordinal()
_POW10 = 10 ** np.arange(19, dtype=np.int64)

# kind -> the columns its keys are computed from. "guardian" files each household's guardian
# by the household (the table holds guardians only).
DERIVED: dict[str, tuple[str, ...]] = {
    "phone": ("phone",), "ph_tail": ("phone",), "ph_head": ("phone",),
    "postal_fam": ("postal", "fam_l"), "postal_kanji": ("postal", "fam"), "block": ("block",),
    "kana_year": ("fam_l", "giv_l", "birth"), "kanji_year": ("fam", "giv", "birth"),
    "email": ("email",), "guardian": ("hh",),
}  # fmt: skip


def name_year_keys(
    a: npt.NDArray[np.signedinteger[Any]],
    b: npt.NDArray[np.signedinteger[Any]],
    year: npt.NDArray[np.int64],
    ordered: bool,
) -> I64:
    """:func:`name_year_key` of whole columns (ids of -1 or 0: no key)."""
    a64, b64 = a.astype(np.int64), b.astype(np.int64)
    if not ordered:
        a64, b64 = np.minimum(a64, b64), np.maximum(a64, b64)
    ok = (a64 > 0) & (b64 > 0) & (year >= YEAR0) & (year < YEAR0 + 65535)
    return np.where(ok, (a64 << 40) | (b64 << 16) | (year - YEAR0), 0)


def name_year_key(a: int, b: int, year: int, ordered: bool) -> int:
    """Two name ids and a birth year in one int64 (order-free for readings)."""
    if a <= 0 or b <= 0 or not YEAR0 <= year < YEAR0 + 65535:
        return 0
    if not ordered and a > b:
        a, b = b, a
    return (a << 40) | (b << 16) | (year - YEAR0)


def birth_years(birth: npt.NDArray[np.integer]) -> I64:
    """The year of each date ordinal (0 for none)."""
    days = birth.astype(np.int64) - _ORDINAL_1970
    years = days.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970
    return np.where(birth > 0, years, 0)


def _phone_digits(phone: I64) -> tuple[I64, I64]:
    """(how many digits, the digits as a number) of each ``phone_int`` (1 + the digits)."""
    count = np.searchsorted(_POW10, phone, side="right").astype(np.int64) - 1
    return count, phone - _POW10[np.clip(count, 0, 18)]


def phone_tail_keys(phone: I64) -> I64:
    """:func:`matcher.keys.phone_tail_key` of each full number (0: none or too short)."""
    count, digits = _phone_digits(phone)
    ok = (phone > 0) & (count >= 8)
    c = np.where(ok, count, 8)
    head2 = digits // _POW10[c - 2]
    return np.where(ok, 100_000_000 + c * 1_000_000 + head2 * 10_000 + digits % 10_000, 0)


def phone_head_keys(phone: I64) -> I64:
    """:func:`matcher.keys.phone_head_key` of each full number (0: none or too short)."""
    count, digits = _phone_digits(phone)
    ok = (phone > 0) & (count >= 8)
    c = np.where(ok, count, 8)
    return np.where(ok, 200_000_000 + c * 1_000_000 + digits // _POW10[c - 6], 0)


def _postal_keys(postal: npt.NDArray[np.integer], name: npt.NDArray[np.integer]) -> I64:
    post = postal.astype(np.int64) << 24
    n64 = name.astype(np.int64)
    return np.where((post != 0) & (n64 != 0), post | n64, 0)


def derived_keys(kind: str, c: Mapping[str, npt.NDArray[Any]]) -> I64:
    """The ``kind`` key of each person whose columns (at least ``DERIVED[kind]``) are ``c``
    (0: not filed under that kind)."""
    if kind in ("phone", "block", "email", "guardian"):
        return np.asarray(c[DERIVED[kind][0]], dtype=np.int64)
    if kind == "ph_tail":
        return phone_tail_keys(np.asarray(c["phone"], dtype=np.int64))
    if kind == "ph_head":
        return phone_head_keys(np.asarray(c["phone"], dtype=np.int64))
    if kind == "postal_fam":
        return _postal_keys(c["postal"], c["fam_l"])
    if kind == "postal_kanji":
        return _postal_keys(c["postal"], c["fam"])
    if kind == "kana_year":
        return name_year_keys(c["fam_l"], c["giv_l"], birth_years(c["birth"]), False)
    if kind == "kanji_year":
        return name_year_keys(c["fam"], c["giv"], birth_years(c["birth"]), True)
    raise KeyError(kind)


__all__ = [
    "DERIVED",
    "YEAR0",
    "birth_years",
    "derived_keys",
    "name_year_key",
    "name_year_keys",
    "phone_head_keys",
    "phone_tail_keys",
]
