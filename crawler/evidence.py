"""Evidence: every fetched response, byte for byte, in a WARC file, with its SHA-256.

A request with a body (the login form's POST) also gets a ``request`` record, concurrent to its
response, so the evidence shows how a members-only page was reached. Its body is not written as
sent: the values of the credential fields named in ``request.meta[REDACT_META]`` (and of any
field whose name looks like a password) become ``[redacted]``, and ``Cookie``/``Authorization``
header values too. A password never lands in evidence.

One gzipped WARC file per crawl under ``LEAKWATCH_HOME/evidence/<source>/``. Each response
(pages, files, redirects, robots.txt, error pages) becomes one ``response`` record holding the
body exactly as received (before decompression), with SHA-256 payload and block digests, and
``WARC-Truncated: length`` when the size limit cut it. An :class:`EvidenceCapture` row keeps the
URL, fetch time, status, SHA-256 (hex, of the payload), and the record's file, offset and length,
so :func:`verify` can re-read and re-hash every record, and every listing row can point to the
capture it was read from.

A page rendered in the browser (a source marked ``--javascript``, ``crawler.rendering``) adds
one more record per state read: the rendered DOM as a ``conversion`` record (WARC 1.1: content
derived from another record) whose ``WARC-Refers-To`` is the record of the document's response
and ``WARC-Refers-To-Target-URI`` its URL, with its own capture row (``content_type`` says
``leakwatch=rendered-dom``, no HTTP status). The rows read from the rendered page point to it,
so what was shown can be proven, and :func:`verify` re-hashes it like any response. The
responses the page's scripts fetched are ordinary ``response`` records: the crawl fetched them.

With capture off (``LEAKWATCH_EVIDENCE=False``, the benchmark's cost measurement) the
middleware is not loaded at all (``NotConfigured``); responses are still counted
(``crawler.context.ResponseCounter``).
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO
from urllib.parse import parse_qsl, urlencode, urlsplit

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from warcio.archiveiterator import ArchiveIterator  # type: ignore[import-untyped]
from warcio.statusandheaders import StatusAndHeaders  # type: ignore[import-untyped]
from warcio.utils import Digester  # type: ignore[import-untyped]
from warcio.warcwriter import WARCWriter  # type: ignore[import-untyped]

from crawler.context import CrawlContext
from crawler.meta import EVIDENCE_META, EVIDENCE_RECORD_META, REDACT_META, TRUNCATED_META
from store.models import EvidenceCapture, utcnow
from store.runtime import Store

log = logging.getLogger(__name__)
# the content type of a rendered DOM's record and capture row (not an HTTP response)
RENDERED_TYPE = "text/html; charset=utf-8; leakwatch=rendered-dom"
REDACTED = "[redacted]"
_SECRET_FIELD = re.compile(r"pass|pwd|secret|token|otp|pin", re.I)
_SECRET_HEADERS = {"cookie", "authorization", "proxy-authorization"}


class _Sha256WarcWriter(WARCWriter):  # type: ignore[misc]
    @staticmethod
    def _create_digester() -> Digester:
        return Digester("sha256")


@dataclass(frozen=True, slots=True)
class Written:
    path: str
    offset: int
    length: int
    sha256: str
    size: int


class WarcEvidence:
    """The crawl's WARC file (created 0600 under a 0700 folder: it holds personal data)."""

    def __init__(self, folder: Path, crawl_id: int | None, started: datetime) -> None:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        stamp = started.strftime("%Y%m%dT%H%M%SZ")
        self.path = folder / f"crawl-{crawl_id or 0}-{stamp}.warc.gz"
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._file: BinaryIO = os.fdopen(fd, "ab")
        self._writer = _Sha256WarcWriter(self._file, gzip=True)
        info = self._writer.create_warcinfo_record(
            self.path.name, {"software": "LeakWatch crawler (Scrapy, warcio)", "format": "WARC/1.1"}
        )
        self._writer.write_record(info)

    def write(
        self,
        url: str,
        status: int,
        headers: list[tuple[str, str]],
        body: bytes,
        fetched_at: datetime,
        truncated: bool,
    ) -> Written:
        sha = hashlib.sha256(body).hexdigest()
        http = StatusAndHeaders(f"{status} {_reason(status)}", headers, protocol="HTTP/1.1")
        warc_headers = {
            "WARC-Date": fetched_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        }
        if truncated:
            warc_headers["WARC-Truncated"] = "length"
        record = self._writer.create_warc_record(
            url,
            "response",
            payload=io.BytesIO(body),
            length=len(body),
            http_headers=http,
            warc_headers_dict=warc_headers,
        )
        offset = self._file.tell()
        self._writer.write_record(record)
        self._file.flush()
        self.last_record_id = str(record.rec_headers.get_header("WARC-Record-ID"))
        return Written(str(self.path), offset, self._file.tell() - offset, sha, len(body))

    def write_request(
        self,
        url: str,
        method: str,
        headers: list[tuple[str, str]],
        body: bytes,
        fetched_at: datetime,
        concurrent_to: str | None,
    ) -> None:
        """A ``request`` record; ``headers`` and ``body`` must already be redacted."""
        parts = urlsplit(url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
        headers.append(("Content-Length", str(len(body))))
        http = StatusAndHeaders(
            f"{method} {target} HTTP/1.1", headers, protocol="HTTP/1.1", is_http_request=True
        )
        warc_headers = {"WARC-Date": fetched_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")}
        if concurrent_to:
            warc_headers["WARC-Concurrent-To"] = concurrent_to
        record = self._writer.create_warc_record(
            url, "request", payload=io.BytesIO(body), length=len(body), http_headers=http,
            warc_headers_dict=warc_headers,
        )  # fmt: skip
        self._writer.write_record(record)
        self._file.flush()

    def write_rendered(
        self,
        url: str,
        html: bytes,
        rendered_at: datetime,
        refers_to: str | None,
        refers_to_uri: str,
        truncated: bool,
    ) -> Written:
        """A rendered DOM as a ``conversion`` record referring to its document's response."""
        sha = hashlib.sha256(html).hexdigest()
        warc_headers = {
            "WARC-Date": rendered_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "WARC-Refers-To-Target-URI": refers_to_uri,
        }
        if refers_to:
            warc_headers["WARC-Refers-To"] = refers_to
        if truncated:
            warc_headers["WARC-Truncated"] = "length"
        record = self._writer.create_warc_record(
            url, "conversion", payload=io.BytesIO(html), length=len(html),
            warc_content_type=RENDERED_TYPE, warc_headers_dict=warc_headers,
        )  # fmt: skip
        offset = self._file.tell()
        self._writer.write_record(record)
        self._file.flush()
        return Written(str(self.path), offset, self._file.tell() - offset, sha, len(html))

    def close(self) -> None:
        self._file.close()


class EvidenceRecorder:
    """The crawl's evidence as the context holds it (``crawler.writers.EvidenceSink``): the WARC
    file, and the capture rows when the crawl stores them."""

    def __init__(self, warc: WarcEvidence, session: Session | None, crawl_id: int | None) -> None:
        self.warc = warc
        self.session = session
        self.crawl_id = crawl_id
        self.captures = 0

    @property
    def path(self) -> Path:
        return self.warc.path

    def close(self) -> None:
        self.warc.close()

    def capture_rendered(
        self,
        url: str,
        html: bytes,
        *,
        refers_to: str | None,
        refers_to_uri: str,
        truncated: str | None,
    ) -> int | None:
        at = utcnow()
        written = self.warc.write_rendered(
            url, html, at, refers_to, refers_to_uri, truncated is not None
        )
        self.captures += 1
        if self.session is None:
            return None
        capture = EvidenceCapture(
            crawl_id=self.crawl_id, url=url, fetched_at=at, http_status=None,
            content_type=RENDERED_TYPE, sha256=written.sha256, size=written.size,
            warc_path=written.path, warc_offset=written.offset, warc_length=written.length,
            truncated=truncated is not None, truncation_reason=truncated,
        )  # fmt: skip
        self.session.add(capture)
        self.session.flush()
        return capture.id


def _reason(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def _headers(message: Response | Request) -> list[tuple[str, str]]:
    out = []
    for k, values in message.headers.items():
        name = k.decode("latin-1") if isinstance(k, bytes) else str(k)
        for v in values:
            out.append((name, v.decode("latin-1") if isinstance(v, bytes) else str(v)))
    return out


def redacted_request(request: Request) -> tuple[list[tuple[str, str]], bytes]:
    """The request's headers and body as they may be kept: credentials replaced."""
    headers = [(k, REDACTED if k.lower() in _SECRET_HEADERS else v) for k, v in _headers(request)]
    ctype = (request.headers.get("Content-Type") or b"").decode("latin-1").lower()
    if not request.body:
        return headers, b""
    if not ctype.startswith("application/x-www-form-urlencoded"):
        return headers, f"[body of {len(request.body)} bytes not kept]".encode()
    secret = {str(n) for n in request.meta.get(REDACT_META) or ()}
    enc = getattr(request, "encoding", "utf-8") or "utf-8"
    pairs = parse_qsl(request.body.decode(enc, "replace"), keep_blank_values=True)
    kept = [
        (k, REDACTED if (k in secret or _SECRET_FIELD.search(k)) and v else v) for k, v in pairs
    ]
    return headers, urlencode(kept).encode("ascii")


class EvidenceMiddleware:
    """Next to the downloader: sees every response first, before decompression or redirects."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.warc: WarcEvidence | None = None
        # where capture rows go: the crawl's session when it stores, else none are recorded
        self.session: Session | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> EvidenceMiddleware:
        if not crawler.settings.getbool("LEAKWATCH_EVIDENCE", True):
            raise NotConfigured("evidence capture is off (LEAKWATCH_EVIDENCE)")
        middleware = cls(crawler)
        CrawlContext.of(crawler).on_open(middleware.open)
        return middleware

    def open(self, ctx: CrawlContext) -> None:
        """The crawl's WARC file under the evidence folder, one sub-folder per source."""
        assert ctx.store is not None and ctx.source is not None
        folder = ctx.store.settings.evidence_dir / _safe_name(ctx.source.name)
        self.warc = WarcEvidence(folder, ctx.crawl_id, ctx.started_at)
        self.session = ctx.session if ctx.store_on else None
        ctx.evidence = EvidenceRecorder(self.warc, self.session, ctx.crawl_id)

    def process_response(self, request: Request, response: Response) -> Response:
        ctx = CrawlContext.of(self.crawler).ensure_open()
        assert self.warc is not None
        fetched_at = utcnow()
        reason = request.meta.get(TRUNCATED_META)
        written = self.warc.write(
            response.url, response.status, _headers(response), response.body, fetched_at,
            bool(reason),
        )  # fmt: skip
        if request.method not in ("GET", "HEAD"):
            headers, body = redacted_request(request)
            self.warc.write_request(
                request.url, request.method, headers, body, fetched_at, self.warc.last_record_id
            )
        ctx.counters.captures += 1
        request.meta[EVIDENCE_RECORD_META] = self.warc.last_record_id
        if self.session is not None:
            request.meta[EVIDENCE_META] = self._record(ctx, response, written, fetched_at, reason)
        return response

    def _record(
        self,
        ctx: CrawlContext,
        response: Response,
        written: Written,
        fetched_at: datetime,
        reason: object,
    ) -> int:
        """The capture's row (its id goes with the request, for the rows read from it)."""
        assert self.session is not None
        ctype = response.headers.get("Content-Type")
        capture = EvidenceCapture(
            crawl_id=ctx.crawl_id,
            url=response.url,
            fetched_at=fetched_at,
            http_status=response.status,
            content_type=ctype.decode("latin-1")[:200] if ctype else None,
            sha256=written.sha256,
            size=written.size,
            warc_path=written.path,
            warc_offset=written.offset,
            warc_length=written.length,
            truncated=bool(reason),
            truncation_reason=str(reason) if reason else None,
        )
        self.session.add(capture)
        self.session.flush()
        if ctx.counters.captures % 200 == 0:
            self.session.commit()
        return capture.id


def _safe_name(name: str) -> str:
    keep = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)
    return keep.strip(".") or "source"


# --- verification ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Problem:
    capture_id: int
    url: str
    problem: str


@dataclass(frozen=True, slots=True)
class VerifyReport:
    checked: int
    problems: list[Problem]

    @property
    def ok(self) -> bool:
        return not self.problems


class ShortFile(ValueError):
    """The WARC file ends before the recorded record does."""


def read_record(path: str, offset: int, length: int) -> tuple[dict[str, str], bytes, bool]:
    """(WARC headers, payload bytes as received, block digest ok) of one record."""
    with open(path, "rb") as f:
        f.seek(offset)
        raw = f.read(length)
    if len(raw) != length:
        raise ShortFile("the WARC file is shorter than the recorded record")
    it = ArchiveIterator(io.BytesIO(raw), check_digests=True)
    record = next(iter(it))
    payload = record.raw_stream.read()
    headers = dict(record.rec_headers.headers)
    it.read_to_end(record)
    ok = getattr(record, "digest_checker", None)
    passed = True if ok is None else ok.passed is not False
    return headers, payload, passed


def verify(session: Session, crawl_ids: list[int] | None = None) -> VerifyReport:
    """Re-read every capture's record and re-hash it; report each mismatch and why."""
    q = select(EvidenceCapture).order_by(EvidenceCapture.id)
    if crawl_ids:
        q = q.where(EvidenceCapture.crawl_id.in_(crawl_ids))
    problems: list[Problem] = []
    checked = 0
    for cap in session.execute(q.execution_options(yield_per=500)).scalars():
        checked += 1
        why = _check(cap)
        if why:
            problems.append(Problem(cap.id, cap.url, why))
    return VerifyReport(checked, problems)


def verify_evidence(store: Store, crawl_ids: list[int] | None = None) -> VerifyReport:
    """``leakwatch evidence verify``: :func:`verify` in a session of its own."""
    with store.sessions() as session:
        return verify(session, crawl_ids)


def _check(cap: EvidenceCapture) -> str | None:
    """Why the capture's record no longer proves what was fetched, or None.

    The order matters for the reason given: a record of another URL (the offset points
    elsewhere) says so whatever its bytes; then the payload against the SHA-256 recorded at
    capture, which alone catches a body edited with the WARC's own digests recomputed; then the
    block digest, which catches edited headers.
    """
    if not Path(cap.warc_path).exists():
        return f"WARC file missing: {cap.warc_path}"
    try:
        headers, payload, digests_ok = read_record(cap.warc_path, cap.warc_offset, cap.warc_length)
    except ShortFile:
        return "the WARC file ends before the record does (truncated?)"
    except Exception as exc:  # a flipped byte in gzip data surfaces as many error kinds
        return f"record unreadable ({type(exc).__name__}): the file was changed or damaged"
    if headers.get("WARC-Target-URI") != cap.url:
        return "the record is for another URL"
    if hashlib.sha256(payload).hexdigest() != cap.sha256:
        return "payload SHA-256 differs from the one recorded at capture"
    if not digests_ok:
        return "WARC block digest does not match the record (headers changed?)"
    return None


def iter_records(path: Path, kind: str = "response") -> Iterator[tuple[str, bytes]]:
    """(target URI, payload) of every record of ``kind`` in a WARC file (for tools and tests):
    ``response`` (what was fetched) or ``conversion`` (a rendered DOM)."""
    with path.open("rb") as f:
        for rec in ArchiveIterator(f):
            if rec.rec_type == kind:
                yield rec.rec_headers.get_header("WARC-Target-URI"), rec.raw_stream.read()
