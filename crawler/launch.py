"""Crawl launching: one ``scrapy crawl`` subprocess per crawl.

The launcher creates the crawl row, turns the source's options (``crawler.options``) into
Scrapy settings (depth, page limit, size limit, robots override, throttling), runs
``python -m scrapy crawl generic`` with the same environment (database URL, key, home), waits,
and reads back the summary the crawl wrote (``crawler.summary.CrawlSummary``, counts only). The
crawl's log goes to ``LEAKWATCH_HOME/logs/crawl-<id>.log`` (with whatever the process printed
before its log was set up).

Every crawl ends recorded: ``done``, or ``failed`` with the reason in ``Crawl.error``, and one
audit event (``crawl.finished``, ``crawl.failed`` or ``crawl.interrupted``) after its
``crawl.started``. The crawl records its own end; when it cannot (it never started, it died, it
was killed) the launcher does.

Registering sources is ``crawler.sources``; its actions are importable from here too.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crawler.checks import CrawlError as CrawlError  # raised by run_crawl; re-exported
from crawler.checks import check_url
from crawler.options import SourceOptions
from crawler.settings import LEAKWATCH_BROWSER as DEFAULT_BROWSER
from crawler.sources import add_source as add_source  # re-exported for office/, bench/
from crawler.sources import find_source
from crawler.sources import set_start_urls as set_start_urls  # re-exported for office/
from crawler.summary import CrawlSummary
from store import audit
from store.models import Crawl, CrawlStatus, Source, utcnow
from store.runtime import Store

# After a stop signal Scrapy closes the spider once the requests on their way are answered (at
# most DOWNLOAD_TIMEOUT): rows, evidence and the summary are kept. Past this it is killed.
STOP_GRACE_S = 40.0


class CrawlInterrupted(KeyboardInterrupt):
    """Ctrl-C during a crawl: the crawl was stopped and recorded as interrupted."""

    def __init__(self, crawl_id: int, reason: str, log_path: Path) -> None:
        super().__init__(reason)
        self.crawl_id = crawl_id
        self.reason = reason
        self.log_path = log_path


def scrapy_settings(store: Store, src: Source) -> dict[str, str]:
    """The Scrapy settings a crawl of ``src`` runs with, over ``crawler.settings``: the
    source's options where it has them, the store's crawler settings where it does not."""
    s = store.settings
    opts = SourceOptions.parse(src.options)
    max_bytes = opts.max_response_bytes or s.crawler_max_response_bytes
    throttle = (
        (s.crawler_autothrottle and not src.is_local) if opts.throttle is None else (opts.throttle)
    )
    out = {
        "USER_AGENT": s.crawler_user_agent,
        "DOWNLOAD_TIMEOUT": str(s.crawler_timeout_s),
        "CONCURRENT_REQUESTS_PER_DOMAIN": str(s.crawler_concurrency_per_domain),
        "CLOSESPIDER_PAGECOUNT": str(opts.page_limit or s.crawler_page_limit),
        "DEPTH_LIMIT": str(opts.depth),
        "LEAKWATCH_MAX_RESPONSE_BYTES": str(max_bytes),
        "DOWNLOAD_MAXSIZE": str(4 * max_bytes),
        "AUTOTHROTTLE_ENABLED": "True" if throttle else "False",
        "ROBOTSTXT_OBEY": "False" if src.robots_override_reason else "True",
    }
    if src.is_local:
        # the fixture web and the demo: no politeness delay against ourselves
        out["CONCURRENT_REQUESTS_PER_DOMAIN"] = str(max(8, s.crawler_concurrency_per_domain))
    return out


def check_browser(executable: str = DEFAULT_BROWSER) -> None:
    """A source marked --javascript needs Chromium and Playwright here; a clear refusal
    before the crawl starts when either is missing (nothing is ever downloaded)."""
    if not (os.path.isfile(executable) and os.access(executable, os.X_OK)):
        raise CrawlError(
            f"JavaScript rendering needs Chromium at {executable}: install Debian's chromium "
            "package (apt-get install chromium); crawl refused"
        )
    if importlib.util.find_spec("playwright") is None:
        raise CrawlError(
            "JavaScript rendering needs the playwright package (pip install playwright); "
            "crawl refused"
        )


@dataclass
class CrawlResult:
    crawl_id: int
    returncode: int
    summary: CrawlSummary  # with the launcher's reason in ``error`` when it stopped the crawl
    log_path: Path


@dataclass(frozen=True)
class _CrawlFiles:
    log: Path  # the crawl's log, kept
    summary: Path  # where the crawl writes its summary, read and removed by the launcher


def run_crawl(
    store: Store,
    source_name: str,
    *,
    actor: str,
    evidence: bool = True,
    storage: bool = True,
    extra_settings: dict[str, str] | None = None,
    timeout: float | None = None,
    on_queued: Callable[[int], None] | None = None,
) -> CrawlResult:
    """Crawl one source now in a ``scrapy`` subprocess; returns its summary.

    The crawl row always ends ``done`` or ``failed`` (with the reason in ``Crawl.error`` and
    the summary's ``error``) and its audit event: what the crawl records itself, or, when the
    crawl could not (it never started, died, was killed), what this launcher records for it.
    A timeout or Ctrl-C stops the crawl with a signal, as Ctrl-C in a terminal would, and kills
    it only if it has not ended after ``STOP_GRACE_S``; Ctrl-C raises :class:`CrawlInterrupted`.
    ``evidence`` and ``storage`` off (the benchmark) leave WARC capture and rows out.
    ``on_queued(crawl_id)`` is called once the crawl row exists (the scheduler notes it in its
    job's run, so a scheduler killed mid-crawl is followed by one that settles this crawl).
    """
    crawl_id, settings = queue_crawl(store, source_name, actor)
    if on_queued is not None:
        on_queued(crawl_id)
    files = _crawl_files(store, crawl_id)
    settings.update(
        {
            "LEAKWATCH_SOURCE": source_name,
            "LEAKWATCH_CRAWL_ID": str(crawl_id),
            "LEAKWATCH_EVIDENCE": "True" if evidence else "False",
            "LEAKWATCH_STORE": "True" if storage else "False",
            "LEAKWATCH_SUMMARY_FILE": str(files.summary),
            "LOG_FILE": str(files.log),
        }
    )
    settings.update(extra_settings or {})
    proc = _start(store, crawl_id, actor, settings, files)
    try:
        cause = _wait(proc, timeout)
    except KeyboardInterrupt:
        _stop(proc)
        _, error = _settle_run(store, crawl_id, actor, proc, files, "interrupted (Ctrl-C)")
        raise CrawlInterrupted(crawl_id, error or "interrupted", files.log) from None
    summary, error = _settle_run(store, crawl_id, actor, proc, files, cause)
    if summary is None:  # then there is always an error: at least that no summary came
        summary = CrawlSummary(source=source_name, crawl_id=crawl_id, error=error)
    elif error:
        summary = summary.model_copy(update={"error": error})
    return CrawlResult(crawl_id, proc.returncode, summary, files.log)


def queue_crawl(store: Store, source_name: str, actor: str) -> tuple[int, dict[str, str]]:
    """Check the source can be crawled, create its crawl row (queued), audit the start; the
    crawl's Scrapy settings. (``crawler.scrapyd`` queues the crawls it hands to a node here.)"""
    if not source_name.strip():
        raise CrawlError("give the name of a source to crawl (see leakwatch source list)")
    with store.sessions.begin() as s:
        src = find_source(s, source_name)
        if not src.enabled:
            raise CrawlError(f"source {source_name!r} is disabled")
        try:
            options = SourceOptions.parse(src.options)
        except CrawlError as exc:  # stored by hand, or before an option was checked
            raise CrawlError(f"source {source_name!r}: {exc}") from None
        if options.javascript:
            check_browser()
        for u in src.start_urls:  # a source stored before such URLs were refused
            check_url(u, f"source {source_name!r}: start URL")
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


def _crawl_files(store: Store, crawl_id: int) -> _CrawlFiles:
    logs = store.settings.home / "logs"
    logs.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, summary_name = tempfile.mkstemp(prefix="crawl-summary-", suffix=".json", dir=logs)
    os.close(fd)
    return _CrawlFiles(logs / f"crawl-{crawl_id}.log", Path(summary_name))


def _start(
    store: Store, crawl_id: int, actor: str, settings: dict[str, str], files: _CrawlFiles
) -> subprocess.Popen[bytes]:
    """Start ``scrapy crawl``; if it cannot start, the crawl is recorded failed."""
    try:
        with files.log.open("ab") as log_file:  # what Scrapy prints before its log is set up
            # its own session: a terminal's Ctrl-C reaches this launcher only, which then
            # stops the crawl once (a second signal would make Scrapy skip its cleanup)
            return subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
                crawl_command(settings), env=_child_env(store), cwd=str(store.settings.home),
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log_file,
                start_new_session=True,
            )  # fmt: skip
    except BaseException as exc:
        files.summary.unlink(missing_ok=True)
        settle_crawl(store, crawl_id, actor, f"scrapy could not be started: {type(exc).__name__}")
        raise


def _settle_run(
    store: Store,
    crawl_id: int,
    actor: str,
    proc: subprocess.Popen[bytes],
    files: _CrawlFiles,
    cause: str | None,
) -> tuple[CrawlSummary | None, str | None]:
    """After the crawl process ended: its summary (None if it wrote none) and why it failed
    (None if it did not), recorded (``cause``: why this launcher stopped it, if it did)."""
    summary = _read_summary(files.summary)
    error = _crawl_error(proc.returncode, summary, cause)
    settle_crawl(
        store, crawl_id, actor, error, summary, rc=proc.returncode, stopped=cause is not None
    )
    return summary, error


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


def _read_summary(path: Path) -> CrawlSummary | None:
    try:
        text = path.read_text() if path.exists() else ""
        return CrawlSummary.from_json(text) if text.strip() else None
    except (OSError, ValueError):
        return None  # a crawl killed while writing it: as if there were none
    finally:
        path.unlink(missing_ok=True)


def _crawl_error(rc: int, summary: CrawlSummary | None, cause: str | None) -> str | None:
    """Why the crawl failed, or None. ``cause``: why this launcher stopped it."""
    error = summary.error if summary is not None else None
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
    return error if error else (None if summary is not None else "the crawl wrote no summary")


def settle_crawl(
    store: Store,
    crawl_id: int,
    actor: str,
    error: str | None,
    summary: CrawlSummary | None = None,
    *,
    rc: int | None = None,
    stopped: bool = False,
) -> None:
    """Give the crawl row its end and audit event if the crawl could not (it never started,
    died or was killed); ``stopped``: this launcher stopped it (timeout, Ctrl-C). Shared by
    every launcher: this one, a Scrapyd node's (``crawler.scrapyd``), the scheduler's."""
    with store.sessions.begin() as s:
        crawl = s.get(Crawl, crawl_id)
        if crawl is None:
            return
        if crawl.status in (CrawlStatus.QUEUED, CrawlStatus.RUNNING):
            crawl.status = CrawlStatus.FAILED if error else CrawlStatus.DONE
            crawl.error = error
            crawl.finished_at = utcnow()
            crawl.pages = summary.pages if summary is not None else 0
            outcome = "interrupted" if stopped else ("failed" if error else "finished")
            counts: dict[str, Any] = (
                {"pages": summary.pages, "records": summary.records, "captures": summary.captures}
                if summary is not None
                else {}
            )
            audit.record(
                s, actor, f"crawl.{outcome}", object_type="crawl", object_id=crawl_id,
                reason=error, details={"source_id": crawl.source_id, "returncode": rc, **counts},
            )  # fmt: skip
        elif crawl.status == CrawlStatus.FAILED and error and stopped:
            crawl.error = error  # the crawl recorded its interruption; this says what caused it
