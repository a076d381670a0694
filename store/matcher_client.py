"""Matching through the resident matcher when it runs, or in this process as before.

:func:`matcher_for` is what every caller that matches against the store's watchlist uses
(crawls through ``store.matching.match_listing_rows``, customer reports, the web app): it
gives a :class:`Matching` — the resident matcher (:class:`ResidentMatching`) when one
serves this store and answers the token handshake, else this process's own index
(:class:`LocalMatching`: ``current_index``, loaded or built, as before). Either one's
``match`` gives the same :class:`matcher.MatchResult`; its ``label`` says which it was,
for summaries.

The service is found through ``LEAKWATCH_MATCHER`` (``unix:/path``, ``tcp:127.0.0.1:PORT``
or ``off``) or else ``LEAKWATCH_HOME/matcher.json``, which ``leakwatch matcher serve`` writes
while it runs. Only 127.0.0.1 and Unix sockets are ever connected to.
"""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any, Protocol

from matcher import Matcher, MatchResult, Model, Thresholds, WatchlistIndex
from store.matcher_wire import (
    ProtocolError,
    Refused,
    client_handshake,
    match_request,
    receive,
    result_of,
    send,
    token_of,
)
from store.runtime import Store
from store.settings import load_settings

log = logging.getLogger("leakwatch.matcher")
ENV = "LEAKWATCH_MATCHER"
DISCOVERY = "matcher.json"
CONNECT_SECONDS = 2.0


class NotServing(Exception):
    """No resident matcher answers here (not running, not ready, or refused us)."""


def address_of(home: Path) -> str | None:
    """Where the resident matcher listens: ``LEAKWATCH_MATCHER``, else the address its
    discovery file in ``home`` gives; None when there is none (or it is turned off)."""
    configured = load_settings().leakwatch_matcher.strip()
    if configured.lower() in ("off", "none", "0"):
        return None
    if configured:
        if configured.startswith(("unix:", "tcp:")):
            return configured
        return f"unix:{configured}" if configured.startswith("/") else f"tcp:{configured}"
    try:
        found = json.loads((home / DISCOVERY).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    address = found.get("address") if isinstance(found, dict) else None
    return str(address) if address else None


def _connect(address: str, timeout: float) -> socket.socket:
    kind, _, where = address.partition(":")
    if kind == "unix":
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        target: Any = where
    elif kind == "tcp":
        host, _, port = where.rpartition(":")
        if host not in ("127.0.0.1", "localhost"):  # listing rows never leave the machine
            raise NotServing(f"{address}: only 127.0.0.1 or a Unix socket")
        sock, target = socket.socket(socket.AF_INET, socket.SOCK_STREAM), ("127.0.0.1", int(port))
    else:
        raise NotServing(f"{address}: not unix:PATH or tcp:127.0.0.1:PORT")
    sock.settimeout(timeout)
    try:
        sock.connect(target)
    except OSError as exc:
        sock.close()
        raise NotServing(f"nothing answers at {address} ({exc.strerror or exc})") from None
    return sock


class ResidentClient:
    """One authenticated connection to the resident matcher (a ``with`` block closes it)."""

    def __init__(self, address: str, token: bytes, timeout: float = CONNECT_SECONDS) -> None:
        self.address = address
        self._sock = _connect(address, timeout)
        try:
            self.welcome = client_handshake(self._sock, token)
        except (Refused, ProtocolError, OSError, ValueError) as exc:
            self._sock.close()
            raise NotServing(f"{address}: {exc}") from None
        self._sock.settimeout(None)  # a big listing takes as long as it takes

    def request(self, message: Mapping[str, Any]) -> dict[str, Any]:
        try:
            send(self._sock, message)
            reply = receive(self._sock)
        except (ProtocolError, OSError) as exc:
            raise NotServing(f"{self.address}: {exc}") from None
        if not reply.get("ok"):
            raise NotServing(f"{self.address}: {reply.get('error', 'refused')}")
        return reply

    def status(self) -> dict[str, Any]:
        return self.request({"op": "status"})

    def sync(self) -> dict[str, Any]:
        return self.request({"op": "sync"})

    def match(self, rows: Sequence[Mapping[str, str]], *, as_of: Mapping[str, date] | None = None,
              thresholds: Thresholds | None = None, model: Model | None = None,
              em: bool = True, version: str | None = None) -> MatchResult:  # fmt: skip
        """The resident index's :meth:`matcher.Matcher.match` of ``rows``."""
        reply = self.request(match_request(rows, as_of=as_of, thresholds=thresholds,
                                           model=model, em=em, version=version))  # fmt: skip
        return result_of(reply["result"])

    def close(self) -> None:
        self._sock.close()

    def __enter__(self) -> ResidentClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def connect(home: Path, index_key: bytes, *, ready: bool = True) -> ResidentClient:
    """A connection to the resident matcher of the store whose index key is ``index_key``
    (NotServing: none runs, it refused us, or — with ``ready`` — it is still loading)."""
    address = address_of(home)
    if address is None:
        raise NotServing("no resident matcher is running (`leakwatch matcher serve`)")
    client = ResidentClient(address, token_of(index_key))
    if ready and not client.welcome.get("ready"):
        client.close()
        raise NotServing(f"the resident matcher at {address} is still loading its index")
    return client


class Matching(Protocol):
    """Something that matches listing rows against the store's watchlist."""

    label: str

    def match(
        self,
        rows: Sequence[Mapping[str, str]],
        *,
        as_of: Mapping[str, date],
        thresholds: Thresholds | None,
        model: Model,
        em: bool,
    ) -> MatchResult:
        """``rows`` matched (see :meth:`matcher.Matcher.match`)."""
        ...


class LocalMatching:
    """This process's index."""

    def __init__(self, index: WatchlistIndex, why: str = "") -> None:
        self.index = index
        self.label = f"this process ({len(index):,} persons{'; ' + why if why else ''})"

    def match(self, rows: Sequence[Mapping[str, str]], *, as_of: Mapping[str, date],
              thresholds: Thresholds | None, model: Model, em: bool) -> MatchResult:  # fmt: skip
        return Matcher(self.index, thresholds, model, em=em).match(rows, as_of=as_of)


class ResidentMatching:
    """The resident matcher; asks it to catch up with ``version`` of the watchlist first."""

    def __init__(self, client: ResidentClient, version: str | None) -> None:
        self.client, self.version = client, version
        self.label = f"resident matcher at {client.address}"

    def match(self, rows: Sequence[Mapping[str, str]], *, as_of: Mapping[str, date],
              thresholds: Thresholds | None, model: Model, em: bool) -> MatchResult:  # fmt: skip
        try:
            return self.client.match(rows, as_of=as_of, thresholds=thresholds, model=model,
                                     em=em, version=self.version)  # fmt: skip
        finally:
            self.client.close()


def matcher_for(store: Store, index: WatchlistIndex | None = None, *,
                version: str | None = None) -> Matching:  # fmt: skip
    """``index`` when given; else the resident matcher serving this store, if one answers
    (caught up with watchlist ``version`` before it matches); else ``current_index``."""
    if index is not None:
        return LocalMatching(index)
    why = ""
    try:
        client = connect(store.settings.home, store.key_ring().current.index_key)
        return ResidentMatching(client, version)
    except NotServing as exc:
        why = "no resident matcher" if "no resident matcher" in str(exc) else str(exc)
        if "no resident matcher" not in str(exc):
            log.warning("not using the resident matcher: %s", exc)
    from store.matching import current_index

    return LocalMatching(current_index(store), why)


__all__ = [
    "ENV",
    "LocalMatching",
    "Matching",
    "NotServing",
    "ResidentClient",
    "ResidentMatching",
    "address_of",
    "connect",
    "matcher_for",
]
