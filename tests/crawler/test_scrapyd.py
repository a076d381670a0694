"""Crawls handed to a real Scrapyd node (``crawler.scrapyd``), on 127.0.0.1 in a folder of its
own: the scheduled crawl of a fixture broker site through the node puts the same rows and the
same evidence into the store as a local crawl of the same site; a node that cannot be reached
is a plain error and a failed crawl.

Skipped when Scrapyd is not installed, unless LEAKWATCH_REQUIRE_SCRAPYD=1 (CI), then failed.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from crawler.evidence import verify_evidence
from crawler.scheduled import crawl_scheduled_source
from crawler.sources import add_source
from store.models import (
    Crawl,
    CrawlStatus,
    EvidenceCapture,
    Listing,
    ListingRow,
    RunStatus,
    WorkRun,
)
from store.runtime import Store
from store.sealed import LISTING_ROW_PII
from store.settings import Settings
from tests.crawler.conftest import crawl_endings

ROOT = Path(__file__).resolve().parents[2]
SCRAPYD = Path(sys.executable).parent / "scrapyd"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _need_scrapyd() -> None:
    if SCRAPYD.exists():
        return
    why = f"needs Scrapyd ({SCRAPYD}; pip install -e '.[dev]')"
    if os.environ.get("LEAKWATCH_REQUIRE_SCRAPYD"):
        pytest.fail(why + " (LEAKWATCH_REQUIRE_SCRAPYD is set)")
    pytest.skip(why)


@pytest.fixture
def scrapyd_node(env: dict[str, str], tmp_path: Path) -> Iterator[str]:
    """A Scrapyd node on 127.0.0.1 with the store's configuration in its environment (as a
    real node has it: nothing secret comes with a job) and the project on its path."""
    _need_scrapyd()
    folder = tmp_path / "scrapyd"
    folder.mkdir()
    port = _free_port()
    (folder / "scrapyd.conf").write_text(
        "[scrapyd]\nbind_address = 127.0.0.1\n"
        f"http_port = {port}\neggs_dir = {folder / 'eggs'}\nlogs_dir = {folder / 'logs'}\n"
        f"dbs_dir = {folder / 'dbs'}\npoll_interval = 0.2\nmax_proc = 2\n"
    )
    node_env = {**os.environ, "PYTHONPATH": str(ROOT)}
    node_env.pop("LEAKWATCH_SCRAPYD_URLS", None)
    log = (folder / "scrapyd.out").open("wb")
    proc = subprocess.Popen([str(SCRAPYD)], cwd=folder, env=node_env, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url, proc, folder)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def _wait_until_up(url: str, proc: subprocess.Popen[bytes], folder: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError((folder / "scrapyd.out").read_text()[-3000:])
        try:
            with urllib.request.urlopen(f"{url}/daemonstatus.json", timeout=2) as resp:
                if json.loads(resp.read()).get("status") == "ok":
                    return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("Scrapyd did not start")


def _rows(store: Store, source_id: int) -> list[tuple[str, str, dict[str, Any]]]:
    """The source's rows: (listing key, row_ref, published values), sorted."""
    with store.sessions() as s:
        q = select(Listing.key, ListingRow.row_ref, ListingRow.pii).join(Listing)
        got = s.execute(q.where(Listing.source_id == source_id)).all()
    rows = [(k, ref, store.vault.open_json(pii, LISTING_ROW_PII)) for k, ref, pii in got]
    return sorted(rows, key=lambda r: (r[0], r[1]))


def _evidence(store: Store, crawl_id: int) -> dict[str, tuple[int | None, str]]:
    """The crawl's captures: URL -> (HTTP status, SHA-256)."""
    with store.sessions() as s:
        q = select(EvidenceCapture.url, EvidenceCapture.http_status, EvidenceCapture.sha256)
        found = s.execute(q.where(EvidenceCapture.crawl_id == crawl_id)).all()
    return {url: (status, digest) for url, status, digest in found}


def _crawl_of(store: Store, source_id: int) -> Crawl:
    with store.sessions() as s:
        crawl = s.scalars(select(Crawl).where(Crawl.source_id == source_id)).one()
        return crawl


def test_a_scheduled_crawl_on_a_node_stores_what_a_local_crawl_stores(
    env: dict[str, str], store: Store, broker_web: str, scrapyd_node: str
) -> None:
    site = [broker_web + "/paste/"]
    here = add_source(store, "here", site, actor="t", is_local=True, schedule="0 3 * * *")
    there = add_source(store, "there", site, actor="t", is_local=True, schedule="0 3 * * *")
    local = crawl_scheduled_source(store, here)
    with Store.open(Settings(leakwatch_scrapyd_urls=scrapyd_node)) as fanned:
        started = time.monotonic()
        remote = crawl_scheduled_source(fanned, there)
        print(f"crawl on the node, egg built and deployed: {time.monotonic() - started:.1f} s")
    assert (local.status, remote.status) == ("finished", "finished"), remote.reason
    crawl_here, crawl_there = _crawl_of(store, here), _crawl_of(store, there)
    assert crawl_there.status == CrawlStatus.DONE and crawl_there.id == remote.crawl_id
    assert crawl_there.pages == crawl_here.pages > 0
    rows_here, rows_there = _rows(store, here), _rows(store, there)
    assert len(rows_here) > 100 and rows_there == rows_here  # keys, refs and values alike
    evidence = _evidence(store, crawl_there.id)
    assert evidence and evidence == _evidence(store, crawl_here.id)
    report = verify_evidence(store, [crawl_there.id])
    assert report.ok and report.checked == len(evidence)
    (ending,) = crawl_endings(store, crawl_there.id)
    assert (ending.action, ending.actor) == ("crawl.finished", "crawler")
    with store.sessions() as s:
        run = s.get(WorkRun, remote.run_id)
        assert run is not None and run.status == RunStatus.FINISHED
        assert run.counts["crawl_id"] == crawl_there.id


def test_a_node_that_cannot_be_reached_fails_the_crawl_plainly(
    env: dict[str, str], store: Store, broker_web: str
) -> None:
    sid = add_source(store, "nowhere", [broker_web + "/paste/"], actor="t", is_local=True,
                     schedule="0 3 * * *")  # fmt: skip
    closed = f"http://user:secret@127.0.0.1:{_free_port()}"
    with Store.open(Settings(leakwatch_scrapyd_urls=closed)) as fanned:
        result = crawl_scheduled_source(fanned, sid)
    assert result.status == "failed" and result.reason is not None
    assert "no Scrapyd node answers: http://127.0.0.1:" in result.reason
    assert "secret" not in result.reason
    crawl = _crawl_of(store, sid)
    assert crawl.status == CrawlStatus.FAILED and crawl.error is not None
    assert crawl.error.startswith("not handed to a Scrapyd node: no Scrapyd node answers")
    (ending,) = crawl_endings(store, crawl.id)
    assert ending.action == "crawl.failed"
