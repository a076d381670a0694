"""Registration codes and login keys printed on the letter each leaked household receives."""

from __future__ import annotations

import hashlib
import hmac
import secrets

# Crockford's base32 without I, L, O, U: nothing to misread on paper or over the phone.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def _groups(n_chars: int) -> str:
    # 256 is a multiple of 32, so masking random bytes gives uniform symbols (and is fast).
    chars = "".join(ALPHABET[b & 31] for b in secrets.token_bytes(n_chars))
    return "-".join(chars[i : i + 4] for i in range(0, n_chars, 4))


def new_registration_code() -> str:
    """12 characters (60 bits) in groups of four: an identifier, not a secret."""
    return _groups(12)


def new_login_key() -> str:
    """16 characters (80 bits): the secret half; only its salted hash is stored."""
    return _groups(16)


def canonical_code(text: str) -> str:
    """What the customer typed, folded to the printed form (case, spaces, O/0, I/L/1)."""
    table = str.maketrans({"O": "0", "I": "1", "L": "1", " ": None, "-": None})
    chars = text.upper().translate(table)
    return "-".join(chars[i : i + 4] for i in range(0, len(chars), 4))


def hash_login_key(key: str, salt: bytes) -> bytes:
    # The key has 80 bits of entropy: a fast salted hash is enough, and keeps imports fast.
    return hashlib.sha256(salt + canonical_code(key).encode("ascii")).digest()


def check_login_key(key: str, salt: bytes, expected: bytes) -> bool:
    try:
        return hmac.compare_digest(hash_login_key(key, salt), expected)
    except UnicodeEncodeError:
        return False
