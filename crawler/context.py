"""One crawl's shared state: the source, the crawl row, the store session, the WARC writer.

Every LeakWatch component of a Scrapy process (spider, address guard, evidence middleware,
store pipeline) reaches the same :class:`CrawlContext` through ``CrawlContext.of(crawler)``.
It opens lazily on first use and is finished by :class:`CrawlFinisher` when the spider closes:
rows flushed, listings tracked, the crawl row completed, the audit event written, new rows
handed to the matcher, and a summary (counts only, never personal data) written for the
launcher.

The context names no writer: the evidence middleware and the store pipeline attach theirs
(``crawler.writers``: :class:`EvidenceSink`, :class:`RowSink`) through :meth:`CrawlContext.on_open`
when they are switched on, and are not loaded at all when they are off (``NotConfigured``).
So this module imports none of ``crawler.evidence``, ``crawler.pipeline``, ``crawler.safety``.
:class:`ResponseCounter` counts what the downloader brings, whatever is switched off.

A crawl ends in one of three outcomes, each with its audit event: ``finished`` (the crawl row
``done``; incomplete ones say why), ``failed`` (nothing of the site could be fetched, or the
crawl could not start: the reason goes to ``Crawl.error`` and the summary's ``error``) and
``interrupted`` (stopped by a signal: rows found so far are kept, removals not checked).
"""

from __future__ import annotations

import logging
import resource
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.http import Response
from scrapy.logformatter import LogFormatter, LogFormatterResult
from sqlalchemy import select
from sqlalchemy.orm import Session

from crawler.meta import TRUNCATED_META, is_robots_request
from crawler.options import SourceOptions
from crawler.summary import CrawlSummary, Incident, LoginState
from crawler.writers import EvidenceSink, RowSink
from store import audit
from store.models import Crawl, CrawlStatus, Source, utcnow
from store.runtime import Store
from store.settings import load_settings

log = logging.getLogger(__name__)
_ATTR = "_leakwatch_context"
CRAWLER_ACTOR = "crawler"  # the audit log's actor for what the crawl process records


@dataclass
class SourceInfo:
    id: int | None
    name: str
    start_urls: list[str]
    is_local: bool
    options: SourceOptions
    robots_override_reason: str | None
    business_id: int | None

    def home(self) -> str:
        """The netloc of the first start URL: pages there have listing keys without it, so
        a source that moves (a new port, a new host) keeps its listings."""
        return netloc_of(self.start_urls[0]) if self.start_urls else ""

    def local_hosts(self) -> set[tuple[str, int]]:
        """(host, port) pairs a local source may reach on a private or loopback address."""
        out = set()
        for u in self.start_urls:
            parts = urlsplit(u)
            if parts.hostname:
                out.add((parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)))
        return out


def netloc_of(url: str) -> str:
    """Host and port of ``url`` as compared for listing keys (default port left out)."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    try:
        port = parts.port
    except ValueError:
        return host
    if port is None or port == {"http": 80, "https": 443}.get(parts.scheme):
        return f"[{host}]" if ":" in host else host
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


@dataclass
class Counters:
    pages: int = 0
    site_pages: int = 0  # pages other than robots.txt: the site itself was reached
    bytes: int = 0
    captures: int = 0
    truncated: list[Incident] = field(default_factory=list)
    refused: list[Incident] = field(default_factory=list)
    file_errors: list[Incident] = field(default_factory=list)
    records: int = 0
    # start URLs that got no response, and why (DNS, refusal, robots.txt, timeout ...)
    not_fetched: list[Incident] = field(default_factory=list)
    over_page_limit: int = 0
    # which reader read each response (crawler.readers): counts, and the first responses
    readers: Counter[str] = field(default_factory=Counter)
    reads: list[Incident] = field(default_factory=list)
    # pages rendered in the browser (sources marked --javascript) and what went wrong there
    rendered: int = 0
    render_errors: list[Incident] = field(default_factory=list)
    # what the browser tried outside the routing, stopped at its sink proxy (crawler.browser)
    browser_blocked: list[Incident] = field(default_factory=list)

    def read(self, url: str, reader: str, records: int) -> None:
        """Record which reader read the response at ``url`` and how many records it gave."""
        self.readers[reader] += 1
        if len(self.reads) < MAX_INCIDENTS:
            self.reads.append({"url": url[:500], "reader": reader, "records": str(records)})


MAX_INCIDENTS = 200  # per list in the summary: enough to see what happened, bounded


OpenHook = Callable[["CrawlContext"], None]


class CrawlContext:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        s = crawler.settings
        self.source_name: str = s.get("LEAKWATCH_SOURCE", "")
        self.crawl_id: int | None = s.getint("LEAKWATCH_CRAWL_ID") or None
        # storing: the crawl row is kept up to date here, the rows by the store pipeline
        self.store_on = s.getbool("LEAKWATCH_STORE", True)
        self.summary_file = s.get("LEAKWATCH_SUMMARY_FILE", "")
        self.counters = Counters()
        self.started = time.monotonic()
        self.started_at: datetime = utcnow()
        self.opened = False
        self.start_error: str | None = None
        self.finished = False
        self.store: Store | None = None
        self.session: Session | None = None
        self.source: SourceInfo | None = None
        self.evidence: EvidenceSink | None = None  # attached when capture is on
        self.rows: RowSink | None = None  # attached when storage is on
        # a login-form source: how the login went (never a credential)
        self.login: LoginState | None = None
        self._open_hooks: list[OpenHook] = []

    @classmethod
    def of(cls, crawler: Crawler) -> CrawlContext:
        ctx = getattr(crawler, _ATTR, None)
        if ctx is None:
            ctx = cls(crawler)
            setattr(crawler, _ATTR, ctx)
        return ctx

    def on_open(self, hook: OpenHook) -> None:
        """Call ``hook`` with this context once it is open (the source loaded, the crawl row
        running): how a switched-on component attaches its writer."""
        if self.opened and self.start_error is None:
            hook(self)  # registered late: the context opened before the component was made
        elif not self.opened:
            self._open_hooks.append(hook)

    def ensure_open(self) -> CrawlContext:
        if self.opened:
            if self.start_error is not None:
                # every later caller (the spider's start) fails too: nothing is requested
                raise RuntimeError(self.start_error)
            return self
        self.opened = True
        try:
            return self._open()
        except Exception as exc:
            # the first line only: a database error's next lines quote its SQL
            self.start_error = (str(exc).splitlines() or [type(exc).__name__])[0][:500]
            raise

    def _open(self) -> CrawlContext:
        if not self.source_name:
            raise RuntimeError("no source: run with -s LEAKWATCH_SOURCE=NAME (see leakwatch crawl)")
        self.store = Store.open(load_settings())
        self.session = self.store.sessions()
        src = self.session.execute(
            select(Source).where(Source.name == self.source_name)
        ).scalar_one_or_none()
        if src is None:
            raise RuntimeError(f"unknown source {self.source_name!r}")
        self.source = SourceInfo(
            src.id, src.name, list(src.start_urls), src.is_local,
            SourceOptions.parse(src.options), src.robots_override_reason, src.business_id,
        )  # fmt: skip
        if self.store_on:
            self._mark_running(src.id)
        for hook in self._open_hooks:
            hook(self)
        return self

    def _mark_running(self, source_id: int) -> None:
        """The crawl row (the launcher's, or a new one for a bare ``scrapy crawl``) runs."""
        assert self.session is not None
        if self.crawl_id is None:
            crawl = Crawl(source_id=source_id, status=CrawlStatus.RUNNING)
            self.session.add(crawl)
            self.session.flush()
            self.crawl_id = crawl.id
        crawl_row = self.session.get(Crawl, self.crawl_id)
        if crawl_row is None:
            raise RuntimeError(f"unknown crawl {self.crawl_id}")
        crawl_row.status = CrawlStatus.RUNNING
        crawl_row.started_at = self.started_at
        self.session.commit()

    # -- the end --------------------------------------------------------------------------

    def finish(self, reason: str) -> None:
        if self.finished or not self.opened:
            return
        self.finished = True
        c = self.counters
        summary = self._summary(reason)
        try:
            if self.evidence is not None:
                self.evidence.close()
                summary = summary.model_copy(update={"warc_path": str(self.evidence.path)})
            if self.rows is not None:
                summary = self.rows.finish(summary)
        except Exception:
            log.exception("finishing the crawl failed")
            summary = summary.model_copy(
                update={"error": "finishing the crawl failed (see the crawl log)",
                        "outcome": "failed"}
            )  # fmt: skip
            self._mark_failed(summary)
        finally:
            if self.session is not None:
                self.session.close()
            if self.store is not None:
                self.store.close()
        if self.summary_file:
            Path(self.summary_file).write_text(summary.to_json())
        log.info(
            "crawl %s %s (%s): %d pages, %d records, %d captures",
            self.crawl_id, summary.outcome, reason, c.pages, c.records, c.captures,
        )  # fmt: skip
        if summary.error is not None:
            log.error("crawl %s %s: %s", self.crawl_id, summary.outcome, summary.error)

    def _summary(self, reason: str) -> CrawlSummary:
        """Counts, reasons and the outcome; never personal data."""
        stats = self.crawler.stats.get_stats() if self.crawler.stats else {}
        # refusals (robots, address guard, page limit) are decisions, not failures to see the site
        errors = int(stats.get("downloader/exception_count", 0)) - int(
            stats.get("downloader/exception_type_count/scrapy.exceptions.IgnoreRequest", 0)
        )
        # a members-only source seen without logging in is not seen: nothing may count as gone
        login_ok = self.login is None or self.login.status == "ok"
        error = self._failure(reason, stats)
        c = self.counters
        # a page limit that stopped requests means pages went unseen: nothing may count as gone
        complete = (
            reason == "finished" and errors == 0 and login_ok and not c.over_page_limit
            and error is None
        )  # fmt: skip
        elapsed = time.monotonic() - self.started
        peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return CrawlSummary(
            source=self.source_name,
            crawl_id=self.crawl_id,
            finish_reason=reason,
            outcome="finished" if error is None else _outcome(reason),
            complete=complete,
            pages=c.pages,
            bytes=c.bytes,
            captures=c.captures,
            records=c.records,
            truncated=c.truncated,
            refused=c.refused,
            not_fetched=c.not_fetched,
            file_errors=c.file_errors,
            download_errors=errors,
            robots_forbidden=int(stats.get("robotstxt/forbidden", 0)),
            over_page_limit=c.over_page_limit,
            login=self.login,
            readers=dict(c.readers),
            reads=c.reads,
            rendered=c.rendered,
            render_errors=c.render_errors,
            browser_blocked=c.browser_blocked,
            seconds=round(elapsed, 3),
            pages_per_s=round(c.pages / elapsed, 1) if elapsed else 0.0,
            peak_rss_mb=round(peak_kib / 1024, 1),
            error=error,
        )

    def _failure(self, reason: str, stats: dict[str, Any]) -> str | None:
        """Why the crawl failed or was interrupted, or None when it saw the site."""
        c = self.counters
        if self.start_error is not None or reason == "start_error":
            why = self.start_error or "its start requests failed (see the crawl log)"
            return f"the crawl could not start: {why}"
        if _outcome(reason) == "interrupted":
            return (
                f"stopped by a signal after {c.site_pages} page(s): rows found so far are kept, "
                "removals not checked"
            )
        if c.site_pages:
            return None
        return "nothing could be fetched: " + self._why_nothing(stats)

    def _why_nothing(self, stats: dict[str, Any]) -> str:
        c = self.counters
        more = max(len(c.refused), len(c.not_fetched)) - 1
        tail = f" (and {more} more)" if more > 0 else ""
        if c.refused:  # the address guard's reason says more than "IgnoreRequest"
            return f"{c.refused[0]['url']}: refused: {c.refused[0]['reason']}{tail}"
        if c.not_fetched:
            return f"{c.not_fetched[0]['url']}: {c.not_fetched[0]['reason']}{tail}"
        too_long = int(stats.get("urllength/request_ignored_count", 0))
        if too_long:
            limit = self.crawler.settings.getint("URLLENGTH_LIMIT")
            return (
                f"{too_long} start URL(s) longer than the {limit}-character limit "
                "(URLLENGTH_LIMIT) dropped unrequested"
            )
        return "no request was made (no start URL?)"

    def _mark_failed(self, summary: CrawlSummary) -> None:
        if self.session is None or self.crawl_id is None:
            return
        try:
            self.session.rollback()
            crawl = self.session.get(Crawl, self.crawl_id)
            if crawl is not None:
                crawl.status = CrawlStatus.FAILED
                crawl.error = str(summary.error)
                crawl.finished_at = utcnow()
                audit.record(
                    self.session, CRAWLER_ACTOR, "crawl.failed", object_type="crawl",
                    object_id=self.crawl_id, reason=crawl.error,
                    details={"pages": summary.pages},
                )  # fmt: skip
                self.session.commit()
        except Exception:
            log.exception("could not mark the crawl failed")


def _outcome(reason: str) -> str:
    """A signal (Ctrl-C, the launcher's timeout) closes the spider with reason "shutdown"."""
    return "interrupted" if reason == "shutdown" else "failed"


class CrawlFinisher:
    """Opens the context when the spider opens and finishes it when the spider closes."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CrawlFinisher:
        return cls(crawler)

    def spider_opened(self) -> None:
        CrawlContext.of(self.crawler).ensure_open()

    def spider_closed(self, reason: str) -> None:
        CrawlContext.of(self.crawler).finish(reason)


class ResponseCounter:
    """Counts every response the downloader brings (pages, robots.txt, redirect hops, error
    pages) with its bytes as received, and the size guard's cuts: what the summary reports,
    whether evidence is captured or not. Scrapy's ``response_downloaded`` signal comes before
    any downloader middleware sees the response: before decompression, before redirects."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        crawler.signals.connect(self.response_downloaded, signal=signals.response_downloaded)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ResponseCounter:
        return cls(crawler)

    def response_downloaded(self, response: Response, request: Request) -> None:
        c = CrawlContext.of(self.crawler).ensure_open().counters
        c.pages += 1
        if not is_robots_request(request):
            c.site_pages += 1
        c.bytes += len(response.body)
        reason = request.meta.get(TRUNCATED_META)
        if reason:
            c.truncated.append({"url": response.url[:500], "reason": str(reason)})


class PiiSafeLogFormatter(LogFormatter):
    """Scrapy logs scraped and dropped items in full; ours hold personal data, so never."""

    def scraped(self, item: Any, response: Any, spider: Any) -> LogFormatterResult:
        return {
            "level": logging.DEBUG,
            "msg": "record scraped from %(src)s",
            "args": {"src": getattr(response, "url", "?")},
        }

    def dropped(
        self, item: Any, exception: BaseException, response: Any, spider: Any
    ) -> LogFormatterResult:
        return {
            "level": logging.WARNING,
            "msg": "record dropped: %(exc)s",
            "args": {"exc": type(exception).__name__},
        }

    def item_error(
        self, item: Any, exception: BaseException, response: Any, spider: Any
    ) -> LogFormatterResult:
        return {
            "level": logging.ERROR,
            "msg": "error processing a record from %(src)s: %(exc)s",
            "args": {"src": getattr(response, "url", "?"), "exc": type(exception).__name__},
        }
