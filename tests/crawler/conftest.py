"""Crawler fixtures: a crawl database of the module's own, and crawl helpers."""

from __future__ import annotations

import json
import shutil
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from store.db import upgrade
from store.keyring import KeyRing, MasterKey
from store.models import AuditEvent, Crawl, Source
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


ENDINGS = ("crawl.finished", "crawl.failed", "crawl.interrupted")


def crawl_endings(store: Store, crawl_id: int) -> list[AuditEvent]:
    """The audit events that close crawl ``crawl_id`` (there must be exactly one)."""
    with store.sessions() as s:
        q = select(AuditEvent).where(
            AuditEvent.object_type == "crawl",
            AuditEvent.object_id == str(crawl_id),
            AuditEvent.action.in_(ENDINGS),
        )
        return list(s.scalars(q.order_by(AuditEvent.seq)))


def crawl_row(store: Store, crawl_id: int) -> Crawl:
    with store.sessions() as s:
        crawl = s.get(Crawl, crawl_id)
        assert crawl is not None
        return crawl


def last_crawl(store: Store, source: str) -> Crawl:
    with store.sessions() as s:
        q = select(Crawl).join(Source).where(Source.name == source).order_by(Crawl.id.desc())
        crawl = s.scalars(q).first()
        assert crawl is not None
        return crawl


def server_log(base: str, since: int = 0) -> tuple[int, list[dict[str, Any]]]:
    """What the fixture web saw from request number ``since`` on: (next number, requests)."""
    with urllib.request.urlopen(f"{base}/_control/log?since={since}", timeout=5) as resp:
        body = json.loads(resp.read())
    return int(body["next"]), list(body["hits"])


def need_browser() -> None:
    """Skip a test that needs Chromium and Playwright when they are missing — or fail, where
    they must be there (CI sets LEAKWATCH_REQUIRE_BROWSER=1 after installing chromium)."""
    import importlib.util
    import os

    from crawler.settings import LEAKWATCH_BROWSER

    missing = [
        what
        for what, there in (
            (f"Chromium at {LEAKWATCH_BROWSER} (apt-get install chromium)",
             os.access(LEAKWATCH_BROWSER, os.X_OK)),
            ("the playwright package", importlib.util.find_spec("playwright") is not None),
        )
        if not there
    ]  # fmt: skip
    if not missing:
        return
    why = "needs " + " and ".join(missing)
    if os.environ.get("LEAKWATCH_REQUIRE_BROWSER"):
        pytest.fail(why + " (LEAKWATCH_REQUIRE_BROWSER is set)")
    pytest.skip(why)
