"""Kanji numerals: 〇一二…十百千万 to int and back (for 丁目, 番地, era years)."""

from __future__ import annotations

import re

_DIGITS = {
    "〇": 0,
    "零": 0,
    "一": 1,
    "二": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
    "壱": 1,
    "弐": 2,
    "参": 3,
}
_UNITS = {"十": 10, "拾": 10, "百": 100, "千": 1000, "万": 10000}
KANJI_NUM_CHARS = "〇零一二三四五六七八九十拾百千万壱弐参"
KANJI_NUM_RE = re.compile(f"[{KANJI_NUM_CHARS}]+")
_KANJI_DIGIT_STR = "〇一二三四五六七八九"


def kanji_to_int(s: str) -> int | None:
    """``"四十五"`` → 45, ``"二〇二三"`` → 2023, ``"12"`` → 12; None when not a number."""
    if not s:
        return None
    if s.isascii():
        return int(s) if s.isdigit() else None
    if all(c in _DIGITS for c in s):  # positional: 二〇二三
        n = 0
        for c in s:
            n = n * 10 + _DIGITS[c]
        return n
    total = section = cur = 0
    seen = False
    for c in s:
        if c in _DIGITS:
            cur = cur * 10 + _DIGITS[c]
            seen = True
        elif c in _UNITS:
            unit = _UNITS[c]
            if unit == 10000:
                total += (section + cur or 1) * unit
                section = 0
            else:
                section += (cur or 1) * unit
            cur = 0
            seen = True
        else:
            return None
    return total + section + cur if seen else None


def int_to_kanji(n: int) -> str:
    """45 → ``"四十五"`` (0 ≤ n < 10000; the 丁目 convention: 十, 十一, 二十)."""
    if n <= 0 or n >= 10000:
        return _KANJI_DIGIT_STR[0] if n == 0 else str(n)
    out = []
    for unit, ch in ((1000, "千"), (100, "百"), (10, "十")):
        q, n = divmod(n, unit)
        if q:
            out.append(("" if q == 1 else _KANJI_DIGIT_STR[q]) + ch)
    if n:
        out.append(_KANJI_DIGIT_STR[n])
    return "".join(out)
