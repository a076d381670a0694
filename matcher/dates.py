"""Birth dates as intervals: 西暦, 和暦 (明治–令和, full and abbreviated), compact 20080405,
year/month only, an age as of a date, or a school grade as of a date.

A school grade is a birth-date interval from 2 April to 1 April: children born from 2 April of
one year to 1 April of the next share a school year (which itself starts on 1 April). Ages and
grades need the date the list was true (``as_of``); without it they come back unknown — never
assume today.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from typing import Literal

from matcher.numerals import KANJI_NUM_RE, kanji_to_int
from matcher.text import width

Precision = Literal["day", "month", "year", "range", "age", "grade", "unknown"]

# Era: (first day, offset so that western year = offset + era year).
ERAS: dict[str, tuple[date, int]] = {
    "明治": (date(1868, 1, 25), 1867),
    "大正": (date(1912, 7, 30), 1911),
    "昭和": (date(1926, 12, 25), 1925),
    "平成": (date(1989, 1, 8), 1988),
    "令和": (date(2019, 5, 1), 2018),
}
_ERA_ALIASES = {
    "明治": "明治",
    "明": "明治",
    "M": "明治",
    "大正": "大正",
    "大": "大正",
    "T": "大正",
    "昭和": "昭和",
    "昭": "昭和",
    "S": "昭和",
    "平成": "平成",
    "平": "平成",
    "H": "平成",
    "令和": "令和",
    "令": "令和",
    "R": "令和",
    "㍾": "明治",
    "㍽": "大正",
    "㍼": "昭和",
    "㍻": "平成",
    "㋿": "令和",
}
_ERA_RE = "|".join(sorted(map(re.escape, _ERA_ALIASES), key=len, reverse=True))
_WAREKI = re.compile(
    rf"^({_ERA_RE})\.?\s*(元|[0-9]{{1,2}})\s*(?:[-/.年]\s*(?:([0-9]{{1,2}})\s*(?:[-/.月]\s*"
    rf"(?:([0-9]{{1,2}})\s*日?)?)?)?)?\s*(?:生まれ|生)?$",
    re.IGNORECASE,
)
_SEIREKI = re.compile(
    r"^([0-9]{4})\s*(?:[-/.年]\s*(?:([0-9]{1,2})\s*(?:[-/.月]\s*(?:([0-9]{1,2})\s*日?)?)?)?)?"
    r"\s*(?:生まれ|生)?$"
)
_COMPACT = re.compile(r"^([0-9]{4})([0-9]{2})([0-9]{2})$")
_COMPACT_YM = re.compile(r"^([0-9]{4})([0-9]{2})$")
_ISO = r"([0-9]{4}-[0-9]{2}-[0-9]{2})"
_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_RANGE = re.compile(rf"^{_ISO}\s*(?:\.\.|/|~|から)\s*{_ISO}$")
_AGE = re.compile(
    r"^(?:満|age\s*)?([0-9]{1,3})\s*(?:歳|才|さい|yo|y/?o|years?(?:\s*old)?)?$", re.IGNORECASE
)
_GRADE = re.compile(
    r"^(?:(年少|年中|年長)(?:組|さん)?|"
    r"(小|小学|小学校|中|中学|中学校|高|高校|高等学校)\s*([0-9])\s*(?:年生?|年)?)$"
)
_GRADE_BASE = {
    "小": 0,
    "小学": 0,
    "小学校": 0,
    "中": 6,
    "中学": 6,
    "中学校": 6,
    "高": 9,
    "高校": 9,
    "高等学校": 9,
}
_GRADE_MAX = {0: 6, 6: 3, 9: 3}
_KINDER = {"年少": -2, "年中": -1, "年長": 0}


@dataclass(frozen=True, slots=True)
class DateRange:
    """Inclusive interval of possible birth dates; both None when unknown."""

    start: date | None = None
    end: date | None = None
    precision: Precision = "unknown"

    @property
    def known(self) -> bool:
        return self.start is not None and self.end is not None

    def contains(self, d: date) -> bool:
        return self.known and self.start <= d <= self.end  # type: ignore[operator]

    def format(self) -> str:
        """``2008-04-05``, ``2008-04``, ``2008``, ``2017-04-02..2018-04-01`` or ``""``."""
        if self.start is None or self.end is None:
            return ""
        s, e = self.start, self.end
        if s == e:
            return s.isoformat()
        if s.day == 1 and e == _month_end(s.year, s.month):
            return f"{s.year:04d}-{s.month:02d}"
        if (s.month, s.day) == (1, 1) and (e.year, e.month, e.day) == (s.year, 12, 31):
            return f"{s.year:04d}"
        return f"{s.isoformat()}..{e.isoformat()}"


def _month_end(y: int, m: int) -> date:
    return date(y, m, calendar.monthrange(y, m)[1])


def _ymd(y: int, m: int | None, d: int | None) -> DateRange:
    if not 1 <= y <= 9999:
        return DateRange()
    if m is None:
        return DateRange(date(y, 1, 1), date(y, 12, 31), "year")
    if not 1 <= m <= 12:
        return DateRange()
    if d is None:
        return DateRange(date(y, m, 1), _month_end(y, m), "month")
    try:
        day = date(y, m, d)
    except ValueError:
        return DateRange()
    return DateRange(day, day, "day")


def _int(s: str | None) -> int | None:
    return int(s) if s else None


def _years_before(d: date, years: int) -> date:
    y = d.year - years
    if y < 1:
        raise ValueError(y)
    return d.replace(year=y) if not (d.month == 2 and d.day == 29) else date(y, 3, 1)


def school_year(as_of: date) -> int:
    """The school year (starting 1 April) that ``as_of`` falls in."""
    return as_of.year if as_of.month >= 4 else as_of.year - 1


def grade_range(grade: int, as_of: date) -> DateRange:
    """Birth dates of a child in ``grade`` (小1 = 1, 中1 = 7, 高1 = 10, 年長 = 0) on ``as_of``."""
    sy = school_year(as_of)
    first = sy - 6 - grade
    return DateRange(date(first, 4, 2), date(first + 1, 4, 1), "grade")


def age_range(age: int, as_of: date) -> DateRange:
    """Birth dates of someone who is ``age`` on ``as_of``."""
    end = _years_before(as_of, age)
    start = _years_before(as_of, age + 1) + timedelta(days=1)
    return DateRange(start, end, "age")


@lru_cache(maxsize=65536)
def parse_birthdate(s: str, as_of: date | None = None) -> DateRange:
    """A birth date (or an age / a school grade as of ``as_of``) as an interval. Never raises."""
    if not isinstance(s, str):
        return DateRange()
    try:
        return _parse(s, as_of)
    except (ValueError, OverflowError):
        return DateRange()


def _parse(s: str, as_of: date | None) -> DateRange:
    if _ISO_DAY.fullmatch(s):  # 2008-04-05: what the general steps below make of it, at once
        return _ymd(int(s[:4]), int(s[5:7]), int(s[8:]))
    t = width(s).strip()
    t = re.sub(r"\s*\(.*\)$", "", t)  # 2008/4/5(土)
    if not t:
        return DateRange()
    if KANJI_NUM_RE.search(t):
        t = KANJI_NUM_RE.sub(lambda m: str(kanji_to_int(m.group())), t)
    m = _COMPACT.match(t)
    if m:
        return _ymd(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    m = _COMPACT_YM.match(t)
    if m:
        return _ymd(int(m.group(1)), int(m.group(2)), None)
    m = _SEIREKI.match(t)
    if m:
        return _ymd(int(m.group(1)), _int(m.group(2)), _int(m.group(3)))
    m = _RANGE.match(t)
    if m:
        a, b = date.fromisoformat(m.group(1)), date.fromisoformat(m.group(2))
        return DateRange(a, b, "range") if a <= b else DateRange()
    m = _WAREKI.match(t)
    if m:
        era = _ERA_ALIASES.get(m.group(1)) or _ERA_ALIASES.get(m.group(1).upper())
        if era is None:
            return DateRange()
        n = 1 if m.group(2) == "元" else int(m.group(2))
        if n < 1:
            return DateRange()
        return _ymd(ERAS[era][1] + n, _int(m.group(3)), _int(m.group(4)))
    if as_of is None:
        return DateRange()
    m = _AGE.match(t)
    if m:
        return age_range(int(m.group(1)), as_of)
    m = _GRADE.match(t)
    if m:
        if m.group(1):
            return grade_range(_KINDER[m.group(1)], as_of)
        base = _GRADE_BASE[m.group(2)]
        g = int(m.group(3))
        if not 1 <= g <= _GRADE_MAX[base]:
            return DateRange()
        return grade_range(base + g, as_of)
    return DateRange()
