"""Streaming, idempotent import of a watchlist CSV into the store.

Rows are validated one by one; bad ones go to a reject file (line and reason) and every good
one loads. Work is done in batches, each its own transaction, so memory stays flat and an
interrupted import can simply be run again: re-import updates by record_id, never duplicates.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import json
import os
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from store import audit
from store.codes import hash_login_key, new_login_key, new_registration_code
from store.csv_input import CsvFile, InputError, has_undecodable
from store.models import Household, WatchlistPerson, utcnow
from store.sealed import PERSON_PII, person_digest, person_indexes
from store.vault import Vault
from store.watchlist_rows import COLUMNS, REQUIRED, CleanRow, validate

CsvWriter = Any  # the csv module exposes no public writer type
PERSON: Table = WatchlistPerson.__table__  # type: ignore[assignment]
HOUSEHOLD: Table = Household.__table__  # type: ignore[assignment]
Progress = Callable[[int, int], None]  # (bytes read, rows read)


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


def person_payload(row: CleanRow) -> dict[str, str]:
    """What gets sealed: the contract fields plus unknown columns (kept, never dropped)."""
    payload = dict(row.pii)
    if row.extra:
        payload["_extra"] = json.dumps(row.extra, ensure_ascii=False, sort_keys=True)
    return payload


@contextmanager
def _private_csv(path: Path | None, header: list[str]) -> Iterator[CsvWriter | None]:
    """A CSV file only its owner can read (it holds personal data or secrets)."""
    if path is None:
        yield None
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    # Undecodable input bytes show as \udcXX escapes rather than failing the write.
    handle: IO[str] = os.fdopen(fd, "w", encoding="utf-8", errors="backslashreplace", newline="")
    with handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        yield writer


class _Batch:
    """Rows waiting for one transaction, keyed by record_id (a later duplicate wins)."""

    def __init__(self) -> None:
        self.rows: dict[str, CleanRow] = {}

    def add(self, row: CleanRow) -> None:
        self.rows.pop(row.record_id, None)
        self.rows[row.record_id] = row

    def __len__(self) -> int:
        return len(self.rows)


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
) -> ImportResult:
    """Import `path`; raises InputError only when the file as a whole cannot be read."""
    started = time.perf_counter()
    with CsvFile(path, encoding) as source:
        missing = [c for c in REQUIRED if c not in source.header]
        if missing:
            raise InputError(f"{path}, line 1: missing required column(s): {', '.join(missing)}")
        dupes = {h for h in source.header if source.header.count(h) > 1}
        if dupes:
            raise InputError(f"{path}, line 1: duplicate column(s): {', '.join(sorted(dupes))}")
        result = ImportResult(path=path, encoding=source.encoding)
        reject_path = reject_path or path.with_name(path.name + ".rejects.csv")
        width = len(source.header)
        with (
            _private_csv(reject_path, ["line", "reason", *source.header]) as rejects,
            _private_csv(codes_out, ["household_id", "registration_code", "login_key"]) as codes,
        ):
            assert rejects is not None

            def reject(line: int, reason: str, fields: list[str]) -> None:
                result.rejected += 1
                rejects.writerow([line, reason, *fields])
                if len(result.first_rejects) < 20:
                    result.first_rejects.append((line, reason))

            batch = _Batch()
            for record in source.records():
                result.rows += 1
                if isinstance(record, tuple):
                    reject(record[0], record[1], [])
                    continue
                fields = record.fields
                if len(fields) != width:
                    reject(record.line, f"expected {width} columns, got {len(fields)}", fields)
                    continue
                if has_undecodable(*fields):
                    reject(record.line, f"bytes that are not valid {source.encoding}", fields)
                    continue
                clean = validate(dict(zip(source.header, fields, strict=True)))
                if isinstance(clean, str):
                    reject(record.line, clean, fields)
                    continue
                batch.add(clean)
                if len(batch) >= batch_size:
                    _flush(sessions, vault, batch, seed, result, codes)
                    batch = _Batch()
                    if progress:
                        progress(source.bytes_read, result.rows)
            _flush(sessions, vault, batch, seed, result, codes)
            if progress:
                progress(source.size, result.rows)
    if result.rejected == 0:
        reject_path.unlink(missing_ok=True)
    else:
        result.reject_path = reject_path
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
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _flush(
    sessions: sessionmaker[Session],
    vault: Vault,
    batch: _Batch,
    seed: bool,
    result: ImportResult,
    codes: CsvWriter | None,
) -> None:
    if not batch:
        return
    rows = list(batch.rows.values())
    now = utcnow()
    with sessions.begin() as session:
        household_ids = _ensure_households(session, {r.household_id for r in rows}, result, codes)
        existing = {
            ref: (pid, digest, was_seed)
            for ref, pid, digest, was_seed in session.execute(
                select(
                    WatchlistPerson.record_ref,
                    WatchlistPerson.id,
                    WatchlistPerson.row_digest,
                    WatchlistPerson.is_seed,
                ).where(WatchlistPerson.record_ref.in_(list(batch.rows)))
            )
        }
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        for row in rows:
            known = existing.get(row.record_id)
            # Seed status is sticky: a plain re-import must not unmark a decoy.
            is_seed = seed or (known is not None and known[2])
            payload = person_payload(row)
            digest = person_digest(vault, row.household_id, payload, is_seed)
            if known is not None and hmac.compare_digest(known[1], digest):
                result.unchanged += 1
                continue
            values = person_indexes(vault, payload) | {
                "pii": vault.seal_json(payload, PERSON_PII),
                "household_id": household_ids[row.household_id],
                "is_seed": is_seed,
                "row_digest": digest,
                "updated_at": now,
            }
            if known is None:
                inserts.append(values | {"record_ref": row.record_id, "imported_at": now})
            else:
                updates.append(values | {"id": known[0]})
        # Core executemany: the ORM bulk path splits batches by which values are None.
        if inserts:
            session.execute(insert(PERSON), inserts)
        if updates:
            session.execute(
                update(PERSON).where(PERSON.c.id == bindparam("person_id")),
                [{**u, "person_id": u.pop("id")} for u in updates],
            )
        result.inserted += len(inserts)
        result.updated += len(updates)


def _ensure_households(
    session: Session, refs: set[str], result: ImportResult, codes: CsvWriter | None
) -> dict[str, int]:
    found = dict(
        session.execute(
            select(Household.household_ref, Household.id).where(
                Household.household_ref.in_(list(refs))
            )
        ).all()
    )
    new = sorted(refs - found.keys())
    if new:
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
        found.update(
            session.execute(
                select(Household.household_ref, Household.id).where(
                    Household.household_ref.in_(new)
                )
            ).all()
        )
    return found


__all__ = ["COLUMNS", "ImportResult", "InputError", "import_watchlist", "person_payload"]
