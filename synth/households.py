"""Synthetic families: a registrant guardian and their children, with a home and a phone.

Owns the household model and its demographics (mother's age at first birth, birth spacing,
twins, due dates of 2014, the registered spelling of the surname). The watchlist writer and the
hard-negative builders both draw families from here.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date

from synth import names, phones
from synth.names import Name, Sex
from synth.places import Address, sample_address
from synth.rand import randint, randrange

LEAK_DATE = date(2014, 6, 30)  # the copy was taken in mid-2014: nobody in it is born later
FIRST_CHILD_BIRTH = date(1998, 4, 2)  # the eldest registered children were in 高1 in 2014
_LEAK_ORD = LEAK_DATE.toordinal()
_FIRST_ORD = FIRST_CHILD_BIRTH.toordinal()
_DUE_FIRST = date(2014, 1, 1).toordinal()
_DUE_LAST = date(2014, 12, 31).toordinal()
_YEAR = 365.25

_CHILD_ORDINALS = ("長", "次", "三", "四", "五")


@dataclass(slots=True)
class Person:
    """One member; ``given`` and ``birth`` are None for a registered unborn child."""

    given: Name | None
    sex: Sex | None
    birth: date | None
    relationship: str
    email: str = ""
    due: date | None = None


@dataclass(slots=True)
class Household:
    """A family as registered: the guardian first, then the children by age."""

    surname: Name
    surname_kanji: str  # the spelling as registered, e.g. 髙橋 for 高橋
    address: Address
    phone: str
    fax: str
    sep: str  # the space the registrant typed between surname and given name
    members: list[Person] = field(default_factory=list)

    @property
    def guardian(self) -> Person:
        return self.members[0]

    def full_name(self, p: Person) -> str:
        return f"{self.surname_kanji}{self.sep}{p.given.kanji}" if p.given else ""

    def full_kana(self, p: Person) -> str:
        return f"{self.surname.kana}{self.sep}{p.given.kana}" if p.given else ""


def registered_spelling(rng: random.Random, surname: Name, share: float = 0.06) -> str:
    """The surname as the family typed it; a few use a variant kanji (髙橋, 山﨑, 渡邊)."""
    if rng.random() < share:
        forms = names.variant_forms(surname.kanji)
        if forms:
            return forms[randrange(rng, len(forms))]
    return surname.kanji


def child_name(rng: random.Random, sex: Sex, taken: set[str], rare: bool = False) -> Name:
    """A child's given name of the right era, different from every name in ``taken``."""
    picker = names.rare_given_picker("child", sex) if rare else names.given_picker("child", sex)
    for _ in range(50):
        n = picker.pick(rng)
        if n.kanji not in taken and n.kana not in taken:
            return n
    raise RuntimeError("no free given name")  # pragma: no cover - the tables hold dozens


def adult_name(rng: random.Random, sex: Sex, taken: set[str], rare: bool = False) -> Name:
    """A parent-generation given name not in ``taken``."""
    gen = "guardian"
    picker = names.rare_given_picker(gen, sex) if rare else names.given_picker(gen, sex)
    for _ in range(50):
        n = picker.pick(rng)
        if n.kanji not in taken and n.kana not in taken:
            return n
    raise RuntimeError("no free given name")  # pragma: no cover


def _sex(rng: random.Random) -> Sex:
    return "M" if rng.random() < 0.512 else "F"


def _child_relationships(children: list[Person]) -> None:
    counts = {"M": 0, "F": 0}
    for c in children:
        assert c.sex is not None
        i = counts[c.sex]
        counts[c.sex] += 1
        c.relationship = _CHILD_ORDINALS[min(i, 4)] + ("男" if c.sex == "M" else "女")


def _child_births(rng: random.Random, k: int) -> list[int]:
    """Birth-date ordinals of ``k`` children, oldest first, all before the leak."""
    if k == 0:
        return []
    # Leave room for the younger ones: each needs at least ~15 months after the previous.
    latest_first = _LEAK_ORD - int((k - 1) * 1.25 * _YEAR)
    births = [randint(rng, _FIRST_ORD, max(_FIRST_ORD, latest_first))]
    while len(births) < k:
        if rng.random() < 0.012:  # about one birth in a hundred is a twin birth
            births.append(births[-1])
            continue
        room = _LEAK_ORD - births[-1]
        need = int((k - len(births) - 1) * 1.25 * _YEAR)
        gap_hi = max(300, min(int(5 * _YEAR), room - need))
        births.append(min(_LEAK_ORD, births[-1] + randint(rng, min(430, gap_hi), gap_hi)))
    return births


def _guardian_birth(rng: random.Random, first_child: int | None, sex: Sex) -> date:
    # Mothers' age at first birth clusters in the late twenties; fathers are a little older.
    age = rng.triangular(21, 40, 29) + (2.0 if sex == "M" else 0.0)
    base = first_child if first_child is not None else _LEAK_ORD
    o = base - int(age * _YEAR) + randint(rng, -180, 180)
    o = max(date(1965, 1, 1).toordinal(), min(date(1995, 12, 31).toordinal(), o))
    return date.fromordinal(o)


def _household_size(rng: random.Random) -> int:
    r = rng.random()
    return 1 if r < 0.40 else 2 if r < 0.82 else 3 if r < 0.97 else 4


def make_household(
    rng: random.Random, children: int | None = None, *, rare: bool = False
) -> Household:
    """A family of one guardian and ``children`` (1-4, drawn when None) registered children.

    About one mother in twenty registered a due date in 2014; her unborn child may be a row of
    its own, without a name. ``rare`` draws uncommon names (for seed records).
    """
    surname = (names.rare_surname_picker() if rare else names.surname_picker()).pick(rng)
    addr = sample_address(rng)
    phone, fax = _phone_and_fax(rng, addr)
    hh = Household(
        surname,
        surname.kanji if rare else registered_spelling(rng, surname),
        addr,
        phone,
        fax,
        " " if rng.random() < 0.88 else "　",
    )
    k = children if children is not None else _household_size(rng)
    g_sex: Sex = "F" if rng.random() < 0.88 else "M"
    born, births, g_birth, due = _births_and_due(rng, k, g_sex)
    taken: set[str] = set()
    g_name = adult_name(rng, g_sex, taken, rare)
    taken.update((g_name.kanji, g_name.kana))
    guardian = Person(g_name, g_sex, g_birth, "本人", due=due)
    if rng.random() < 0.35:
        guardian.email = phones.email(rng, g_name.romaji, surname.romaji, g_birth.year)
    hh.members.append(guardian)
    kids = _children(rng, births, taken, rare, surname.romaji)
    _child_relationships(kids)
    hh.members.extend(kids)
    if born < k:
        hh.members.append(Person(None, None, None, "胎児", due=due))
    return hh


def _phone_and_fax(rng: random.Random, addr: Address) -> tuple[str, str]:
    phone = (
        phones.landline(rng, addr.town.pref, addr.town.city)
        if rng.random() < 0.55
        else phones.mobile(rng)
    )
    is_mobile = phone[:3] in ("090", "080", "070")
    # Only homes with a fixed line have a fax, and in 2014 about one in five of those did.
    fax = phones.fax_for(rng, phone) if not is_mobile and rng.random() < 0.2 else ""
    return phone, fax


def _births_and_due(
    rng: random.Random, k: int, g_sex: Sex
) -> tuple[int, list[int], date, date | None]:
    """(children born, their birth ordinals, the guardian's birth date, a due date or None)."""
    expecting = g_sex == "F" and rng.random() < 0.05
    born = k
    if expecting:
        born = min(k, 3) if rng.random() < 0.6 else max(0, k - 1)
    births = _child_births(rng, born)
    g_birth = _guardian_birth(rng, births[0] if births else None, g_sex)
    due = None
    if expecting and g_birth.year >= 1975:
        lo = max(_DUE_FIRST, (births[-1] + 300) if births else _DUE_FIRST)
        if lo <= _DUE_LAST:
            due = date.fromordinal(randint(rng, lo, _DUE_LAST))
    if due is None and born < k:
        # No due date after all (mother too old, or no room left in 2014): all k are born.
        born = k
        births = _child_births(rng, k)
        g_birth = _guardian_birth(rng, births[0], g_sex)
    return born, births, g_birth, due


def _children(rng: random.Random, births: list[int], taken: set[str], rare: bool,
              family_romaji: str) -> list[Person]:  # fmt: skip
    kids: list[Person] = []
    for b in births:
        sex = _sex(rng)
        n = child_name(rng, sex, taken, rare)
        taken.update((n.kanji, n.kana))
        bd = date.fromordinal(b)
        kid = Person(n, sex, bd, "")
        if _LEAK_ORD - b > 13 * _YEAR and rng.random() < 0.1:  # teenagers with their own phone
            kid.email = phones.email(rng, n.romaji, family_romaji, bd.year)
        kids.append(kid)
    return kids
