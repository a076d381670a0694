"""Sources and crawl launching: one ``scrapy crawl`` subprocess per crawl.

The launcher creates the crawl row, turns the source's options into Scrapy settings (depth,
page limit, size limit, robots override, throttling), runs ``python -m scrapy crawl generic``
with the same environment (database URL, key, home), waits, and reads back the summary the
crawl wrote (counts only). The crawl's log goes to ``LEAKWATCH_HOME/logs/crawl-<id>.log``.
"""

from __future__ import annotations

import json
import os
import re
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


class CrawlError(Exception):
    pass


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
    """Register a source to watch; refuses bad URLs, unknown options and secrets in options."""
    options = dict(options or {})
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
        if urlsplit(str(login["url"])).scheme not in ("http", "https"):
            raise CrawlError(f"login url is not an http(s) URL: {login['url']!r}")
    if "selectors" in options:
        from crawler.tables import compile_selectors

        try:
            compile_selectors(options["selectors"])
        except ValueError as exc:
            raise CrawlError(f"selectors: {exc}") from None
    for u in start_urls:
        parts = urlsplit(u)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise CrawlError(f"not an http(s) URL: {u!r}")
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
    """Crawl one source now in a ``scrapy`` subprocess; returns its summary."""
    with store.sessions.begin() as s:
        src = s.execute(select(Source).where(Source.name == source_name)).scalar_one_or_none()
        if src is None:
            raise CrawlError(f"no source named {source_name!r} (see leakwatch source list)")
        if not src.enabled:
            raise CrawlError(f"source {source_name!r} is disabled")
        if (src.options or {}).get("javascript"):
            raise CrawlError("JavaScript rendering is not available yet: crawl refused")
        settings = scrapy_settings(store, src)
        crawl = Crawl(source_id=src.id, status=CrawlStatus.QUEUED)
        s.add(crawl)
        s.flush()
        crawl_id = crawl.id
        audit.record(
            s, actor, "crawl.started", object_type="crawl", object_id=crawl_id,
            details={"source_id": src.id},
        )  # fmt: skip
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
    cmd = [sys.executable, "-m", "scrapy", "crawl", "generic"]
    for k, v in settings.items():
        cmd += ["-s", f"{k}={v}"]
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
    try:
        proc = subprocess.run(  # noqa: S603 - our own interpreter and arguments
            cmd, env=env, cwd=str(store.settings.home), timeout=timeout,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False,
        )  # fmt: skip
        rc = proc.returncode
    except subprocess.TimeoutExpired:
        rc = -9
    summary: dict[str, Any] = {}
    try:
        if summary_path.stat().st_size:
            summary = json.loads(summary_path.read_text())
    finally:
        summary_path.unlink(missing_ok=True)
    if rc != 0 or not summary:
        _fail(store, crawl_id, f"scrapy exited with {rc}; see {log_path}")
        summary.setdefault("error", f"scrapy exited with {rc}; see {log_path}")
    return CrawlResult(crawl_id, rc, summary, log_path)


def _fail(store: Store, crawl_id: int, error: str) -> None:
    with store.sessions.begin() as s:
        crawl = s.get(Crawl, crawl_id)
        if crawl is not None and crawl.status != CrawlStatus.DONE:
            crawl.status = CrawlStatus.FAILED
            crawl.error = error
            crawl.finished_at = utcnow()
