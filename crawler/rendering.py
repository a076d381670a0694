"""The crawl's side of rendering (sources marked ``--javascript``): one browser per crawl, the
fetches its pages make, and the evidence of what they showed.

:class:`Rendering` (one per crawl: ``Rendering.of(crawler)``) starts the browser
(``crawler.browser``) when the first page needs it and closes it when the spider closes. Every
request a rendered page makes is fetched by Scrapy's downloader (``engine.download_async``), so
it passes the same downloader middlewares as the crawl's own requests — the address guard
(refusals recorded with the page that asked, ``requested_by``), robots.txt, the page budget,
the size guard, the evidence capture (a ``response`` record per fetch) — and the guarded
resolver on the address connected to. Redirects go back to the browser, which asks again
(through the guard). Pages go to the browser decoded as the crawl decodes them (a lying
charset is not believed). Each rendered state is kept as a ``conversion`` record referring to its
document's response (``crawler.evidence``); the rows read from it point to that record.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.utils.defer import deferred_from_coro
from twisted.internet.defer import Deferred

from crawler.browser import Browser, BrowserLimits, BrowserRequest, Fetched, Snapshot
from crawler.context import MAX_INCIDENTS, CrawlContext
from crawler.encoding import decode
from crawler.meta import BROWSER_META, EVIDENCE_RECORD_META
from crawler.readers import sniff

log = logging.getLogger(__name__)
_ATTR = "_leakwatch_rendering"
# request headers the browser sets that the crawl sets its own way (or must not forward)
_DROPPED_HEADERS = {
    "cookie", "host", "content-length", "connection", "accept-encoding", "user-agent",
    "upgrade-insecure-requests", "sec-ch-ua", "sec-ch-ua-mobile", "sec-ch-ua-platform",
}  # fmt: skip


@dataclass
class RenderedState:
    """A rendered state of a page and the capture that keeps it (None with capture off)."""

    snapshot: Snapshot
    evidence_id: int | None


class Rendering:
    """The crawl's browser, started on first use, closed with the spider."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.browser: Browser | None = None
        self.failed: str | None = None  # why the browser could not start (every page says so)
        self._lock: asyncio.Lock | None = None
        crawler.signals.connect(self._spider_closed, signal=signals.spider_closed)

    @classmethod
    def of(cls, crawler: Crawler) -> Rendering:
        found = getattr(crawler, _ATTR, None)
        if found is None:
            found = cls(crawler)
            setattr(crawler, _ATTR, found)
        return found

    def limits(self) -> BrowserLimits:
        s = self.crawler.settings
        return BrowserLimits(
            executable=s.get("LEAKWATCH_BROWSER"),
            page_timeout_s=s.getfloat("LEAKWATCH_BROWSER_PAGE_TIMEOUT_S"),
            page_bytes=s.getint("LEAKWATCH_MAX_RESPONSE_BYTES"),
            page_requests=s.getint("LEAKWATCH_BROWSER_PAGE_REQUESTS"),
            max_clicks=s.getint("LEAKWATCH_BROWSER_MAX_CLICKS"),
            pages_at_once=s.getint("LEAKWATCH_BROWSER_PAGES_AT_ONCE"),
            user_agent=s.get("USER_AGENT") or "",
        )

    def _ctx(self) -> CrawlContext:
        return CrawlContext.of(self.crawler)

    async def _started(self) -> Browser:
        self._lock = self._lock or asyncio.Lock()
        async with self._lock:
            if self.failed is not None:
                raise RuntimeError(self.failed)
            if self.browser is None:
                browser = Browser(self.limits(), self._budget_incident, self._escape)
                try:
                    await browser.start()
                except Exception as exc:
                    self.failed = str(exc)
                    raise
                self.browser = browser
            return self.browser

    async def render(self, response: Response) -> AsyncIterator[RenderedState]:
        """The states of the page ``response`` holds, rendered; each kept as evidence."""
        browser = await self._started()
        document = _document(response)
        async for snapshot in browser.render(response.url, document, self.fetch):
            counters = self._ctx().counters
            counters.rendered += 1
            if snapshot.truncated and len(counters.truncated) < MAX_INCIDENTS:
                counters.truncated.append({"url": snapshot.url[:500], "reason": snapshot.truncated})
            yield RenderedState(snapshot, self._keep(snapshot))

    async def fetch(self, breq: BrowserRequest) -> Fetched | str:
        """A request of a rendered page, fetched by the crawl's downloader (every downloader
        middleware applies); a string says why it was not fetched."""
        headers = {k: v for k, v in breq.headers.items() if k.lower() not in _DROPPED_HEADERS}
        request = Request(
            breq.url, method=breq.method, headers=headers, body=breq.body or b"",
            dont_filter=True, priority=10,
            meta={
                "dont_redirect": True,  # the browser follows redirects itself, each guarded
                "handle_httpstatus_all": True,
                "allow_offsite": True,  # a page's scripts and data may live elsewhere
                BROWSER_META: breq.page_url,
            },
        )  # fmt: skip
        engine = self.crawler.engine
        if engine is None:
            return "the crawl is not running"
        try:
            response = await engine.download_async(request)
        except IgnoreRequest as exc:  # refused (address guard, robots.txt, page budget)
            return str(exc) or "refused"
        except Exception as exc:  # DNS, connection, timeout: as for any request
            return f"{type(exc).__name__}"
        if breq.navigation:
            return _document(response)
        return Fetched(response.url, response.status, _headers(response), response.body,
                       ref=response)  # fmt: skip

    def _keep(self, snapshot: Snapshot) -> int | None:
        evidence = self._ctx().evidence
        if evidence is None:
            return None
        self._ctx().counters.captures += 1
        document = snapshot.document.ref
        meta = document.meta if isinstance(document, Response) else {}
        return evidence.capture_rendered(
            snapshot.url, snapshot.html.encode("utf-8"),
            refers_to=meta.get(EVIDENCE_RECORD_META), refers_to_uri=snapshot.document.url,
            truncated=snapshot.truncated,
        )  # fmt: skip

    def _budget_incident(self, url: str, reason: str) -> None:
        errors = self._ctx().counters.render_errors
        if len(errors) < MAX_INCIDENTS:
            errors.append({"url": url[:500], "reason": reason[:300]})

    def _escape(self, url: str, reason: str) -> None:
        # kept apart from the site's refusals: Chromium's own background requests come here
        blocked = self._ctx().counters.browser_blocked
        if len(blocked) < MAX_INCIDENTS:
            blocked.append({"url": url[:500], "reason": reason[:300]})

    async def close(self) -> None:
        if self.browser is not None:
            browser, self.browser = self.browser, None
            await browser.close()
            log.info(
                "browser closed: %d page state(s) rendered, %d request(s) stopped at its proxy",
                self._ctx().counters.rendered, browser.sink.seen,
            )  # fmt: skip

    def _spider_closed(self) -> Deferred[Any]:
        # Scrapy waits for a Deferred a spider_closed handler returns: the browser is gone
        # before the process ends
        return deferred_from_coro(self.close())


def _document(response: Response) -> Fetched:
    """A page for the browser, decoded the way the crawl decodes pages (``crawler.encoding``:
    a charset header or meta tag that lies is not believed) and handed over as UTF-8, so the
    rendered DOM reads as the page really is (the raw response stays the evidence)."""
    headers = _headers(response)
    ctype = next((v for k, v in headers if k.lower() == "content-type"), None)
    if response.status >= 300 or sniff(response.body, ctype) != "html":
        return Fetched(response.url, response.status, headers, response.body, ref=response)
    text, _ = decode(response.body, ctype)
    headers = [(k, v) for k, v in headers if k.lower() != "content-type"]
    headers.append(("Content-Type", "text/html; charset=utf-8"))
    return Fetched(response.url, response.status, headers, text.encode("utf-8"), ref=response)


def _headers(response: Response) -> list[tuple[str, str]]:
    out = []
    for k, values in response.headers.items():
        name = k.decode("latin-1") if isinstance(k, bytes) else str(k)
        for v in values:
            out.append((name, v.decode("latin-1") if isinstance(v, bytes) else str(v)))
    return out


def render_error(crawler: Crawler, url: str, exc: BaseException) -> None:
    """Record why a page could not be rendered (it is then read as fetched)."""
    why = (
        "render timed out"
        if isinstance(exc, TimeoutError)
        else ((str(exc).strip().splitlines() or [type(exc).__name__])[0])
    )
    errors = CrawlContext.of(crawler).counters.render_errors
    if len(errors) < MAX_INCIDENTS:
        errors.append({"url": url[:500], "reason": why[:300]})
