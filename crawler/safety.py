"""Safety of the crawl itself: no request to private networks, no unbounded response.

* :class:`AddressGuardMiddleware` refuses every request (start URLs, links, robots.txt and
  each redirect hop, since a redirect is a new request through the same middleware) whose host
  is, or resolves to, a private, loopback, link-local, reserved, multicast or unspecified
  address — unless the source is marked local, and then only for the (host, port) pairs of its
  own start URLs: a local source cannot be bounced to 169.254.169.254 or an intranet host.
* :class:`SizeGuard` stops a download at ``LEAKWATCH_MAX_RESPONSE_BYTES`` and keeps what came:
  the response goes on (flag ``download_stopped``), the evidence records it as truncated, with
  the reason, as a WARC ``WARC-Truncated: length`` record.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest, StopDownload

from crawler.context import CrawlContext

log = logging.getLogger(__name__)
TRUNCATED_META = "leakwatch_truncated"
_BYTES_META = "_leakwatch_bytes"


def is_public(ip: str) -> bool:
    addr = ipaddress.ip_address(ip)
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    return not (
        addr.is_private or addr.is_loopback or addr.is_link_local or addr.is_reserved
        or addr.is_multicast or addr.is_unspecified
        or (isinstance(addr, ipaddress.IPv4Address) and addr in _CGNAT)
    )  # fmt: skip


_CGNAT = ipaddress.ip_network("100.64.0.0/10")


@lru_cache(maxsize=4096)
def resolve(host: str) -> tuple[str, ...]:
    """Every address ``host`` resolves to (an IP literal is itself); empty if it does not."""
    try:
        ipaddress.ip_address(host)
        return (host,)
    except ValueError:
        pass
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
    private = [a for a in addresses if not is_public(a)]
    if not private:
        return None
    if local_hosts is not None and (host, port) in local_hosts:
        return None
    kind = "the source's own local host" if local_hosts else "a public host"
    return f"{host} resolves to a non-public address ({private[0]}), and this is not {kind}"


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
        ctx.counters.refused.append(entry)
        self.crawler.stats.inc_value("leakwatch/refused") if self.crawler.stats else None
        log.warning("refused %s: %s", request.url[:200], why)
        raise IgnoreRequest(f"refused: {why}")


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
