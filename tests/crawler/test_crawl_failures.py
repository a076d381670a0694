"""Crawls that fail, stop or die: never `done`, never left `queued`/`running`, always audited.

A crawl that fetched nothing of the site, or could not start, ends `failed` with the reason in
`Crawl.error`; `leakwatch crawl` exits non-zero naming the reason and the log file. A crawl
stopped by the launcher (timeout, Ctrl-C) ends `failed` and audited as interrupted, one that
died as failed. Every crawl's audit trail holds exactly one finishing event.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from crawler.launch import CrawlError, add_source, run_crawl
from office.cli import app
from store.models import CrawlStatus, Listing, ListingRow, ListingStatus, Source
from store.runtime import Store
from tests.crawler.conftest import crawl_endings, crawl_row, last_crawl, server_log

TOO_LONG = "/takedown/?q=" + "a" * 2100


@pytest.mark.parametrize(
    ("name", "path", "local", "why"),
    [
        # a source not marked local, on a loopback address: the guard refuses every request
        ("not-local", "/takedown/", False,
         "refused: 127.0.0.1 resolves to a non-public address, 127.0.0.1 (loopback)"),
        ("no-such-host", "http://no-such-host.invalid/", False, "DNS lookup failed"),
        ("too-long", TOO_LONG, True,
         "1 start URL(s) longer than the 2083-character limit (URLLENGTH_LIMIT)"),
    ],
    ids=["not-local", "no-such-host", "too-long"],
)  # fmt: skip
def test_a_crawl_that_fetches_nothing_fails_and_says_why(
    env: dict[str, str], store: Store, broker_web: str, name: str, path: str, local: bool,
    why: str,
) -> None:  # fmt: skip
    url = path if path.startswith("http") else broker_web + path
    add_source(store, name, [url], actor="t", is_local=local)
    r = CliRunner().invoke(app, ["crawl", name])
    out = " ".join(r.output.split())
    crawl = last_crawl(store, name)
    log = Path(env["LEAKWATCH_HOME"]) / "logs" / f"crawl-{crawl.id}.log"
    assert r.exit_code == 2 and "Traceback" not in r.output, r.output
    assert f"crawl {crawl.id} failed: nothing could be fetched:" in out and why in out
    assert f"(log {log})" in out and log.exists()
    assert crawl.status == CrawlStatus.FAILED and crawl.error and why in crawl.error
    (ending,) = crawl_endings(store, crawl.id)
    assert ending.action == "crawl.failed" and ending.reason == crawl.error


def test_a_failed_crawl_never_concludes_a_takedown(store: Store, broker_web: str) -> None:
    """Seen once, then unreachable (here: no longer allowed on a loopback address): the
    listing must stay active with all its rows, not be taken for removed."""
    add_source(store, "td-then-refused", [broker_web + "/takedown/"], actor="t", is_local=True)
    first = run_crawl(store, "td-then-refused", actor="t", timeout=60).summary
    assert first.rows_new > 10 and first.error is None
    with store.sessions.begin() as s:
        src = s.scalars(select(Source).where(Source.name == "td-then-refused")).one()
        src.is_local = False
    second = run_crawl(store, "td-then-refused", actor="t", timeout=60).summary
    assert second.error.startswith("nothing could be fetched")
    assert second.complete is False and second.removals_checked is False
    with store.sessions() as s:
        listing = s.scalars(select(Listing)).one()
        assert listing.status == ListingStatus.ACTIVE and listing.row_count == first.rows_new
        assert s.scalars(select(ListingRow).where(ListingRow.gone_at.is_not(None))).all() == []


def test_blank_source_names_are_refused(env: dict[str, str], store: Store) -> None:
    for name in ("", " ", "\t", " padded", "esc\x1b[31m"):
        with pytest.raises(CrawlError, match=r"source needs a name|may not start or end"):
            add_source(store, name, ["http://example.com/"], actor="t")
    runner = CliRunner()
    r = runner.invoke(app, ["source", "add", "", "http://example.com/"])
    assert r.exit_code == 2 and "a source needs a name" in r.output, r.output
    for blank in ("", "  "):
        r = runner.invoke(app, ["crawl", blank])
        assert r.exit_code == 2 and "give the name of a source" in r.output, r.output
        assert "Traceback" not in r.output
    with store.sessions() as s:
        assert s.scalars(select(Source)).all() == []


def test_a_crawl_that_cannot_start_fails_with_the_reason(store: Store, broker_web: str) -> None:
    add_source(store, "starts", [broker_web + "/takedown/"], actor="t", is_local=True)
    # the crawl process looks for a source that is not there (as if deleted meanwhile)
    gone = run_crawl(
        store, "starts", actor="t", timeout=60, extra_settings={"LEAKWATCH_SOURCE": "gone"}
    )
    assert "the crawl could not start: unknown source 'gone'" in gone.summary.error
    # Scrapy itself cannot start: its log file cannot be opened
    broken = run_crawl(
        store, "starts", actor="t", timeout=60,
        extra_settings={"LOG_FILE": str(Path(store.settings.home) / "no-such-dir" / "x.log")},
    )  # fmt: skip
    assert broken.returncode == 1
    assert broken.summary.error.startswith("scrapy exited with code 1")
    for result in (gone, broken):
        crawl = crawl_row(store, result.crawl_id)
        assert crawl.status == CrawlStatus.FAILED and crawl.error == result.summary.error
        (ending,) = crawl_endings(store, result.crawl_id)
        assert (ending.action, ending.actor, ending.reason) == ("crawl.failed", "t", crawl.error)


def _slow_source(store: Store, base: str, name: str) -> None:
    add_source(store, name, [base + "/slow/?s=1"], actor="t", is_local=True, options={"depth": 50})


def test_a_timeout_stops_the_crawl_and_records_it_interrupted(
    store: Store, broker_web: str
) -> None:
    _slow_source(store, broker_web, "slow-timeout")
    result = run_crawl(store, "slow-timeout", actor="t", timeout=8)
    error = result.summary.error
    # the crawl closed itself on the signal: what it had fetched is recorded
    assert error.startswith("timed out after 8 s: stopped by a signal after"), error
    assert result.summary.pages >= 2 and result.summary.complete is False
    crawl = crawl_row(store, result.crawl_id)
    assert crawl.status == CrawlStatus.FAILED and crawl.error == error
    (ending,) = crawl_endings(store, result.crawl_id)
    assert (ending.action, ending.actor) == ("crawl.interrupted", "crawler")

    # stopped before the crawl process was even running: the launcher records it
    early = run_crawl(store, "slow-timeout", actor="t", timeout=0.2)
    assert early.summary.error == "timed out after 0.2 s: the crawl was stopped"
    crawl = crawl_row(store, early.crawl_id)
    assert crawl.status == CrawlStatus.FAILED and crawl.error == early.summary.error
    (ending,) = crawl_endings(store, early.crawl_id)
    assert (ending.action, ending.actor) == ("crawl.interrupted", "t")


def _wait_for_slow_hit(base: str, since: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if any(h["path"] == "/slow/" for h in server_log(base, since)[1]):
            return
        time.sleep(0.2)
    raise AssertionError("the crawl never reached the slow page")


def _crawl_processes(source: str) -> list[psutil.Process]:
    mine = psutil.Process().children(recursive=True)
    return [p for p in mine if f"LEAKWATCH_SOURCE={source}" in " ".join(p.cmdline())]


def test_ctrl_c_in_the_launcher_stops_the_crawl_and_records_it(
    env: dict[str, str], store: Store, broker_web: str
) -> None:
    _slow_source(store, broker_web, "slow-ctrl-c")
    mark, _ = server_log(broker_web)
    launcher = subprocess.Popen(  # the `leakwatch crawl` command, as run from a shell
        [sys.executable, "-m", "office", "crawl", "slow-ctrl-c"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        _wait_for_slow_hit(broker_web, mark)
        launcher.send_signal(signal.SIGINT)
        _, err = launcher.communicate(timeout=90)
    finally:
        launcher.kill()
    crawl = last_crawl(store, "slow-ctrl-c")
    err = " ".join(err.split())
    assert launcher.returncode == 130 and "Traceback" not in err, err
    assert f"crawl {crawl.id}: interrupted (Ctrl-C): stopped by a signal after" in err
    assert f"crawl-{crawl.id}.log" in err
    assert crawl.status == CrawlStatus.FAILED and crawl.error is not None
    assert crawl.error.startswith("interrupted (Ctrl-C): stopped by a signal after")
    (ending,) = crawl_endings(store, crawl.id)
    assert ending.action == "crawl.interrupted"
    assert _crawl_processes("slow-ctrl-c") == []  # the scrapy process is gone too


def test_a_crawl_process_that_dies_is_recorded_failed(store: Store, broker_web: str) -> None:
    _slow_source(store, broker_web, "slow-dies")
    mark, _ = server_log(broker_web)
    with ThreadPoolExecutor(1) as pool:
        running = pool.submit(run_crawl, store, "slow-dies", actor="t", timeout=120)
        _wait_for_slow_hit(broker_web, mark)
        (child,) = _crawl_processes("slow-dies")
        os.kill(child.pid, signal.SIGKILL)
        result = running.result(timeout=60)
    assert result.returncode == -signal.SIGKILL
    assert result.summary.error == "the scrapy process was killed (SIGKILL)"
    crawl = crawl_row(store, result.crawl_id)
    assert crawl.status == CrawlStatus.FAILED and crawl.error == result.summary.error
    (ending,) = crawl_endings(store, result.crawl_id)
    assert (ending.action, ending.actor) == ("crawl.failed", "t")
