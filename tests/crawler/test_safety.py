"""The address guard's table: which addresses a crawl may connect to, and why not.

Every URL here is an IP literal, so nothing is looked up: ``refusal`` judges the address
itself, as the downloader's resolver (``GuardedResolver``) does for every address it is given.
"""

from __future__ import annotations

import pytest

from crawler.safety import is_public, non_public, refusal

REFUSED = [
    ("100.64.0.1", "shared address space (CGNAT)"),
    ("100.127.255.254", "shared address space (CGNAT)"),
    ("0.0.0.0", "unspecified"),
    ("224.0.0.1", "multicast"),
    ("239.255.255.250", "multicast"),
    ("192.168.0.1", "private"),
    ("192.168.255.254", "private"),
    ("172.16.0.1", "private"),
    ("172.31.255.254", "private"),
    ("10.0.0.1", "private"),
    ("10.255.255.254", "private"),
    ("169.254.169.254", "link-local"),
    ("127.0.0.1", "loopback"),
    ("127.1.2.3", "loopback"),
    ("fe80::1", "link-local"),
    ("fc00::1", "private"),
    ("fd12:3456:789a::1", "private"),
    ("fec0::1", "site-local"),
    ("::1", "loopback"),
    ("::", "unspecified"),
    ("ff02::1", "multicast"),
    ("::ffff:127.0.0.1", "loopback, IPv4 127.0.0.1 inside IPv6"),
    ("::ffff:10.0.0.1", "private, IPv4 10.0.0.1 inside IPv6"),
    ("::ffff:169.254.169.254", "link-local, IPv4 169.254.169.254 inside IPv6"),
    ("::ffff:100.64.0.1", "shared address space (CGNAT), IPv4 100.64.0.1 inside IPv6"),
    ("64:ff9b::a00:1", "private, IPv4 10.0.0.1 inside IPv6"),  # NAT64
    ("2002:a00:1::1", "private, IPv4 10.0.0.1 inside IPv6"),  # 6to4
]
PUBLIC = ["8.8.8.8", "93.184.216.34", "1.1.1.1", "2001:4860:4860::8888", "::ffff:8.8.8.8"]


def _url(ip: str, path: str = "/") -> str:
    return f"http://[{ip}]{path}" if ":" in ip else f"http://{ip}{path}"


@pytest.mark.parametrize(("ip", "kind"), REFUSED)
def test_non_public_addresses_are_refused_with_their_kind(ip: str, kind: str) -> None:
    assert non_public(ip) == kind and not is_public(ip)
    why = refusal(_url(ip), None)
    assert why is not None
    assert f"non-public address, {ip} ({kind})" in why and "not a public host" in why


@pytest.mark.parametrize("ip", PUBLIC)
def test_public_addresses_are_allowed(ip: str) -> None:
    assert non_public(ip) is None and is_public(ip)
    assert refusal(_url(ip), None) is None


def test_a_local_source_reaches_its_own_host_and_port_only() -> None:
    own = {("127.0.0.1", 8765)}
    assert refusal("http://127.0.0.1:8765/list", own) is None
    other_port = refusal("http://127.0.0.1:9/private", own)
    assert other_port is not None and "not the source's own local host" in other_port
    metadata = refusal("http://169.254.169.254/latest/meta-data/", own)
    assert metadata is not None and "(link-local)" in metadata


def test_other_schemes_and_bad_urls_are_refused() -> None:
    assert refusal("file:///etc/passwd", None) == "scheme 'file' is not crawled"
    assert refusal("http:///nohost", None) == "no host"
    assert refusal("http://8.8.8.8:99999/", None) == "bad port"
