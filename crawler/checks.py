"""The checks a source's name and URLs pass, and :class:`CrawlError`, what every crawler
action (``crawler.sources``, ``crawler.launch``, ``crawler.options``) raises for its caller —
the CLI, the web app or the scheduler — with a one-line message fit to show as it is.

Messages never repeat a credential: a URL with ``user:password@`` is shown redacted.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

MAX_NAME = 100  # the width of Source.name
CREDENTIALS_HELP = (
    "credentials are never stored: for a members-only site give --login-url with "
    "--login-user-env and --login-password-env (names of environment variables holding them)"
)
_USERINFO = re.compile(r"(?<=//)[^/?#]*@")


class CrawlError(Exception):
    """A crawler action refused: a bad name, URL or option, an unknown or disabled source."""


def redact_url(url: str) -> str:
    """``url`` with any user name and password replaced: fit for messages and logs."""
    return _USERINFO.sub("***@", url, count=1)


def url_problem(url: str, what: str) -> str | None:
    """Why ``url`` may not be stored or crawled (not http(s), credentials in it, a bad port),
    or None. Credentials are refused because they would be stored, logged and written to
    evidence in the clear; ``what`` names the URL in the message ("start URL", "login url")."""
    parts = urlsplit(url)
    if "@" in parts.netloc:
        return f"{what} {redact_url(url)!r} holds a user name or password: {CREDENTIALS_HELP}"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"{what} is not an http(s) URL: {redact_url(url)!r}"
    try:
        parts.port  # noqa: B018 - parsing the port is the check
    except ValueError:
        return f"{what} has a bad port: {redact_url(url)!r}"
    return None


def check_url(url: str, what: str) -> None:
    """Raise :class:`CrawlError` if ``url`` may not be stored or crawled (``url_problem``)."""
    problem = url_problem(url, what)
    if problem is not None:
        raise CrawlError(problem)


def check_start_urls(start_urls: list[str], what: str = "start URL") -> None:
    """A source needs at least one start URL, and each must pass :func:`check_url`."""
    if not start_urls:
        raise CrawlError("a source needs at least one start URL")
    for url in start_urls:
        check_url(url, what)


def check_name(name: str) -> None:
    """A source's name: not blank, no surrounding spaces or control characters, bounded."""
    if not name.strip():
        raise CrawlError("a source needs a name (it is empty or blank)")
    if name != name.strip() or not name.isprintable():
        raise CrawlError(
            "a source name may not start or end with spaces or hold control characters"
        )
    if len(name) > MAX_NAME:
        raise CrawlError(f"a source name has {MAX_NAME} characters at most")
