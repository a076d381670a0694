"""Normalised values behind the blind indexes: phone digits, e-mail, postal code.

The same function must produce the key at import time and at look-up time, and must agree
with what the matcher compares, so both go through the matcher's normalisers.
"""

from __future__ import annotations

from matcher import normalize_email, normalize_phone, normalize_postal


def phone_key(text: str) -> str:
    """National-format digits (0312345678); '' for a masked, partial or foreign number."""
    phone = normalize_phone(text)
    return phone.digits if phone.valid and not phone.masked else ""


def postal_key(text: str) -> str:
    """Seven digits, '' if not a postal code."""
    return normalize_postal(text)


def email_key(text: str) -> str:
    return normalize_email(text)
