"""Normalised values behind the blind indexes: phone digits, e-mail, postal code.

The same function must produce the key at import time and at look-up time, so both go
through here.
"""

from __future__ import annotations

import re
import unicodedata

_NON_DIGIT = re.compile(r"\D")


def phone_key(text: str) -> str:
    """National-format digits (0312345678); '' when it is not a whole Japanese number."""
    digits = _NON_DIGIT.sub("", unicodedata.normalize("NFKC", text))
    if digits.startswith("81") and unicodedata.normalize("NFKC", text).lstrip().startswith("+"):
        digits = "0" + digits[2:]
    return digits if len(digits) in (10, 11) and digits.startswith("0") else ""


def postal_key(text: str) -> str:
    """Seven digits, '' if not a postal code."""
    digits = _NON_DIGIT.sub("", unicodedata.normalize("NFKC", text))
    return digits if len(digits) == 7 else ""


def email_key(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip().lower()
