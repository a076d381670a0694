"""Sources marked --javascript: pages rendered in headless Chromium (Debian's chromium through
Playwright), with every request of the page fetched by the crawl itself.

One crawl of the whole fixture web with rendering on is shared by the module's first checks
(every shape, the script-only one included, against the ground truth; evidence of what was
shown); the browser's safety has crawls of its own: a page whose script requests another
port, the metadata address and names that resolve to loopback, and pages that loop, open
popups, ask for permissions and grow without end. Real servers on 127.0.0.1, real Chromium.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
from sqlalchemy import select

from crawler.evidence import RENDERED_TYPE, read_record, verify
from crawler.launch import CrawlResult, add_source, run_crawl
from store.models import EvidenceCapture, Listing, ListingRow
from store.runtime import Store
from store.sealed import LISTING_ROW_PII
from synth.broker_web import Fixture, build_fixture, running
from tests.crawler.conftest import flip_byte, need_browser, server_log
from tests.crawler.shapes import figures, report, rows_by_shape

FAST = {"LEAKWATCH_BROWSER_PAGE_TIMEOUT_S": "8"}


@pytest.fixture(scope="module")
def browser() -> None:
    need_browser()


@pytest.fixture(scope="module")
def fixture_data() -> Fixture:
    return build_fixture()


@pytest.fixture(scope="module")
def js_crawled(
    browser: None, module_store: Store, broker_web: str
) -> tuple[CrawlResult, list[dict[str, Any]]]:
    """The whole fixture web crawled with rendering on, and what the server saw of it."""
    mark, _ = server_log(broker_web)
    add_source(
        module_store, "fixture-js", [broker_web + "/"], actor="test", is_local=True,
        # the trap hosts are "allowed domains": only the address guard stands in the way
        options={
            "javascript": True, "allowed_domains": ["127.0.0.1", "169.254.169.254", "10.0.0.1"],
            "max_response_bytes": 2 * 1024 * 1024,
        },
    )  # fmt: skip
    result = run_crawl(module_store, "fixture-js", actor="test", timeout=300, extra_settings=FAST)
    assert result.returncode == 0, result.log_path.read_text()[-3000:]
    return result, server_log(broker_web, mark)[1]


def test_every_shape_read_with_the_browser_the_script_only_one_too(
    js_crawled: tuple[CrawlResult, Any], module_store: Store, broker_web: str,
    fixture_data: Fixture,
) -> None:  # fmt: skip
    figs = figures(rows_by_shape(module_store, broker_web), fixture_data)
    print(report("extraction with the browser (exact rows / published, per field):", figs))
    for shape, fig in figs.items():
        assert fig.exact / fig.published >= 0.99, (shape, fig)
        assert fig.extracted <= fig.published, (shape, "spurious rows", fig)
    s = js_crawled[0].summary
    assert s.outcome == "finished" and s.complete and s.render_errors == []


def test_the_script_only_pager_is_clicked_through(
    js_crawled: tuple[CrawlResult, list[dict[str, Any]]], broker_web: str, fixture_data: Fixture
) -> None:
    """The next pages exist only behind a 次へ button the script makes: each is clicked, its
    data fetched (by the crawl), and each state read, all as one listing."""
    result, hits = js_crawled
    pages = -(-len(fixture_data.shapes["script_only"]) // 20)
    assert pages >= 3
    spa = [r for r in result.summary.reads if r["url"] == broker_web + "/spa/list"]
    assert [r["reader"] for r in spa] == ["rendered-html-table"] * pages
    data = sorted(h["query"] for h in hits if h["path"] == "/spa/data")
    assert data == sorted(f"page={n}" for n in range(2, pages + 1))


def test_every_request_the_browser_needed_was_made_by_the_crawl(
    js_crawled: tuple[CrawlResult, list[dict[str, Any]]], module_store: Store
) -> None:
    """The server saw only the crawler's User-Agent: Chromium itself fetched nothing."""
    _, hits = js_crawled
    agents = {h["user_agent"] for h in hits}
    assert agents == {module_store.settings.crawler_user_agent}, agents
    assert any(h["path"] == "/spa/data" for h in hits)  # a script's fetch, made by the crawl


def _spa_captures(store: Store) -> list[tuple[dict[str, str], EvidenceCapture]]:
    with store.sessions() as s:
        q = (
            select(ListingRow, EvidenceCapture)
            .join(Listing)
            .join(EvidenceCapture, ListingRow.evidence_id == EvidenceCapture.id)
            .where(Listing.key == "/spa/list")
        )
        return [(store.vault.open_json(row.pii, LISTING_ROW_PII), cap) for row, cap in s.execute(q)]


def test_rows_point_to_the_rendered_dom_linked_to_its_page(
    js_crawled: tuple[CrawlResult, Any], module_store: Store, broker_web: str
) -> None:
    """What was shown can be proven: each row of the script-only list points to a rendered-DOM
    record holding it, which refers to the record of the page's raw response."""
    rows = _spa_captures(module_store)
    assert rows
    with module_store.sessions() as s:
        raw = s.execute(
            select(EvidenceCapture).where(
                EvidenceCapture.url == broker_web + "/spa/list",
                EvidenceCapture.http_status == 200,
            )
        ).scalar_one()
    raw_headers, raw_body, _ = read_record(raw.warc_path, raw.warc_offset, raw.warc_length)
    assert raw_headers["WARC-Type"] == "response" and b"<table" not in raw_body
    for pii, cap in rows:
        assert cap.content_type == RENDERED_TYPE and cap.http_status is None
        headers, dom, ok = read_record(cap.warc_path, cap.warc_offset, cap.warc_length)
        assert ok and headers["WARC-Type"] == "conversion"
        assert headers["WARC-Refers-To"] == raw_headers["WARC-Record-ID"]
        assert headers["WARC-Refers-To-Target-URI"] == broker_web + "/spa/list"
        assert html.escape(pii["name"], quote=False).encode() in dom


def test_evidence_verify_covers_rendered_records(
    js_crawled: tuple[CrawlResult, Any], module_store: Store
) -> None:
    result, _ = js_crawled
    _, cap = _spa_captures(module_store)[-1]
    with module_store.sessions() as s:
        report_ = verify(s, [result.crawl_id])
        assert report_.ok, report_.problems[:3]
        assert report_.checked == result.summary.captures > result.summary.pages
        at = cap.warc_offset + cap.warc_length // 2
        flip_byte(Path(cap.warc_path), at)
        try:
            assert [p.capture_id for p in verify(s, [result.crawl_id]).problems] == [cap.id]
        finally:
            flip_byte(Path(cap.warc_path), at)
        assert verify(s, [result.crawl_id]).ok


def test_a_script_sending_the_browser_to_a_private_address_is_refused(
    js_crawled: tuple[CrawlResult, Any], broker_web: str
) -> None:
    """The hostile page's script sets location to the metadata address: the browser stays,
    the crawl follows it as a link, and the address guard refuses it, naming the page."""
    result, _ = js_crawled
    refused = [r for r in result.summary.refused if r["url"] == "http://169.254.169.254/"]
    assert refused and refused[0]["requested_by"] == broker_web + "/hostile/"
    assert "(link-local)" in refused[0]["reason"]
    hostile = [r for r in result.summary.reads if r["url"] == broker_web + "/hostile/"]
    assert {r["reader"] for r in hostile} == {"rendered-html", "html-table"}
    log = result.log_path.read_text(encoding="utf-8", errors="replace")
    assert "browser closed:" in log  # one context for the crawl, closed at its end


def _probe(broker_web: str, targets: list[str]) -> str:
    return broker_web + "/jsprobe/?" + urlencode([("u", t) for t in targets])


def test_a_rendered_pages_requests_cannot_reach_private_addresses(
    browser: None, store: Store, broker_web: str
) -> None:
    """A page's script asks (fetch, XHR, beacon, WebSocket) for another port of the same
    machine, the metadata address, and names resolving to loopback: no request reaches its
    server (the other server's own log), and each refusal is recorded with the page."""
    with running(seed=7) as other:
        port = urlsplit(other).port
        targets = [
            f"http://127.0.0.1:{port}/probe-a", "http://169.254.169.254/latest/meta-data/",
            f"http://localhost:{port}/probe-b", f"http://lw-probe.localhost:{port}/probe-c",
        ]  # fmt: skip
        page = _probe(broker_web, targets)
        mark, _ = server_log(other)
        add_source(store, "probe", [page], actor="t", is_local=True, options={"javascript": True})
        s = run_crawl(store, "probe", actor="t", timeout=120, extra_settings=FAST).summary
        assert server_log(other, mark)[1] == []
    assert s.outcome == "finished" and s.records == 2  # the page itself was rendered and read
    refused = {r["url"]: r for r in s.refused if "requested_by" in r}
    for target in targets:
        assert target in refused, (target, s.refused)
        assert refused[target]["requested_by"] == page
        assert "non-public address" in refused[target]["reason"]
    # the WebSockets (never routed by the browser) went to the sink proxy, refused there
    sink = {r["url"] for r in s.browser_blocked if "sink proxy" in r["reason"]}
    assert sink >= {f"127.0.0.1:{port}", f"localhost:{port}"}, s.browser_blocked
    with store.sessions() as session:
        urls = list(session.scalars(select(EvidenceCapture.url)))
    assert not any(urlsplit(u).port == port or urlsplit(u).hostname == "169.254.169.254"
                   for u in urls)  # fmt: skip


def test_a_rendered_page_cannot_use_a_name_that_rebinds_to_loopback(
    browser: None, store: Store, broker_web: str
) -> None:
    """With the address guard middleware taken out, the downloader's own resolver still
    refuses, on the address connected to, what the page's script asks of 'localhost' on
    another port (DNS rebinding: a name checked once and resolved again)."""
    no_guard = {
        **FAST,
        "DOWNLOADER_MIDDLEWARES": json.dumps(
            {
                "crawler.safety.AddressGuardMiddleware": None,
                "crawler.evidence.EvidenceMiddleware": 950,
            }
        ),
    }
    with running(seed=7) as other:
        port = urlsplit(other).port
        page = _probe(broker_web, [f"http://localhost:{port}/rebind"])
        mark, _ = server_log(other)
        add_source(store, "rebind-js", [page], actor="t", is_local=True,
                   options={"javascript": True})  # fmt: skip
        s = run_crawl(store, "rebind-js", actor="t", timeout=120, extra_settings=no_guard).summary
        assert server_log(other, mark)[1] == []
    assert s.records == 2
    at_connect = [r for r in s.refused if r["url"] == f"localhost:{port}"]
    assert at_connect and "at connect time to a non-public address" in at_connect[0]["reason"]


def test_hostile_scripts_are_contained(browser: None, store: Store, broker_web: str) -> None:
    """A page that loops for ever, one that opens a popup, asks for notifications and the
    location, registers a service worker and starts a download, one whose DOM grows past the
    size limit: the crawl ends, each within its budget, and nothing escapes the crawl."""
    mark, _ = server_log(broker_web)
    add_source(
        store, "hostile-js", [broker_web + "/jshostile/"], actor="t", is_local=True,
        options={"javascript": True, "max_response_bytes": 2 * 1024 * 1024},
    )  # fmt: skip
    result = run_crawl(store, "hostile-js", actor="t", timeout=180,
                       extra_settings={"LEAKWATCH_BROWSER_PAGE_TIMEOUT_S": "5"})  # fmt: skip
    s = result.summary
    hits = server_log(broker_web, mark)[1]
    assert s.outcome == "finished" and s.error is None
    errors = {r["url"].removeprefix(broker_web): r["reason"] for r in s.render_errors}
    assert errors == {"/jshostile/loop": "render timed out"}
    cut = {r["url"].removeprefix(broker_web): r["reason"] for r in s.truncated}
    assert "rendered DOM larger than 2097152 bytes" in cut["/jshostile/huge"]
    paths = {h["path"] for h in hits}
    assert "/jshostile/popup-target" not in paths and "/jshostile/sw.js" not in paths
    assert {h["user_agent"] for h in hits} == {store.settings.crawler_user_agent}
    with store.sessions() as session:
        cap = session.execute(
            select(EvidenceCapture).where(
                EvidenceCapture.url == broker_web + "/jshostile/popup",
                EvidenceCapture.content_type == RENDERED_TYPE,
            )
        ).scalar_one()
    _, dom, _ = read_record(cap.warc_path, cap.warc_offset, cap.warc_length)
    for said in (b"notification:denied", b"geo:denied"):
        assert said in dom, dom[-600:]
    assert s.records == 1  # the popup page's one line, read from its rendered DOM


def test_a_javascript_source_without_chromium_is_refused_before_it_starts(
    tmp_path: Path,
) -> None:
    from crawler.launch import CrawlError, check_browser

    with pytest.raises(CrawlError, match=r"apt-get install chromium"):
        check_browser(str(tmp_path / "no-chromium"))
