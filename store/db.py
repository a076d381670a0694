"""Engines, sessions and schema migration for SQLite (default) and PostgreSQL."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

MIGRATIONS = Path(__file__).with_name("migrations")


def make_engine(url: str, echo: bool = False, single_use: bool = False) -> Engine:
    """An engine with our SQLite pragmas: foreign keys enforced, WAL for concurrent readers.

    `single_use` closes connections on release (migrations, one-shot CLI steps). SQL
    parameters never appear in error messages or logs (they hold codes and sealed data).
    A new SQLite file is created 0600 in a 0700 folder: it holds registration codes.
    """
    # A web server runs requests on a pool of threads, each holding a connection or two:
    # SQLAlchemy's default of 5 (+10) made them queue for a connection under load.
    extra: dict[str, Any] = (
        {"poolclass": NullPool} if single_use else {"pool_size": 20, "max_overflow": 20}
    )
    if url.startswith("sqlite"):
        db_path = url.split("///", 1)[-1]
        if db_path and db_path != ":memory:":
            _create_private(Path(db_path))
        engine = create_engine(
            url, echo=echo, hide_parameters=True, connect_args={"timeout": 30}, **extra
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, echo=echo, hide_parameters=True, pool_pre_ping=True, **extra)


def _create_private(path: Path) -> None:
    if not path.parent.exists():
        path.parent.mkdir(parents=True, mode=0o700)
    # SQLite takes an empty file as an empty database.
    with suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    # Deleted and overwritten content is zeroed, not left in free pages (erasure).
    cur.execute("PRAGMA secure_delete=ON")
    # 64 MiB page cache: blind-index B-trees take random inserts, which thrash a small cache.
    cur.execute("PRAGMA cache_size=-65536")
    cur.close()


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    # ConfigParser interpolation would choke on '%' in passwords.
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


# PostgreSQL quotes values in an error's DETAIL ("Key (registration_code)=(…) already
# exists", "Failing row contains (…)"): never in a log or a message of ours.
_DETAIL = re.compile(r"^(\s*DETAIL:).*$", re.MULTILINE)
_FAILING_ROW = re.compile(r"Failing row contains \(.*?\)\.?", re.DOTALL)
_KEY_VALUE = re.compile(r"Key \((.*?)\)=\(.*?\)")


def safe_error_text(text: str) -> str:
    """``text`` (an error message or traceback) with the values a database quotes hidden.
    (SQL parameters are hidden by the engines: ``hide_parameters``.)"""
    text = _DETAIL.sub(r"\1 (hidden: it may quote values)", text)
    text = _FAILING_ROW.sub("Failing row contains (hidden).", text)
    return _KEY_VALUE.sub(r"Key (\1)=(hidden)", text)


class SchemaError(Exception):
    """The database has no LeakWatch schema, or an older one (the message says what to run)."""


def check_schema(engine: Engine) -> None:
    """Refuse to work on a database that `leakwatch init` has not brought to the latest schema."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config(str(engine.url))).get_current_head()
    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    where = engine.url.render_as_string(hide_password=True)
    if current is None:
        raise SchemaError(f"{where} has no LeakWatch schema: run `leakwatch init` first")
    if current != head:
        raise SchemaError(
            f"{where} is at schema {current}, this LeakWatch needs {head}: run `leakwatch init`"
        )


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(url), revision)


@contextmanager
def throwaway_database(server_url: str, prefix: str) -> Iterator[str]:
    """A new, empty PostgreSQL database on the server of ``server_url`` (for tests and
    benchmarks): its URL; dropped afterwards, whatever its connections are doing."""
    base = make_url(server_url)
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
