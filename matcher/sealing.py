"""Encryption of a saved index: AES-256-GCM with a caller-supplied 32-byte key.

Layout: magic ``LWIX`` | version 0x01 | 12-byte nonce | AES-GCM(zlib(payload)). The store
passes a key derived from its master key (``MasterKey.index_key``); the matcher never sees
the master key itself.
"""

from __future__ import annotations

import os
import zlib

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MAGIC = b"LWIX\x01"
AAD = b"leakwatch match index v1"


class IndexKeyError(ValueError):
    """The index file was written under another key, or altered."""


def seal_blob(payload: bytes, key: bytes) -> bytes:
    if len(key) != 32:
        raise ValueError("the index key must be 32 bytes")
    nonce = os.urandom(12)
    return MAGIC + nonce + AESGCM(key).encrypt(nonce, zlib.compress(payload, 1), AAD)


def open_blob(blob: bytes, key: bytes) -> bytes:
    if len(key) != 32:
        raise ValueError("the index key must be 32 bytes")
    if not blob.startswith(MAGIC) or len(blob) < len(MAGIC) + 12 + 16:
        raise IndexKeyError("not a LeakWatch index file")
    nonce = blob[len(MAGIC) : len(MAGIC) + 12]
    try:
        return zlib.decompress(AESGCM(key).decrypt(nonce, blob[len(MAGIC) + 12 :], AAD))
    except InvalidTag:
        raise IndexKeyError("the index key is wrong or the file was altered") from None
