"""Crawler fixtures: a crawl database of the module's own, and crawl helpers."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from store.db import upgrade
from store.keyring import KeyRing, MasterKey
from store.runtime import Store
from store.settings import Settings
from tests.databases import ON_POSTGRES, throwaway_postgres


@pytest.fixture(scope="module")
def module_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """A Store on a database of its own for one test module (one shared crawl, many checks).

    Its own database, not the per-test one, so other modules' cleanup never empties it.
    """
    home = tmp_path_factory.mktemp("crawlhome")
    with ExitStack() as stack:
        if ON_POSTGRES:
            url = stack.enter_context(throwaway_postgres("lw_crawl"))
        else:
            url = f"sqlite:///{home / 'leakwatch.db'}"
        upgrade(url)
        key = KeyRing((MasterKey.generate(),)).current.to_text()
        store = Store.open(Settings(leakwatch_home=home, database_url=url, leakwatch_key=key))
        yield store
        store.close()
    shutil.rmtree(home, ignore_errors=True)


def flip_byte(path: Path, at: int) -> None:
    data = bytearray(path.read_bytes())
    data[at] ^= 0x01
    path.write_bytes(bytes(data))
