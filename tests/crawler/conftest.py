"""Crawler fixtures: a crawl database of the module's own, and crawl helpers."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from store.db import upgrade
from store.keyring import KeyRing, MasterKey
from store.runtime import Store
from store.settings import Settings

SERVER_URL = os.environ.get("DATABASE_URL", "")


@pytest.fixture(scope="module")
def module_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """A Store on a database of its own for one test module (one shared crawl, many checks).

    Its own database, not the per-test one, so other modules' cleanup never empties it.
    """
    home = tmp_path_factory.mktemp("crawlhome")
    admin = None
    name = ""
    if SERVER_URL.startswith("postgresql"):
        base = make_url(SERVER_URL)
        name = f"lw_crawl_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = base.set(database=name).render_as_string(hide_password=False)
    else:
        url = f"sqlite:///{home / 'leakwatch.db'}"
    upgrade(url)
    key = KeyRing((MasterKey.generate(),)).current.to_text()
    store = Store.open(Settings(leakwatch_home=home, database_url=url, leakwatch_key=key))
    yield store
    store.close()
    if admin is not None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    shutil.rmtree(home, ignore_errors=True)


def flip_byte(path: Path, at: int) -> None:
    data = bytearray(path.read_bytes())
    data[at] ^= 0x01
    path.write_bytes(bytes(data))
