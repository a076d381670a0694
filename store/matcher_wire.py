"""The resident matcher's wire protocol: frames, the token handshake, results as JSON.

A connection is a Unix socket (0600, in LEAKWATCH_HOME, itself 0700) or a TCP connection on
127.0.0.1; nothing else is ever listened on. Each message is a frame: a 4-byte big-endian
length, then that many bytes of UTF-8 JSON.

Authentication, both ways, before any listing row crosses: the token is a secret derived
from the store's index key (HKDF, see :func:`token_of`), so every process that can open the
store has it and nothing else does; it never travels. The server sends a random nonce; the
client answers with its own nonce and ``HMAC(token, "client" | server nonce | client
nonce)``; the server checks it against the token of each key in its ring (constant time)
and refuses the connection otherwise, then proves itself the same way (``"server" | …``),
so a client never sends personal data to a process that merely took the socket's name.
Frames before authentication are at most :data:`HELLO_MOST` bytes.

Requests are ``{"op": "status"}``, ``{"op": "sync"}`` and ``{"op": "match", "rows": [...],
…}``; every answer carries ``"ok"``. Scores and weights are floats written by ``repr``, so a
result read back is the very result the server computed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import socket
import struct
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from matcher import Candidate, MatchResult, Model, Thresholds
from matcher.explain import Explanation, FieldEvidence

SERVICE = "leakwatch-matcher"
VERSION = 1
HELLO_MOST = 4096  # bytes of a frame before the peer proved it holds the token
FRAME_MOST = 1 << 30  # an authenticated request: a listing of a few million rows at most
_TOKEN_INFO = b"leakwatch resident matcher token v1"


class ProtocolError(Exception):
    """The peer broke the protocol, closed the connection, or sent too much."""


class Refused(Exception):
    """Authentication failed (a wrong token, or a server that could not prove its own)."""


def token_of(index_key: bytes) -> bytes:
    """The service token of a store key: its own HKDF sub-key of the index key (never the
    index key itself, which decrypts saved indexes)."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                info=_TOKEN_INFO).derive(index_key)  # fmt: skip


def send(sock: socket.socket, message: Mapping[str, Any]) -> None:
    data = json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    sock.sendall(struct.pack(">I", len(data)) + data)


def receive(sock: socket.socket, most: int = FRAME_MOST) -> dict[str, Any]:
    (length,) = struct.unpack(">I", _exactly(sock, 4))
    if length > most:
        raise ProtocolError(f"a frame of {length:,} bytes (at most {most:,} here)")
    message = json.loads(_exactly(sock, length).decode("utf-8"))
    if not isinstance(message, dict):
        raise ProtocolError("a frame that is not a JSON object")
    return message


def _exactly(sock: socket.socket, n: int) -> bytes:
    buf = bytearray(n)
    view, got = memoryview(buf), 0
    while got < n:
        k = sock.recv_into(view[got:])
        if not k:
            raise ProtocolError("the connection was closed")
        got += k
    return bytes(buf)


def _proof(token: bytes, side: bytes, server_nonce: bytes, client_nonce: bytes) -> str:
    return hmac.new(token, side + server_nonce + client_nonce, hashlib.sha256).hexdigest()


def server_handshake(sock: socket.socket, tokens: Sequence[bytes], ready: bool) -> None:
    """Authenticate the client (Refused: it does not hold any of ``tokens``) and prove
    this server holds the same token."""
    server_nonce = os.urandom(32)
    send(sock, {"service": SERVICE, "version": VERSION, "nonce": server_nonce.hex()})
    hello = receive(sock, HELLO_MOST)
    try:
        client_nonce = bytes.fromhex(str(hello["nonce"]))
        proof = str(hello["proof"])
    except (KeyError, ValueError):
        raise ProtocolError("a malformed hello") from None
    if len(client_nonce) != 32:
        raise ProtocolError("a malformed hello")
    for token in tokens:
        if hmac.compare_digest(proof, _proof(token, b"client", server_nonce, client_nonce)):
            send(
                sock,
                {
                    "ok": True,
                    "ready": ready,
                    "proof": _proof(token, b"server", server_nonce, client_nonce),
                },
            )
            return
    send(sock, {"ok": False, "error": "refused: wrong token"})
    raise Refused("a client with a wrong token")


def client_handshake(sock: socket.socket, token: bytes) -> dict[str, Any]:
    """Prove the token to the server and check its proof; the server's welcome."""
    hello = receive(sock, HELLO_MOST)
    if hello.get("service") != SERVICE:
        raise ProtocolError("not a LeakWatch resident matcher")
    if hello.get("version") != VERSION:
        raise ProtocolError(f"protocol version {hello.get('version')} (this client: {VERSION})")
    server_nonce = bytes.fromhex(str(hello["nonce"]))
    client_nonce = os.urandom(32)
    send(
        sock,
        {
            "nonce": client_nonce.hex(),
            "proof": _proof(token, b"client", server_nonce, client_nonce),
        },
    )
    welcome = receive(sock, HELLO_MOST)
    if not welcome.get("ok"):
        raise Refused(str(welcome.get("error") or "refused"))
    expected = _proof(token, b"server", server_nonce, client_nonce)
    if not hmac.compare_digest(str(welcome.get("proof", "")), expected):
        raise Refused("the server could not prove it holds the store's key")
    return welcome


# --- requests and results as JSON --------------------------------------------------------------


def match_request(rows: Sequence[Mapping[str, str]], *, as_of: Mapping[str, date] | None,
                  thresholds: Thresholds | None, model: Model | None, em: bool,
                  version: str | None = None) -> dict[str, Any]:  # fmt: skip
    """A match request: the rows (data-contract columns, as strings), known list dates,
    the thresholds and model to score with, and the watchlist version the caller wants the
    index to have caught up with (None: as it is)."""
    t = thresholds or Thresholds()
    return {
        "op": "match", "rows": [{k: str(v) for k, v in r.items()} for r in rows],
        "as_of": {k: d.isoformat() for k, d in (as_of or {}).items()},
        "thresholds": [t.match, t.review, t.report, t.max_per_row],
        "model": model.to_json() if model is not None else None, "em": em,
        "version": version,
    }  # fmt: skip


def request_parts(req: Mapping[str, Any]) -> tuple[list[dict[str, str]], dict[str, date],
                                                   Thresholds, Model, bool]:  # fmt: skip
    """What a match request asks: rows, as-of dates, thresholds, model, EM or not."""
    rows = [{str(k): str(v) for k, v in r.items()} for r in req["rows"]]
    as_of = {str(k): date.fromisoformat(str(v)) for k, v in (req.get("as_of") or {}).items()}
    m, r, rep, most = req.get("thresholds") or (0.95, 0.2, 0.05, 3)
    thresholds = Thresholds(float(m), float(r), float(rep), int(most))
    model = Model.from_json(req["model"]) if req.get("model") else Model()
    return rows, as_of, thresholds, model, bool(req.get("em", True))


def result_json(result: MatchResult) -> dict[str, Any]:
    """A match result as JSON (the comparison of every pair stays with the server)."""
    return {
        "candidates": [_candidate(c) for c in result.candidates],
        "as_of": {k: None if v is None else [v[0].isoformat(), v[1].isoformat()]
                  for k, v in result.as_of.items()},
        "model": result.model.to_json(), "pairs": result.pairs, "rows": result.rows,
        "seconds": result.seconds,
    }  # fmt: skip


def _candidate(c: Candidate) -> list[Any]:
    e = c.explanation
    return [
        c.row,
        c.row_id,
        c.record_id,
        c.position,
        c.score,
        c.decision,
        e.prior_bits,
        [list(f) for f in e.fields],
        e.logit_bits,
        e.score,
        list(e.notes),
    ]


def result_of(d: Mapping[str, Any]) -> MatchResult:
    """The :class:`MatchResult` :func:`result_json` wrote."""
    return MatchResult(
        [_candidate_of(c) for c in d["candidates"]],
        {k: None if v is None else (date.fromisoformat(v[0]), date.fromisoformat(v[1]))
         for k, v in d["as_of"].items()},
        Model.from_json(d["model"]), int(d["pairs"]), int(d["rows"]),
        {str(k): float(v) for k, v in d["seconds"].items()},
    )  # fmt: skip


def _candidate_of(c: Sequence[Any]) -> Candidate:
    row, row_id, record_id, position, score, decision, prior, fields, logit, e_score, notes = c
    expl = Explanation(float(prior), _fields(fields), float(logit), float(e_score), tuple(notes))
    return Candidate(int(row), str(row_id), str(record_id), int(position), float(score),
                     str(decision), expl)  # fmt: skip


def _fields(fields: Iterable[Sequence[Any]]) -> tuple[FieldEvidence, ...]:
    return tuple(FieldEvidence(str(f), str(lv), float(w)) for f, lv, w in fields)


__all__ = [
    "FRAME_MOST",
    "HELLO_MOST",
    "ProtocolError",
    "Refused",
    "client_handshake",
    "match_request",
    "receive",
    "request_parts",
    "result_json",
    "result_of",
    "send",
    "server_handshake",
    "token_of",
]
