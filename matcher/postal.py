"""Postal codes (〒102-0074, １０２－００７４, 1020074 → ``"1020074"``)."""

from __future__ import annotations

import re

from matcher.text import width

_POSTAL = re.compile(
    r"^(?:〒|郵便番号|postal\s*code|zip)?[:：\s]*([0-9]{3})[\s\-‐ー−]?([0-9]{4})$", re.IGNORECASE
)


def normalize_postal(s: str) -> str:
    """Seven digits, or ``""`` when ``s`` is not a Japanese postal code. Never raises."""
    if not isinstance(s, str):
        return ""
    if len(s) == 8 and s[3] == "-" and s.isascii() and (s[:3] + s[4:]).isdigit():
        return s[:3] + s[4:]  # 102-0074, as most files write it
    m = _POSTAL.match(width(s).strip())
    return m.group(1) + m.group(2) if m else ""
