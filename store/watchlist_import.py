"""Streaming, idempotent import of a watchlist CSV into the store (the database half).

Rows are validated one by one; bad ones go to a reject file (line and reason) and every good
one loads. Work is done in chunks, each its own transaction, so memory stays flat and an
interrupted import can simply be run again: re-import updates by record_id, never duplicates.
Reading, validating and sealing run in a worker process for large files (watchlist_reader).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from store import audit
from store.codes import hash_login_key, new_login_key, new_registration_code
from store.csv_input import InputError
from store.models import Household, WatchlistPerson, utcnow
from store.private_files import CsvWriter, private_csv
from store.vault import Vault
from store.watchlist_reader import (
    Chunk,
    SealedPerson,
    chunks_from_worker,
    open_checked,
    read_chunks,
)

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
    seconds: float = 0.0
    reject_path: Path | None = None
    codes_path: Path | None = None
    first_rejects: list[tuple[int, str]] = field(default_factory=list)

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


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
    """Import `path`; raises InputError only when the file as a whole cannot be read.

    `worker`: read and seal in a separate process (default: for files over 2 MB).
    """
    started = time.perf_counter()
    with open_checked(path, encoding) as source:  # fail fast on file-level problems
        result = ImportResult(path=path, encoding=source.encoding)
        size = source.size
    reject_path = reject_path or path.with_name(path.name + ".rejects.csv")
    use_worker = size >= WORKER_MIN_BYTES if worker is None else worker
    reader = chunks_from_worker if use_worker else read_chunks
    chunks: Iterator[Chunk] = reader(path, result.encoding, vault.ring, reject_path, batch_size)
    with private_csv(codes_out, ["household_id", "registration_code", "login_key"]) as codes:
        for chunk in chunks:
            _write_chunk(sessions, vault, chunk.persons, seed, result, codes)
            result.rows, result.rejected = chunk.rows_read, chunk.rejected
            result.first_rejects = chunk.first_rejects
            if progress:
                progress(chunk.bytes_read, chunk.rows_read)
    if result.rejected == 0:
        reject_path.unlink(missing_ok=True)
    else:
        result.reject_path = reject_path
    if codes_out and not result.households_created:
        codes_out.unlink(missing_ok=True)
    result.codes_path = codes_out if codes_out and result.households_created else None
    result.seconds = time.perf_counter() - started
    with sessions.begin() as session:
        audit.record(
            session,
            actor,
            "watchlist.import",
            object_type="file",
            object_id=path.name,
            details={
                "sha256": _file_sha256(path),
                "encoding": result.encoding,
                "rows": result.rows,
                "inserted": result.inserted,
                "updated": result.updated,
                "unchanged": result.unchanged,
                "rejected": result.rejected,
                "households_created": result.households_created,
                "seed": seed,
                "codes_written": result.codes_path is not None,
            },
        )
    return result


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _write_chunk(
    sessions: sessionmaker[Session],
    vault: Vault,
    persons: list[SealedPerson],
    seed: bool,
    result: ImportResult,
    codes: CsvWriter | None,
) -> None:
    # A record repeated within the chunk: the later row wins, as it would across chunks.
    latest = {p.record_ref: p for p in persons}
    if not latest:
        return
    now = utcnow()
    with sessions.begin() as session:
        household_ids = _ensure_households(
            session, {p.household_ref for p in latest.values()}, result, codes
        )
        existing = {
            ref: (pid, digest, was_seed)
            for ref, pid, digest, was_seed in session.execute(
                select(
                    WatchlistPerson.record_ref,
                    WatchlistPerson.id,
                    WatchlistPerson.row_digest,
                    WatchlistPerson.is_seed,
                ).where(WatchlistPerson.record_ref.in_(list(latest)))
            )
        }
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


def _ensure_households(
    session: Session, refs: set[str], result: ImportResult, codes: CsvWriter | None
) -> dict[str, int]:
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
                "created_at": now,
            }
        )
        if codes is not None:
            codes.writerow([ref, code, key])
    session.execute(insert(HOUSEHOLD), values)
    result.households_created += len(new)
    found.update(lookup(new))
    return found


__all__ = ["ImportResult", "InputError", "import_watchlist"]
