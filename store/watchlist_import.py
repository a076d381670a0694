"""Streaming, idempotent import of a watchlist CSV into the store (the database half).

Rows are validated one by one; bad ones go to a reject file (line and reason) and every good
one loads. Work is done in chunks, each its own transaction, so memory stays flat and an
interrupted import can simply be run again: re-import updates by record_id, never duplicates.
Reading, validating and sealing run in a worker process for large files (watchlist_reader).
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Table, bindparam, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from store.codes import hash_login_key, new_login_key, new_registration_code
from store.codes_delivery import export_codes, undelivered
from store.csv_input import InputError
from store.interrupts import deferred_interrupts
from store.models import Household, RunKind, WatchlistPerson, utcnow
from store.private_files import OutputError, check_output, file_sha256
from store.sealed import LOGIN_KEY
from store.vault import Vault
from store.watchlist_reader import (
    SealedPerson,
    chunks_from_worker,
    open_checked,
    read_chunks,
)
from store.work_runs import Run, recover_stale, tracked_run
from store.writer_lock import writer_lock

Progress = Callable[[int, int], None]  # (bytes read, rows read)
PERSON: Table = WatchlistPerson.__table__  # type: ignore[assignment]
HOUSEHOLD: Table = Household.__table__  # type: ignore[assignment]
# Below this size a worker process costs more to start than it saves.
WORKER_MIN_BYTES = 2 * 1024 * 1024


@dataclass
class ImportResult:
    path: Path
    encoding: str
    rows: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    households_created: int = 0
    kept_erased: int = 0  # rows of persons erased on request: not imported again
    seconds: float = 0.0
    reject_path: Path | None = None
    codes_path: Path | None = None  # the codes export this import ended with, if any
    codes_delivered: int = 0
    undelivered: int = 0  # login keys still waiting for a codes export
    run_id: int = 0
    first_rejects: list[tuple[int, str]] = field(default_factory=list)

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0

    def counts(self) -> dict[str, int]:
        return {
            "rows": self.rows, "inserted": self.inserted, "updated": self.updated,
            "unchanged": self.unchanged, "rejected": self.rejected,
            "households_created": self.households_created, "kept_erased": self.kept_erased,
        }  # fmt: skip


class ImportInterrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM during an import: what was committed stays, and is in ``result``."""

    def __init__(self, result: ImportResult) -> None:
        super().__init__("import interrupted")
        self.result = result


def import_watchlist(
    sessions: sessionmaker[Session],
    vault: Vault,
    path: Path,
    *,
    actor: str,
    encoding: str | None = None,
    reject_path: Path | None = None,
    codes_out: Path | None = None,
    seed: bool = False,
    batch_size: int = 2000,
    progress: Progress | None = None,
    worker: bool | None = None,
) -> ImportResult:
    """Import `path` under the writer lock, as one audited run; then, with `codes_out`,
    export every undelivered login key there.

    Raises InputError when the file as a whole cannot be read, OutputError when an output
    cannot be written (both before any work), WriterBusy when another writer runs, and
    ImportInterrupted on Ctrl-C (committed chunks stay; running it again resumes).
    `worker`: read and seal in a separate process (default: for files over 2 MB).
    """
    started = time.perf_counter()
    with open_checked(path, encoding) as source:  # fail fast on file-level problems
        result = ImportResult(path=path, encoding=source.encoding)
        size = source.size
    reject_path = reject_path or path.with_name(path.name + ".rejects.csv")
    _check_outputs(path, reject_path, codes_out)
    use_worker = size >= WORKER_MIN_BYTES if worker is None else worker
    reader = chunks_from_worker if use_worker else read_chunks
    with writer_lock(_engine(sessions)), deferred_interrupts() as interrupts:
        recover_stale(sessions, actor)
        try:
            with tracked_run(sessions, RunKind.IMPORT, actor, path.name) as run:
                result.run_id = run.id
                chunks = reader(path, result.encoding, vault.ring, reject_path, batch_size)
                for chunk in chunks:
                    interrupts.check()
                    result.rows, result.rejected = chunk.rows_read, chunk.rejected
                    result.first_rejects = chunk.first_rejects
                    _write_chunk(sessions, vault, chunk.persons, seed, result, run)
                    if progress:
                        progress(chunk.bytes_read, chunk.rows_read)
                run.counts = result.counts() | {
                    "sha256": file_sha256(path), "encoding": result.encoding, "seed": seed,
                }  # fmt: skip
        except KeyboardInterrupt:
            result.seconds = time.perf_counter() - started
            raise ImportInterrupted(result) from None
        if codes_out is not None:
            export = export_codes(sessions, vault, codes_out, actor=actor, interrupts=interrupts)
            result.codes_path, result.codes_delivered = export.path, export.delivered
    result.reject_path = reject_path if result.rejected else None
    if not result.rejected:
        reject_path.unlink(missing_ok=True)
    with sessions() as session:
        result.undelivered = undelivered(session)
    result.seconds = time.perf_counter() - started
    return result


def _engine(sessions: sessionmaker[Session]) -> Engine:
    engine = sessions.kw["bind"]
    assert isinstance(engine, Engine)
    return engine


def _check_outputs(path: Path, reject_path: Path, codes_out: Path | None) -> None:
    check_output(reject_path, [path])
    if codes_out is not None:
        check_output(codes_out, [path, reject_path], must_be_new=True)
        if codes_out.resolve() == reject_path.resolve():
            raise OutputError(f"{codes_out}: is also the reject file; give another name")


def _known_persons(
    session: Session, refs: list[str]
) -> tuple[dict[str, tuple[int, bytes, bool]], set[str]]:
    """Of these record refs: the live persons (id, row digest, seed) and the erased ones
    (erased on their request: the same file imported again never brings them back)."""
    existing: dict[str, tuple[int, bytes, bool]] = {}
    erased: set[str] = set()
    for ref, pid, digest, was_seed, erased_at in session.execute(
        select(
            WatchlistPerson.record_ref,
            WatchlistPerson.id,
            WatchlistPerson.row_digest,
            WatchlistPerson.is_seed,
            WatchlistPerson.erased_at,
        ).where(WatchlistPerson.record_ref.in_(refs))
    ):
        if erased_at is None:
            existing[ref] = (pid, digest, was_seed)
        else:
            erased.add(ref)
    return existing, erased


def _write_chunk(
    sessions: sessionmaker[Session],
    vault: Vault,
    persons: list[SealedPerson],
    seed: bool,
    result: ImportResult,
    run: Run,
) -> None:
    # The reader rejects a repeated record_id; this only guards the unique constraint.
    latest = {p.record_ref: p for p in reversed(persons)}
    now = utcnow()
    with sessions.begin() as session:
        household_ids = _ensure_households(
            session, vault, {p.household_ref for p in latest.values()}, result
        )
        existing, erased = _known_persons(session, list(latest))
        result.kept_erased += len(erased)
        latest = {ref: p for ref, p in latest.items() if ref not in erased}
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        for person in latest.values():
            known = existing.get(person.record_ref)
            # Seed status is sticky: a plain re-import must not unmark a decoy.
            is_seed = seed or (known is not None and known[2])
            if (
                known is not None
                and known[2] == is_seed
                and hmac.compare_digest(known[1], person.digest)
            ):
                result.unchanged += 1
                continue
            values = person.columns | {
                "household_id": household_ids[person.household_ref],
                "is_seed": is_seed,
                "row_digest": person.digest,
                "updated_at": now,
            }
            if known is None:
                inserts.append(values | {"record_ref": person.record_ref, "imported_at": now})
            else:
                updates.append(values | {"person_id": known[0]})
        # Core executemany: the ORM bulk path splits batches by which values are None.
        if inserts:
            session.execute(insert(PERSON), inserts)
        if updates:
            session.execute(update(PERSON).where(PERSON.c.id == bindparam("person_id")), updates)
        result.inserted += len(inserts)
        result.updated += len(updates)
        run.counts = result.counts()
        run.save_counts(session)  # committed with the rows they count


def _ensure_households(
    session: Session, vault: Vault, refs: set[str], result: ImportResult
) -> dict[str, int]:
    """Household ids by reference; new households get a registration code and a login key,
    the key sealed as undelivered (in this transaction) until a codes export writes it."""

    def lookup(wanted: list[str]) -> dict[str, int]:
        query = select(Household.household_ref, Household.id).where(
            Household.household_ref.in_(wanted)
        )
        return {ref: hid for ref, hid in session.execute(query)}

    found = lookup(list(refs))
    new = sorted(refs - found.keys())
    if not new:
        return found
    now = utcnow()
    values = []
    for ref in new:
        key, salt = new_login_key(), secrets.token_bytes(16)
        code = new_registration_code()
        values.append(
            {
                "household_ref": ref,
                "registration_code": code,
                "login_key_salt": salt,
                "login_key_hash": hash_login_key(key, salt),
                "login_key_sealed": vault.seal(key.encode("ascii"), LOGIN_KEY),
                "created_at": now,
            }
        )
    session.execute(insert(HOUSEHOLD), values)
    result.households_created += len(new)
    found.update(lookup(new))
    return found


__all__ = ["ImportInterrupted", "ImportResult", "InputError", "import_watchlist"]
