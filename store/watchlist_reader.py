"""The CPU half of a watchlist import: read, validate and seal rows, in chunks.

It touches no database, so it can run in a worker process while the importer writes the
previous chunk (two cores: the import runs at the speed of the slower half, not the sum).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import queue
import signal
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from multiprocessing.process import BaseProcess
from multiprocessing.synchronize import Event as EventType
from pathlib import Path

from store.csv_input import CsvFile, InputError, has_undecodable
from store.keyring import KeyRing
from store.private_files import CsvWriter, private_csv
from store.sealed import PERSON_PII, person_digest, person_indexes
from store.seen_keys import SeenKeys
from store.vault import Vault
from store.watchlist_rows import REQUIRED, CleanRow, validate

WORKER_TIMEOUT_S = 600
POLL_S = 0.5
MAX_FIRST_REJECTS = 20


@dataclass(slots=True)
class SealedPerson:
    record_ref: str
    household_ref: str
    digest: bytes
    columns: dict[str, bytes | None]  # pii and blind-index columns, ready to store


@dataclass(slots=True)
class Chunk:
    persons: list[SealedPerson]
    rows_read: int  # running totals, so the last chunk carries the summary
    bytes_read: int
    rejected: int
    first_rejects: list[tuple[int, str]] = field(default_factory=list)


def person_payload(row: CleanRow) -> dict[str, str]:
    """What gets sealed: the contract fields plus unknown columns (kept, never dropped)."""
    payload = dict(row.pii)
    if row.extra:
        payload["_extra"] = json.dumps(row.extra, ensure_ascii=False, sort_keys=True)
    return payload


def payload_bytes(payload: dict[str, str]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


def seal_person(vault: Vault, row: CleanRow) -> SealedPerson:
    payload = person_payload(row)
    plaintext = payload_bytes(payload)
    columns: dict[str, bytes | None] = dict(person_indexes(vault, payload))
    columns["pii"] = vault.seal(plaintext, PERSON_PII)
    return SealedPerson(
        record_ref=row.record_id,
        household_ref=row.household_id,
        digest=person_digest(vault, row.household_id, plaintext),
        columns=columns,
    )


def open_checked(path: Path, encoding: str | None) -> CsvFile:
    """Open the file and check its header; raises InputError naming file and line."""
    source = CsvFile(path, encoding)
    missing = [c for c in REQUIRED if c not in source.header]
    dupes = sorted({h for h in source.header if source.header.count(h) > 1})
    if missing or dupes:
        source.close()
        problem = (
            f"missing required column(s): {', '.join(missing)}"
            if missing
            else f"duplicate column(s): {', '.join(dupes)}"
        )
        raise InputError(f"{path}, line 1: {problem}")
    return source


def read_chunks(
    path: Path, encoding: str, ring: KeyRing, reject_path: Path, batch_size: int
) -> Iterator[Chunk]:
    """Validate and seal every row; bad rows go to `reject_path` with line and reason.

    A record_id seen earlier in the file is rejected: the first occurrence is the one kept.
    """
    vault = Vault(ring)
    with (
        open_checked(path, encoding) as source,
        private_csv(reject_path, ["line", "reason", *source.header]) as rejects,
    ):
        assert rejects is not None
        tally = _Rejects(rejects)
        seen = SeenKeys()
        header, width = source.header, len(source.header)
        rows_read = 0
        pending: list[tuple[int, list[str], CleanRow]] = []
        for record in source.records():
            rows_read += 1
            if isinstance(record, tuple):
                tally.add(record[0], record[1], [])
                continue
            reason = _problem(record.fields, width, source.encoding)
            clean = validate(dict(zip(header, record.fields, strict=True))) if not reason else ""
            if isinstance(clean, str):
                tally.add(record.line, reason or clean, record.fields)
                continue
            pending.append((record.line, record.fields, clean))
            if len(pending) >= batch_size:
                persons = _seal_new(vault, pending, seen, tally)
                yield Chunk(persons, rows_read, source.bytes_read, tally.count, tally.first())
                pending = []
        persons = _seal_new(vault, pending, seen, tally)
        yield Chunk(persons, rows_read, source.size, tally.count, tally.first())


def _problem(fields: list[str], width: int, encoding: str) -> str | None:
    if len(fields) != width:
        return f"expected {width} columns, got {len(fields)}"
    if has_undecodable(*fields):
        return f"bytes that are not valid {encoding} (shown as \ufffd)"
    return None


def _seal_new(
    vault: Vault, rows: list[tuple[int, list[str], CleanRow]], seen: SeenKeys, tally: _Rejects
) -> list[SealedPerson]:
    repeated = seen.add([clean.record_id for _, _, clean in rows])
    persons = []
    for (line, fields, clean), again in zip(rows, repeated, strict=True):
        if again:
            tally.add(line, "record_id: repeats an earlier row of this file (that one is "
                      "imported)", fields)  # fmt: skip
        else:
            persons.append(seal_person(vault, clean))
    return persons


class _Rejects:
    """The reject file, with a count and the first few (line, reason) for the summary."""

    def __init__(self, writer: CsvWriter) -> None:
        self._writer = writer
        self.count = 0
        self._first: list[tuple[int, str]] = []

    def add(self, line: int, reason: str, fields: list[str]) -> None:
        self.count += 1
        self._writer.writerow([line, reason, *fields])
        if len(self._first) < MAX_FIRST_REJECTS:
            self._first.append((line, reason))

    def first(self) -> list[tuple[int, str]]:
        return list(self._first)


class _Link:
    """The reader's side of the hand-over: a bounded queue, and a stop flag the parent sets
    when it has read all it wants (or was interrupted). Without it, a reader whose parent
    was killed would wait for ever on a full queue, or at exit on a pipe nobody reads."""

    def __init__(self, out: multiprocessing.Queue[Chunk | str | None],
                 stop: EventType, parent: int) -> None:  # fmt: skip
        self.out, self.stop, self.parent = out, stop, parent

    def abandoned(self) -> bool:
        return self.stop.is_set() or os.getppid() != self.parent

    def put(self, item: Chunk | str | None) -> bool:
        """Hand ``item`` over; False once nobody will read it."""
        while True:
            try:
                self.out.put(item, timeout=POLL_S)
                return True
            except queue.Full:
                if self.abandoned():
                    self.out.cancel_join_thread()  # exit now, whatever the pipe holds
                    return False

    def wait_until_read(self) -> None:
        """Stay until the parent has read everything (it sets stop), so the data buffered
        for the pipe is not lost at exit; leave at once if it is gone."""
        while not self.stop.wait(POLL_S):
            if os.getppid() != self.parent:
                self.out.cancel_join_thread()
                return


def _worker(link: _Link, args: tuple[object, ...]) -> None:
    # Ctrl-C reaches the whole process group: the parent decides, and tells this process.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        for chunk in read_chunks(*args):  # type: ignore[arg-type]
            if not link.put(chunk):
                return  # the reject file's temporary copy is removed on the way out
        link.put(None)
    except Exception as exc:  # reported to the parent, which raises it cleanly
        link.put(f"{type(exc).__name__}: {exc}")
    link.wait_until_read()


def chunks_from_worker(
    path: Path, encoding: str, ring: KeyRing, reject_path: Path, batch_size: int
) -> Iterator[Chunk]:
    """`read_chunks` in a separate process, a few chunks ahead of the consumer (bounded)."""
    ctx = multiprocessing.get_context("spawn")  # no fork: the parent may hold threads
    link = _Link(ctx.Queue(maxsize=4), ctx.Event(), os.getpid())
    proc = ctx.Process(
        target=_worker, args=(link, (path, encoding, ring, reject_path, batch_size)), daemon=True
    )
    proc.start()
    try:
        yield from _received(link, proc, path)
    finally:
        link.stop.set()
        proc.join(timeout=10)
        if proc.is_alive():
            proc.terminate()


def _received(link: _Link, proc: BaseProcess, path: Path) -> Iterator[Chunk]:
    waited = 0.0
    while True:
        try:
            item = link.out.get(timeout=POLL_S)
        except queue.Empty:
            waited += POLL_S
            if not proc.is_alive():
                raise InputError(
                    f"{path}: the reader process died (exit code {proc.exitcode})"
                ) from None
            if waited > WORKER_TIMEOUT_S:
                raise InputError(f"{path}: the reader process stopped answering") from None
            continue
        waited = 0.0
        if item is None:
            return
        if isinstance(item, str):
            raise InputError(f"{path}: {item}")
        yield item


ChunkSource = Callable[[Path, str, KeyRing, Path, int], Iterator[Chunk]]
