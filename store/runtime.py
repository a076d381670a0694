"""The open store: settings, engine, sessions and (when needed) the vault, in one object."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from store.db import check_schema, make_engine, make_sessionmaker
from store.key_check import verify_ring
from store.keyring import KeyRing, load_key_ring
from store.private_files import mode_warnings
from store.settings import Settings, load_settings
from store.vault import Vault


@dataclass
class Store:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    _vault: Vault | None = field(default=None, repr=False)

    @classmethod
    def open(cls, settings: Settings | None = None) -> Store:
        """Open the configured database; raises SchemaError if it is not at the latest schema."""
        settings = settings or load_settings()
        engine = make_engine(settings.db_url, echo=settings.sql_echo)
        try:
            check_schema(engine)
        except Exception:
            engine.dispose()
            raise
        return cls(settings=settings, engine=engine, sessions=make_sessionmaker(engine))

    def key_ring(self) -> KeyRing:
        return load_key_ring(self.settings.leakwatch_key, self.settings.key_file)

    @property
    def key_source(self) -> str:
        """Where the key comes from, for messages."""
        return "LEAKWATCH_KEY" if self.settings.leakwatch_key else str(self.settings.key_file)

    @property
    def vault(self) -> Vault:
        """Loaded on first use, so commands that touch no personal data need no key; the
        key is checked against the store's before anything is sealed or opened."""
        if self._vault is None:
            ring = self.key_ring()
            verify_ring(self.sessions, ring, self.key_source)
            self._vault = Vault(ring)
        return self._vault

    def mode_warnings(self) -> list[str]:
        """Files of this store that others may read (the folder, the SQLite database)."""
        paths = [self.settings.home]
        if self.engine.dialect.name == "sqlite" and self.engine.url.database:
            paths.append(Path(self.engine.url.database))
        return mode_warnings(paths)

    def use_key_ring(self, ring: KeyRing) -> None:
        self._vault = Vault(ring)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
