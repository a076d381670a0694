"""Encryption of a saved index: AES-256-GCM with a caller-supplied 32-byte key.

Two layouts. The current one (magic ``LWIX\\x02``) is a stream of segments, so that an index
of 35 million persons is written and read without ever being held twice: a manifest (the
arrays' names, types and shapes, and the caller's metadata), then each array's bytes in
segments of at most :data:`SEGMENT` bytes, each decrypted straight into the array's memory.
Every segment is sealed on its own (a random nonce each), and its associated data binds it
to the file (a random file id) and to its place in the stream, so segments cannot be
reordered, swapped between files or dropped; the manifest says how many follow, and a
file must end exactly there.

    file    = "LWIX\\x02" | file id (16) | segment*
    segment = plaintext length (u32, big-endian) | nonce (12) | ciphertext | tag (16)

The first layout (``LWIX\\x01``: one sealed zlib blob) is still read, so that an index
saved by an older LeakWatch is recognised and refused with advice rather than misread.
The store passes a key derived from its master key (``MasterKey.index_key``); the matcher
never sees the master key itself.
"""

from __future__ import annotations

import json
import os
import struct
import zlib
from collections.abc import Callable, Mapping, Sequence
from typing import IO, Any, Protocol

import numpy as np
import numpy.typing as npt
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MAGIC = b"LWIX\x01"
AAD = b"leakwatch match index v1"
MAGIC_STREAM = b"LWIX\x02"
AAD_STREAM = b"leakwatch match index v2"
SEGMENT = 16 << 20  # plaintext bytes per segment: a 16 MiB buffer is all a load adds
_TAG = 16
_MANIFEST_MOST = 64 << 20  # a manifest is a few kilobytes; refuse absurd lengths early

Arrays = dict[str, npt.NDArray[Any]]


class IndexKeyError(ValueError):
    """The index file was written under another key, or altered."""


def _check_key(key: bytes) -> None:
    if len(key) != 32:
        raise ValueError("the index key must be 32 bytes")


def seal_blob(payload: bytes, key: bytes) -> bytes:
    """The first layout (kept to make files as an older LeakWatch did, for tests)."""
    _check_key(key)
    nonce = os.urandom(12)
    return MAGIC + nonce + AESGCM(key).encrypt(nonce, zlib.compress(payload, 1), AAD)


def open_blob(blob: bytes, key: bytes) -> bytes:
    _check_key(key)
    if not blob.startswith(MAGIC) or len(blob) < len(MAGIC) + 12 + 16:
        raise IndexKeyError("not a LeakWatch index file")
    nonce = blob[len(MAGIC) : len(MAGIC) + 12]
    try:
        return zlib.decompress(AESGCM(key).decrypt(nonce, blob[len(MAGIC) + 12 :], AAD))
    except InvalidTag:
        raise IndexKeyError("the index key is wrong or the file was altered") from None


def _aad(file_id: bytes, number: int) -> bytes:
    return AAD_STREAM + file_id + number.to_bytes(8, "big")


def _bytes_of(a: npt.NDArray[Any]) -> memoryview:
    return np.ascontiguousarray(a).data.cast("B")


def write_sealed(out: IO[bytes], key: bytes, meta: Mapping[str, Any], arrays: Arrays) -> int:
    """``meta`` (JSON) and ``arrays`` sealed under ``key`` into ``out``; bytes written."""
    _check_key(key)
    aes = AESGCM(key)
    file_id = os.urandom(16)
    listed = [[name, a.dtype.str, list(a.shape)] for name, a in arrays.items()]
    segments = sum(-(-a.nbytes // SEGMENT) for a in arrays.values())
    manifest = json.dumps({"meta": dict(meta), "arrays": listed, "segments": segments},
                          ensure_ascii=False).encode("utf-8")  # fmt: skip
    out.write(MAGIC_STREAM + file_id)
    written = len(MAGIC_STREAM) + len(file_id)
    number = 0
    buffer = bytearray(SEGMENT + _TAG)
    for data in (memoryview(manifest), *map(_bytes_of, arrays.values())):
        for start in range(0, len(data), SEGMENT) if len(data) else ():
            piece = data[start : start + SEGMENT]
            nonce = os.urandom(12)
            sealed = memoryview(buffer)[: len(piece) + _TAG]
            _encrypt(aes, nonce, piece, _aad(file_id, number), sealed)
            out.write(struct.pack(">I", len(piece)) + nonce)
            out.write(sealed)
            written += 4 + 12 + len(sealed)
            number += 1
    return written


def _encrypt(aes: AESGCM, nonce: bytes, data: memoryview, aad: bytes, into: memoryview) -> None:
    if hasattr(aes, "encrypt_into"):  # cryptography ≥ 45: no copy of each segment
        aes.encrypt_into(nonce, data, aad, into)
    else:  # pragma: no cover - older cryptography
        into[:] = aes.encrypt(nonce, bytes(data), aad)


class Source(Protocol):
    """A file opened for reading in binary (what :func:`read_sealed` reads from)."""

    def read(self, size: int = -1, /) -> bytes: ...
    def readinto(self, buffer: memoryview, /) -> int | None: ...
    def seek(self, offset: int, whence: int = 0, /) -> int: ...
    def tell(self) -> int: ...


class _Reader:
    """Segments of a sealed stream, in order, each checked against its place."""

    def __init__(self, inp: Source, aes: AESGCM, file_id: bytes) -> None:
        self.inp, self.aes, self.file_id = inp, aes, file_id
        self.number = 0
        self.buffer = bytearray(SEGMENT + _TAG)

    def _next_sealed(self, most: int) -> tuple[int, bytes, memoryview]:
        head = self.inp.read(16)
        if len(head) != 16:
            raise IndexKeyError("the index file is cut short")
        length = struct.unpack(">I", head[:4])[0]
        if length > most:
            raise IndexKeyError("the index file was altered (a segment is too long)")
        if length + _TAG > len(self.buffer):
            self.buffer = bytearray(length + _TAG)
        sealed = memoryview(self.buffer)[: length + _TAG]
        if self.inp.readinto(sealed) != len(sealed):
            raise IndexKeyError("the index file is cut short")
        return length, head[4:], sealed

    def bytes(self, most: int) -> bytes:
        """The next segment's plaintext."""
        _, nonce, sealed = self._next_sealed(most)
        try:
            plain = self.aes.decrypt(nonce, bytes(sealed), _aad(self.file_id, self.number))
        except InvalidTag:
            raise IndexKeyError("the index key is wrong or the file was altered") from None
        self.number += 1
        return plain

    def into(self, target: memoryview) -> None:
        """The next segments' plaintext, decrypted straight into ``target``."""
        done = 0
        while done < len(target):
            length, nonce, sealed = self._next_sealed(min(SEGMENT, len(target) - done))
            into = target[done : done + length]
            aad = _aad(self.file_id, self.number)
            try:
                if hasattr(self.aes, "decrypt_into"):  # cryptography ≥ 45
                    self.aes.decrypt_into(nonce, sealed, aad, into)
                else:  # pragma: no cover - older cryptography
                    into[:] = self.aes.decrypt(nonce, bytes(sealed), aad)
            except InvalidTag:
                raise IndexKeyError("the index file was altered") from None
            done += length
            self.number += 1


def read_sealed(inp: Source, keys: Sequence[bytes],
                check: Callable[[dict[str, Any]], None] | None = None
                ) -> tuple[dict[str, Any], Arrays]:  # fmt: skip
    """``(meta, arrays)`` of a stream :func:`write_sealed` wrote under one of ``keys``.
    ``check(meta)`` runs before any array is read (an index of another format is refused
    before gigabytes are decrypted). IndexKeyError: no key opens it, or it was altered."""
    head = inp.read(len(MAGIC_STREAM) + 16)
    if not head.startswith(MAGIC_STREAM) or len(head) != len(MAGIC_STREAM) + 16:
        raise IndexKeyError("not a LeakWatch index file")
    file_id = head[len(MAGIC_STREAM) :]
    start = inp.tell()
    manifest = None
    for key in keys:
        _check_key(key)
        inp.seek(start)
        reader = _Reader(inp, AESGCM(key), file_id)
        try:
            manifest = json.loads(reader.bytes(_MANIFEST_MOST))
            break
        except IndexKeyError:
            continue
    if manifest is None:
        raise IndexKeyError("the index key is wrong or the file was altered")
    meta: dict[str, Any] = manifest["meta"]
    if check is not None:
        check(meta)
    arrays: Arrays = {}
    for name, dtype, shape in manifest["arrays"]:
        a = np.empty(tuple(shape), dtype=np.dtype(dtype))
        reader.into(a.data.cast("B") if a.nbytes else memoryview(b""))
        arrays[name] = a
    if reader.number != 1 + int(manifest["segments"]) or inp.read(1):
        raise IndexKeyError("the index file was altered (segments missing or added)")
    return meta, arrays


__all__ = [
    "MAGIC",
    "MAGIC_STREAM",
    "IndexKeyError",
    "open_blob",
    "read_sealed",
    "seal_blob",
    "write_sealed",
]
