"""E-mail addresses: width, case, ``mailto:``, ``<…>`` and the usual obfuscations ([at], ＠)."""

from __future__ import annotations

import re

from matcher.text import width

_AT = re.compile(r"\s*(?:\[at\]|\(at\)|\{at\}|＠|@| at )\s*", re.IGNORECASE)
_DOT = re.compile(r"\s*(?:\[dot\]|\(dot\)|\{dot\})\s*", re.IGNORECASE)
_VALID = re.compile(r"^[a-z0-9!#$%&'*+/=?^_`{|}~.\-]+@[a-z0-9\-]+(?:\.[a-z0-9\-]+)+$")


def normalize_email(s: str) -> str:
    """Lower-cased address, or ``""`` when ``s`` is not an e-mail address. Never raises."""
    if not isinstance(s, str) or not s:  # most rows have none
        return ""
    if s.isascii():
        # Already a plain address: nothing below would change it but the case. ("{" may
        # open an obfuscation like {at}, which _VALID alone would let through.)
        t = s.lower()
        if "{" not in t and len(t) <= 254 and _VALID.match(t):
            return t
    t = width(s).strip().strip("<>").strip()
    if t.lower().startswith("mailto:"):
        t = t[7:]
    t = _DOT.sub(".", _AT.sub("@", t, count=1)).replace(" ", "").lower()
    return t if len(t) <= 254 and _VALID.match(t) else ""
