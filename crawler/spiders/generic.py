"""The generic spider: one spider for every source, no per-site code for the common shapes.

From the source's start URLs it follows links within the allowed domains (depth and page
limits from the launcher), and reads every response with the reader its *content* calls for
(``crawler.readers``: XLSX by its bytes, HTML by its markup, any other text by whichever of the
delimited-table, ``label: value`` block and one-record-per-line readers yields more complete
records) — never by its URL's extension or its Content-Type, which lie. Which reader read each
response is recorded (``CrawlSummary.reads``).

For a source marked ``--javascript`` every HTML page is rendered in headless Chromium
(``crawler.rendering``, ``crawler.browser``) and its rendered DOM read by the same path, with
pagination that only script can follow (a 次へ button) clicked; a page that cannot be rendered
is read as fetched, and the failure recorded. For every other source nothing on a page is ever
executed: scripts are dropped unread.

Pages of one list (``?page=2``, ``/page/2``, links labelled 次へ / 2 / » / rel=next, and the
states a 次へ button shows) share one listing key, so a paginated table is one listing. Pages
are decoded by ``crawler.encoding``, not by trusting the HTTP header.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.http import FormRequest, Response, TextResponse

from crawler.context import CrawlContext, netloc_of
from crawler.encoding import decode
from crawler.meta import BROWSER_META, EVIDENCE_META, REDACT_META
from crawler.readers import Reading, block_text, cell_text_full, read_body, read_html, sniff
from crawler.rendering import Rendering, render_error
from crawler.summary import LoginState
from crawler.tables import Record, Selectors, cell_text, parse_html

__all__ = ["GenericSpider", "block_text", "cell_text_full", "key_before_home", "listing_key"]

PAGE_PARAMS = {"page", "p", "pg", "pageno", "page_no", "pagenum", "start", "offset", "pn"}
_PAGE_PATH = re.compile(r"/(?:page|p)/\d+/?$")
_PAGER_TEXT = re.compile(
    r"^(?:\d{1,4}|次へ?|前へ?|次の?ページ|前の?ページ|next|prev|[<>«»‹›]+)$", re.I
)
_SKIP_EXT = (
    ".jpg", ".jpeg", ".png", ".gif", ".webp", ".svg", ".ico", ".css", ".js", ".pdf", ".zip",
    ".mp4", ".mp3", ".woff", ".woff2", ".ttf", ".exe", ".dmg",
)  # fmt: skip
LISTING_META = "leakwatch_listing_key"
# links a logged-in crawl must not follow (a logout ends the session mid-crawl)
_LOGOUT = re.compile(r"log[ _-]?(?:out|off)|sign[ _-]?out|ログアウト|サインアウト", re.I)


def listing_key(url: str, home: str = "") -> str:
    """The listing a page belongs to: its URL without pagination parameters or fragment.

    On the source's ``home`` (the host and port of its first start URL, ``netloc_of``) the
    key leaves host and port out and starts with ``/``: the demo's fixture web on another
    port, or a broker moved to a new domain and re-pointed, keeps its listings. Pages on any
    other host keep it (``host:port/path``), so two hosts' ``/list`` never share a key.
    """
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
             if k.lower() not in PAGE_PARAMS]  # fmt: skip
    path = _PAGE_PATH.sub("", parts.path) or "/"
    netloc = "" if home and netloc_of(url) == home else parts.netloc.lower()
    key = urlunsplit(("", netloc, path, urlencode(sorted(query)), ""))
    return key if not netloc else key.lstrip("/")


def key_before_home(url: str, key: str) -> str | None:
    """The key a home page's listing had before keys left the home host out (or None)."""
    return urlsplit(url).netloc.lower() + key if key.startswith("/") else None


class GenericSpider(Spider):
    name = "generic"
    # a page that is gone is a finding (takedown)
    handle_httpstatus_list: ClassVar[list[int]] = [404, 410]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.allowed_domains: list[str] = []
        self.column_map: dict[str, str] | None = None
        self.selectors: Selectors | None = None
        self.home = ""  # the source's home host and port (listing keys leave it out)
        self.javascript = False  # pages rendered in the browser (a source marked so)
        # (listing, body hash) already read: one page reached as /list and /list?page=1
        self._read: set[tuple[str, bytes]] = set()

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> GenericSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        assert isinstance(spider, GenericSpider)
        return spider

    def _ctx(self) -> CrawlContext:
        return CrawlContext.of(self.crawler).ensure_open()

    async def start(self) -> AsyncIterator[Any]:
        ctx = self._ctx()
        src = ctx.source
        assert src is not None
        opts = src.options
        self.javascript = bool(opts.javascript)
        domains = opts.allowed_domains or sorted(
            {urlsplit(u).hostname or "" for u in src.start_urls} - {""}
        )
        self.allowed_domains = list(domains)
        self.home = src.home()
        self.column_map = opts.column_map or None
        self.selectors = opts.compiled_selectors()
        if opts.login is not None:
            self._login_state("not attempted", "the login page was not reached")
            yield Request(
                opts.login.url, callback=self._login, errback=self._login_failed,
                dont_filter=True,
            )  # fmt: skip
            return
        for request in self._start_requests():
            yield request

    def _start_requests(self) -> Iterator[Request]:
        src = self._ctx().source
        assert src is not None
        for url in src.start_urls:
            yield Request(url, callback=self._page_callback(), errback=self._start_failed)

    def _page_callback(self) -> Any:
        """What reads a page: the browser for a source marked --javascript, else the parser."""
        return self.parse_rendered if self.javascript else self.parse

    def _start_failed(self, failure: Any) -> None:
        """Why a start URL got no response: what a crawl that fetched nothing reports."""
        exc = failure.value
        request = getattr(failure, "request", None)
        url = str(getattr(request, "url", "?"))
        why = str(exc) if isinstance(exc, IgnoreRequest) else f"{type(exc).__name__}: {exc}"
        not_fetched = self._ctx().counters.not_fetched
        if len(not_fetched) < 50:
            not_fetched.append({"url": url[:500], "reason": why[:300]})

    def _login_state(self, status: str, reason: str) -> None:
        self._ctx().login = LoginState(status=status, reason=reason)

    def _login(self, response: Response) -> Iterator[Request]:
        """Submit the login form with credentials read from the environment.

        The credentials live only in this process's memory and the form request's body: the
        store keeps the variables' names, the evidence a redacted copy of the request
        (``crawler.evidence``), the log never sees them. The form must be a POST form (a GET
        form would put them in a URL, hence in logs and evidence) whose action stays on the
        login page's host or the source's allowed domains. Without credentials the start URLs
        are still crawled (their public part), and the crawl is marked incomplete.
        """
        src = self._ctx().source
        assert src is not None
        login = src.options.login
        assert login is not None  # only a source with a login form comes here
        names = (login.username_env, login.password_env)
        user, password = (os.environ.get(n, "") for n in names)
        missing = [n for n, v in zip(names, (user, password), strict=True) if not v]
        form = _login_form(response) if not missing else None
        if missing:
            why = f"credentials not set: environment variable(s) {', '.join(missing)} empty"
        elif form is None:
            why = "no login form (a form with a password field) on the login page"
        elif form.method != "POST":
            why = "the login form submits by GET: credentials would travel in a URL; not sent"
        elif not _same_site(form.action, response.url, self.allowed_domains):
            why = f"the login form posts to another host ({urlsplit(form.action).hostname})"
        else:
            why = ""
        if why or form is None:
            self._login_state("failed" if not missing else "not attempted", why)
            self.logger.warning("login not submitted: %s", why)
            yield from self._start_requests()
            return
        assert isinstance(response, TextResponse)
        yield FormRequest.from_response(
            response,
            formxpath=form.xpath,
            formdata={form.user_field: user, form.password_field: password},
            callback=self._after_login,
            errback=self._login_failed,
            dont_filter=True,
            meta={REDACT_META: [form.user_field, form.password_field]},
        )

    def _login_failed(self, failure: Any) -> Iterator[Request]:
        resp = getattr(failure.value, "response", None)
        why = (
            f"the login answered HTTP {resp.status}"
            if resp is not None
            else f"the login could not be fetched ({type(failure.value).__name__})"
        )
        self._login_state("failed", why)
        yield from self._start_requests()

    async def _after_login(self, response: Response) -> AsyncIterator[Any]:
        if _login_form(response) is not None:
            self._login_state(
                "failed", "the site answered with its login form again (wrong name or password?)"
            )
            for request in self._start_requests():
                yield request
            return
        self._login_state("ok", "logged in")
        # the landing page is read too: a start URL it redirected to is a duplicate request now
        if self.javascript:
            async for out in self.parse_rendered(response):
                yield out
        else:
            for out in self.parse(response):
                yield out
        for request in self._start_requests():
            yield request

    def parse(self, response: Response, **kwargs: Any) -> Iterator[Any]:
        key = self._first_read(response)
        if key is not None:
            yield from self._read_as_fetched(response, key)

    def _first_read(self, response: Response) -> str | None:
        """The response's listing key, or None when it is not read: a page gone (404, 410:
        its listing is not seen, which is the finding) or a body already read for this listing
        (one page reached as /list and /list?page=1)."""
        if response.status >= 400:
            return None
        key = str(response.meta.get(LISTING_META) or listing_key(response.url, self.home))
        seen = (key, hashlib.sha256(response.body).digest())
        if seen in self._read:
            return None
        self._read.add(seen)
        return key

    def _read_as_fetched(self, response: Response, key: str) -> Iterator[Any]:
        reading = read_body(
            response.body, _ctype(response), column_map=self.column_map, selectors=self.selectors
        )
        self._record_reading(response.url, reading)
        title = reading.title if reading.root is not None else response.url.rsplit("/", 1)[-1]
        evidence_id = response.meta.get(EVIDENCE_META)
        yield from self._items(response.url, key, reading.records, title, evidence_id)
        if reading.root is not None:
            yield from self._links(response.url, reading.root, key)

    def _record_reading(self, url: str, reading: Reading) -> None:
        ctx = self._ctx()
        ctx.counters.read(url, reading.reader, len(reading.records))
        if reading.problem and reading.reader == "xlsx":  # a file refused (zip bomb, damaged)
            ctx.counters.file_errors.append({"url": url[:500], "reason": reading.problem})

    async def parse_rendered(self, response: Response, **kwargs: Any) -> AsyncIterator[Any]:
        """A page of a source marked --javascript: rendered, then read (its script-only pager
        clicked); anything but HTML, or a page that cannot be rendered, is read as fetched."""
        key = self._first_read(response)
        if key is None:
            return
        if sniff(response.body, _ctype(response)) != "html":
            for out in self._read_as_fetched(response, key):
                yield out
            return
        showed_rows: list[bool] = []  # filled by _rendered when a state shows rows
        try:
            async for out in self._rendered(response, key, showed_rows):
                yield out
        except Exception as exc:  # a time budget, a crashed page, no browser
            render_error(self.crawler, response.url, exc)
            self.logger.warning("not rendered: %s: %s", response.url[:200], type(exc).__name__)
        if not showed_rows:
            # nothing read from the rendered page (it failed, or its script hid or replaced
            # the rows): the page as fetched is read too, which runs nothing
            for out in self._read_as_fetched(response, key):
                yield out

    async def _rendered(
        self, response: Response, key: str, showed_rows: list[bool]
    ) -> AsyncIterator[Any]:
        followed: set[str] = set()
        shown: set[bytes] = set()  # the rows each state of this page showed
        async for state in Rendering.of(self.crawler).render(response):
            snap = state.snapshot
            reading = read_html(
                snap.html, column_map=self.column_map, selectors=self.selectors,
                where=f"rendered{snap.step}/",
            )  # fmt: skip
            reading.reader = "rendered-" + reading.reader
            self._record_reading(snap.url, reading)
            # a DOM already read for this listing (the list reached at two addresses), or a
            # state of this page showing the rows of one before (a pager that went nowhere
            # new) adds no rows; other pages showing the same rows do, as fetched pages do
            dom = (key, hashlib.sha256(snap.html.encode("utf-8", "replace")).digest())
            rows = _records_digest(reading.records)
            if reading.records:
                showed_rows.append(True)  # read now or before: the page as fetched is not
            if reading.records and dom not in self._read and rows not in shown:
                self._read.add(dom)
                shown.add(rows)
                for item in self._items(
                    snap.url, key, reading.records, reading.title, state.evidence_id
                ):
                    yield item
            for request in self._links_rendered(snap.url, reading.root, key, snap.navigations):
                if request.url not in followed:
                    followed.add(request.url)
                    yield request

    def _links_rendered(
        self, url: str, root: Any, key: str, navigations: list[str]
    ) -> Iterator[Request]:
        """The rendered page's links, and where its script tried to go by itself (followed as
        links: each passes the address guard, and says which page asked)."""
        if root is not None:
            yield from self._links(url, root, key)
        for target in navigations:
            if urlsplit(target).path.lower().endswith(_SKIP_EXT):
                continue
            yield Request(target, callback=self._page_callback(), meta={BROWSER_META: url})

    def _items(
        self, url: str, key: str, records: list[Record], title: str, evidence_id: Any
    ) -> Iterator[dict[str, Any]]:
        """One item per page (its records in a list): Scrapy's per-item cost is paid once."""
        if not records:
            return
        self._ctx().counters.records += len(records)  # whether rows are stored or not
        yield {
            "listing_key": key,
            "listing_key_before": key_before_home(url, key),
            "listing_url": url,
            "title": title,
            "evidence_id": evidence_id,
            "records": [{"fields": r.fields, "extra": r.extra, "where": r.where} for r in records],
        }

    def _links(self, base: str, root: Any, key: str) -> Iterator[Request]:
        callback = self._page_callback()
        for a in root.iter("a"):
            href = (a.get("href") or "").strip()
            if not href or href.startswith(("#", "javascript:", "mailto:", "tel:", "data:")):
                continue
            url = urljoin(base, href).split("#", 1)[0]
            if urlsplit(url).scheme not in ("http", "https"):
                continue
            if urlsplit(url).path.lower().endswith(_SKIP_EXT):
                continue
            label = cell_text(a)
            if _LOGOUT.search(label) or _LOGOUT.search(urlsplit(url).path):
                continue
            meta: dict[str, Any] = {}
            rel = (a.get("rel") or "").lower()
            pager = (
                listing_key(url, self.home) == key or _PAGER_TEXT.match(label)
                or rel in ("next", "prev")
            )  # fmt: skip
            if pager and _same_path(url, base):
                meta[LISTING_META] = key
            yield Request(url, callback=callback, meta=meta)


# the first form with a password field (an XPath, not a secret)
_PASSWORD_FORM = "(//form[.//input[translate(@type, 'PASSWORD', 'password') = 'password']])[1]"  # noqa: S105


@dataclass(frozen=True)
class LoginForm:
    xpath: str
    method: str
    action: str
    user_field: str
    password_field: str


def _login_form(response: Response) -> LoginForm | None:
    """The page's first form with a password field, or None."""
    if not isinstance(response, TextResponse) or response.status >= 400:
        return None
    root = parse_html(decode(response.body, _ctype(response))[0])
    if root is None:
        return None
    for form in root.iter("form"):
        pass_field = user_field = ""
        for inp in form.iter("input"):
            typ = (inp.get("type") or "text").lower()
            name = inp.get("name") or ""
            if typ == "password" and name and not pass_field:
                pass_field = name
            elif typ in ("text", "email", "tel") and name and not user_field:
                user_field = name
        if pass_field:
            action = urljoin(response.url, (form.get("action") or "").strip() or response.url)
            return LoginForm(
                _PASSWORD_FORM, (form.get("method") or "GET").upper(), action,
                user_field or "username", pass_field,
            )  # fmt: skip
    return None


def _same_site(action: str, page: str, allowed_domains: list[str]) -> bool:
    a, p = urlsplit(action), urlsplit(page)
    if a.scheme not in ("http", "https"):
        return False
    if (a.hostname, a.port) == (p.hostname, p.port):
        return True
    host = a.hostname or ""
    return any(host == d or host.endswith("." + d) for d in allowed_domains)


def _same_path(a: str, b: str) -> bool:
    pa, pb = urlsplit(a), urlsplit(b)
    return pa.netloc == pb.netloc and _PAGE_PATH.sub("", pa.path) == _PAGE_PATH.sub("", pb.path)


def _ctype(response: Response) -> str | None:
    raw = response.headers.get("Content-Type")
    return raw.decode("latin-1") if raw else None


def _records_digest(records: list[Record]) -> bytes:
    """What a rendered state shows, as read: two states showing the same rows are one."""
    data = json.dumps([r.fields for r in records], ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(data.encode("utf-8")).digest()
