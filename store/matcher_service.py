"""The resident matcher: one long-running process that holds the index and answers matches.

Loading the index of 35 million persons takes seconds and holds gigabytes; every crawl,
report and CLI run that loaded its own would pay both. ``leakwatch matcher serve`` loads it
once (:class:`ResidentMatcher`), keeps it in step with the store's watchlist change by
change (:mod:`store.matcher_sync`: additions, re-imports, erasures, never a full reload
unless a change was missed), and answers requests on a Unix socket in LEAKWATCH_HOME (0600)
or a port on 127.0.0.1, after the token handshake of :mod:`store.matcher_wire`. Clients
find it through ``LEAKWATCH_HOME/matcher.json`` (:mod:`store.matcher_client`).

It answers ``status`` at once, while loading too (``state``: loading, ready or failed), so
callers can tell "still loading" from "not running" and fall back to loading the index
themselves. Matching runs on the connection's thread under a shared lock; applying changes
takes it exclusively, so a match sees the index before or after a change, never half of it.
Requests hold personal data (listing rows): they are never logged, only counts and times.

The index may be this process's (:class:`StoreSource`: the store's watchlist, kept in step;
:class:`FileSource`: a saved index, as it is) or sharded over Dask workers
(:mod:`store.matcher_dask`, when ``LEAKWATCH_DASK_SCHEDULER`` is set).
"""

from __future__ import annotations

import contextlib
import gc
import json
import logging
import os
import socket
import socketserver
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from matcher import Matcher, WatchlistIndex
from matcher.reader import IndexReader
from store import matcher_sync
from store.matcher_wire import (
    ProtocolError,
    Refused,
    receive,
    request_parts,
    result_json,
    send,
    server_handshake,
)
from store.matching import watchlist_version
from store.runtime import Store

log = logging.getLogger("leakwatch.matcher")
HELLO_SECONDS = 10.0  # a client has this long to authenticate
DISCOVERY = "matcher.json"  # in LEAKWATCH_HOME: where the running service listens
SOCKET = "matcher.sock"


Exclusive = Callable[[], contextlib.AbstractContextManager[None]]  # the index to oneself


class Source(Protocol):
    """Where the resident index comes from, and how it learns of watchlist changes."""

    label: str

    @property
    def version(self) -> str:
        """The store's watchlist version the index has caught up with ("" for a file)."""
        ...

    def load(self) -> IndexReader: ...

    def sync(self, index: IndexReader, exclusive: Exclusive
             ) -> dict[str, Any]: ...  # fmt: skip


class FileSource:
    """A saved index (``--index``), served as it is: nothing to keep in step with."""

    def __init__(self, path: Path, keys: list[bytes]) -> None:
        self.path, self.keys = path, keys
        self.label = f"index file {path.name}"
        self.version = ""

    def load(self) -> IndexReader:
        from store.match_files import read_index_file

        return read_index_file(self.path, self.keys)

    def sync(self, index: IndexReader, exclusive: Exclusive
             ) -> dict[str, Any]:  # fmt: skip
        return {"added": 0, "removed": 0, "seen": 0}


class StoreSource:
    """The store's watchlist: loaded (or built) as ``current_index`` gives it, then changed
    person by person as the store changes."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.label = "the store's watchlist"
        self.mark = matcher_sync.Watermark()
        self._suspect: tuple[int, int] | None = None  # (index, store) counts that differed

    @property
    def version(self) -> str:
        return self.mark.version

    def load(self) -> IndexReader:
        from store.matching import current_index

        self.mark = matcher_sync.current_mark(self.store)  # before: never ahead of the index
        return current_index(self.store)

    def sync(self, index: IndexReader, exclusive: Exclusive
             ) -> dict[str, Any]:  # fmt: skip
        """Apply what changed since the last look (the store is read outside the lock);
        ``{"reload": True}`` when a change was missed and only a reload can tell what."""
        assert isinstance(index, WatchlistIndex)
        if watchlist_version(self.store) == self.mark.version and self._suspect is None:
            return {"added": 0, "removed": 0, "seen": 0}
        found = matcher_sync.changes(self.store, self.mark)
        with exclusive():
            added, removed = matcher_sync.apply(index, found)
            self.mark = found.mark
        held, live = len(index), matcher_sync.live_persons(self.store)
        out: dict[str, Any] = {"added": added, "removed": removed, "seen": found.seen}
        if held == live:
            self._suspect = None
        elif found or self._suspect != (held, live):
            self._suspect = (held, live)  # perhaps a commit between the two reads: look again
        else:
            out["reload"] = True  # the same difference, and nothing new: something was missed
            self._suspect = None
        return out


class _RWLock:
    """Many readers (matches) or one writer (applying changes)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._writing = False

    @contextlib.contextmanager
    def reading(self) -> Iterator[None]:
        with self._cond:
            self._cond.wait_for(lambda: not self._writing)
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                self._cond.notify_all()

    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        with self._cond:
            self._cond.wait_for(lambda: not self._writing)
            self._writing = True  # new readers wait from here on
            self._cond.wait_for(lambda: self._readers == 0)
        try:
            yield
        finally:
            with self._cond:
                self._writing = False
                self._cond.notify_all()


@dataclass
class Counters:
    requests: int = 0
    rows: int = 0
    refused: int = 0
    syncs: int = 0
    added: int = 0
    removed: int = 0
    reloads: int = 0
    errors: int = 0


@dataclass
class ResidentMatcher:
    """The index held in this process (or its shards' coordinator), answering requests."""

    source: Source
    tokens: Callable[[], list[bytes]]  # the tokens accepted now (read again at each handshake)
    state: str = "loading"  # loading | ready | failed
    error: str = ""
    index: IndexReader | None = None
    started: float = field(default_factory=time.time)
    load_seconds: float = 0.0
    counters: Counters = field(default_factory=Counters)
    _lock: _RWLock = field(default_factory=_RWLock)
    _sync_lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def ready(self) -> bool:
        return self.state == "ready"

    def load(self) -> None:
        """Load (or build) the index; ``state`` says how it went."""
        t = time.perf_counter()
        try:
            index = self.source.load()
        except Exception as exc:  # reported by status; the process stays up to say so
            self.state, self.error = "failed", f"{type(exc).__name__}: {exc}"
            log.error("the resident index could not be loaded: %s", self.error)
            return
        _warm_up(index)
        # Everything loaded so far lives as long as the process: out of the cyclic GC's
        # sight, so a collection never walks the gazetteer's tables during a request.
        gc.collect()
        gc.freeze()
        self.index, self.load_seconds = index, time.perf_counter() - t
        self.state = "ready"
        log.info("resident index ready: %s persons in %.1f s", f"{len(index):,}",
                 self.load_seconds)  # fmt: skip

    def sync(self) -> dict[str, Any]:
        """Apply the watchlist's changes now (one sync at a time)."""
        if self.index is None:
            return {"ok": False, "error": f"not ready: {self.state}"}
        with self._sync_lock:
            out = self.source.sync(self.index, self._lock.writing)
            self.counters.syncs += 1
            self.counters.added += int(out.get("added", 0))
            self.counters.removed += int(out.get("removed", 0))
            if out.get("reload"):
                self._reload()
        if out.get("added") or out.get("removed"):
            log.info("watchlist changes applied: %s added or replaced, %s removed",
                     out.get("added"), out.get("removed"))  # fmt: skip
        return {"ok": True, **out, "persons": len(self.index),
                "version": self.source.version}  # fmt: skip

    def _reload(self) -> None:
        log.warning("the index and the store disagree on how many persons there are: "
                    "reloading it")  # fmt: skip
        fresh = self.source.load()
        with self._lock.writing():
            self.index = fresh
        self.counters.reloads += 1

    def match(self, req: dict[str, Any]) -> dict[str, Any]:
        if self.index is None:
            return {"ok": False, "error": f"not ready: {self.state}"}
        wanted = req.get("version")
        if wanted and wanted != self.source.version:
            self.sync()  # the caller saw a newer watchlist than this index has caught up with
        rows, as_of, thresholds, model, em = request_parts(req)
        with self._lock.reading():
            index = self.index
            result = Matcher(index, thresholds, model, em=em).match(rows, as_of=as_of)
            persons = len(index)
        self.counters.requests += 1
        self.counters.rows += len(rows)
        return {"ok": True, "result": result_json(result), "persons": persons,
                "version": self.source.version}  # fmt: skip

    def status(self) -> dict[str, Any]:
        c = self.counters
        return {
            "ok": True, "state": self.state, "error": self.error, "pid": os.getpid(),
            "source": self.source.label, "persons": len(self.index) if self.index else 0,
            "version": self.source.version, "load_seconds": self.load_seconds,
            "up_seconds": time.time() - self.started, "requests": c.requests, "rows": c.rows,
            "refused": c.refused, "syncs": c.syncs, "added": c.added, "removed": c.removed,
            "reloads": c.reloads, "errors": c.errors,
        }  # fmt: skip

    def answer(self, req: dict[str, Any]) -> dict[str, Any]:
        """The reply to one request (errors as replies: a bad request never ends the
        service, and its message names no personal value)."""
        op = req.get("op")
        try:
            if op == "status":
                return self.status()
            if op == "sync":
                return self.sync()
            if op == "match":
                return self.match(req)
        except (KeyError, TypeError, ValueError) as exc:
            self.counters.errors += 1
            return {"ok": False, "error": f"bad request ({type(exc).__name__})"}
        return {"ok": False, "error": f"unknown op {str(op)[:20]!r}"}

    def keep_in_step(self, every: float, stop: threading.Event) -> None:
        """Look for watchlist changes every ``every`` seconds until ``stop``."""
        while not stop.wait(every):
            if not self.ready:
                continue
            try:
                self.sync()
            except Exception as exc:  # the store away for a moment: try again next time
                self.counters.errors += 1
                log.warning("looking for watchlist changes failed: %s", type(exc).__name__)


# A made-up row (no real person) matched once before the service says it is ready: the
# address tables, postal codes and caches are loaded then, not in the first request.
_WARM_UP = {"row_id": "warm-up", "listing_id": "warm-up", "name": "山田 太郎",
            "name_kana": "ヤマダ タロウ", "gender": "M", "birthdate": "", "age": "10",
            "grade": "", "guardian_name": "山田 花子", "postal_code": "102-0074",
            "address": "東京都千代田区九段南一丁目2番3号", "phone": "03-1234-5678",
            "email": ""}  # fmt: skip


def _warm_up(index: IndexReader) -> None:
    from matcher.address import load_tables

    load_tables()
    Matcher(index).match([_WARM_UP])


class _Handler(socketserver.BaseRequestHandler):
    server: _Server

    def handle(self) -> None:
        matcher = self.server.matcher
        sock: socket.socket = self.request
        sock.settimeout(HELLO_SECONDS)
        try:
            server_handshake(sock, matcher.tokens(), matcher.ready)
        except Refused:
            matcher.counters.refused += 1
            log.warning("refused a client: wrong token")
            return
        except (ProtocolError, OSError, ValueError):
            return
        sock.settimeout(None)
        while True:
            try:
                req = receive(sock)
            except (ProtocolError, OSError, ValueError):
                return  # the client is done (or gone)
            try:
                send(sock, matcher.answer(req))
            except OSError:
                return


class _Server(socketserver.ThreadingMixIn, socketserver.BaseServer):
    daemon_threads = True
    matcher: ResidentMatcher


class UnixServer(_Server, socketserver.UnixStreamServer):
    pass


class TcpServer(_Server, socketserver.TCPServer):
    allow_reuse_address = True


def listen(matcher: ResidentMatcher, home: Path, port: int | None = None,
           path: Path | None = None) -> tuple[_Server, str]:  # fmt: skip
    """A server for ``matcher``: on 127.0.0.1:``port``, or a Unix socket (``path``, by
    default ``home/matcher.sock``) that only this user may use; and its address."""
    server: _Server
    if port is not None:
        server = TcpServer(("127.0.0.1", port), _Handler)
        address = f"tcp:127.0.0.1:{server.server_address[1]}"
    else:
        sock_path = path or home / SOCKET
        _clear_stale(sock_path)
        old = os.umask(0o177)  # the socket file is created 0600: no moment wider
        try:
            server = UnixServer(str(sock_path), _Handler)
        finally:
            os.umask(old)
        os.chmod(sock_path, 0o600)
        address = f"unix:{sock_path}"
    server.matcher = matcher
    return server, address


def _clear_stale(path: Path) -> None:
    """Remove a socket file left by a service that is gone; refuse if one is running."""
    if not path.exists():
        return
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(str(path))
    except OSError:
        path.unlink()  # nobody listens there any more
        return
    finally:
        probe.close()
    raise RuntimeError(f"a resident matcher already listens on {path}")


def publish(home: Path, address: str) -> Path:
    """Tell clients where the service listens (``home/matcher.json``, 0600)."""
    target = home / DISCOVERY
    tmp = target.with_name(f".{DISCOVERY}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump({"address": address, "pid": os.getpid()}, fh)
    os.replace(tmp, target)
    return target


def unpublish(home: Path, address: str) -> None:
    """Withdraw ``home/matcher.json`` if it still names this service."""
    target = home / DISCOVERY
    with contextlib.suppress(OSError, ValueError):
        if json.loads(target.read_text(encoding="utf-8")).get("address") == address:
            target.unlink()


__all__ = [
    "DISCOVERY",
    "FileSource",
    "ResidentMatcher",
    "StoreSource",
    "listen",
    "publish",
    "unpublish",
]
