"""Japan's corporate number (法人番号): 13 digits, the first a check digit over the other 12."""

from __future__ import annotations

import unicodedata


class InvalidCorporateNumber(ValueError):
    """Not 13 digits, or the check digit does not agree."""


def corporate_check_digit(base12: str) -> int:
    # National Tax Agency rule: 9 - (sum of digit*weight mod 9), weights 1,2,1,2… from the right.
    total = sum(int(d) * (1 if i % 2 == 0 else 2) for i, d in enumerate(reversed(base12)))
    return 9 - total % 9


def normalise_corporate_number(text: str) -> str:
    """Return the 13 ASCII digits, accepting full-width digits, spaces and hyphens."""
    digits = "".join(ch for ch in unicodedata.normalize("NFKC", text) if ch not in " -\u2010\u2212")
    if len(digits) != 13 or not digits.isascii() or not digits.isdigit():
        raise InvalidCorporateNumber(f"a corporate number has 13 digits, got {text!r}")
    if corporate_check_digit(digits[1:]) != int(digits[0]):
        raise InvalidCorporateNumber(f"check digit of corporate number {digits} is wrong")
    return digits
