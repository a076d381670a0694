"""Crawls of single fixture sites: takedown tracking, hostile content, non-local refusal, CLI."""

from __future__ import annotations

import csv
import json
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from rich.console import Console
from sqlalchemy import select
from typer.testing import CliRunner

from crawler.display import csv_safe, html_safe, terminal_safe
from crawler.launch import add_source, run_crawl
from crawler.tables import MAX_CELL_CHARS, TRUNCATED_MARK
from office.cli import app
from store.models import Listing, ListingRow, ListingStatus
from store.runtime import Store
from store.sealed import LISTING_ROW_PII
from synth.broker_web import build_fixture
from tests.crawler.conftest import flip_byte, server_log


def _control(base: str, mode: str) -> None:
    with urllib.request.urlopen(f"{base}/_control/takedown?mode={mode}", timeout=5) as r:
        assert r.read() == mode.encode()


def _listing(store: Store) -> Listing:
    with store.sessions() as s:
        return s.execute(select(Listing)).scalar_one()


def test_takedown_shrink_remove_and_return_are_tracked(store: Store, broker_web: str) -> None:
    add_source(store, "td", [broker_web + "/takedown/"], actor="t", is_local=True)
    try:
        first = run_crawl(store, "td", actor="t", timeout=60).summary
        listing = _listing(store)
        full = listing.row_count
        assert listing.status == ListingStatus.ACTIVE and full == first.rows_new > 10

        _control(broker_web, "shrink")
        second = run_crawl(store, "td", actor="t", timeout=60).summary
        listing = _listing(store)
        assert listing.status == ListingStatus.SHRUNK and listing.row_count == full // 2
        assert second.rows_gone == full - full // 2 and second.rows_new == 0
        assert second.listings_shrunk == [listing.id]

        _control(broker_web, "remove")
        third = run_crawl(store, "td", actor="t", timeout=60).summary
        listing = _listing(store)
        assert third.listings_removed == [listing.id]
        assert listing.status == ListingStatus.REMOVED and listing.removed_at is not None
        with store.sessions() as s:
            still = s.scalars(select(ListingRow).where(ListingRow.gone_at.is_(None))).all()
        assert still == []
        assert listing.first_seen < listing.last_seen
    finally:
        _control(broker_web, "restore")
    fourth = run_crawl(store, "td", actor="t", timeout=60).summary
    listing = _listing(store)
    assert fourth.listings_back == [listing.id] and listing.status == ListingStatus.ACTIVE
    # the same rows are recognised again (by fingerprint), not added as new ones
    assert fourth.rows_again == full and fourth.rows_new == 0
    with store.sessions() as s:
        assert s.scalars(select(ListingRow).where(ListingRow.gone_at.is_not(None))).all() == []


def test_hostile_content_stored_as_text_and_shown_safely(
    store: Store, broker_web: str, tmp_path: Path
) -> None:
    add_source(store, "hostile", [broker_web + "/hostile/"], actor="t", is_local=True)
    result = run_crawl(store, "hostile", actor="t", timeout=60)
    assert result.returncode == 0 and result.summary.complete
    with store.sessions() as s:
        rows = [
            store.vault.open_json(r.pii, LISTING_ROW_PII) for r in s.scalars(select(ListingRow))
        ]
    names = {r["name"] for r in rows}
    # a real <script> is dropped unread; an escaped one is only text; event handlers vanish
    assert "危険 太郎" in names and "画像 花子" in names
    assert "<script>alert(1)</script>" in names
    assert not any("alert('name')" in r["name"] or "onerror" in r["name"] for r in rows)
    # broken tables: unclosed cells and rows are still rows, in the right columns
    by_name = {r["name"]: r for r in rows}
    assert by_name["壊れ 表"]["phone"] == "011-222-3333"
    assert by_name["閉じない 行"]["address"] == "福岡県福岡市中央区天神1-1-1"
    # a giant cell is cut, and says so
    giant = by_name["巨大 セル"]["address"]
    assert len(giant) == MAX_CELL_CHARS + len(TRUNCATED_MARK) and giant.endswith(TRUNCATED_MARK)
    # control characters (terminal escapes) never reach the store
    marked = next(r for r in rows if "markup" in r["name"])
    assert "\x1b" not in marked["name"]
    # shown safely: terminal, CSV, HTML
    console = Console(record=True, width=200)
    console.print(terminal_safe(marked["name"]))
    assert "[bold red]markup[/]" in console.export_text()
    assert csv_safe(marked["address"]).startswith("'=")
    assert csv_safe("+81-3-1234-5678") == "+81-3-1234-5678"
    assert html_safe("<script>alert(1)</script>") == "&lt;script&gt;alert(1)&lt;/script&gt;"
    # and the export a spreadsheet may open carries no live formula
    out = tmp_path / "rows.csv"
    res = CliRunner().invoke(app, ["rows", "export", "--source", "hostile", "--out", str(out)])
    assert res.exit_code == 0, res.output
    with out.open(encoding="utf-8") as f:
        cells = [c for row in csv.reader(f) for c in row]
    assert not any(c.startswith(("=", "@")) for c in cells)
    assert out.stat().st_mode & 0o777 == 0o600


def test_a_source_not_marked_local_cannot_reach_loopback(store: Store, broker_web: str) -> None:
    add_source(store, "outside", [broker_web + "/"], actor="t", is_local=False)
    mark, _ = server_log(broker_web)
    summary = run_crawl(store, "outside", actor="t", timeout=60).summary
    assert summary.pages == 0 and summary.records == 0
    assert summary.refused
    assert "non-public address, 127.0.0.1 (loopback)" in summary.refused[0]["reason"]
    assert summary.error.startswith("nothing could be fetched")  # a failed crawl
    assert server_log(broker_web, mark)[1] == []  # not even robots.txt reached the server


def _hits(base: str, path: str) -> int:
    with urllib.request.urlopen(f"{base}/_control/hits?path={path}", timeout=5) as r:
        return int(r.read())


def test_dns_rebinding_refused_on_the_address_connected_to(store: Store, broker_web: str) -> None:
    """The address guard resolves a name, the downloader resolves it again: a name server can
    answer differently the second time. With the guard middleware taken out, the downloader's
    own resolver (crawler.safety.GuardedResolver) still refuses the loopback address that
    'localhost' resolves to, for a source not marked local, and lets a local source through."""
    port = urlsplit(broker_web).port
    probe = f"http://localhost:{port}/rebind-probe/"
    no_guard = {
        "DOWNLOADER_MIDDLEWARES": json.dumps(
            {
                "crawler.safety.AddressGuardMiddleware": None,
                "crawler.evidence.EvidenceMiddleware": 950,
            }
        )
    }
    add_source(store, "rebind", [probe], actor="t", is_local=False)
    s = run_crawl(store, "rebind", actor="t", timeout=60, extra_settings=no_guard).summary
    assert s.pages == 0 and s.complete is False
    (refused,) = [r for r in s.refused if r["url"] == f"localhost:{port}"]
    assert "at connect time to a non-public address" in refused["reason"]
    assert "127.0.0.1" in refused["reason"] or "::1" in refused["reason"]
    assert _hits(broker_web, "/rebind-probe/") == 0  # the server never saw a connection

    add_source(store, "rebind-local", [probe], actor="t", is_local=True)
    s = run_crawl(store, "rebind-local", actor="t", timeout=60, extra_settings=no_guard).summary
    assert s.pages >= 1 and s.refused == []
    assert _hits(broker_web, "/rebind-probe/") == 1


def test_cli_source_crawl_export_and_evidence_verify(
    env: dict[str, str], broker_web: str, tmp_path: Path
) -> None:
    runner = CliRunner()
    r = runner.invoke(
        app, ["source", "add", "cat", broker_web + "/catalog/", "--local", "--depth", "2"]
    )
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["source", "add", "cat", broker_web + "/catalog/"])
    assert r.exit_code == 2 and "exists" in r.output
    r = runner.invoke(app, ["source", "add", "bad", "file:///etc/passwd"])
    assert r.exit_code == 2 and "not an http(s) URL" in r.output
    r = runner.invoke(app, ["source", "list"])
    assert r.exit_code == 0 and "cat" in r.output and "never" in r.output

    r = runner.invoke(app, ["crawl", "cat"])
    assert r.exit_code == 0, r.output
    assert "listings: 4 seen, 4 new" in r.output and "evidence:" in r.output
    # who matched the new rows: this process, as no resident matcher runs for this store
    assert "matching: matched (by this process" in " ".join(r.output.split())

    out = tmp_path / "rows.csv"
    r = runner.invoke(app, ["rows", "export", "--source", "cat", "--out", str(out)])
    assert r.exit_code == 0, r.output
    with out.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    shapes = build_fixture().shapes
    catalog = ("catalog_headed_table", "headerless_table", "csv_cp932", "xlsx")
    assert len(rows) == sum(len(shapes[shape]) for shape in catalog)
    assert set(rows[0]) >= {"row_id", "listing_id", "name", "address", "phone"}

    r = runner.invoke(app, ["evidence", "verify"])
    assert r.exit_code == 0 and "all match" in r.output, r.output
    warc = next((Path(env["LEAKWATCH_HOME"]) / "evidence" / "cat").glob("*.warc.gz"))
    flip_byte(warc, warc.stat().st_size - 200)
    r = runner.invoke(app, ["evidence", "verify"])
    assert r.exit_code == 1 and "fail verification" in r.output


def test_proxy_variables_are_not_used_by_crawls(
    store: Store, broker_web: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A proxy resolves names itself, past the address guard: crawls must ignore one.

    The "proxy" is a closed loopback port, so a crawl that used it would fetch nothing.
    """
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "all_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    add_source(store, "via-proxy", [broker_web + "/takedown/"], actor="t", is_local=True)
    summary = run_crawl(store, "via-proxy", actor="t", timeout=60).summary
    assert summary.pages >= 1 and summary.records > 0
