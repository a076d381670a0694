"""Validation of one watchlist CSV row against the data contract.

Returns a clean row or a reason naming the column; never raises on bad data. Reasons never
quote the value: they end up on terminals and in logs, the value is personal data.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

from matcher.contract import WATCHLIST_COLUMNS
from store.lookup_keys import phone_key, postal_key

COLUMNS = WATCHLIST_COLUMNS
REQUIRED = ("record_id", "household_id")
PII_FIELDS = COLUMNS[2:]
MAX_CELL = 1000

_GENDER = {
    "m": "M",
    "male": "M",
    "男": "M",
    "男性": "M",
    "1": "M",
    "f": "F",
    "female": "F",
    "女": "F",
    "女性": "F",
    "2": "F",
}
# NUL and the other control characters have no place in a person's data (a tab or line
# break may stand in a quoted address or free-text column, never in a name).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_LINE_BREAK = re.compile(r"[\t\n\r]")
_SINGLE_LINE = ("name", "name_kana", "gender", "birthdate", "relationship", "postal_code",
                "phone", "fax", "due_date", "email")  # fmt: skip
_REF = re.compile(r"^[A-Za-z0-9_.:\-]{1,64}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True, slots=True)
class CleanRow:
    record_id: str
    household_id: str
    pii: dict[str, str]  # contract fields (normalised where the contract fixes a format)
    extra: dict[str, str]  # unknown columns, kept as given


def _nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip()


def _check_date(value: str, column: str) -> str | None:
    try:
        parsed = date.fromisoformat(_nfkc(value))
    except ValueError:
        return f"{column}: not a YYYY-MM-DD date"
    if not 1900 <= parsed.year <= 2100:
        return f"{column}: year out of range 1900-2100"
    return None


def validate(row: dict[str, str]) -> CleanRow | str:
    """A clean row, or the reason it is rejected (column named first)."""
    for column in REQUIRED:
        value = row.get(column, "").strip()
        if not value:
            return f"{column}: required"
        if not _REF.match(value):
            return f"{column}: must be 1-64 letters, digits or _.:-"
    pii: dict[str, str] = {}
    for column in PII_FIELDS:
        value = row.get(column, "").strip()
        if len(value) > MAX_CELL:
            return f"{column}: longer than {MAX_CELL} characters"
        if _CONTROL.search(value) or (column in _SINGLE_LINE and _LINE_BREAK.search(value)):
            return f"{column}: holds a control character (NUL, tab, line break …)"
        pii[column] = value
    for column in ("birthdate", "due_date"):
        if pii[column] and (reason := _check_date(pii[column], column)):
            return reason
        pii[column] = _nfkc(pii[column])
    if pii["gender"]:
        gender = _GENDER.get(_nfkc(pii["gender"]).lower())
        if gender is None:
            return "gender: not M/F/男/女 (empty means unknown)"
        pii["gender"] = gender
    if pii["postal_code"]:
        key = postal_key(pii["postal_code"])
        if not key:
            return "postal_code: not a 7-digit postal code"
        pii["postal_code"] = f"{key[:3]}-{key[3:]}"
    for column in ("phone", "fax"):
        if pii[column] and not phone_key(pii[column]):
            return f"{column}: not a 10- or 11-digit Japanese number"
    if pii["email"] and not _EMAIL.match(_nfkc(pii["email"])):
        return "email: not an e-mail address"
    extra = {k: v for k, v in row.items() if k not in COLUMNS}
    return CleanRow(
        record_id=row["record_id"].strip(),
        household_id=row["household_id"].strip(),
        pii=pii,
        extra=extra,
    )
