"""Shared fixtures: a real database per test (SQLite file, or PostgreSQL when DATABASE_URL
points at one), a key, and an open Store.

On PostgreSQL each pytest worker gets its own throwaway database, migrated once; tables are
emptied between tests. On SQLite each test copies a migrated template file.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from matcher.contract import RECORD_FIELDS
from store.db import upgrade
from store.keyring import KeyRing, MasterKey
from store.models import Base
from store.runtime import Store
from store.settings import Settings
from synth.broker_web import running
from tests.databases import ON_POSTGRES, SERVER_URL, throwaway_postgres


def pytest_report_header() -> str:
    return f"database: {'PostgreSQL ' + make_url(SERVER_URL).host if ON_POSTGRES else 'SQLite'}"


@pytest.fixture(scope="session")
def pg_database_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this worker, migrated once, dropped at the end."""
    with throwaway_postgres("lw_test") as url:
        upgrade(url)
        yield url


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


def _empty_postgres(url: str) -> None:
    engine = create_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        # replica mode skips the audit log's append-only triggers for this cleanup only.
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        conn.execute(text(f"INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '{'0' * 64}')"))
    engine.dispose()


@pytest.fixture
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty database for one test."""
    if ON_POSTGRES:
        url: str = request.getfixturevalue("pg_database_url")
        yield url
        _empty_postgres(url)
    else:
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "leakwatch.db"
        shutil.copyfile(template, path)
        path.chmod(0o600)  # as `leakwatch init` makes it (copyfile follows the umask)
        yield f"sqlite:///{path}"


@pytest.fixture
def key_ring() -> KeyRing:
    return KeyRing((MasterKey.generate(),))


@pytest.fixture
def env(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, db_url: str, key_ring: KeyRing
) -> dict[str, str]:
    """The process environment a LeakWatch command would see (key in LEAKWATCH_KEY)."""
    values = {
        "LEAKWATCH_HOME": str(tmp_path / "home"),
        "DATABASE_URL": db_url,
        "LEAKWATCH_KEY": key_ring.current.to_text(),
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


@pytest.fixture
def store(env: dict[str, str]) -> Iterator[Store]:
    opened = Store.open(Settings())
    yield opened
    opened.close()


@pytest.fixture
def empty_db_url(tmp_path: Path) -> Iterator[str]:
    """A database with no schema at all (for migration tests)."""
    if not ON_POSTGRES:
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    with throwaway_postgres("lw_mig") as url:
        yield url


@pytest.fixture(scope="session")
def broker_web() -> Iterator[str]:
    """The fixture broker web (synth.broker_web) in a subprocess on 127.0.0.1: its base URL."""
    with running() as url:
        yield url


LISTING_FIELDS = RECORD_FIELDS


@pytest.fixture
def loaded_listing(
    store: Store, tmp_path: Path
) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """A 600-person synthetic watchlist imported into the store and one listing of 120 sealed
    rows from it: (listing rows, ground truth)."""
    import csv

    from store.models import Listing, ListingRow
    from store.sealed import LISTING_ROW_PII, listing_row_indexes
    from store.watchlist_import import import_watchlist
    from synth.listing import generate_listing
    from synth.watchlist import generate_watchlist

    wl = list(generate_watchlist(600, 31))
    path = tmp_path / "w.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(wl[0]))
        w.writeheader()
        w.writerows(wl)
    import_watchlist(store.sessions, store.vault, path, actor="test", worker=False)
    rows, truth = generate_listing(wl, 120, 32, listings=1)
    with store.sessions() as s:
        lst = Listing(key="test-listing")
        s.add(lst)
        s.flush()
        for r in rows:
            pii = {f: r[f] for f in LISTING_FIELDS}
            s.add(ListingRow(listing_id=lst.id, row_ref=r["row_id"],
                             pii=store.vault.seal_json(pii, LISTING_ROW_PII),
                             **listing_row_indexes(store.vault, pii)))  # fmt: skip
        s.commit()
    return rows, truth


@pytest.fixture(scope="session")
def smtp_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path]]:
    """A real SMTP server (aiosmtpd) in a subprocess on 127.0.0.1: (its port, the Maildir
    where it keeps every message it accepted)."""
    import socket
    import subprocess
    import sys
    import time

    maildir = tmp_path_factory.mktemp("smtp") / "Maildir"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}",
         "-c", "aiosmtpd.handlers.Mailbox", str(maildir)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    deadline = time.monotonic() + 15
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"aiosmtpd did not start: {proc.stderr.read()!r}") from None  # type: ignore[union-attr]
            time.sleep(0.1)
    try:
        yield port, maildir
    finally:
        proc.terminate()
        proc.wait(timeout=10)
