"""`evidence verify` against tampering that keeps the WARC file well formed.

Flipping a byte inside a gzip member makes the record unreadable before any hash is compared;
these tests change the evidence the way someone covering their tracks would: a body edited and
re-written as a valid record (gzip and WARC framing intact, the WARC's own digests recomputed,
the index's offsets updated), a header edited, the file gone, the index pointing at another
URL's record, the file cut short. Each must be caught, for the reason given.

The captures are written by the crawler's own writer (``WarcEvidence``) and recorded the way
``EvidenceMiddleware`` records them, in the test's real database.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select
from warcio.archiveiterator import ArchiveIterator  # type: ignore[import-untyped]
from warcio.statusandheaders import StatusAndHeaders  # type: ignore[import-untyped]

from crawler.evidence import WarcEvidence, _Sha256WarcWriter, read_record, verify
from store.models import Crawl, CrawlStatus, EvidenceCapture, Source, utcnow
from store.runtime import Store

BASE = "http://broker.example"
PAGES = {
    f"{BASE}/meibo/list": "<table><tr><td>試験 太郎</td><td>03-1234-5678</td></tr></table>",
    f"{BASE}/meibo/list?page=2": "<table><tr><td>試験 花子</td><td>06-2345-6789</td></tr></table>",
    f"{BASE}/catalog/": "<ul><li><a href='/meibo/list'>名簿</a></li></ul>",
}


@dataclass
class Captured:
    warc: Path
    ids: dict[str, int]  # capture id by URL


@pytest.fixture
def captured(store: Store, tmp_path: Path) -> Captured:
    with store.sessions.begin() as s:
        src = Source(name="evidence-test", start_urls=[BASE + "/"], options={})
        s.add(src)
        s.flush()
        crawl = Crawl(source_id=src.id, status=CrawlStatus.DONE)
        s.add(crawl)
        s.flush()
        crawl_id = crawl.id
    evidence = WarcEvidence(tmp_path / "evidence", crawl_id, utcnow())
    ids = {}
    with store.sessions.begin() as s:
        for url, page in PAGES.items():
            body = page.encode()
            headers = [("Content-Type", "text/html; charset=utf-8")]
            fetched = utcnow()
            w = evidence.write(url, 200, headers, body, fetched, truncated=False)
            cap = EvidenceCapture(
                crawl_id=crawl_id, url=url, fetched_at=fetched, http_status=200,
                content_type=headers[0][1], sha256=w.sha256, size=w.size, warc_path=w.path,
                warc_offset=w.offset, warc_length=w.length, truncated=False,
            )  # fmt: skip
            s.add(cap)
            s.flush()
            ids[url] = cap.id
    evidence.close()
    return Captured(evidence.path, ids)


def _problems(store: Store) -> dict[int, str]:
    with store.sessions() as s:
        report = verify(s)
    assert report.checked == len(PAGES)
    return {p.capture_id: p.problem for p in report.problems}


def _rewrite(
    store: Store, url: str, body: bytes | None = None, content_type: str | None = None
) -> None:
    """Re-write ``url``'s record as a new, valid gzip member (WARC digests recomputed by
    warcio) unless only a header changes, then the old digests are kept, as a hand edit
    would; every capture after it in the file is moved by the size difference."""
    with store.sessions.begin() as s:
        caps = list(s.scalars(select(EvidenceCapture).order_by(EvidenceCapture.warc_offset)))
        cap = next(c for c in caps if c.url == url)
        path = Path(cap.warc_path)
        data = path.read_bytes()
        old = data[cap.warc_offset : cap.warc_offset + cap.warc_length]
        record = next(iter(ArchiveIterator(io.BytesIO(old))))
        payload = record.raw_stream.read()
        rec_headers, http_headers = record.rec_headers, record.http_headers
        http = StatusAndHeaders(
            http_headers.statusline,
            [(k, content_type if content_type and k == "Content-Type" else v)
             for k, v in http_headers.headers if k.lower() != "content-length"],
            protocol=http_headers.protocol,
        )  # fmt: skip
        out = io.BytesIO()
        writer = _Sha256WarcWriter(out, gzip=True)
        if body is not None:  # a new body: all digests recomputed, as a careful forger would
            keep = {k: rec_headers.get_header(k) for k in ("WARC-Record-ID", "WARC-Date")}
            payload = body
            new = writer.create_warc_record(
                url, "response", payload=io.BytesIO(payload), length=len(payload),
                http_headers=http, warc_headers_dict=keep,
            )  # fmt: skip
        else:  # the WARC headers as they were, digests included
            new = writer.create_warc_record(
                url, "response", payload=io.BytesIO(payload), length=len(payload),
                http_headers=http, warc_headers=rec_headers,
            )  # fmt: skip
        writer.write_record(new)
        member = out.getvalue()
        path.write_bytes(data[: cap.warc_offset] + member + data[cap.warc_offset + len(old) :])
        shift = len(member) - len(old)
        for other in caps:
            if other.warc_offset > cap.warc_offset:
                other.warc_offset += shift
        cap.warc_length = len(member)


def _read(store: Store, url: str) -> tuple[bytes, bool]:
    with store.sessions() as s:
        cap = s.execute(select(EvidenceCapture).where(EvidenceCapture.url == url)).scalar_one()
        _, payload, digests_ok = read_record(cap.warc_path, cap.warc_offset, cap.warc_length)
    return payload, digests_ok


def test_untouched_evidence_verifies(store: Store, captured: Captured) -> None:
    assert _problems(store) == {}


def test_a_body_edited_in_a_well_formed_record_is_caught_by_the_recorded_hash(
    store: Store, captured: Captured
) -> None:
    url = f"{BASE}/meibo/list"
    edited = PAGES[url].replace("03-1234-5678", "03-1234-5670").encode()
    _rewrite(store, url, body=edited)
    # the file is well formed: every record reads, every WARC digest holds, the new body shows
    with captured.warc.open("rb") as f:
        assert len(list(ArchiveIterator(f, check_digests="raise"))) == 1 + len(PAGES)
    assert _read(store, url) == (edited, True)
    assert _problems(store) == {
        captured.ids[url]: "payload SHA-256 differs from the one recorded at capture"
    }


def test_an_edited_header_breaks_the_block_digest(store: Store, captured: Captured) -> None:
    url = f"{BASE}/catalog/"
    _rewrite(store, url, content_type="text/plain")
    payload, digests_ok = _read(store, url)
    assert payload == PAGES[url].encode() and not digests_ok  # same body, headers changed
    assert _problems(store) == {
        captured.ids[url]: "WARC block digest does not match the record (headers changed?)"
    }


def test_a_missing_warc_file_is_reported_for_each_capture(store: Store, captured: Captured) -> None:
    captured.warc.rename(captured.warc.with_suffix(".moved"))
    missing = f"WARC file missing: {captured.warc}"
    assert _problems(store) == {i: missing for i in captured.ids.values()}


def test_an_index_pointing_at_another_urls_record_is_caught(
    store: Store, captured: Captured
) -> None:
    first, second = f"{BASE}/meibo/list", f"{BASE}/meibo/list?page=2"
    with store.sessions.begin() as s:
        a, b = (
            s.execute(select(EvidenceCapture).where(EvidenceCapture.url == u)).scalar_one()
            for u in (first, second)
        )
        a.warc_offset, a.warc_length = b.warc_offset, b.warc_length
    assert _problems(store) == {captured.ids[first]: "the record is for another URL"}


def test_a_truncated_warc_file_is_caught(store: Store, captured: Captured) -> None:
    with store.sessions() as s:
        last = s.execute(
            select(EvidenceCapture).order_by(EvidenceCapture.warc_offset.desc()).limit(1)
        ).scalar_one()
    data = captured.warc.read_bytes()
    captured.warc.write_bytes(data[: last.warc_offset + last.warc_length // 2])
    assert _problems(store) == {last.id: "the WARC file ends before the record does (truncated?)"}
