"""The master-key ring: where keys come from, how they are stored, and what is derived from them.

A master key is 32 random bytes, written base64url. From each master key we derive (HKDF) one
key for AES-256-GCM encryption of personal data and one for the HMAC-SHA256 blind indexes, so
that a leaked index key never decrypts anything. The ring lists the current key first; older
keys stay readable until `leakwatch rotate-key` has re-encrypted everything under the new one.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

KEY_BYTES = 32


class KeyError_(Exception):
    """A key is missing, malformed or stored unsafely (the message says which and how to fix)."""


@dataclass(frozen=True, slots=True)
class MasterKey:
    """One master key with its derived sub-keys. `key_id` is a public 4-byte fingerprint."""

    raw: bytes
    key_id: bytes
    enc_key: bytes
    mac_key: bytes
    index_key: bytes  # encrypts saved match indexes (matcher.WatchlistIndex.save)

    @classmethod
    def from_raw(cls, raw: bytes) -> MasterKey:
        if len(raw) != KEY_BYTES:
            raise KeyError_(f"a master key must be {KEY_BYTES} bytes, got {len(raw)}")
        return cls(
            raw=raw,
            key_id=hashlib.sha256(b"leakwatch key id\x00" + raw).digest()[:4],
            enc_key=_derive(raw, b"leakwatch pii encryption v1"),
            mac_key=_derive(raw, b"leakwatch blind index v1"),
            index_key=_derive(raw, b"leakwatch match index v1"),
        )

    @classmethod
    def generate(cls) -> MasterKey:
        return cls.from_raw(secrets.token_bytes(KEY_BYTES))

    @classmethod
    def from_text(cls, text: str) -> MasterKey:
        text = text.strip()
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        except ValueError as exc:
            raise KeyError_("a master key must be base64url text") from exc
        return cls.from_raw(raw)

    def to_text(self) -> str:
        return base64.urlsafe_b64encode(self.raw).decode("ascii").rstrip("=")

    def __repr__(self) -> str:  # never print key material
        return f"MasterKey(id={self.key_id.hex()})"


def _derive(raw: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(raw)


@dataclass(frozen=True, slots=True)
class KeyRing:
    """Current key first, then older keys still needed to read not-yet-rotated data."""

    keys: tuple[MasterKey, ...]

    def __post_init__(self) -> None:
        if not self.keys:
            raise KeyError_("the key ring is empty")

    @property
    def current(self) -> MasterKey:
        return self.keys[0]

    def by_id(self, key_id: bytes) -> MasterKey | None:
        for key in self.keys:
            if key.key_id == key_id:
                return key
        return None

    @classmethod
    def from_text(cls, text: str) -> KeyRing:
        parts = [p for p in text.replace("\n", ",").split(",") if p.strip()]
        return cls(tuple(MasterKey.from_text(p) for p in parts))

    def to_text(self) -> str:
        return "\n".join(k.to_text() for k in self.keys) + "\n"


def write_key_file(path: Path, ring: KeyRing) -> None:
    """Write the ring atomically with mode 0600 (created so, never widened even briefly)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, ring.to_text().encode("ascii"))
        os.fsync(fd)
    finally:
        os.close(fd)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def read_key_file(path: Path) -> KeyRing:
    """Read a key file, refusing one that group or others can read or write."""
    try:
        st = path.stat()
    except FileNotFoundError:
        raise KeyError_(
            f"no key: set LEAKWATCH_KEY or run `leakwatch init` to create {path}"
        ) from None
    if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyError_(
            f"key file {path} has mode {stat.S_IMODE(st.st_mode):o}; it must be 0600 "
            f"(chmod 600 {path})"
        )
    return KeyRing.from_text(path.read_text(encoding="ascii"))


def load_key_ring(env_value: str | None, key_file: Path) -> KeyRing:
    """The environment wins over the key file, so containers can inject keys without files."""
    if env_value:
        return KeyRing.from_text(env_value)
    return read_key_file(key_file)
