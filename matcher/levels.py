"""Comparison levels: for every compared field, its levels as named objects in one table.

A (listing row, person) pair gets one level per field ("the family names agree as written",
"the same lot, another flat"). Each field's levels are an ``IntEnum`` whose members are
declared from the weakest evidence to the strongest, each with its :class:`LevelSpec` (as
Splink's ``ComparisonLevel``: the null level, the m- and u-probability priors, the index
frequency that gives a pair its own u). Everything else is built from these tables:

* ``compare`` sets each pair's level by name (``levels[same_flat] = Place.UNIT``) in numpy
  ``int8`` arrays: a member *is* its code, so the arrays stay as compact and fast as bare
  numbers would be, and no Python object is made per pair;
* ``model`` takes the m-classes, m priors, u and within-household u from the tables;
* explanations label a level by its member's name in lower case (``Place.OTHER_ROOM`` is
  ``other_room``).

Code compares levels by name, never by number: ``levels["place"] == Place.BLOCK``, or by
order for "this agreement or a stronger one": ``levels["birth"] >= Birth.RANGE`` (which is
why the members go from weakest to strongest). Adding a level is one line in its field's
table, plus the logic that sets it in that field's function in ``compare``.

Levels may share one m-probability (``same_m_as``): "the birth date is inside the interval
the row gives" is one event whether the row gave a day or an age; the pair's u (term
frequencies) says how telling each is.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Self


@dataclass(frozen=True, slots=True)
class LevelSpec:
    """What the model needs to know of one comparison level.

    ``m``: the prior m-probability (P(level | same person)) of the level's m-class, before
    EM and reviewers' labels refine it; a level either has its own m-class (``m``) or shares
    an earlier level's (``same_m_as``, its label); the null level has neither. ``u``:
    P(level | two random persons), used when the pair has no frequency of its own.
    ``within_u``: the same for two members of one household (only the fields that tell
    members apart have it: see ``model.HOUSEHOLD_FIELDS``). ``tf``: the index frequency a
    pair at this level takes its own u from (term-frequency adjustment; ``""`` for none).
    """

    m: float | None = None
    u: float = 1.0
    same_m_as: str = ""
    within_u: float | None = None
    tf: str = ""

    @property
    def null(self) -> bool:
        """Nothing to compare (a value missing on either side): never evidence."""
        return self.m is None and not self.same_m_as


NULL = LevelSpec(within_u=1.0)  # the "missing" level: weight 0, however the model changes


class ComparisonLevel(IntEnum):
    """The levels of one field, weakest first; a member's value is its code in level arrays
    (its position in the table: codes are never written anywhere by hand)."""

    spec: LevelSpec  # an annotation, not a member

    def __new__(cls, spec: LevelSpec) -> Self:
        code = len(cls.__members__)
        member = int.__new__(cls, code)
        member._value_ = code
        member.spec = spec
        return member

    @property
    def label(self) -> str:
        """The level as explanations show it."""
        return self.name.lower()


class FamilyName(ComparisonLevel):
    """Family names: kanji with variants folded (``exact``), kanji as written, old forms
    kept (``exact_old_form``: 髙橋 for 髙橋, rarer than 高橋), or only the reading."""

    MISSING = NULL
    DISAGREE = LevelSpec(m=0.02, u=0.97)
    FUZZY = LevelSpec(m=0.01, u=0.01)  # readings close (Levenshtein), where it can matter
    TYPO = LevelSpec(m=0.02, u=5e-4)  # one confusable character (太/大, ソ/ン)
    READING = LevelSpec(m=0.05, u=0.002, tf="fam_l")  # the kanji differ, the readings agree
    # The same kanji; or, for a row without kanji, the same reading (u by the reading's count).
    EXACT = LevelSpec(m=0.85, u=0.005, tf="fam")
    EXACT_OLD_FORM = LevelSpec(m=0.05, u=1e-4, tf="fam_w")


class GivenName(ComparisonLevel):
    """Given names, as family names (no old forms); they tell a household's members apart."""

    MISSING = NULL
    DISAGREE = LevelSpec(m=0.02, u=0.985, within_u=0.93)
    FUZZY = LevelSpec(m=0.02, u=0.01, within_u=0.01)
    TYPO = LevelSpec(m=0.03, u=5e-4, within_u=0.0005)
    READING = LevelSpec(m=0.05, u=0.002, within_u=0.002, tf="giv_l")
    EXACT = LevelSpec(m=0.88, u=0.005, within_u=0.01, tf="giv")


class Birth(ComparisonLevel):
    """The birth date against the row's day or interval (a year, a month, an age or a school
    grade once the listing is dated); u by how many persons were born in the interval."""

    MISSING = NULL
    DISAGREE = LevelSpec(m=0.02, u=0.9, within_u=0.55)
    NEAR = LevelSpec(m=0.02, u=0.05, within_u=0.3)  # outside, within a year
    RANGE = LevelSpec(m=0.96, u=0.05, within_u=0.2, tf="births")
    EXACT = LevelSpec(same_m_as="range", u=1e-4, within_u=0.02, tf="births")  # a day, that day


class Gender(ComparisonLevel):
    MISSING = NULL
    DISAGREE = LevelSpec(m=0.02, u=0.5, within_u=0.5)
    AGREE = LevelSpec(m=0.98, u=0.5, within_u=0.5)


class Place(ComparisonLevel):
    """Where the address (and postal code) put the row: the same flat, the same lot (another
    flat, or none given), town (or postal code), city."""

    MISSING = NULL
    DISAGREE = LevelSpec(m=0.12, u=0.98)
    CITY = LevelSpec(m=0.02, u=0.01, tf="city")
    TOWN = LevelSpec(m=0.03, u=1e-3, tf="town")
    OTHER_ROOM = LevelSpec(m=0.01, u=1e-6, tf="block")
    BLOCK = LevelSpec(m=0.32, u=1e-5, tf="block")
    UNIT = LevelSpec(m=0.50, u=1e-6, tf="block")  # u: one flat holds one household


class Phone(ComparisonLevel):
    """The phone (or, for a cell of several numbers, the phone or fax) against the row's
    number; a masked number (03-****-5678) that fits is compatible."""

    MISSING = NULL
    DISAGREE = LevelSpec(m=0.12, u=0.999)
    MASKED_COMPATIBLE = LevelSpec(m=0.88, u=1e-4, tf="ph_tail")  # or ph_head: the smaller
    EXACT = LevelSpec(same_m_as="masked_compatible", u=1e-6, tf="phone")


class Email(ComparisonLevel):
    MISSING = NULL
    DISAGREE = LevelSpec(m=0.05, u=0.9999, within_u=0.9)
    AGREE = LevelSpec(m=0.95, u=1e-6, within_u=0.05, tf="email")


class Guardian(ComparisonLevel):
    """The household's guardian against the row's guardian_name (given name or reading)."""

    MISSING = NULL
    IS_THE_GUARDIAN = LevelSpec(m=0.001, u=0.15)  # the record is the guardian itself
    DISAGREE = LevelSpec(m=0.05, u=0.85)
    AGREE = LevelSpec(m=0.949, u=0.02, tf="g_giv_l")


# The compared fields, in the order weights are summed and explanations list them.
FIELD_LEVELS: dict[str, type[ComparisonLevel]] = {
    "family_name": FamilyName,
    "given_name": GivenName,
    "birth": Birth,
    "gender": Gender,
    "place": Place,
    "phone": Phone,
    "email": Email,
    "guardian": Guardian,
}
FIELDS = tuple(FIELD_LEVELS)


def m_classes(levels: type[ComparisonLevel]) -> tuple[int, ...]:
    """Each level's m-class (-1: the null level); classes numbered in table order."""
    classes: dict[str, int] = {}  # a level with an m of its own -> its class
    out: list[int] = []
    for level in levels:
        spec = level.spec
        if spec.null:
            out.append(-1)
        elif spec.same_m_as:
            out.append(classes[spec.same_m_as])  # KeyError: name an earlier level
        else:
            classes[level.label] = len(classes)
            out.append(classes[level.label])
    return tuple(out)


def m_priors(levels: type[ComparisonLevel]) -> tuple[float, ...]:
    """The prior m-probability of each m-class of ``levels``."""
    return tuple(lv.spec.m for lv in levels if lv.spec.m is not None)


def labels(levels: type[ComparisonLevel]) -> tuple[str, ...]:
    return tuple(lv.label for lv in levels)


# The context terms an explanation adds after the fields (see ``context``): two "levels"
# each, for what the term did.
class HouseholdTerm(IntEnum):
    NOT_ESTABLISHED = 0
    COUNTED_ONCE = 1  # the household fields established it: counted once, as a member


class LocationTerm(IntEnum):
    LOCATED = 0
    NOT_LOCATED = 1  # the unlocated calibration applies


class RivalsTerm(IntEnum):
    NONE = 0
    OTHER_HOUSEHOLDS = 1  # other households share the row


CONTEXT_TERMS: dict[str, type[IntEnum]] = {
    "household": HouseholdTerm, "location": LocationTerm, "rivals": RivalsTerm,
}  # fmt: skip


def term_labels(term: type[IntEnum]) -> tuple[str, ...]:
    return tuple(t.name.lower() for t in term)


# Levels that add no evidence: left out of an explanation's one-line summary.
SILENT = frozenset({
    *(lv.label for levels in FIELD_LEVELS.values() for lv in levels if lv.spec.null),
    LocationTerm.LOCATED.name.lower(), RivalsTerm.NONE.name.lower(),
})  # fmt: skip


__all__ = [
    "CONTEXT_TERMS",
    "FIELDS",
    "FIELD_LEVELS",
    "SILENT",
    "Birth",
    "ComparisonLevel",
    "Email",
    "FamilyName",
    "Gender",
    "GivenName",
    "Guardian",
    "HouseholdTerm",
    "LevelSpec",
    "LocationTerm",
    "Phone",
    "Place",
    "RivalsTerm",
    "labels",
    "m_classes",
    "m_priors",
    "term_labels",
]
