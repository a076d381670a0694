"""`leakwatch demo` is safe to re-run whatever port its fixture web gets.

The demo starts the fixture broker web on port 8765, or on a free port when that one is
taken; the re-crawl must recognise the listings and rows it found before (seen again, not
new), and a taken port must not end in a traceback. The crawl part is checked directly, and
the whole `leakwatch demo` twice as a real process, the second time with its port taken.
"""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import urllib.request
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from office.demo import BROKER_SEED, DEMO_PORT, SOURCE, _broker_web, _crawl
from store.models import AuditEvent, Listing, ListingStatus, Source
from store.runtime import Store
from synth.broker_web import running


def test_the_demo_crawl_recognises_its_rows_when_the_web_moved_port(store: Store) -> None:
    with running(BROKER_SEED) as first, running(BROKER_SEED) as second:
        assert urlsplit(first).port != urlsplit(second).port  # both up: two ports for sure
        one = _crawl(store, first).summary
        two = _crawl(store, second).summary
    assert one.error is None and two.error is None, (one.error, two.error)
    assert (one.listings_new or 0) >= 10 and (one.rows_new or 0) >= 1200
    assert two.rows_new == 0 and two.rows_again == one.rows_new
    assert two.listings_new == 0 and two.listings_removed == [] and two.rows_gone == 0
    with store.sessions() as s:
        listings = s.scalars(select(Listing)).all()
        source = s.scalars(select(Source).where(Source.name == SOURCE)).one()
        moved = s.scalars(select(AuditEvent).where(AuditEvent.action == "source.urls_changed"))
        assert [e.object_id for e in moved] == [str(source.id)]
    assert len(listings) == one.listings_new and {x.status for x in listings} == {
        ListingStatus.ACTIVE
    }
    assert source.start_urls == [second + "/"]


def test_a_taken_demo_port_moves_the_web_to_a_free_one(capfd: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with _broker_web(port) as url:
            assert urlsplit(url).port not in (port, None)
            with urllib.request.urlopen(url + "/robots.txt", timeout=5) as resp:
                assert resp.status == 200
    out, err = capfd.readouterr()
    assert f"port {port} is taken" in out
    assert "Traceback" not in out + err and "Error" not in err, err


def _demo() -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "office", "demo", "--no-serve"],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


CRAWLED = re.compile(r"crawl \d+: \d+ pages, (\d+) new rows, (\d+) seen again")


def test_the_demo_runs_again_with_its_port_taken(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LEAKWATCH_KEY")  # as a newcomer runs it: the key file made by init
    first = _demo()
    assert first.returncode == 0, first.stderr
    found = CRAWLED.search(" ".join(first.stdout.split()))
    assert found is not None and int(found[1]) >= 1200, first.stdout[-2000:]
    with socket.socket() as taken:
        try:
            taken.bind(("127.0.0.1", DEMO_PORT))
            taken.listen()
            held = True
        except OSError:  # another test's demo has it: taken all the same
            held = False
        second = _demo()
    out = " ".join(second.stdout.split())
    assert second.returncode == 0, second.stderr
    assert "Traceback" not in second.stdout + second.stderr
    assert not held or f"port {DEMO_PORT} is taken" in out
    again = CRAWLED.search(out)
    assert again is not None and (again[1], again[2]) == ("0", found[1]), out[-2000:]
    assert "audit chain: intact" in out
