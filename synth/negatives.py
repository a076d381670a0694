"""Hard negatives: people who look like registered people but are not in the watchlist.

Owns one builder per kind — an unregistered sibling, a twin of a registered child, the
guardian's spouse, a neighbour in the same building, a namesake elsewhere, and a plain random
person — each returning a :class:`~synth.subject.Subject` and the registered record it imitates.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import date, timedelta

from synth import names, phones
from synth.households import adult_name, child_name, make_household
from synth.names import Sex
from synth.places import neighbour_of, sample_address
from synth.subject import Subject, WatchlistIndex, split_name, subject_from_row

NEGATIVE_KINDS = ("sibling", "twin", "other_parent", "neighbour", "namesake", "random")
NEGATIVE_SHARES = {
    "sibling": 0.2, "twin": 0.1, "other_parent": 0.15, "neighbour": 0.15, "namesake": 0.2,
    "random": 0.2,
}  # fmt: skip

Row = Mapping[str, str]
Built = tuple[Subject, str]  # the negative, and the record_id it was made from ("" if none)
Builder = Callable[[random.Random, WatchlistIndex, date], Built | None]


def _taken_names(members: list[Row]) -> set[str]:
    taken: set[str] = set()
    for m in members:
        taken.add(split_name(m["name"])[1])
        taken.add(split_name(m.get("name_kana", ""))[1])
    taken.discard("")
    return taken


def _pick(rng: random.Random, idx: WatchlistIndex, want: Callable[[Row], bool]) -> Row | None:
    for _ in range(200):
        r = idx.rows[rng.randrange(len(idx.rows))]
        if want(r):
            return r
    return None


def _is_child(r: Row) -> bool:
    return bool(r["name"]) and bool(r.get("birthdate")) and r.get("relationship") != "本人"


def _is_guardian(r: Row) -> bool:
    return bool(r["name"]) and r.get("relationship") == "本人"


def _as_family_member(
    idx: WatchlistIndex, anchor: Row, given: names.Name, sex: Sex, birth: date
) -> Subject:
    base = idx.subject(anchor)
    return replace(
        base, given=given.kanji, given_kana=given.kana, gender=sex, birth=birth, email=""
    )


def sibling(rng: random.Random, idx: WatchlistIndex, as_of: date) -> Built | None:
    """A brother or sister who was never registered: born after the leak, or an older one."""
    child = _pick(rng, idx, _is_child)
    if child is None:
        return None
    members = idx.by_household[child["household_id"]]
    g = idx.guardian_of(child)
    births = [date.fromisoformat(m["birthdate"]) for m in members if m is not g and m["birthdate"]]
    births += [date.fromisoformat(m["due_date"]) for m in members if m.get("due_date")]
    g_birth = date.fromisoformat(g["birthdate"]) if g.get("birthdate") else date(1980, 1, 1)
    lo = max(g_birth + timedelta(days=19 * 365), date(1995, 4, 2)).toordinal()
    hi = (as_of - timedelta(days=30)).toordinal()
    for _ in range(50):
        if lo >= hi:
            return None
        b = date.fromordinal(rng.randint(lo, hi))
        # Siblings (other than twins) are born at least ten months apart.
        if all(abs((b - x).days) >= 300 for x in births):
            sex: Sex = "M" if rng.random() < 0.512 else "F"
            given = child_name(rng, sex, _taken_names(members))
            return _as_family_member(idx, child, given, sex, b), child["record_id"]
    return None


def twin(rng: random.Random, idx: WatchlistIndex, as_of: date) -> Built | None:
    """The unregistered twin of a registered child: same birth date, another given name."""
    child = _pick(rng, idx, _is_child)
    if child is None:
        return None
    members = idx.by_household[child["household_id"]]
    sex: Sex = "M" if rng.random() < 0.512 else "F"
    given = child_name(rng, sex, _taken_names(members))
    birth = date.fromisoformat(child["birthdate"])
    return _as_family_member(idx, child, given, sex, birth), child["record_id"]


def other_parent(rng: random.Random, idx: WatchlistIndex, as_of: date) -> Built | None:
    """The registrant's spouse: same surname, home and phone; an adult of the other sex."""
    g = _pick(rng, idx, _is_guardian)
    if g is None or not g.get("birthdate"):
        return None
    sex: Sex = "M" if g.get("gender") == "F" else "F"
    members = idx.by_household[g["household_id"]]
    given = adult_name(rng, sex, _taken_names(members))
    shift = int(rng.gauss(2.0 if sex == "M" else -2.0, 3.0) * 365.25)
    birth = date.fromisoformat(g["birthdate"]) + timedelta(days=shift)
    s = _as_family_member(idx, g, given, sex, birth)
    return replace(s, guardian=None), g["record_id"]


def neighbour(rng: random.Random, idx: WatchlistIndex, as_of: date) -> Built | None:
    """Someone from another family at the same building or the lot next door."""
    anchor = _pick(rng, idx, lambda r: bool(r["name"]))
    if anchor is None:
        return None
    base = subject_from_row(anchor)
    if base.address is None:
        return None
    registered = names.standard_form(base.surname)
    hh = make_household(rng)
    while names.standard_form(hh.surname.kanji) == registered:
        hh = make_household(rng)
    person = hh.members[rng.randrange(len(hh.members))]
    if person.given is None or person.birth is None:
        person = hh.members[0]
    assert person.given is not None and person.birth is not None
    addr = neighbour_of(rng, base.address)
    # Their own line: a fixed number on the same exchange area, or a mobile.
    phone = base.phone
    while phone == base.phone:
        phone = (
            phones.landline(rng, addr.town.pref, addr.town.city)
            if rng.random() < 0.5
            else phones.mobile(rng)
        )
    s = Subject(
        surname=hh.surname_kanji,
        given=person.given.kanji,
        surname_kana=hh.surname.kana,
        given_kana=person.given.kana,
        gender=person.sex or "",
        birth=person.birth,
        postal=addr.postal_code,
        address=addr,
        raw_address="",
        phone=phone,
        email=person.email,
    )
    return s, anchor["record_id"]


def namesake(rng: random.Random, idx: WatchlistIndex, as_of: date) -> Built | None:
    """A different person with the same name, sometimes even the same birthday, elsewhere."""
    r = _pick(rng, idx, lambda r: bool(r["name"]) and bool(r.get("birthdate")))
    if r is None:
        return None
    base = subject_from_row(r)
    assert base.birth is not None
    if rng.random() < 0.3:
        birth = base.birth
    else:
        # Someone of the same generation: within a few years of the registered person.
        birth = base.birth + timedelta(days=rng.choice((-1, 1)) * rng.randint(30, 5 * 365))
    addr = sample_address(rng)
    while base.address is not None and addr.town == base.address.town:
        addr = sample_address(rng)
    phone = phones.landline(rng, addr.town.pref, addr.town.city)
    s = replace(
        base,
        # A stranger spells the surname the ordinary way, not with the registrant's variant.
        surname=names.standard_form(base.surname),
        birth=birth,
        postal=addr.postal_code,
        address=addr,
        raw_address="",
        phone=phone,
        email="",
        guardian=None,
    )
    return s, r["record_id"]


def random_person(rng: random.Random, idx: WatchlistIndex, as_of: date) -> Built | None:
    """A member of a fresh family, checked not to be registered under the same name and birth."""
    for _ in range(20):
        hh = make_household(rng)
        p = hh.members[rng.randrange(len(hh.members))]
        if p.given is None or p.birth is None:
            continue
        if idx.is_registered(hh.full_name(p), p.birth.isoformat()):
            continue
        g = hh.guardian
        guardian = None
        if p is not g and g.given is not None:
            guardian = (hh.surname_kanji, g.given.kanji, hh.surname.kana, g.given.kana)
        s = Subject(
            surname=hh.surname_kanji,
            given=p.given.kanji,
            surname_kana=hh.surname.kana,
            given_kana=p.given.kana,
            gender=p.sex or "",
            birth=p.birth,
            postal=hh.address.postal_code,
            address=hh.address,
            raw_address="",
            phone=hh.phone,
            email=p.email,
            guardian=guardian,
        )
        return s, ""
    return None


BUILDERS: dict[str, Builder] = {
    "sibling": sibling,
    "twin": twin,
    "other_parent": other_parent,
    "neighbour": neighbour,
    "namesake": namesake,
    "random": random_person,
}
