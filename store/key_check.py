"""The store knows its key: a check value for each master key its data may be sealed under.

`leakwatch init` records the current key's check (an HMAC under a key derived from it: it
proves possession without revealing anything). Every opening of the vault verifies the key
in use against the recorded checks before it seals or opens anything, so a wrong
LEAKWATCH_KEY or a key file made anew over a populated database is refused with one line
instead of sealing new data under a key nobody else has.
"""

from __future__ import annotations

import hmac

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from store.keyring import KeyError_, KeyRing, MasterKey
from store.models import StoreKey
from store.sealed import SEALED_COLUMNS
from store.vault import DecryptError, Vault

_CHECK_MESSAGE = b"leakwatch: this store's key"


class KeyMismatch(KeyError_):
    """The key in use is not one the store's data is sealed under."""


def check_mac(key: MasterKey) -> bytes:
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"leakwatch key check v1"
    ).derive(key.raw)
    return hmac.digest(derived, _CHECK_MESSAGE, "sha256")


def recorded_key_ids(session: Session) -> list[str]:
    return list(session.scalars(select(StoreKey.key_id).order_by(StoreKey.added_at)))


def holds_sealed_data(session: Session) -> bool:
    """Whether any sealed value exists (the watchlist, listing rows, reports, login keys)."""
    for sealed in SEALED_COLUMNS:
        column = getattr(sealed.model, sealed.column)
        if session.execute(select(column).where(column.is_not(None)).limit(1)).first():
            return True
    return False


def _opens_sample(session: Session, ring: KeyRing) -> bool:
    """Whether the ring opens the first sealed value of every sealed column (a store from
    before key checks existed: its key is proven by the data itself)."""
    vault = Vault(ring)
    for sealed in SEALED_COLUMNS:
        column = getattr(sealed.model, sealed.column)
        blob = session.scalar(select(column).where(column.is_not(None)).limit(1))
        if blob is None:
            continue
        try:
            vault.open(blob, sealed.context)
        except DecryptError:
            return False
    return True


def record_key(session: Session, key: MasterKey) -> None:
    """Add ``key`` to the keys the store accepts (idempotent)."""
    if session.get(StoreKey, key.key_id.hex()) is None:
        session.add(StoreKey(key_id=key.key_id.hex(), check_mac=check_mac(key)))
        session.flush()


def forget_keys_except(session: Session, keep: MasterKey) -> None:
    """After a finished rotation: only the new key is the store's."""
    session.execute(delete(StoreKey).where(StoreKey.key_id != keep.key_id.hex()))


def is_store_key(session: Session, key: MasterKey) -> bool:
    known = session.get(StoreKey, key.key_id.hex())
    return known is not None and hmac.compare_digest(known.check_mac, check_mac(key))


def verify_ring(sessions: sessionmaker[Session], ring: KeyRing, where: str) -> None:
    """Refuse a ring whose current key is not the store's; ``where`` says where the key came
    from (for the message). A store with no recorded key learns the current one, once it
    has shown that it opens the data already there."""
    with sessions.begin() as session:
        if session.scalar(select(StoreKey.key_id).limit(1)) is None:
            if holds_sealed_data(session) and not _opens_sample(session, ring):
                raise KeyMismatch(_mismatch(ring, where, []))
            try:
                with session.begin_nested():
                    record_key(session, ring.current)
                return
            except IntegrityError:  # another process recorded one at the same moment
                pass
        if not is_store_key(session, ring.current):
            raise KeyMismatch(_mismatch(ring, where, recorded_key_ids(session)))


def _mismatch(ring: KeyRing, where: str, known: list[str]) -> str:
    expected = f"key id {', '.join(known)}" if known else "the key its data is sealed under"
    return (
        f"the key from {where} (id {ring.current.key_id.hex()}) is not this store's key: "
        f"the store expects {expected}. Set LEAKWATCH_KEY or restore the key file from your "
        "backup (see README, 'If the key file is lost'); nothing was changed"
    )
