"""Japanese phone numbers: national digits, kind, and masked digits kept as wildcards.

``03-1234-5678``, ``(03)1234-5678``, ``０３１２３４５６７８``, ``+81-3-1234-5678`` all give
``0312345678``; brokers' masks (``03-****-5678``, ``090-1234-xxxx``) keep ``?`` per hidden digit.
A cell may hold several numbers (``03-1234-5678 090-1234-5678``, ``TEL/FAX 03-1234-5678/
03-1234-5679``, ``03-1234-5678、090-…``): :func:`phone_numbers` gives each of them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from matcher.text import SparseTranslation, width

Kind = Literal["mobile", "landline", "ip", "toll_free", "shared_cost", "other", "unknown"]

_MASK = str.maketrans({c: "?" for c in "*xX×○●〇◯？?#＊"})
_mask = SparseTranslation(_MASK)
_COUNTRY = re.compile(r"^(?:\+|00|010)?\s*81[\s\-.()]*\(?0?\)?")
_INTL_PREFIX = re.compile(r"^(?:00|010)[\s\-]*81|^81-")
_NOISE = re.compile(r"[\s\-‐.()\[\]/〜~]+")
_LEAD_LABEL = re.compile(r"^(?:tel|fax|phone|電話|携帯|ＴＥＬ|TEL)[:：.]?\s*", re.IGNORECASE)
# A plain national number, hyphenated or not (not 00 or 010: those may open an international
# prefix).
_PLAIN = re.compile(r"(?!00|010)0[0-9]{1,4}-[0-9]{1,4}-[0-9]{3,4}|(?!00|010)0[0-9]{9,10}")
_EXT = re.compile(r"(?:内線|ext\.?|ex\.?)\s*[0-9]+$", re.IGNORECASE)
MIN_DIGITS, MAX_DIGITS = 9, 11  # a national number: 10 digits, 11 for mobiles, IP, 0800, 020
# Between the numbers of one cell: list separators, and labels anywhere (TEL … FAX …).
_BETWEEN = re.compile(
    r"[/／、,，;；|｜\n\r\t]+|(?:tel|fax|phone|mobile|電話|携帯|自宅|ファックス|ファクス)\s*[:：.]?",
    re.IGNORECASE,
)
_MOST_PIECES, _MOST_WORDS, _MOST_NUMBERS = 16, 32, 4  # a longer cell is not a list of numbers


@dataclass(frozen=True, slots=True)
class Phone:
    """``digits``: national form with ``?`` for masked digits ("" when not a phone number)."""

    digits: str = ""
    kind: Kind = "unknown"
    masked: bool = False
    valid: bool = False

    def matches(self, other: Phone) -> bool:
        """Equal digits where both are known (a mask matches any digit)."""
        a, b = self.digits, other.digits
        return (
            bool(a)
            and len(a) == len(b)
            and all(x == y or x == "?" or y == "?" for x, y in zip(a, b, strict=True))
        )

    def format(self) -> str:
        return self.digits


def _kind(d: str) -> tuple[Kind, int]:
    """Kind and expected length from the leading digits."""
    if d.startswith("0800"):
        return "toll_free", 11
    if d[:3] in ("070", "080", "090"):
        return "mobile", 11
    if d.startswith("050"):
        return "ip", 11
    if d.startswith("0120"):
        return "toll_free", 10
    if d.startswith("0570"):
        return "shared_cost", 10
    if d.startswith("020"):
        return "other", 11
    if d.startswith("0") and len(d) > 1 and d[1] in "123456789":
        return "landline", 10
    return "unknown", 0


def national_digits(s: str) -> str:
    """``normalize_phone(s).digits``; a plain number without building a :class:`Phone`."""
    if isinstance(s, str) and _PLAIN.fullmatch(s):
        return s.replace("-", "")
    return normalize_phone(s).digits


@lru_cache(maxsize=65536)
def normalize_phone(s: str) -> Phone:
    """Parse a phone number; never raises (not a number → ``Phone()``)."""
    if not isinstance(s, str):
        return Phone()
    if _PLAIN.fullmatch(s):  # 075-632-9528: what the general steps below make of it, at once
        t = s.replace("-", "")
        kind, length = _kind(t)
        return Phone(t, kind, False, length == len(t))
    t = width(s).strip()
    t = _LEAD_LABEL.sub("", t)
    t = _EXT.sub("", t).strip()
    if not t:
        return Phone()
    international = t.startswith("+") or _INTL_PREFIX.match(t) is not None
    if international:
        m = _COUNTRY.match(t)
        if m is None:
            return Phone()
        t = "0" + t[m.end() :]
    t = _NOISE.sub("", _mask(t))
    if not t or any(c not in "0123456789?" for c in t) or not t.startswith(("0", "?")):
        return Phone()
    kind, length = _kind(t)
    return Phone(t, kind, "?" in t, length == len(t))


def phone_numbers(s: str) -> tuple[str, ...]:
    """The national digits of each number in a phone cell, in order (masked digits as "?").

    A cell that reads as one number of 9 to 11 digits is that number, exactly as
    :func:`national_digits` reads it. Otherwise the cell is cut at list separators and labels
    (``/``, ``、``, ``TEL``, ``FAX`` …) and each piece read as a number, or as consecutive
    space-separated words making one (``03 1234 5678 090 1234 5678``). A cell where no number
    is found gives its digits as before if they fit a 64-bit key (18 or fewer), else nothing.
    Never raises.
    """
    digits = national_digits(s)
    if MIN_DIGITS <= len(digits) <= MAX_DIGITS:
        return (digits,)
    found: list[str] = []
    for piece in _BETWEEN.split(width(s) if isinstance(s, str) else "")[:_MOST_PIECES]:
        found.extend(_numbers_in(piece))
        if len(found) >= _MOST_NUMBERS:
            break
    if found:
        return tuple(found[:_MOST_NUMBERS])
    return (digits,) if MIN_DIGITS <= len(digits) <= 18 else ()


def _numbers_in(piece: str) -> list[str]:
    """The numbers of one piece of a cell: the piece as one number, else runs of its
    space-separated words that each make a whole number."""
    whole = national_digits(piece)
    if MIN_DIGITS <= len(whole) <= MAX_DIGITS:
        return [whole]
    words = piece.split()[:_MOST_WORDS]
    out: list[str] = []
    i = 0
    while i < len(words):
        for j in range(i + 1, min(i + 5, len(words)) + 1):
            ph = normalize_phone(" ".join(words[i:j]))
            # One word is a number on the terms of a whole cell; several must make exactly
            # one number of its kind's length (so no word of the next number is taken).
            if ph.valid or (j == i + 1 and MIN_DIGITS <= len(ph.digits) <= MAX_DIGITS):
                out.append(ph.digits)
                i = j
                break
        else:
            i += 1
    return out
