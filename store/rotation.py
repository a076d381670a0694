"""Key rotation: re-seal every sealed column and re-derive every keyed value under a new key.

Safe to interrupt: the ring holding both keys is saved before any row changes, rows already
under the new key are skipped on a re-run, and the old key is dropped only when no row uses it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select, update

from store import audit
from store.keyring import KeyRing, MasterKey, write_key_file
from store.models import Household, ListingRow, WatchlistPerson
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

BATCH = 1000


class RotationError(Exception):
    """Rotation cannot start or finish (the message says what to do)."""


@dataclass
class RotationResult:
    old_key_ids: list[str]
    new_key_id: str
    resealed: dict[str, int] = field(default_factory=dict)


def rotate_key(
    store: Store,
    new_key: MasterKey | None = None,
    *,
    actor: str,
    progress: Callable[[str, int], None] | None = None,
) -> RotationResult:
    """Rotate to `new_key` (or a fresh one). Key-file mode updates the file itself.

    With LEAKWATCH_KEY set, the caller must pass the new key and later set
    LEAKWATCH_KEY to it: the process cannot change its own environment for the next one.
    """
    old_ring = store.key_ring()
    env_mode = bool(store.settings.leakwatch_key)
    if new_key is None:
        if env_mode:
            raise RotationError("LEAKWATCH_KEY is set: give the new key explicitly")
        new_key = MasterKey.generate()
    if old_ring.by_id(new_key.key_id) is not None and new_key != old_ring.current:
        raise RotationError("the new key is already an old key in the ring")
    # Resuming an interrupted rotation: the new key is already current.
    older = tuple(k for k in old_ring.keys if k.key_id != new_key.key_id)
    mixed = KeyRing((new_key, *older))
    if not env_mode:
        write_key_file(store.settings.key_file, mixed)
    store.use_key_ring(mixed)
    vault = store.vault

    result = RotationResult(
        old_key_ids=[k.key_id.hex() for k in older], new_key_id=new_key.key_id.hex()
    )
    for sealed in SEALED_COLUMNS:
        result.resealed[sealed.context] = _reseal(store, vault, sealed, progress)

    leftovers = _count_not_under(store, vault)
    if leftovers:
        raise RotationError(f"{leftovers} values still under old keys; run rotate-key again")
    if not env_mode:
        write_key_file(store.settings.key_file, KeyRing((new_key,)))
    store.use_key_ring(KeyRing((new_key,)))
    with store.sessions.begin() as session:
        audit.record(
            session,
            actor,
            "key.rotate",
            object_type="key",
            object_id=result.new_key_id,
            details={"old_key_ids": result.old_key_ids, "resealed": result.resealed},
        )
    return result


def _reseal(
    store: Store,
    vault: Vault,
    sealed: SealedColumn,
    progress: Callable[[str, int], None] | None,
) -> int:
    model: Any = sealed.model
    blob_col = getattr(model, sealed.column)
    is_person = sealed.context == PERSON_PII
    is_listing_row = sealed.context == LISTING_ROW_PII
    done = 0
    last_id = 0
    while True:
        with store.sessions.begin() as session:
            query = select(model.id, blob_col).where(model.id > last_id)
            if is_listing_row:
                query = select(model.id, blob_col, ListingRow.row_ref).where(model.id > last_id)
            if is_person:
                query = select(
                    model.id, blob_col, Household.household_ref, WatchlistPerson.is_seed
                ).join(Household, Household.id == WatchlistPerson.household_id)
                query = query.where(model.id > last_id)
            rows = session.execute(query.order_by(model.id).limit(BATCH)).all()
            if not rows:
                return done
            last_id = rows[-1][0]
            updates: list[dict[str, Any]] = []
            for row in rows:
                blob: bytes = row[1]
                if Vault.key_id_of(blob) == vault.current_key_id:
                    continue  # already rotated by an earlier, interrupted run
                plaintext = vault.open(blob, sealed.context)
                payload = json.loads(plaintext)
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
                select(func.count()).where(func.substr(column, 1, 5) != prefix)
            ).scalar_one()
    return total
