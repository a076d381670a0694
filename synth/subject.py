"""A person as a listing will show them, read back from a watchlist row or built afresh.

Owns the structured view (surname / given name / readings / birth date / parsed address) that
the listing formatter renders, and the index of a watchlist by household and by identity.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from synth.names import standard_form
from synth.places import Address, parse_address

_SPACE = re.compile(r"[ \u3000]+")


@dataclass(frozen=True, slots=True)
class Subject:
    """Everything a listing row can say about one person, before formatting."""

    surname: str
    given: str
    surname_kana: str
    given_kana: str
    gender: str  # "M", "F" or ""
    birth: date | None
    postal: str  # "123-4567"
    address: Address | None  # None when the source address is not in canonical form
    raw_address: str
    phone: str
    email: str = ""
    guardian: tuple[str, str, str, str] | None = None  # surname, given, their kana


def split_name(name: str) -> tuple[str, str]:
    """Split "山田 太郎" (either space) -> ("山田", "太郎"); an unspaced name is all surname."""
    parts = _SPACE.split(name.strip(), maxsplit=1)
    return (parts[0], parts[1]) if len(parts) == 2 else (parts[0], "")


def subject_from_row(row: Mapping[str, str], guardian: Mapping[str, str] | None = None) -> Subject:
    """The subject of a watchlist row (and, for a child, their guardian's name)."""
    s, g = split_name(row["name"])
    sk, gk = split_name(row.get("name_kana", ""))
    g_parts = None
    if guardian is not None and guardian is not row:
        gs, gg = split_name(guardian["name"])
        gsk, ggk = split_name(guardian.get("name_kana", ""))
        g_parts = (gs, gg, gsk, ggk)
    bd = row.get("birthdate", "")
    return Subject(
        surname=s,
        given=g,
        surname_kana=sk,
        given_kana=gk,
        gender=row.get("gender", ""),
        birth=date.fromisoformat(bd) if bd else None,
        postal=row.get("postal_code", ""),
        address=parse_address(row.get("postal_code", ""), row.get("address", "")),
        raw_address=row.get("address", ""),
        phone=row.get("phone", ""),
        email=row.get("email", ""),
        guardian=g_parts,
    )


class WatchlistIndex:
    """Lookups over an in-memory watchlist: households, guardians and who is registered."""

    def __init__(self, rows: Sequence[Mapping[str, str]]) -> None:
        self.rows = rows
        self.by_household: dict[str, list[Mapping[str, str]]] = defaultdict(list)
        self.identities: set[tuple[str, str]] = set()
        self.by_name: dict[str, list[Mapping[str, str]]] = defaultdict(list)
        for r in rows:
            self.by_household[r["household_id"]].append(r)
            if r["name"]:
                key = name_key(r["name"])
                self.identities.add((key, r.get("birthdate", "")))
                self.by_name[key].append(r)

    def guardian_of(self, row: Mapping[str, str]) -> Mapping[str, str]:
        """The household's registrant (relationship 本人, else its first row)."""
        members = self.by_household[row["household_id"]]
        for m in members:
            if m.get("relationship") == "本人":
                return m
        return members[0]

    def subject(self, row: Mapping[str, str]) -> Subject:
        return subject_from_row(row, self.guardian_of(row))

    def is_registered(self, name: str, birthdate: str) -> bool:
        """Whether someone with this name (any spacing or kanji variant) and birth is listed."""
        return (name_key(name), birthdate) in self.identities


def name_key(name: str) -> str:
    """A name without spaces and with standard kanji, for identity checks."""
    return standard_form(_SPACE.sub("", name))
