"""The generic spider: one spider for every source, no per-site code for the common shapes.

From the source's start URLs it follows links within the allowed domains (depth and page
limits from the launcher), and from every response takes:

* sample files (CSV/TSV, XLSX) -> records by header or content (``crawler.files``);
* HTML tables, label/value tables and ``<dl>`` -> records (``crawler.tables``);
* otherwise text in ``<pre>``, ``<textarea>`` or the body -> free-text records
  (``crawler.text_records``).

Pages of one list (``?page=2``, ``/page/2``, links labelled 次へ / 2 / » / rel=next) share one
listing key, so a paginated table is one listing. Pages are decoded by ``crawler.encoding``, not
by trusting the HTTP header. Nothing on a page is ever executed: scripts are dropped unread.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.http import FormRequest, Response, TextResponse

from crawler.context import CrawlContext
from crawler.encoding import decode
from crawler.evidence import EVIDENCE_META
from crawler.files import FileRefused, kind_of, records_from_csv, records_from_xlsx
from crawler.tables import Record, cell_text, parse_html, records_from_html
from crawler.text_records import records_from_text

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


def listing_key(url: str) -> str:
    """The listing a page belongs to: its URL without pagination parameters or fragment."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
             if k.lower() not in PAGE_PARAMS]  # fmt: skip
    path = _PAGE_PATH.sub("", parts.path) or "/"
    key = urlunsplit(("", parts.netloc.lower(), path, urlencode(sorted(query)), ""))
    return key.lstrip("/")


class GenericSpider(Spider):
    name = "generic"
    # a page that is gone is a finding (takedown)
    handle_httpstatus_list: ClassVar[list[int]] = [404, 410]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.allowed_domains: list[str] = []
        self.column_map: dict[str, str] | None = None
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
        if opts.get("javascript"):
            raise RuntimeError("JavaScript rendering is not available in this build")
        domains = opts.get("allowed_domains") or sorted(
            {urlsplit(u).hostname or "" for u in src.start_urls} - {""}
        )
        self.allowed_domains = list(domains)
        self.column_map = opts.get("column_map") or None
        login = opts.get("login")
        if isinstance(login, dict) and login.get("url"):
            yield Request(str(login["url"]), callback=self._login, dont_filter=True)
            return
        for url in src.start_urls:
            yield Request(url, callback=self.parse)

    def _login(self, response: Response) -> Iterator[Request]:
        """Submit the login form with credentials read from the environment (never stored)."""
        src = self._ctx().source
        assert src is not None
        login = src.options["login"]
        user = os.environ.get(str(login.get("username_env", "")), "")
        password = os.environ.get(str(login.get("password_env", "")), "")
        root = parse_html(decode(response.body, _ctype(response))[0])
        user_field, pass_field = "username", "password"
        if root is not None:
            for inp in root.iter("input"):
                typ = (inp.get("type") or "text").lower()
                if typ == "password":
                    pass_field = inp.get("name") or pass_field
                elif typ in ("text", "email") and inp.get("name"):
                    user_field = inp.get("name") or user_field
        assert isinstance(response, TextResponse)
        yield FormRequest.from_response(
            response, formdata={user_field: user, pass_field: password}, callback=self._after_login
        )

    def _after_login(self, response: Response) -> Iterator[Request]:
        src = self._ctx().source
        assert src is not None
        for url in src.start_urls:
            yield Request(url, callback=self.parse)

    def parse(self, response: Response, **kwargs: Any) -> Iterator[Any]:
        ctx = self._ctx()
        if response.status >= 400:
            ctx.counters.gone_urls.append(response.url[:500])
            return
        key = str(response.meta.get(LISTING_META) or listing_key(response.url))
        ctype = _ctype(response)
        body = response.body
        seen = (key, hashlib.sha256(body).digest())
        if seen in self._read:
            return
        self._read.add(seen)
        kind = kind_of(response.url, ctype, body)
        if kind is not None:
            try:
                records = (
                    records_from_xlsx(body, "xlsx")
                    if kind == "xlsx"
                    else records_from_csv(body, ctype, "csv")
                )
            except FileRefused as exc:
                ctx.counters.file_errors.append({"url": response.url[:500], "reason": str(exc)})
                return
            yield from self._items(response, key, records, title=response.url.rsplit("/", 1)[-1])
            return
        if ctype and not ctype.lower().startswith(("text/html", "application/xhtml", "text/plain")):
            return
        text, _ = decode(body, ctype)
        if ctype and ctype.lower().startswith("text/plain"):
            yield from self._items(response, key, records_from_text(text, "text"), "")
            return
        root = parse_html(text)
        if root is None:
            return
        title_el = root.find(".//title")
        title = cell_text(title_el) if title_el is not None else ""
        records = records_from_html(root, "page", self.column_map)
        if not records:
            blocks = [cell_text_full(el) for el in root.iter("pre", "textarea")]
            records = records_from_text("\n".join(blocks), "pre") if blocks else []
        if not records:
            body_el = root.find(".//body")
            if body_el is not None:
                records = records_from_text(block_text(body_el), "body")
        yield from self._items(response, key, records, title)
        yield from self._links(response, root, key)

    def _items(
        self, response: Response, key: str, records: list[Record], title: str
    ) -> Iterator[dict[str, Any]]:
        """One item per page (its records in a list): Scrapy's per-item cost is paid once."""
        if not records:
            return
        yield {
            "listing_key": key,
            "listing_url": response.url,
            "title": title,
            "evidence_id": response.meta.get(EVIDENCE_META),
            "records": [{"fields": r.fields, "extra": r.extra, "where": r.where} for r in records],
        }

    def _links(self, response: Response, root: Any, key: str) -> Iterator[Request]:
        for a in root.iter("a"):
            href = (a.get("href") or "").strip()
            if not href or href.startswith(("#", "javascript:", "mailto:", "tel:", "data:")):
                continue
            url = urljoin(response.url, href).split("#", 1)[0]
            if urlsplit(url).scheme not in ("http", "https"):
                continue
            if urlsplit(url).path.lower().endswith(_SKIP_EXT):
                continue
            meta: dict[str, Any] = {}
            label = cell_text(a)
            rel = (a.get("rel") or "").lower()
            pager = listing_key(url) == key or _PAGER_TEXT.match(label) or rel in ("next", "prev")
            if pager and _same_path(url, response.url):
                meta[LISTING_META] = key
            yield Request(url, callback=self.parse, meta=meta)


def _same_path(a: str, b: str) -> bool:
    pa, pb = urlsplit(a), urlsplit(b)
    return pa.netloc == pb.netloc and _PAGE_PATH.sub("", pa.path) == _PAGE_PATH.sub("", pb.path)


def _ctype(response: Response) -> str | None:
    raw = response.headers.get("Content-Type")
    return raw.decode("latin-1") if raw else None


def cell_text_full(el: Any, limit: int = 5_000_000) -> str:
    """The text of ``el`` with its line breaks (``<pre>`` content), bounded."""
    parts: list[str] = []
    size = 0
    for t in el.itertext():
        parts.append(str(t))
        size += len(t)
        if size > limit:
            break
    return "".join(parts)


def block_text(body: Any) -> str:
    """Body text with a line break per block element, so lines stay records."""
    for br in body.iter("br"):
        br.tail = "\n" + (br.tail or "")
    for el in body.iter("p", "div", "li", "tr", "h1", "h2", "h3", "h4", "section", "article"):
        el.tail = "\n" + (el.tail or "")
    return cell_text_full(body)
