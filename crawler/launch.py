"""Sources and crawl launching: one ``scrapy crawl`` subprocess per crawl.

The launcher creates the crawl row, turns the source's options into Scrapy settings (depth,
page limit, size limit, robots override, throttling), runs ``python -m scrapy crawl generic``
with the same environment (database URL, key, home), waits, and reads back the summary the
crawl wrote (counts only). The crawl's log goes to ``LEAKWATCH_HOME/logs/crawl-<id>.log``
(with whatever the process printed before its log was set up).

Every crawl ends recorded: ``done``, or ``failed`` with the reason in ``Crawl.error``, and one
audit event (``crawl.finished``, ``crawl.failed`` or ``crawl.interrupted``) after its
``crawl.started``. The crawl records its own end; when it cannot (it never started, it died, it
was killed) the launcher does.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select

from store import audit
from store.models import Crawl, CrawlStatus, Source, utcnow
from store.runtime import Store

OPTION_KEYS = {
    "allowed_domains", "depth", "page_limit", "max_response_bytes", "login", "javascript",
    "column_map", "throttle", "selectors",
}  # fmt: skip


_ENV_NAME = re.compile(r"[A-Z_][A-Z0-9_]{0,99}")
_USERINFO = re.compile(r"(?<=//)[^/?#]*@")
MAX_NAME = 100  # the column's width
# After a stop signal Scrapy closes the spider once the requests on their way are answered (at
# most DOWNLOAD_TIMEOUT): rows, evidence and the summary are kept. Past this it is killed.
STOP_GRACE_S = 40.0
CREDENTIALS_HELP = (
    "credentials are never stored: for a members-only site give --login-url with "
    "--login-user-env and --login-password-env (names of environment variables holding them)"
)


class CrawlError(Exception):
    pass


class CrawlInterrupted(KeyboardInterrupt):
    """Ctrl-C during a crawl: the crawl was stopped and recorded as interrupted."""

    def __init__(self, crawl_id: int, reason: str, log_path: Path) -> None:
        super().__init__(reason)
        self.crawl_id = crawl_id
        self.reason = reason
        self.log_path = log_path


def redact_url(url: str) -> str:
    """``url`` with any user name and password replaced: fit for messages and logs."""
    return _USERINFO.sub("***@", url, count=1)


def _check_name(name: str) -> None:
    if not name.strip():
        raise CrawlError("a source needs a name (it is empty or blank)")
    if name != name.strip() or not name.isprintable():
        raise CrawlError(
            "a source name may not start or end with spaces or hold control characters"
        )
    if len(name) > MAX_NAME:
        raise CrawlError(f"a source name has {MAX_NAME} characters at most")


def _check_url(url: str, what: str) -> None:
    """Refuses a URL that is not http(s) or that carries credentials (they would be stored,
    logged and written to evidence in the clear); messages never repeat a password."""
    parts = urlsplit(url)
    if "@" in parts.netloc:
        raise CrawlError(
            f"{what} {redact_url(url)!r} holds a user name or password: {CREDENTIALS_HELP}"
        )
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise CrawlError(f"{what} is not an http(s) URL: {redact_url(url)!r}")
    try:
        parts.port  # noqa: B018 - parsing the port is the check
    except ValueError:
        raise CrawlError(f"{what} has a bad port: {redact_url(url)!r}") from None


def _check_options(options: dict[str, Any]) -> None:
    unknown = set(options) - OPTION_KEYS
    if unknown:
        raise CrawlError(f"unknown source option(s): {', '.join(sorted(unknown))}")
    login = options.get("login")
    if login is not None:
        if not isinstance(login, dict) or set(login) != {"url", "username_env", "password_env"}:
            raise CrawlError("login takes url, username_env, password_env (names of variables)")
        for key in ("username_env", "password_env"):
            # a name, never the secret itself: the options are stored in the clear
            if not isinstance(login[key], str) or not _ENV_NAME.fullmatch(login[key]):
                raise CrawlError(
                    f"login {key} must name an environment variable (A-Z, 0-9, _), "
                    "not hold the credential"
                )
        _check_url(str(login["url"]), "login url")
    if "selectors" in options:
        from crawler.tables import compile_selectors

        try:
            compile_selectors(options["selectors"])
        except ValueError as exc:
            raise CrawlError(f"selectors: {exc}") from None


def add_source(
    store: Store,
    name: str,
    start_urls: list[str],
    *,
    actor: str,
    schedule: str | None = None,
    options: dict[str, Any] | None = None,
    is_local: bool = False,
    robots_override_reason: str | None = None,
    business_id: int | None = None,
) -> int:
    """Register a source to watch; refuses bad names and URLs, unknown options and secrets."""
    options = dict(options or {})
    _check_name(name)
    _check_options(options)
    if not start_urls:
        raise CrawlError("a source needs at least one start URL")
    for u in start_urls:
        _check_url(u, "start URL")
    if robots_override_reason is not None and not robots_override_reason.strip():
        raise CrawlError("overriding robots.txt needs a reason")
    with store.sessions.begin() as s:
        if s.execute(select(Source.id).where(Source.name == name)).first():
            raise CrawlError(f"a source named {name!r} exists")
        src = Source(
            name=name,
            start_urls=start_urls,
            schedule=schedule,
            options=options,
            is_local=is_local,
            robots_override_reason=robots_override_reason,
            business_id=business_id,
        )
        s.add(src)
        s.flush()
        audit.record(
            s,
            actor,
            "source.added",
            object_type="source",
            object_id=src.id,
            reason=robots_override_reason,
            details={"name": name, "urls": len(start_urls), "local": is_local,
                     "robots_overridden": robots_override_reason is not None},
        )  # fmt: skip
        return src.id


def set_start_urls(store: Store, name: str, start_urls: list[str], *, actor: str) -> bool:
    """Point a source at new start URLs (the site moved host or port); audited.

    Listings found on the first start URL's host are keyed without it
    (``crawler.spiders.generic.listing_key``), so they are recognised at the new address.
    Returns whether anything changed.
    """
    if not start_urls:
        raise CrawlError("a source needs at least one start URL")
    for u in start_urls:
        _check_url(u, "start URL")
    with store.sessions.begin() as s:
        src = s.execute(select(Source).where(Source.name == name)).scalar_one_or_none()
        if src is None:
            raise CrawlError(f"no source named {name!r} (see leakwatch source list)")
        if list(src.start_urls) == start_urls:
            return False
        before = len(src.start_urls)
        src.start_urls = list(start_urls)
        audit.record(
            s, actor, "source.urls_changed", object_type="source", object_id=src.id,
            details={"urls_before": before, "urls": len(start_urls)},
        )  # fmt: skip
        return True


def scrapy_settings(store: Store, src: Source) -> dict[str, str]:
    s = store.settings
    opts = src.options or {}
    max_bytes = int(opts.get("max_response_bytes") or s.crawler_max_response_bytes)
    throttle = bool(opts.get("throttle", s.crawler_autothrottle and not src.is_local))
    out = {
        "USER_AGENT": s.crawler_user_agent,
        "DOWNLOAD_TIMEOUT": str(s.crawler_timeout_s),
        "CONCURRENT_REQUESTS_PER_DOMAIN": str(s.crawler_concurrency_per_domain),
        "CLOSESPIDER_PAGECOUNT": str(int(opts.get("page_limit") or s.crawler_page_limit)),
        "DEPTH_LIMIT": str(int(opts.get("depth", 6))),
        "LEAKWATCH_MAX_RESPONSE_BYTES": str(max_bytes),
        "DOWNLOAD_MAXSIZE": str(4 * max_bytes),
        "AUTOTHROTTLE_ENABLED": "True" if throttle else "False",
        "ROBOTSTXT_OBEY": "False" if src.robots_override_reason else "True",
    }
    if src.is_local:
        # the fixture web and the demo: no politeness delay against ourselves
        out["CONCURRENT_REQUESTS_PER_DOMAIN"] = str(max(8, s.crawler_concurrency_per_domain))
    return out


@dataclass
class CrawlResult:
    crawl_id: int
    returncode: int
    summary: dict[str, Any]
    log_path: Path


def run_crawl(
    store: Store,
    source_name: str,
    *,
    actor: str,
    evidence: bool = True,
    storage: bool = True,
    extra_settings: dict[str, str] | None = None,
    timeout: float | None = None,
) -> CrawlResult:
    """Crawl one source now in a ``scrapy`` subprocess; returns its summary.

    The crawl row always ends ``done`` or ``failed`` (with the reason in ``Crawl.error`` and
    the summary's ``error``) and its audit event: what the crawl records itself, or, when the
    crawl could not (it never started, died, was killed), what this launcher records for it.
    A timeout or Ctrl-C stops the crawl with a signal, as Ctrl-C in a terminal would, and kills
    it only if it has not ended after ``STOP_GRACE_S``; Ctrl-C raises :class:`CrawlInterrupted`.
    """
    crawl_id, settings = _queue(store, source_name, actor)
    logs = store.settings.home / "logs"
    logs.mkdir(parents=True, exist_ok=True, mode=0o700)
    log_path = logs / f"crawl-{crawl_id}.log"
    fd, summary_name = tempfile.mkstemp(prefix="crawl-summary-", suffix=".json", dir=logs)
    os.close(fd)
    summary_path = Path(summary_name)
    settings.update(
        {
            "LEAKWATCH_SOURCE": source_name,
            "LEAKWATCH_CRAWL_ID": str(crawl_id),
            "LEAKWATCH_EVIDENCE": "True" if evidence else "False",
            "LEAKWATCH_STORE": "True" if storage else "False",
            "LEAKWATCH_SUMMARY_FILE": str(summary_path),
            "LOG_FILE": str(log_path),
        }
    )
    settings.update(extra_settings or {})
    try:
        with log_path.open("ab") as log_file:  # what Scrapy prints before its log is set up
            # its own session: a terminal's Ctrl-C reaches this launcher only, which then
            # stops the crawl once (a second signal would make Scrapy skip its cleanup)
            proc = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
                crawl_command(settings), env=_child_env(store), cwd=str(store.settings.home),
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log_file,
                start_new_session=True,
            )  # fmt: skip
    except BaseException as exc:
        summary_path.unlink(missing_ok=True)
        _settle(store, crawl_id, actor, f"scrapy could not be started: {type(exc).__name__}")
        raise
    try:
        cause = _wait(proc, timeout)
    except KeyboardInterrupt:
        _stop(proc)
        summary = _read_summary(summary_path)
        error = _crawl_error(proc.returncode, summary, "interrupted (Ctrl-C)")
        _settle(store, crawl_id, actor, error, summary, rc=proc.returncode, stopped=True)
        raise CrawlInterrupted(crawl_id, error or "interrupted", log_path) from None
    summary = _read_summary(summary_path)
    error = _crawl_error(proc.returncode, summary, cause)
    _settle(store, crawl_id, actor, error, summary, rc=proc.returncode, stopped=cause is not None)
    if error:
        summary["error"] = error
    return CrawlResult(crawl_id, proc.returncode, summary, log_path)


def _queue(store: Store, source_name: str, actor: str) -> tuple[int, dict[str, str]]:
    """Check the source can be crawled, create its crawl row (queued), audit the start."""
    if not source_name.strip():
        raise CrawlError("give the name of a source to crawl (see leakwatch source list)")
    with store.sessions.begin() as s:
        src = s.execute(select(Source).where(Source.name == source_name)).scalar_one_or_none()
        if src is None:
            raise CrawlError(f"no source named {source_name!r} (see leakwatch source list)")
        if not src.enabled:
            raise CrawlError(f"source {source_name!r} is disabled")
        if (src.options or {}).get("javascript"):
            raise CrawlError("JavaScript rendering is not available yet: crawl refused")
        for u in src.start_urls:  # a source stored before such URLs were refused
            _check_url(u, f"source {source_name!r}: start URL")
        settings = scrapy_settings(store, src)
        crawl = Crawl(source_id=src.id, status=CrawlStatus.QUEUED)
        s.add(crawl)
        s.flush()
        audit.record(
            s, actor, "crawl.started", object_type="crawl", object_id=crawl.id,
            # each crawl that ignores robots.txt says so (the reason is on source.added)
            details={"source_id": src.id, "robots_obeyed": src.robots_override_reason is None},
        )  # fmt: skip
        return crawl.id, settings


def crawl_command(settings: dict[str, str]) -> list[str]:
    """The ``scrapy crawl`` command line: the project's settings module (the child's
    SCRAPY_SETTINGS_MODULE), overridden by ``settings`` at command-line priority."""
    cmd = [sys.executable, "-m", "scrapy", "crawl", "generic"]
    for k, v in settings.items():
        cmd += ["-s", f"{k}={v}"]
    return cmd


def _child_env(store: Store) -> dict[str, str]:
    # No proxy variables: a proxy would resolve names itself, past the address guard.
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env["SCRAPY_SETTINGS_MODULE"] = "crawler.settings"
    # the crawl must open the same database with the same key as this store
    env["LEAKWATCH_HOME"] = str(store.settings.home)
    env["DATABASE_URL"] = store.settings.db_url
    if store.settings.leakwatch_key:
        env["LEAKWATCH_KEY"] = store.settings.leakwatch_key
    else:
        env.pop("LEAKWATCH_KEY", None)
        env["LEAKWATCH_KEY_FILE"] = str(store.settings.key_file)
    return env


def _wait(proc: subprocess.Popen[bytes], timeout: float | None) -> str | None:
    """Wait for the crawl; at the timeout, stop it and say so."""
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        _stop(proc)
        return f"timed out after {timeout:g} s"
    return None


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop the crawl as Ctrl-C would (Scrapy closes the spider: what it found is kept);
    kill it if it has not ended within STOP_GRACE_S, or at a second Ctrl-C."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=STOP_GRACE_S)
    except (subprocess.TimeoutExpired, KeyboardInterrupt):
        proc.kill()
        proc.wait()


def _read_summary(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text() if path.exists() else ""
        return dict(json.loads(text)) if text.strip() else {}
    except (OSError, ValueError):
        return {}  # a crawl killed while writing it: as if there were none
    finally:
        path.unlink(missing_ok=True)


def _crawl_error(rc: int, summary: dict[str, Any], cause: str | None) -> str | None:
    """Why the crawl failed, or None. ``cause``: why this launcher stopped it."""
    error = summary.get("error")
    if cause:
        return f"{cause}: {error or 'the crawl was stopped'}"
    if rc < 0:
        try:
            died = f"the scrapy process was killed ({signal.Signals(-rc).name})"
        except ValueError:
            died = f"the scrapy process was killed (signal {-rc})"
        return f"{died}: {error}" if error else died
    if rc > 0:
        exited = f"scrapy exited with code {rc}"
        return f"{exited}: {error}" if error else exited
    return str(error) if error else (None if summary else "the crawl wrote no summary")


def _settle(
    store: Store,
    crawl_id: int,
    actor: str,
    error: str | None,
    summary: dict[str, Any] | None = None,
    *,
    rc: int | None = None,
    stopped: bool = False,
) -> None:
    """Give the crawl row its end and audit event if the crawl could not (it never started,
    died or was killed); ``stopped``: this launcher stopped it (timeout, Ctrl-C)."""
    summary = summary or {}
    with store.sessions.begin() as s:
        crawl = s.get(Crawl, crawl_id)
        if crawl is None:
            return
        if crawl.status in (CrawlStatus.QUEUED, CrawlStatus.RUNNING):
            crawl.status = CrawlStatus.FAILED if error else CrawlStatus.DONE
            crawl.error = error
            crawl.finished_at = utcnow()
            crawl.pages = int(summary.get("pages") or 0)
            outcome = "interrupted" if stopped else ("failed" if error else "finished")
            counts: dict[str, Any] = {
                k: summary[k] for k in ("pages", "records", "captures") if k in summary
            }
            audit.record(
                s, actor, f"crawl.{outcome}", object_type="crawl", object_id=crawl_id,
                reason=error, details={"source_id": crawl.source_id, "returncode": rc, **counts},
            )  # fmt: skip
        elif crawl.status == CrawlStatus.FAILED and error and stopped:
            crawl.error = error  # the crawl recorded its interruption; this says what caused it
