"""The synthetic watchlist: households streamed out as rows of the watchlist data contract.

Owns the row layout (columns, order, formats), exact person counts, and the planting of seed
(decoy) records among ordinary ones so that neither ids nor file position give them away.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

from matcher import contract
from synth import ids
from synth.csvio import write_csv as _write_csv
from synth.households import Household, make_household

WATCHLIST_COLUMNS = list(contract.WATCHLIST_COLUMNS)

_SEED_SALT = 0x5EED


def _rows(hh: Household, hh_index: int, first_person: int, seed: int) -> list[dict[str, str]]:
    hid = ids.household_id(hh_index, seed)
    postal = hh.address.postal_code
    address = hh.address.canonical()
    out = []
    for i, p in enumerate(hh.members):
        out.append(
            {
                "record_id": ids.record_id(first_person + i, seed),
                "household_id": hid,
                "name": hh.full_name(p),
                "name_kana": hh.full_kana(p),
                "gender": p.sex or "",
                "birthdate": p.birth.isoformat() if p.birth else "",
                "relationship": p.relationship,
                "postal_code": postal,
                "address": address,
                "phone": hh.phone,
                "fax": hh.fax,
                "due_date": p.due.isoformat() if p.due else "",
                "email": p.email,
            }
        )
    return out


def _plan_children(rng: random.Random, remaining: int) -> int:
    """Children for the next household so the file ends exactly at ``remaining`` persons."""
    r = rng.random()
    k = 1 if r < 0.40 else 2 if r < 0.82 else 3 if r < 0.97 else 4
    if remaining - (k + 1) == 1:
        # One leftover person could only be a childless guardian: take them in here.
        k = k + 1 if k < 4 else k - 1
    return max(0, min(k, remaining - 1))


def _households(
    persons: int, seed: int, hh_base: int, person_base: int, rare: bool
) -> Iterator[list[dict[str, str]]]:
    rng = random.Random(seed * 2 + (1 if rare else 0))
    made = 0
    hh_index = hh_base
    while made < persons:
        k = _plan_children(rng, persons - made)
        if rare:
            k = min(k, 2) if persons - made - (k + 1) != 1 else k
        hh = make_household(rng, k, rare=rare)
        rows = _rows(hh, hh_index, person_base + made, seed)
        made += len(rows)
        hh_index += 1
        yield rows


def generate_seeds(count: int, seed: int) -> Iterator[dict[str, str]]:
    """``count`` seed (decoy) persons in families of their own, in the watchlist layout.

    Seeds are ordinary-looking families at real addresses, with uncommon surnames and
    given names so that any appearance elsewhere is unambiguous. Their ids come from the same
    permutation as ordinary ids (a reserved index range), so they look like any other id.
    """
    for rows in _households(count, seed, ids.SEED_INDEX_BASE, ids.SEED_INDEX_BASE, rare=True):
        yield from rows


def generate_watchlist(persons: int, seed: int, *, seeds: int = 0) -> Iterator[dict[str, str]]:
    """Stream ``persons`` watchlist rows (plus ``seeds`` seed rows planted among them).

    Rows come household by household: the registrant guardian first, then the children.
    Deterministic for a given ``seed``; ``generate_seeds(seeds, seed)`` lists the planted ones.
    """
    if persons < 0 or seeds < 0:
        raise ValueError("persons and seeds must be >= 0")
    seed_households = list(_households(seeds, seed, ids.SEED_INDEX_BASE, ids.SEED_INDEX_BASE, True))
    # Each seed family goes in front of the ordinary family at a random point of the file.
    pos_rng = random.Random(seed ^ _SEED_SALT)
    points = sorted(pos_rng.randrange(max(1, persons)) for _ in seed_households)
    pending = list(zip(points, seed_households, strict=True))
    written = 0
    for rows in _households(persons, seed, 0, 0, rare=False):
        while pending and pending[0][0] <= written:
            yield from pending.pop(0)[1]
        yield from rows
        written += len(rows)
    for _, rows in pending:
        yield from rows


def write_csv(rows: Iterator[dict[str, str]] | list[dict[str, str]], path: str | Path) -> int:
    """Write watchlist (or listing) rows to a UTF-8 CSV file with a header; returns the count."""
    return _write_csv(rows, path)
