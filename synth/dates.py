"""Birth dates as lists publish them: written dates, Japanese eras, ages and school grades.

Owns the calendar rules the generators imitate: era years (昭和/平成/令和), age on a day, and
the Japanese school year (it starts on 1 April, so a grade is the birth range 2 April - 1 April).
"""

from __future__ import annotations

from datetime import date

# (first day, kanji name, one-letter abbreviation) of the eras a birth date in lists can fall in.
ERAS: tuple[tuple[date, str, str], ...] = (
    (date(2019, 5, 1), "令和", "R"),
    (date(1989, 1, 8), "平成", "H"),
    (date(1926, 12, 25), "昭和", "S"),
)

DATE_STYLES = (
    "iso", "slash", "slash0", "kanji", "wareki", "wareki_abbr", "compact", "dotted", "year_month",
)  # fmt: skip

# Grade labels by years since the cohort's birth school-year: 4 -> 年少 ... 18 -> 高3.
_GRADES: dict[int, str] = {4: "年少", 5: "年中", 6: "年長"}
_GRADES.update({6 + i: f"小{i}" for i in range(1, 7)})
_GRADES.update({12 + i: f"中{i}" for i in range(1, 4)})
_GRADES.update({15 + i: f"高{i}" for i in range(1, 4)})
GRADE_OFFSETS: dict[str, int] = {label: n for n, label in _GRADES.items()}


def era_of(d: date) -> tuple[str, str, int]:
    """(kanji era, abbreviation, year of era) for a date; 2008-04-05 -> ("平成", "H", 20)."""
    for start, name, abbr in ERAS:
        if d >= start:
            return name, abbr, d.year - start.year + 1
    raise ValueError(f"{d} is before the Showa era")


def format_date(d: date, style: str) -> str:
    """``d`` written in one of :data:`DATE_STYLES`."""
    if style == "iso":
        return d.isoformat()
    if style == "slash":
        return f"{d.year}/{d.month}/{d.day}"
    if style == "slash0":
        return f"{d.year}/{d.month:02d}/{d.day:02d}"
    if style == "kanji":
        return f"{d.year}年{d.month}月{d.day}日"
    if style == "wareki":
        name, _, y = era_of(d)
        return f"{name}{'元' if y == 1 else y}年{d.month}月{d.day}日"
    if style == "wareki_abbr":
        _, abbr, y = era_of(d)
        return f"{abbr}{y}.{d.month}.{d.day}"
    if style == "compact":
        return f"{d.year}{d.month:02d}{d.day:02d}"
    if style == "dotted":
        return f"{d.year}.{d.month:02d}.{d.day:02d}"
    if style == "year_month":
        return f"{d.year}年{d.month}月"
    raise ValueError(f"unknown date style {style!r}")


def age_on(birth: date, on: date) -> int:
    """Completed years of age on ``on`` (the birthday itself counts)."""
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def school_year(on: date) -> int:
    """The school year ``on`` falls in, named by the calendar year it starts (April)."""
    return on.year if on.month >= 4 else on.year - 1


def cohort(birth: date) -> int:
    """The school cohort of a birth date: born 2 April Y .. 1 April Y+1 -> Y."""
    return birth.year if (birth.month, birth.day) > (4, 1) else birth.year - 1


def grade_on(birth: date, on: date) -> str:
    """The grade (年少 .. 高3) a child born on ``birth`` is in on ``on``; "" outside school ages."""
    return _GRADES.get(school_year(on) - cohort(birth), "")


def grade_birth_range(grade: str, on: date) -> tuple[date, date]:
    """The first and last birth date of children in ``grade`` on ``on`` (inclusive)."""
    y = school_year(on) - GRADE_OFFSETS[grade]
    return date(y, 4, 2), date(y + 1, 4, 1)
