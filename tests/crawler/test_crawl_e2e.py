"""End to end: fixture broker web -> `scrapy crawl` subprocess -> evidence and rows in the store.

One crawl of the whole fixture web (every shape) is shared by the module's checks; the
extraction of every shape is measured against the synth ground truth.
"""

from __future__ import annotations

import urllib.request
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from crawler.evidence import iter_records, verify
from crawler.fields import RECORD_FIELDS
from crawler.launch import CrawlResult, add_source, run_crawl
from store.models import (
    CandidateMatch,
    Decision,
    EvidenceCapture,
    Listing,
    ListingRow,
    WatchlistPerson,
)
from store.runtime import Store
from synth.broker_web import FIELDS, SCRIPT_SHAPES, Fixture, build_fixture
from tests.crawler.conftest import crawl_endings, crawl_row, flip_byte
from tests.crawler.shapes import figures, report, rows_by_shape


@pytest.fixture(scope="module")
def fixture_data() -> Fixture:
    return build_fixture()


@pytest.fixture(scope="module")
def crawled(
    module_store: Store, broker_web: str, fixture_data: Fixture, tmp_path_factory: Any
) -> CrawlResult:
    from store.watchlist_import import import_watchlist
    from synth.csvio import write_csv
    from synth.watchlist import WATCHLIST_COLUMNS

    path = tmp_path_factory.mktemp("wl") / "watchlist.csv"
    write_csv(fixture_data.watchlist, path, WATCHLIST_COLUMNS)
    import_watchlist(module_store.sessions, module_store.vault, path, actor="test")
    add_source(
        module_store,
        "fixture",
        [broker_web + "/"],
        actor="test",
        is_local=True,
        # the trap hosts are "allowed domains" so that only the address guard stands in the way
        options={
            "allowed_domains": ["127.0.0.1", "169.254.169.254", "10.0.0.1"],
            "max_response_bytes": 2 * 1024 * 1024,
        },
    )
    result = run_crawl(module_store, "fixture", actor="test", timeout=120)
    assert result.returncode == 0, result.log_path.read_text()[-3000:]
    return result


def test_every_shape_extracted_with_every_field_in_its_column(
    crawled: CrawlResult, module_store: Store, broker_web: str, fixture_data: Fixture
) -> None:
    """Every shape but the script-only one (read by the browser, test_crawl_browser) is read
    whole, every field in its column, without spurious rows; the script-only page gives none
    (nothing on it runs)."""
    assert FIELDS == RECORD_FIELDS
    figs = figures(rows_by_shape(module_store, broker_web), fixture_data)
    print(report("extraction without a browser (exact rows / published, per field):", figs))
    for shape, fig in figs.items():
        if shape in SCRIPT_SHAPES:
            assert fig.extracted == 0, (shape, fig)
            continue
        assert fig.exact / fig.published >= 0.99, (shape, fig)
        assert fig.extracted <= fig.published, (shape, "spurious rows", fig)


def test_each_response_is_read_by_the_reader_its_content_calls_for(
    crawled: CrawlResult, broker_web: str
) -> None:
    """Content decides: raw .txt pastes (text/plain, octet-stream, no extension) are label
    blocks, the .csv a delimited table, the workbook XLSX, pages HTML."""
    reads = {r["url"].removeprefix(broker_web): r for r in crawled.summary.reads}
    for path in ("/pastes/raw/k3Vd9.txt", "/pastes/raw/Qm72x.txt", "/pastes/raw/pZ04t"):
        assert reads[path]["reader"] == "text-blocks", reads[path]
    assert reads["/catalog/files/sample.csv"]["reader"] == "delimited"
    assert reads["/catalog/files/sample.xlsx"]["reader"] == "xlsx"
    assert reads["/paste/raw/x7Kq2"]["reader"] == "html-pre"
    assert reads["/catalog/item/1.html"]["reader"] == "html-table"
    assert crawled.summary.readers["text-blocks"] == 3
    assert crawled.summary.rendered == 0  # a source not marked --javascript runs nothing


def test_crawl_summary_and_crawl_row(crawled: CrawlResult, module_store: Store) -> None:
    s = crawled.summary
    assert s.finish_reason == "finished" and s.complete is True
    assert s.outcome == "finished" and s.error is None
    assert s.pages >= 20 and s.captures == s.pages
    # 9 shapes read (the liar has two pages, the paste site three files) + the hostile page
    assert s.listings_new == 13
    assert s.records >= 1400
    crawl = crawl_row(module_store, crawled.crawl_id)
    assert crawl.status.value == "done" and crawl.error is None and crawl.pages == s.pages
    (ending,) = crawl_endings(module_store, crawled.crawl_id)
    assert ending.action == "crawl.finished" and ending.actor == "crawler"
    assert ending.details["pages"] == s.pages and ending.details["rows_new"] == s.rows_new


def test_no_remote_console_in_the_crawl_process(crawled: CrawlResult) -> None:
    """Scrapy's telnet console and its HTTP remote control (on by default since 2.19) would
    run code sent to them inside the process that holds the master key: neither is loaded."""
    log = crawled.log_path.read_text(encoding="utf-8", errors="replace")
    enabled = log.split("Enabled extensions:", 1)[1].split("]", 1)[0]
    assert "crawler.context.CrawlFinisher" in enabled  # the list the crawl really loaded
    assert "RemoteControl" not in enabled and "TelnetConsole" not in enabled
    assert "Remote control HTTP server" not in log and "Telnet console listening" not in log
    assert "'REMOTE_CONTROL_ENABLED': False" in log and "'TELNETCONSOLE_ENABLED': False" in log


def test_robots_disallowed_path_never_fetched(crawled: CrawlResult, broker_web: str) -> None:
    assert crawled.summary.robots_forbidden >= 1
    url = f"{broker_web}/_control/hits?path=/meibo/private/full.html"
    with urllib.request.urlopen(url, timeout=5) as resp:  # the server's own count
        assert resp.read() == b"0"


def test_redirects_to_private_addresses_refused(
    crawled: CrawlResult, module_store: Store, broker_web: str
) -> None:
    refused = {r["url"]: r for r in crawled.summary.refused}
    for target in (
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/admin",
        "http://127.0.0.1:9/private",
    ):
        assert target in refused, refused
        assert refused[target]["redirected_from"].startswith(broker_web + "/trap/")
        assert "non-public address" in refused[target]["reason"]
    with module_store.sessions() as s:
        urls = set(s.scalars(select(EvidenceCapture.url)))
        statuses = {
            u: st for u, st in s.execute(select(EvidenceCapture.url, EvidenceCapture.http_status))
        }
    private = ("http://169.254", "http://10.", "http://127.0.0.1:9/")
    assert not any(u.startswith(private) for u in urls)
    assert statuses[f"{broker_web}/trap/metadata"] == 302  # the redirect itself is evidence


def test_oversized_response_cut_with_reason(
    crawled: CrawlResult, module_store: Store, broker_web: str
) -> None:
    (cut,) = crawled.summary.truncated
    assert cut["url"] == f"{broker_web}/trap/big.html"
    assert "2097152-byte limit" in cut["reason"]
    with module_store.sessions() as s:
        cap = s.execute(
            select(EvidenceCapture).where(EvidenceCapture.url == cut["url"])
        ).scalar_one()
    assert cap.truncated and cap.truncation_reason == cut["reason"]
    assert 2 * 1024 * 1024 <= cap.size < 5 * 1024 * 1024
    headers_ok = {
        uri: payload for uri, payload in iter_records(Path(cap.warc_path)) if uri == cut["url"]
    }
    assert len(headers_ok[cut["url"]]) == cap.size


def test_every_row_points_to_its_evidence(crawled: CrawlResult, module_store: Store) -> None:
    with module_store.sessions() as s:
        missing = s.scalar(
            select(func.count()).select_from(ListingRow).where(ListingRow.evidence_id.is_(None))
        )
        assert missing == 0
        q = select(Listing.url, EvidenceCapture.url).select_from(ListingRow)
        q = q.join(Listing).join(EvidenceCapture, ListingRow.evidence_id == EvidenceCapture.id)
        for listing_url, capture_url in s.execute(q.limit(2000)):
            assert capture_url.split("?")[0] == listing_url.split("?")[0]


def test_evidence_verification_catches_a_changed_byte(
    crawled: CrawlResult, module_store: Store
) -> None:
    with module_store.sessions() as s:
        report = verify(s)
        assert report.ok, report.problems[:3]
        assert report.checked == crawled.summary.captures
        cap = s.execute(
            select(EvidenceCapture).where(EvidenceCapture.url.like("%/catalog/item/1.html"))
        ).scalar_one()
        warc = Path(cap.warc_path)
        flip_byte(warc, cap.warc_offset + cap.warc_length // 2)
        try:
            bad = verify(s)
            assert [p.capture_id for p in bad.problems] == [cap.id]
        finally:
            flip_byte(warc, cap.warc_offset + cap.warc_length // 2)
        assert verify(s).ok


def test_no_personal_data_in_the_crawl_log(crawled: CrawlResult, fixture_data: Fixture) -> None:
    log = crawled.log_path.read_text(encoding="utf-8", errors="replace")
    for row in fixture_data.shapes["catalog_headed_table"][:50]:
        for f in ("name", "address", "phone"):
            if len(row[f]) >= 6:
                assert row[f] not in log


def test_new_rows_become_candidate_matches(
    crawled: CrawlResult, module_store: Store, fixture_data: Fixture
) -> None:
    """The crawl hands its rows to the matcher; the matches are the people really published."""
    assert crawled.summary.matching is not None
    assert crawled.summary.matching.status == "matched", crawled.summary.matching
    published = {rid for ids in fixture_data.row_ids.values() for rid in ids}
    positives = {
        t["record_id"] for t in fixture_data.truth if t["row_id"] in published and t["record_id"]
    }
    with module_store.sessions() as s:
        matched = set(
            s.scalars(
                select(WatchlistPerson.record_ref)
                .join(CandidateMatch, CandidateMatch.person_id == WatchlistPerson.id)
                .where(CandidateMatch.decision == Decision.MATCH)
            )
        )
    assert matched <= positives, f"matched people never published: {len(matched - positives)}"
    assert len(matched) >= 0.9 * len(positives), (len(matched), len(positives))
