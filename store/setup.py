"""`leakwatch init`: the data folder, the schema and the key, each checked against the others.

An existing key is never replaced and must be the store's; a store that holds sealed data
but has no key at hand is refused (a new key would seal new data under a key that opens
none of the old), with the way to restore the key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from store.db import make_engine, make_sessionmaker, upgrade
from store.key_check import holds_sealed_data, record_key, recorded_key_ids, verify_ring
from store.keyring import KeyError_, KeyRing, MasterKey, read_key_file, write_key_file
from store.private_files import mode_warnings
from store.settings import Settings


@dataclass
class InitReport:
    key: str
    database: str
    warnings: list[str] = field(default_factory=list)


def initialise(settings: Settings) -> InitReport:
    """Create what is missing (folder 0700, key file 0600, schema), check what is there."""
    home = settings.home
    if not home.exists():
        home.mkdir(parents=True, mode=0o700)
    upgrade(settings.db_url)
    engine = make_engine(settings.db_url, single_use=True)
    try:
        key_note = _settle_key(settings, make_sessionmaker(engine))
    finally:
        engine.dispose()
    where = make_url(settings.db_url).render_as_string(hide_password=True)
    paths = [home]
    if settings.db_url.startswith("sqlite") and make_url(settings.db_url).database:
        paths.append(Path(str(make_url(settings.db_url).database)))
    return InitReport(key_note, f"{where} at the latest schema", mode_warnings(paths))


def _settle_key(settings: Settings, sessions: sessionmaker[Session]) -> str:
    if settings.leakwatch_key:
        ring = KeyRing.from_text(settings.leakwatch_key)
        verify_ring(sessions, ring, "LEAKWATCH_KEY")
        return f"key: from LEAKWATCH_KEY (id {ring.current.key_id.hex()}, the store's key)"
    key_file = settings.key_file
    if key_file.exists():
        ring = read_key_file(key_file)  # refuses a file others may read
        verify_ring(sessions, ring, str(key_file))
        return f"key: {key_file} (kept, id {ring.current.key_id.hex()}, the store's key)"
    with sessions() as session:
        known, sealed = recorded_key_ids(session), holds_sealed_data(session)
    if known or sealed:
        ids = f"key id {', '.join(known)}" if known else "a key"
        raise KeyError_(
            f"this database holds personal data sealed under {ids}, but there is no key at "
            f"{key_file}: restore the key file from your backup (or set LEAKWATCH_KEY); init "
            "never makes a new key for a store that has one"
        )
    key = MasterKey.generate()
    write_key_file(key_file, KeyRing((key,)))  # before the store learns it: see key_check
    with sessions.begin() as session:
        record_key(session, key)
    return f"key: created {key_file} (mode 0600, id {key.key_id.hex()}) — back it up safely"
