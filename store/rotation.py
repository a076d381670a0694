"""Key rotation: re-seal every sealed column and re-derive every keyed value under a new key.

Safe to interrupt: the new key is recorded as the store's and the ring holding both keys is
saved before any row changes; a re-run finishes the same rotation (rows already under the
new key are skipped), and the old key is dropped only when no row uses it. Runs under the
writer lock, as one audited run.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update

from store.interrupts import Interrupts, deferred_interrupts
from store.key_check import forget_keys_except, record_key
from store.keyring import KeyError_, KeyRing, MasterKey, read_key_file, write_key_file
from store.models import Household, ListingRow, RunKind, WatchlistPerson
from store.runtime import Store
from store.sealed import (
    LISTING_ROW_PII,
    PERSON_PII,
    SEALED_COLUMNS,
    SealedColumn,
    person_digest,
    refingerprint,
)
from store.vault import Vault
from store.work_runs import recover_stale, tracked_run
from store.writer_lock import writer_lock

BATCH = 1000


class RotationError(Exception):
    """Rotation cannot start or finish (the message says what to do)."""


@dataclass
class RotationResult:
    old_key_ids: list[str]
    new_key_id: str
    resealed: dict[str, int] = field(default_factory=dict)
    resumed: bool = False


def rotate_key(
    store: Store,
    new_key: MasterKey | None = None,
    *,
    actor: str,
    key_out: Path | None = None,
    progress: Callable[[str, int], None] | None = None,
) -> RotationResult:
    """Rotate to `new_key` (or a fresh one), or finish an interrupted rotation.

    The key file (or, with LEAKWATCH_KEY set, `key_out`: the process cannot change its own
    environment for the next one) holds both keys while data is mixed, then the new one.
    Nothing is written before the store has accepted the current key and recorded the new
    one, so a rotation that cannot start leaves every key file as it was.
    """
    old_ring = store.key_ring()
    _ = store.vault  # refuses a key that is not the store's, before anything changes
    ring_file = _ring_file(store, key_out, old_ring)
    with writer_lock(store.engine), deferred_interrupts() as interrupts:
        recover_stale(store.sessions, actor)
        target, resumed = _target_key(old_ring, new_key)
        older = tuple(k for k in old_ring.keys if k.key_id != target.key_id)
        with tracked_run(store.sessions, RunKind.ROTATION, actor, target.key_id.hex()) as run:
            with store.sessions.begin() as session:
                record_key(session, target)  # before any file holds it
            write_key_file(ring_file, KeyRing((target, *older)))
            store.use_key_ring(KeyRing((target, *older)))
            result = RotationResult([k.key_id.hex() for k in older], target.key_id.hex(),
                                    resumed=resumed)  # fmt: skip
            for sealed in SEALED_COLUMNS:
                result.resealed[sealed.context] = _reseal(
                    store, store.vault, sealed, progress, interrupts
                )
                run.counts = {"resealed": dict(result.resealed), "resumed": resumed}
            leftovers = _count_not_under(store, store.vault)
            if leftovers:
                raise RotationError(
                    f"{leftovers} values still under old keys; run rotate-key again"
                )
            write_key_file(ring_file, KeyRing((target,)))
            store.use_key_ring(KeyRing((target,)))
            with store.sessions.begin() as session:
                forget_keys_except(session, target)
            run.counts["old_key_ids"] = result.old_key_ids
    return result


def _ring_file(store: Store, key_out: Path | None, ring: KeyRing) -> Path:
    """Where the ring goes: the key file, or `key_out` with LEAKWATCH_KEY set (new, or the
    same ring when an interrupted rotation is resumed)."""
    if not store.settings.leakwatch_key:
        return store.settings.key_file
    if key_out is None:
        raise RotationError("LEAKWATCH_KEY is set: give a new key file to receive the new key")
    if key_out.exists():
        try:
            same = read_key_file(key_out).keys == ring.keys
        except KeyError_:
            same = False
        if not same:
            raise RotationError(
                f"{key_out} exists and is not the ring in LEAKWATCH_KEY: it is never "
                "overwritten; give a new file name"
            )
    return key_out


def _target_key(ring: KeyRing, new_key: MasterKey | None) -> tuple[MasterKey, bool]:
    """The key to rotate to, and whether an interrupted rotation is being finished (a ring
    of several keys: its first is the one that rotation was going to)."""
    if len(ring.keys) > 1:
        if new_key is not None and new_key.key_id != ring.current.key_id:
            raise RotationError(
                f"a rotation to key {ring.current.key_id.hex()} is unfinished: run "
                "rotate-key again without a new key to finish it first"
            )
        return ring.current, True
    if new_key is not None and new_key.key_id == ring.current.key_id:
        raise RotationError("the new key is the key in use")
    return new_key or MasterKey.generate(), False


def _reseal(
    store: Store,
    vault: Vault,
    sealed: SealedColumn,
    progress: Callable[[str, int], None] | None,
    interrupts: Interrupts,
) -> int:
    model: Any = sealed.model
    blob_col = getattr(model, sealed.column)
    is_person = sealed.context == PERSON_PII
    is_listing_row = sealed.context == LISTING_ROW_PII
    done = 0
    last_id = 0
    while True:
        interrupts.check()
        with store.sessions.begin() as session:
            query = select(model.id, blob_col).where(model.id > last_id, blob_col.is_not(None))
            if is_listing_row:
                query = select(model.id, blob_col, ListingRow.row_ref).where(model.id > last_id)
            if is_person:
                query = select(
                    model.id, blob_col, Household.household_ref, WatchlistPerson.is_seed
                ).join(Household, Household.id == WatchlistPerson.household_id)
                query = query.where(model.id > last_id)
            rows = session.execute(
                query.order_by(model.id).limit(sealed.rows_per_batch or BATCH)
            ).all()
            if not rows:
                return done
            last_id = rows[-1][0]
            updates: list[dict[str, Any]] = []
            for row in rows:
                blob: bytes = row[1]
                if Vault.key_id_of(blob) == vault.current_key_id:
                    continue  # already rotated by an earlier, interrupted run
                plaintext = vault.open(blob, sealed.context)
                # Only JSON payloads have keyed values to re-derive (a login key is not JSON).
                payload = json.loads(plaintext) if sealed.reindex or is_listing_row else {}
                values: dict[str, Any] = {"id": row[0]}
                # Re-seal the very same bytes, so digests and payloads stay byte-identical.
                values[sealed.column] = vault.seal(plaintext, sealed.context)
                if sealed.reindex is not None:
                    values |= sealed.reindex(vault, payload)
                if is_person:
                    values["row_digest"] = person_digest(vault, row[2], plaintext)
                if is_listing_row:  # keyed fingerprints too, or re-crawls would see new rows
                    values["row_ref"] = refingerprint(vault, payload, row[2])
                updates.append(values)
            if updates:
                session.execute(update(model), updates)
            done += len(updates)
        if progress:
            progress(sealed.context, done)


def _count_not_under(store: Store, vault: Vault) -> int:
    """Values whose key-id prefix (bytes 2-5) is not the current key's."""
    total = 0
    prefix = b"\x01" + vault.current_key_id
    with store.sessions() as session:
        for sealed in SEALED_COLUMNS:
            column: Any = getattr(sealed.model, sealed.column)
            total += session.execute(
                select(func.count()).where(column.is_not(None), func.substr(column, 1, 5) != prefix)
            ).scalar_one()
    return total
