"""When was a list true? Inferred per listing from the rows that match on other fields.

An age or a school grade is only a birth-date interval once the list's date is known, and
lists rarely state it (DESIGN.md: infer it, never assume today). Each anchor — a row with an
age or grade whose person is found through name *and* phone or address, or a row that gives
both a birth date and an age — allows an interval of as-of dates; the interval most anchors
agree on is the listing's as-of.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from functools import lru_cache

from matcher.dates import parse_birthdate

MIN_ANCHORS = 3
MIN_SHARE = 0.5


def _add_years(d: date, years: int) -> date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # 29 February
        return date(d.year + years, 3, 1)


@lru_cache(maxsize=4096)
def grade_number(grade: str) -> int | None:
    """小1 → 1, 中1 → 7, 年長 → 0 (as :func:`matcher.dates.grade_range` counts)."""
    ref = date(2000, 6, 1)  # school year 2000
    r = parse_birthdate(grade, ref)
    if r.start is None or r.precision != "grade":
        return None
    return 2000 - 6 - r.start.year


def feasible(birth: date, age: int, grade: str) -> tuple[date, date] | None:
    """As-of dates on which someone born on ``birth`` has this age / is in this grade."""
    g = grade_number(grade) if grade else None
    if g is not None:
        cohort = birth.year if (birth.month, birth.day) >= (4, 2) else birth.year - 1
        sy = cohort + 6 + g
        return date(sy, 4, 1), date(sy + 1, 3, 31)
    if age >= 0:
        lo = _add_years(birth, age)
        return lo, _add_years(birth, age + 1) - timedelta(days=1)
    return None


def infer_as_of(intervals: Iterable[tuple[date, date]]) -> tuple[date, date] | None:
    """The as-of interval consistent with the most anchors (None if too few agree)."""
    iv = list(intervals)
    if len(iv) < MIN_ANCHORS:
        return None
    events: list[tuple[int, int]] = []
    for lo, hi in iv:
        events.append((lo.toordinal(), 1))
        events.append((hi.toordinal() + 1, -1))
    events.sort()
    best, cur, best_lo, best_hi = 0, 0, 0, 0
    for i, (x, d) in enumerate(events):
        cur += d
        nxt = events[i + 1][0] if i + 1 < len(events) else x
        if cur > best and nxt > x:
            best, best_lo, best_hi = cur, x, nxt - 1
    if best < MIN_ANCHORS or best < MIN_SHARE * len(iv):
        return None
    return date.fromordinal(best_lo), date.fromordinal(best_hi)
