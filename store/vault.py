"""Encryption of personal data at rest (AES-256-GCM) and keyed blind indexes (HMAC-SHA256).

Ciphertext layout: version byte 0x01 | 4-byte key id | 12-byte nonce | ciphertext+tag.
The associated data names the column ("watchlist_person.pii"), so a ciphertext copied into
another column fails to decrypt instead of quietly showing the wrong data.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from store.keyring import KeyRing

VERSION = b"\x01"
NONCE_BYTES = 12
HEADER_BYTES = 1 + 4 + NONCE_BYTES


class DecryptError(Exception):
    """Ciphertext that is corrupt, from an unknown key, or bound to another column."""


class Vault:
    """Seals and opens personal data and computes blind indexes under one key ring."""

    def __init__(self, ring: KeyRing) -> None:
        self.ring = ring
        self._aead = {k.key_id: AESGCM(k.enc_key) for k in ring.keys}
        self._mac_key = ring.current.mac_key

    @property
    def current_key_id(self) -> bytes:
        return self.ring.current.key_id

    def seal(self, plaintext: bytes, context: str) -> bytes:
        key_id = self.ring.current.key_id
        nonce = os.urandom(NONCE_BYTES)
        ct = self._aead[key_id].encrypt(nonce, plaintext, context.encode())
        return VERSION + key_id + nonce + ct

    def open(self, blob: bytes, context: str) -> bytes:
        if len(blob) < HEADER_BYTES + 16 or blob[:1] != VERSION:
            raise DecryptError(f"{context}: not a LeakWatch ciphertext")
        key_id = blob[1:5]
        aead = self._aead.get(key_id)
        if aead is None:
            raise DecryptError(f"{context}: sealed under unknown key {key_id.hex()}")
        try:
            return aead.decrypt(blob[5:HEADER_BYTES], blob[HEADER_BYTES:], context.encode())
        except InvalidTag:
            raise DecryptError(f"{context}: ciphertext was altered or belongs elsewhere") from None

    @staticmethod
    def key_id_of(blob: bytes) -> bytes:
        return blob[1:5]

    def seal_json(self, value: dict[str, Any], context: str) -> bytes:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
        return self.seal(text.encode("utf-8"), context)

    def open_json(self, blob: bytes, context: str) -> dict[str, Any]:
        value = json.loads(self.open(blob, context))
        if not isinstance(value, dict):
            raise DecryptError(f"{context}: expected a JSON object")
        return value

    def blind_index(self, kind: str, normalised: str) -> bytes | None:
        """Keyed hash for exact look-ups; `kind` separates phone from postal code etc."""
        if not normalised:
            return None
        msg = kind.encode() + b"\x00" + normalised.encode("utf-8")
        return hmac.digest(self._mac_key, msg, hashlib.sha256)[:16]
