"""Safety of the crawl itself: no request to private networks, no unbounded response.

* :class:`AddressGuardMiddleware` refuses every request (start URLs, links, robots.txt and
  each redirect hop, since a redirect is a new request through the same middleware) whose host
  is, or resolves to, a private, loopback, link-local, reserved, multicast or unspecified
  address — unless the source is marked local, and then only for the (host, port) pairs of its
  own start URLs: a local source cannot be bounced to 169.254.169.254 or an intranet host.
* :class:`GuardedResolver` (Scrapy's ``TWISTED_DNS_RESOLVER``) closes the DNS-rebinding gap:
  the middleware resolves a host itself, then the downloader resolves it again, and a hostile
  name server can answer "public" the first time and ``127.0.0.1`` the second. Every name the
  downloader connects to (IP literals included) goes through this resolver, which hands on only
  public addresses — or, for a local source, any address of its own (host, port) pairs — so the
  check is made on the very addresses connected to. A refused address is recorded in the
  crawl summary; with none left the download fails with a DNS lookup error.
* The requests a rendered page makes (a source marked ``--javascript``) are the crawl's own:
  ``crawler.rendering`` sends each through this same downloader, so all of the above holds for
  them; a refusal names the page that asked (``requested_by``). ``localhost`` and names under
  it are loopback here, as browsers take them (RFC 6761), whatever the system resolver says.
* :class:`PageBudgetMiddleware` sends no more requests than the page limit allows.
* :class:`SizeGuard` stops a download at ``LEAKWATCH_MAX_RESPONSE_BYTES`` and keeps what came:
  the response goes on (flag ``download_stopped``), the evidence records it as truncated, with
  the reason, as a WARC ``WARC-Truncated: length`` record.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest, StopDownload
from scrapy.resolver import CachingHostnameResolver
from twisted.internet.interfaces import (
    IAddress,
    IHostnameResolver,
    IHostResolution,
    IResolutionReceiver,
)
from zope.interface import implementer  # type: ignore[import-untyped]

from crawler.context import CrawlContext
from crawler.meta import BROWSER_META, TRUNCATED_META, is_robots_request

log = logging.getLogger(__name__)
_BYTES_META = "_leakwatch_bytes"


def is_public(ip: str) -> bool:
    return non_public(ip) is None


_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
# the first test that holds names the kind (order: the most specific first)
_KINDS: tuple[tuple[str, Callable[[ipaddress.IPv4Address | ipaddress.IPv6Address], bool]], ...] = (
    ("unspecified", lambda a: a.is_unspecified),
    ("loopback", lambda a: a.is_loopback),
    ("link-local", lambda a: a.is_link_local),
    ("multicast", lambda a: a.is_multicast),
    ("shared address space (CGNAT)", lambda a: a in _CGNAT),
    # deprecated fec0::/10: Python counts it neither private nor reserved
    ("site-local", lambda a: isinstance(a, ipaddress.IPv6Address) and a.is_site_local),
    ("private", lambda a: a.is_private),
    ("reserved", lambda a: a.is_reserved),
    ("not globally routable", lambda a: not a.is_global),
)


def _embedded_ipv4(addr: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries to (IPv4-mapped, NAT64, 6to4, Teredo client)."""
    if addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    if addr in _NAT64:
        return ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF)
    if addr.sixtofour is not None:
        return addr.sixtofour
    return addr.teredo[1] if addr.teredo is not None else None


def non_public(ip: str) -> str | None:
    """The kind of non-public address ``ip`` is (loopback, private, ...), or None if public.

    An IPv6 address that carries an IPv4 one (``::ffff:10.0.0.1``, NAT64, 6to4, Teredo) is
    judged by that IPv4 address too: a gateway would deliver it there.
    """
    addr = ipaddress.ip_address(ip)
    if isinstance(addr, ipaddress.IPv6Address):
        inner = _embedded_ipv4(addr)
        if inner is not None:
            kind = non_public(str(inner))
            if kind is not None:
                return f"{kind}, IPv4 {inner} inside IPv6"
            if addr.ipv4_mapped is not None:
                return None  # ::ffff:a.b.c.d is that IPv4 address, public
    for kind, test in _KINDS:
        if test(addr):
            return kind
    return None


@lru_cache(maxsize=4096)
def resolve(host: str) -> tuple[str, ...]:
    """Every address ``host`` resolves to (an IP literal is itself); empty if it does not.

    ``localhost`` and every name under it (``x.localhost``) are loopback whatever the system
    resolver says (RFC 6761; browsers resolve them so themselves)."""
    try:
        ipaddress.ip_address(host)
        return (host,)
    except ValueError:
        pass
    if host == "localhost" or host.endswith(".localhost"):
        return ("127.0.0.1", "::1")
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        return ()
    return tuple(sorted({str(i[4][0]) for i in infos}))


def refusal(url: str, local_hosts: set[tuple[str, int]] | None) -> str | None:
    """Why ``url`` must not be fetched, or None. ``local_hosts`` is set for a local source."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return f"scheme {parts.scheme!r} is not crawled"
    host = (parts.hostname or "").strip("[]").lower()
    if not host:
        return "no host"
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return "bad port"
    addresses = resolve(host)
    if not addresses:
        return None  # unresolvable: the download fails on its own, nothing to protect
    private = [(a, kind) for a in addresses if (kind := non_public(a)) is not None]
    if not private:
        return None
    if local_hosts is not None and (host, port) in local_hosts:
        return None
    where = "the source's own local host" if local_hosts else "a public host"
    ip, kind = private[0]
    return f"{host} resolves to a non-public address, {ip} ({kind}), and this is not {where}"


class AddressGuardMiddleware:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> AddressGuardMiddleware:
        return cls(crawler)

    def process_request(self, request: Request) -> None:
        ctx = CrawlContext.of(self.crawler).ensure_open()
        src = ctx.source
        assert src is not None
        why = refusal(request.url, src.local_hosts() if src.is_local else None)
        if why is None:
            return
        came_from = request.meta.get("redirect_urls") or []
        entry = {"url": request.url[:500], "reason": why}
        if came_from:
            entry["redirected_from"] = str(came_from[-1])[:500]
        if request.meta.get(BROWSER_META):  # a rendered page's script asked for it
            entry["requested_by"] = str(request.meta[BROWSER_META])[:500]
        ctx.counters.refused.append(entry)
        self.crawler.stats.inc_value("leakwatch/refused") if self.crawler.stats else None
        log.warning("refused %s: %s", request.url[:200], why)
        raise IgnoreRequest(f"refused: {why}")


class PageBudgetMiddleware:
    """The page limit as a cap on the requests sent, not only on the responses counted.

    Scrapy's ``CLOSESPIDER_PAGECOUNT`` closes the spider once that many responses came, by
    which time up to ``CONCURRENT_REQUESTS`` more requests are on their way: a site asked
    for no more than N pages would get more. Here the (N+1)th request is never sent.
    robots.txt is not a page of the site and does not count; retries and redirect hops do
    (the site sees them). After ``RobotsTxtMiddleware``: a request robots.txt forbids is not
    sent either, so it takes nothing from the budget.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.limit = crawler.settings.getint("CLOSESPIDER_PAGECOUNT")
        self.sent = 0

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PageBudgetMiddleware:
        return cls(crawler)

    def process_request(self, request: Request) -> None:
        if is_robots_request(request):
            return
        if self.limit <= 0 or self.sent < self.limit:
            self.sent += 1
            return
        ctx = CrawlContext.of(self.crawler)
        ctx.counters.over_page_limit += 1
        if self.crawler.stats:
            self.crawler.stats.inc_value("leakwatch/over_page_limit")
        raise IgnoreRequest(f"page limit ({self.limit}) reached: not requested")


@implementer(IResolutionReceiver)
class _GuardedReceiver:
    """Passes on the public addresses only (or all, for a local source's own host and port)."""

    def __init__(
        self,
        inner: Any,  # an IResolutionReceiver (zope interfaces do not type-check as classes)
        allow_private: bool,
        on_refused: Callable[[list[str]], None],
    ) -> None:
        self.inner = inner
        self.allow_private = allow_private
        self.on_refused = on_refused
        self.refused: list[str] = []

    def resolutionBegan(self, resolution: IHostResolution) -> None:
        self.inner.resolutionBegan(resolution)

    def addressResolved(self, address: IAddress) -> None:
        ip = str(getattr(address, "host", "") or "")
        try:
            public = is_public(ip)
        except ValueError:
            public = False  # not an IP address at all (a UNIX socket?): never connected to
        if public or (self.allow_private and ip):
            self.inner.addressResolved(address)
        else:
            self.refused.append(ip or type(address).__name__)

    def resolutionComplete(self) -> None:
        if self.refused:
            self.on_refused(self.refused)
        self.inner.resolutionComplete()


@implementer(IHostnameResolver)
class GuardedResolver(CachingHostnameResolver):
    """The downloader's name resolver: the address guard applied to the addresses connected to.

    Scrapy builds it once per process (``scrapy crawl``: one crawl per process) from the
    crawler process; the source's policy is looked up at each resolution, and while it is
    unknown (no crawl open, or several) every non-public address is refused.
    """

    def __init__(self, reactor: Any, cache_size: int, owner: Any) -> None:
        super().__init__(reactor, cache_size)
        self.owner = owner
        self._reported: set[tuple[str, int]] = set()

    @classmethod
    def from_crawler(cls, crawler: Any, reactor: Any) -> GuardedResolver:
        s = crawler.settings
        cache_size = s.getint("DNSCACHE_SIZE") if s.getbool("DNSCACHE_ENABLED") else 0
        return cls(reactor, cache_size, crawler)

    def _context(self) -> CrawlContext | None:
        crawlers = [self.owner] if isinstance(self.owner, Crawler) else []
        crawlers = crawlers or list(getattr(self.owner, "crawlers", ()))
        if len(crawlers) != 1:
            return None
        ctx = CrawlContext.of(crawlers[0])
        return ctx if ctx.source is not None else None

    def resolveHostName(
        self,
        resolutionReceiver: Any,
        hostName: str,
        portNumber: int = 0,
        addressTypes: Sequence[type[IAddress]] | None = None,
        transportSemantics: str = "TCP",
    ) -> IHostResolution:
        ctx = self._context()
        host = hostName.strip("[]").lower()
        src = ctx.source if ctx is not None else None
        allow_private = src is not None and src.is_local and (host, portNumber) in src.local_hosts()

        def refused(addresses: list[str]) -> None:
            self._refused(ctx, host, portNumber, addresses)

        receiver: Any = _GuardedReceiver(resolutionReceiver, allow_private, refused)
        return super().resolveHostName(
            receiver, hostName, portNumber, addressTypes, transportSemantics
        )

    def _refused(
        self, ctx: CrawlContext | None, host: str, port: int, addresses: list[str]
    ) -> None:
        ip = addresses[0]
        try:
            kind = non_public(ip) or "refused"
        except ValueError:
            kind = "not an IP address"
        why = (
            f"{host} resolved at connect time to a non-public address, {ip} ({kind}): not connected"
        )
        if (host, port) in self._reported:
            return
        self._reported.add((host, port))
        log.warning("refused %s:%d: %s", host[:200], port, why)
        if ctx is not None:
            ctx.counters.refused.append({"url": f"{host}:{port}"[:500], "reason": why})
            if ctx.crawler.stats:
                ctx.crawler.stats.inc_value("leakwatch/refused_at_connect")


class SizeGuard:
    """Cuts every response at the size limit and marks the request with the reason."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.limit = crawler.settings.getint("LEAKWATCH_MAX_RESPONSE_BYTES")
        crawler.signals.connect(self.bytes_received, signal=signals.bytes_received)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SizeGuard:
        return cls(crawler)

    def bytes_received(self, data: bytes, request: Request, **_: Any) -> None:
        got = int(request.meta.get(_BYTES_META, 0)) + len(data)
        request.meta[_BYTES_META] = got
        if got > self.limit and TRUNCATED_META not in request.meta:
            request.meta[TRUNCATED_META] = (
                f"response larger than the {self.limit}-byte limit: cut after {got} bytes"
            )
            raise StopDownload(fail=False)
