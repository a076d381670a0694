"""Rendering pages that need JavaScript, for sources marked so (``--javascript``) and no other.

Headless Chromium — Debian's ``chromium`` package, at ``LEAKWATCH_BROWSER`` (/usr/bin/chromium),
driven through Playwright; nothing is downloaded at run time — loads a page the crawl already
fetched and runs its scripts; the rendered DOM is then read by the same generic path as any
page (``crawler.readers``). Pagination that exists only through script (a 次へ button, a link
with no address) is followed by clicking it, and each new state of the page is read too.

Safety, the browser being the most exposed part of a crawl:

* **Every request the page makes is fetched by the crawl, not by the browser.** Each page
  routes all its requests (``page.route``) to a fetch function the caller gives — the crawl's
  own downloader (``crawler.rendering``), so the address guard (private, loopback, link-local
  refused unless the source is local; names resolved and checked, and checked again on the
  address connected to: DNS rebinding), robots.txt, the size guard, the page budget and the
  evidence capture apply to the page's scripts' requests exactly as to the crawl's. A refused
  request is aborted. The browser never resolves a name nor opens a connection to a site.
* **What could slip past the routing goes nowhere.** Chromium's proxy is a sink on 127.0.0.1
  in this process (:class:`SinkProxy`, loopback not bypassed) that answers 403 to everything
  and records it: WebSockets, preconnects, anything a future Chromium might not route. Its
  resolver maps every name to nothing (``--host-resolver-rules``), WebRTC may not send UDP
  outside the proxy, QUIC and background networking are off.
* **No downloads, popups, permissions or service workers**: downloads are refused, a popup is
  closed and its requests aborted, every permission prompt is denied, service workers
  blocked, dialogs dismissed (Playwright's default). Images, media and fonts are not fetched.
* **Budgets per page**: a time budget for loading and for each click, a cap on the bytes and
  the number of the page's requests, a cap on clicks, and the rendered DOM cut at the
  response size limit (recorded as truncated).
* **One browser context per crawl**, a fresh profile (Playwright's temporary user-data-dir),
  closed with the browser when the crawl ends. Chromium's OS sandbox is on unless the crawl
  runs as root, where Chromium cannot use it (``--no-sandbox``).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

DEFAULT_EXECUTABLE = "/usr/bin/chromium"
CHROMIUM_ARGS = (
    "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-default-apps",
    "--disable-extensions", "--disable-domain-reliability", "--disable-breakpad",
    "--disable-client-side-phishing-detection", "--no-pings", "--deny-permission-prompts",
    "--disable-dev-shm-usage", "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
    # the browser resolves no name itself: its only connection is to the sink proxy (an IP)
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--js-flags=--max-old-space-size=512",
)  # fmt: skip
# what a page's scripts need to put records on screen; the rest is not fetched
FETCHED_TYPES = frozenset({"document", "script", "stylesheet", "xhr", "fetch"})
_PAGER_NAME = re.compile(
    r"^\s*(?:次へ|次の?ページ|次の\d+件|もっと見る|さらに表示|next(?: page)?|more|[>»›＞]+)"
    r"\s*[>»›＞]*\s*$",
    re.I,
)
_PAGER_CANDIDATES = "button, a, [role=button], input[type=button], input[type=submit]"
QUIET_S = 0.3  # no request in flight for this long: the page has settled
SETTLE_MOST_S = 5.0
LOAD_MOST_S = 10.0
DEAD_CLICK_S = 1.5  # a click that changed nothing and fetched nothing for this long
SINK_HEAD_BYTES = 8192
_FORBIDDEN = b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
_POPUP_CLOSERS: set[asyncio.Future[None]] = set()  # kept until done (a task is weakly held)


@dataclass(frozen=True)
class BrowserLimits:
    """The budgets of one rendered page."""

    executable: str = DEFAULT_EXECUTABLE
    page_timeout_s: float = 20.0  # loading, and each click's new state
    page_bytes: int = 10 * 1024 * 1024  # the page's requests together, and its rendered DOM
    page_requests: int = 200
    max_clicks: int = 100
    pages_at_once: int = 4
    user_agent: str = ""


@dataclass(frozen=True)
class BrowserRequest:
    """A request the page made, for the caller's fetch function."""

    url: str
    method: str
    headers: dict[str, str]
    body: bytes | None
    navigation: bool
    resource_type: str
    page_url: str  # the page that asked


@dataclass
class Fetched:
    """A response the caller fetched; ``ref`` is the caller's own (its evidence link)."""

    url: str
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    ref: Any = None


Fetch = Callable[[BrowserRequest], Awaitable["Fetched | str"]]  # str: why it was not fetched
Incident = Callable[[str, str], None]  # (url, reason)


@dataclass
class Snapshot:
    """The page as rendered: after loading (``step`` 0), or after the n-th pager click."""

    url: str
    html: str
    step: int
    document: Fetched  # the response of the document shown (the evidence it refers to)
    truncated: str | None = None
    # where the page's script tried to take the browser by itself (a redirect by script, a
    # meta refresh): not followed in the page, handed to the crawl to follow as links
    navigations: list[str] = field(default_factory=list)


class BrowserUnavailable(RuntimeError):
    """Chromium or Playwright is missing or would not start."""


# --- the sink proxy --------------------------------------------------------------------------


class SinkProxy:
    """Chromium's proxy: refuses every request that reaches it (none should) and records it."""

    def __init__(self, on_escape: Incident) -> None:
        self.on_escape = on_escape
        self.server: asyncio.Server | None = None
        self.port = 0
        self.seen = 0

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = int(self.server.sockets[0].getsockname()[1])
        return self.port

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = await asyncio.wait_for(reader.readline(), timeout=5)
            parts = line[:SINK_HEAD_BYTES].decode("latin-1", "replace").split()
            target = parts[1] if len(parts) >= 2 else "?"
            self.seen += 1
            self.on_escape(target[:500], f"the browser tried {parts[0] if parts else '?'} "
                           "outside the guarded route: refused by the sink proxy")  # fmt: skip
            writer.write(_FORBIDDEN)
            await writer.drain()
        except (TimeoutError, ConnectionError, OSError):
            pass
        finally:
            writer.close()

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.server.wait_closed(), timeout=5)


# --- the browser -----------------------------------------------------------------------------


@dataclass
class _PageBudget:
    limits: BrowserLimits
    requests: int = 0
    bytes: int = 0
    inflight: int = 0
    last_activity: float = field(default_factory=time.monotonic)
    over: str = ""  # why the page's budget ran out, once it has

    def allow(self) -> bool:
        if self.requests >= self.limits.page_requests:
            self.over = f"more than {self.limits.page_requests} requests: the rest refused"
        elif self.bytes >= self.limits.page_bytes:
            self.over = f"more than {self.limits.page_bytes} bytes fetched: the rest refused"
        return not self.over


class Browser:
    """One Chromium with one context for one crawl; :meth:`render` loads a page in it."""

    def __init__(self, limits: BrowserLimits, on_incident: Incident, on_escape: Incident) -> None:
        self.limits = limits
        self.on_incident = on_incident  # a page over its budget
        self.sink = SinkProxy(on_escape)  # a request that went around the routing
        self._pw: Any = None
        self._browser: Any = None
        self._context: Any = None
        self._slots = asyncio.Semaphore(max(1, limits.pages_at_once))

    async def start(self) -> None:
        try:
            from playwright.async_api import async_playwright
        except ImportError as exc:
            raise BrowserUnavailable(f"Playwright is not installed ({exc})") from None
        port = await self.sink.start()
        try:
            self._pw = await async_playwright().start()
            self._browser = await self._pw.chromium.launch(
                # Chromium's own OS sandbox cannot run as root (CI, this workplace): there it
                # is off (--no-sandbox) and the containment above is what holds
                executable_path=self.limits.executable, headless=True,
                chromium_sandbox=os.geteuid() != 0,
                args=list(CHROMIUM_ARGS), proxy={"server": f"http://127.0.0.1:{port}"},
                timeout=60_000,
            )  # fmt: skip
            self._context = await self._new_context()
        except Exception as exc:
            await self.close()
            raise BrowserUnavailable(f"Chromium would not start: {_first_line(exc)}") from None

    async def _new_context(self) -> Any:
        ctx = await self._browser.new_context(
            accept_downloads=False, service_workers="block", permissions=[],
            java_script_enabled=True, bypass_csp=False, ignore_https_errors=False,
            user_agent=self.limits.user_agent or None, locale="ja-JP",
        )  # fmt: skip
        # a page this crawl did not open (a popup) fetches nothing and is closed
        await ctx.route("**/*", _abort)
        ctx.on("page", _close_popup)
        ctx.set_default_timeout(self.limits.page_timeout_s * 1000)
        return ctx

    async def close(self) -> None:
        for step in (
            lambda: self._context.close() if self._context is not None else None,
            lambda: self._browser.close() if self._browser is not None else None,
            lambda: self._pw.stop() if self._pw is not None else None,
            self.sink.close,
        ):
            with contextlib.suppress(Exception):
                pending = step()
                if pending is not None:
                    await asyncio.wait_for(pending, timeout=30)
        self._context = self._browser = self._pw = None

    async def render(self, url: str, document: Fetched, fetch: Fetch) -> AsyncIterator[Snapshot]:
        """The page at ``url`` (its document already fetched) as rendered, then after each
        click on a script-only pager control. Raises TimeoutError past a time budget."""
        if self._context is None:
            raise BrowserUnavailable("the browser is not started")
        async with self._slots:
            page = await self._context.new_page()
            view = _PageView(self, page, url, document, fetch)
            try:
                await page.route("**/*", view.route)
                async for snapshot in view.states():
                    yield snapshot
            finally:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(page.close(), timeout=10)
                if view.budget.over:
                    self.on_incident(url, f"page budget: {view.budget.over}")


class _PageView:
    """One rendered page: its routing, its budget, its states."""

    def __init__(self, owner: Browser, page: Any, url: str, document: Fetched, fetch: Fetch):
        self.owner = owner
        self.limits = owner.limits
        self.page = page
        self.url = url
        self.document = document  # the document shown now (changes when a click navigates)
        self.fetch = fetch
        self.budget = _PageBudget(owner.limits)
        self.served_first = False
        self.clicking = False  # a navigation now is the pager click's
        self.navigations: list[str] = []

    async def states(self) -> AsyncIterator[Snapshot]:
        timeout = self.limits.page_timeout_s
        await asyncio.wait_for(self._load(), timeout=timeout)
        snapshot = await asyncio.wait_for(self._snapshot(0), timeout=timeout)
        yield snapshot
        seen = {_digest(snapshot.html)}
        for step in range(1, self.limits.max_clicks + 1):
            control = await asyncio.wait_for(pager_control(self.page), timeout=timeout)
            if control is None:
                return
            html = await asyncio.wait_for(self._click(control, seen), timeout=timeout)
            if html is None:
                return  # the click changed nothing, or came back to a state already read
            seen.add(_digest(html))
            yield await asyncio.wait_for(self._snapshot(step, html), timeout=timeout)

    async def _load(self) -> None:
        # "load" may never come (a script that navigates away stops the parser; one that
        # loops for ever): the page is read as it stands after LOAD_MOST_S
        await self.page.goto(self.url, wait_until="commit")
        with contextlib.suppress(Exception):
            most = min(LOAD_MOST_S, self.limits.page_timeout_s / 2)
            await self.page.wait_for_load_state("load", timeout=most * 1000)
        await self._settle()

    async def _settle(self, most_s: float = SETTLE_MOST_S) -> None:
        """Until no request has been in flight for QUIET_S (scripts fetching their data), or
        ``most_s`` (a page that polls for ever is read as it stands then)."""
        until = time.monotonic() + most_s
        while time.monotonic() < until:
            await asyncio.sleep(0.05)
            quiet = time.monotonic() - self.budget.last_activity
            if self.budget.inflight == 0 and quiet >= QUIET_S:
                return

    async def _click(self, control: Any, seen: set[str]) -> str | None:
        """The page's new content after clicking ``control``; None when nothing new came (a
        control that does nothing on the last page, or that goes back to a state read)."""
        self.clicking = True
        try:
            return await self._clicked(control, seen)
        finally:
            self.clicking = False

    async def _clicked(self, control: Any, seen: set[str]) -> str | None:
        await control.click(timeout=self.limits.page_timeout_s * 1000)
        clicked = time.monotonic()
        while time.monotonic() - clicked < self.limits.page_timeout_s / 2:
            await asyncio.sleep(0.1)
            b = self.budget
            if b.inflight or time.monotonic() - b.last_activity < QUIET_S:
                continue  # the click's requests are still coming
            html = await _content(self.page)
            if html is None:
                continue  # mid-navigation: the old document is gone, the new not there yet
            if _digest(html) not in seen:
                return html
            if time.monotonic() - max(clicked, b.last_activity) > DEAD_CLICK_S:
                return None
        return None

    async def _snapshot(self, step: int, html: str | None = None) -> Snapshot:
        html = html if html is not None else str(await self.page.content())
        truncated = None
        data = html.encode("utf-8")
        if len(data) > self.limits.page_bytes:
            html = data[: self.limits.page_bytes].decode("utf-8", "ignore")
            truncated = f"rendered DOM larger than {self.limits.page_bytes} bytes: cut"
        url = str(self.page.url)
        if not url.lower().startswith(("http://", "https://")):
            raise RuntimeError(f"the page shows no document of the site ({url[:60]})")
        return Snapshot(url, html, step, self.document, truncated, list(self.navigations))

    async def route(self, route: Any) -> None:
        """Every request of the page: the document from what the crawl fetched, the rest
        fetched by the crawl (guarded), or aborted."""
        request = route.request
        try:
            if request.is_navigation_request() and await self._navigation(route, request):
                return
            why = self._refuse(request)
            if why:
                await route.abort("blockedbyclient")
                return
            await self._fetch_for(route, request)
        except Exception as exc:  # the page closed under us, or a protocol error
            log.debug("route %s: %s", request.url[:200], type(exc).__name__)
            with contextlib.suppress(Exception):
                await route.abort("failed")

    async def _navigation(self, route: Any, request: Any) -> bool:
        """Handle a navigation unless it is one to fetch (a pager click's): True if handled.

        The first is the document the crawl fetched (the browser's spelling of its URL may
        differ: a slash added, characters escaped). A frame's document is not fetched (frames
        are not read). One the page's script starts by itself is answered 204 No Content — the
        page stays as it is — and handed to the crawl as a link to follow (guarded like any).
        """
        if request.frame != self.page.main_frame:
            await route.abort("blockedbyclient")
            return True
        if not self.served_first:
            self.served_first = True
            await route.fulfill(**_fulfilment(self.document))
            return True
        if self.clicking:
            return False
        url = str(request.url)
        if url.lower().startswith(("http://", "https://")) and len(self.navigations) < 20:
            self.navigations.append(url)
        await route.fulfill(status=204, body=b"")
        return True

    def _refuse(self, request: Any) -> str:
        url = str(request.url)
        if not url.lower().startswith(("http://", "https://")):
            return "not http(s)"
        if request.resource_type not in FETCHED_TYPES:
            return "not needed to render"
        return "" if self.budget.allow() else self.budget.over

    async def _fetch_for(self, route: Any, request: Any) -> None:
        breq = BrowserRequest(
            str(request.url), str(request.method), dict(request.headers),
            request.post_data_buffer, bool(request.is_navigation_request()),
            str(request.resource_type), self.url,
        )  # fmt: skip
        self.budget.requests += 1
        self.budget.inflight += 1
        try:
            got = await self.fetch(breq)
        finally:
            self.budget.inflight -= 1
            self.budget.last_activity = time.monotonic()
        if isinstance(got, str):
            await route.abort("blockedbyclient")
            return
        self.budget.bytes += len(got.body)
        if breq.navigation and request.frame == self.page.main_frame:
            self.document = got  # a click that navigated: the new state's document
        await route.fulfill(**_fulfilment(got))


async def pager_control(page: Any) -> Any | None:
    """The visible, enabled 次へ / next control that only script can follow (a button, or a
    link without an address of its own), or None. Real links are followed as links."""
    candidates = page.locator(_PAGER_CANDIDATES)
    named = [
        page.get_by_role("button", name=_PAGER_NAME),
        page.get_by_role("link", name=_PAGER_NAME),
        candidates.filter(has_text=_PAGER_NAME),
    ]
    for locator in named:
        count = min(await locator.count(), 10)
        for i in range(count):
            el = locator.nth(i)
            href = (await el.get_attribute("href") or "").strip()
            if href and not href.startswith(("#", "javascript:")):
                continue
            if await el.is_visible() and await el.is_enabled():
                return el
    return None


_HOP_HEADERS = {"content-encoding", "content-length", "transfer-encoding", "connection",
                "keep-alive"}  # fmt: skip


def _fulfilment(got: Fetched) -> dict[str, Any]:
    """``route.fulfill``'s arguments for a fetched response (the body as decoded by the
    crawl: its encoding and length headers no longer apply)."""
    headers: dict[str, str] = {}
    for name, value in got.headers:
        key = name.lower()
        if key in _HOP_HEADERS:
            continue
        headers[key] = f"{headers[key]}\n{value}" if key in headers else value
    return {"status": got.status, "headers": headers, "body": got.body}


async def _abort(route: Any) -> None:
    with contextlib.suppress(Exception):
        await route.abort("blockedbyclient")


def _close_popup(page: Any) -> None:
    async def close_if_popup() -> None:
        with contextlib.suppress(Exception):
            if await page.opener() is not None:
                await page.close()

    closer = asyncio.ensure_future(close_if_popup())
    _POPUP_CLOSERS.add(closer)
    closer.add_done_callback(_POPUP_CLOSERS.discard)


async def _content(page: Any) -> str | None:
    try:
        return str(await page.content())
    except Exception:  # a navigation destroyed the document being read
        return None


def _digest(html: str) -> str:
    return hashlib.sha256(html.encode("utf-8", "replace")).hexdigest()


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
