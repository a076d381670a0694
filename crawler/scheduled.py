"""Scheduled crawls: the typed actions the scheduler process (``office.scheduler``) runs.

``crawl_scheduled_source`` is one run of a source's job: the same crawl as `leakwatch crawl`
(:func:`crawler.launch.run_crawl`), or handed to a Scrapyd node when LEAKWATCH_SCRAPYD_URLS
is set (:func:`crawler.scrapyd.run_on_node`), recorded as a work run (``scheduler.job``:
started, then finished, failed or interrupted, in the audit chain) that notes its crawl's id
as soon as the crawl row exists. A run is skipped (and the skip audited) while another crawl
of the same source is still going, so no source is ever crawled twice at once.

Only one scheduler runs on a store (:func:`scheduler_lock`). The next one to take the lock
settles what a killed predecessor left (:func:`recover_scheduler_runs`): the crawl it was
running is stopped if its process outlived the scheduler (it is in a session of its own),
recorded interrupted if it could not record its end, and the job's run is recorded
interrupted. Logs name ids, counts and reasons only, never personal data.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from crawler.checks import CrawlError
from crawler.launch import STOP_GRACE_S, run_crawl, settle_crawl
from crawler.summary import CrawlSummary
from store import audit
from store.db import safe_error_text
from store.models import Crawl, CrawlStatus, RunKind, RunStatus, Source, WorkRun
from store.runtime import Store
from store.work_runs import Run, end_run, recover_stale, start_run
from store.writer_lock import process_lock

log = logging.getLogger(__name__)
SCHEDULER_ACTOR = "scheduler"  # the audit log's actor for what the scheduler does
# An arbitrary constant naming the scheduler's lock among the server's advisory locks.
PG_SCHEDULER_LOCK_KEY = 0x4C57_5343_4845_44  # 'LWSCHED'
ORPHAN_MESSAGE = "the scheduler running this crawl was killed"
NoteCrawl = Callable[[int], None]  # told the crawl's id once its row exists


class SchedulerRunning(Exception):
    """Another scheduler holds this store's scheduler lock."""


@contextmanager
def scheduler_lock(store: Store) -> Iterator[None]:
    """Hold the store's scheduler lock (released when this process dies, even by SIGKILL);
    raises SchedulerRunning at once if another scheduler holds it."""
    busy = SchedulerRunning(
        "another scheduler is running on this store: stop it first (only one may run)"
    )
    with process_lock(store.engine, PG_SCHEDULER_LOCK_KEY, ".scheduler.lock", lambda: busy):
        yield


def source_job_id(source_id: int) -> str:
    """The scheduler's job id for a source's crawls."""
    return f"source:{source_id}"


@dataclass(frozen=True, slots=True)
class ScheduledSource:
    """A source the scheduler crawls: its id, name and cron expression (Tokyo time)."""

    id: int
    name: str
    schedule: str


def scheduled_sources(store: Store) -> list[ScheduledSource]:
    """Every enabled source with a schedule, by id."""
    q = (
        select(Source.id, Source.name, Source.schedule)
        .where(Source.enabled.is_(True), Source.schedule.is_not(None), Source.schedule != "")
        .order_by(Source.id)
    )
    with store.sessions() as s:
        return [ScheduledSource(i, n, str(c).strip()) for i, n, c in s.execute(q)]


@dataclass(frozen=True, slots=True)
class ScheduledRun:
    """What one run of a source's job did: ``finished``, ``failed``, ``interrupted`` (its
    work run's status) or ``skipped`` (nothing ran: no work run, an audit event)."""

    status: str
    source_id: int
    run_id: int | None = None
    crawl_id: int | None = None
    reason: str | None = None


def crawl_scheduled_source(
    store: Store, source_id: int, *, actor: str = SCHEDULER_ACTOR, on_schedule: bool = True
) -> ScheduledRun:
    """One run of source ``source_id``'s job: crawl it now, recorded (module docstring).
    ``on_schedule=False``: a crawl the office asked for (a letter's re-check), which a
    source without a schedule of its own gets too."""
    name, why_not = _crawlable(store, source_id, on_schedule)
    if why_not is not None:
        _record_skip(store, source_id, actor, why_not)
        return ScheduledRun("skipped", source_id, reason=why_not)
    run = start_run(store.sessions, RunKind.SCHEDULER_JOB, actor, source_job_id(source_id))

    def note(crawl_id: int) -> None:  # the crawl row exists: a successor can settle it
        run.counts["crawl_id"] = crawl_id
        with store.sessions.begin() as s:
            run.save_counts(s)
        with _in_flight_lock:
            _in_flight.add(crawl_id)

    try:
        crawl_id, summary = _launch(store, name, actor, note)
    except CrawlError as exc:  # refused before or while handing it over: recorded failed
        return _end(store, run, source_id, actor, RunStatus.FAILED, str(exc))
    except (KeyboardInterrupt, SystemExit):
        _end(store, run, source_id, actor, RunStatus.INTERRUPTED, "interrupted")
        raise
    except Exception as exc:  # unexpected: recorded (no values: see safe_error_text), raised
        error = safe_error_text(f"{type(exc).__name__}: {exc}")
        _end(store, run, source_id, actor, RunStatus.FAILED, error)
        raise
    run.counts.update(
        {"crawl_id": crawl_id, "pages": summary.pages, "records": summary.records,
         "rows_new": summary.rows_new or 0, "outcome": summary.outcome}
    )  # fmt: skip
    if summary.error is None:
        return _end(store, run, source_id, actor, RunStatus.FINISHED, None)
    status = RunStatus.INTERRUPTED if summary.outcome == "interrupted" else RunStatus.FAILED
    return _end(store, run, source_id, actor, status, summary.error)


def _crawlable(store: Store, source_id: int, on_schedule: bool) -> tuple[str, str | None]:
    """The source's name, and why its job must not crawl it now (None: it may)."""
    with store.sessions() as s:
        src = s.get(Source, source_id)
        unscheduled = on_schedule and not (src.schedule or "").strip() if src else True
        if src is None or not src.enabled or unscheduled:
            return "", "the source is gone, disabled or no longer scheduled"
        going = s.scalars(
            select(Crawl.id).where(
                Crawl.source_id == source_id,
                Crawl.status.in_((CrawlStatus.QUEUED, CrawlStatus.RUNNING)),
            )
        ).all()
    for crawl_id in going:
        if crawl_pids(store, crawl_id):
            return src.name, f"crawl {crawl_id} of this source is still running"
    return src.name, None


def _launch(store: Store, name: str, actor: str, note: NoteCrawl) -> tuple[int, CrawlSummary]:
    """Crawl here (one scrapy subprocess) or on a Scrapyd node; (crawl id, summary)."""
    if store.settings.scrapyd_nodes:
        from crawler.scrapyd import run_on_node

        node_run = run_on_node(store, name, actor=actor, on_queued=note)
        return node_run.crawl_id, node_run.summary
    result = run_crawl(store, name, actor=actor, on_queued=note)
    return result.crawl_id, result.summary


def _end(
    store: Store,
    run: Run,
    source_id: int,
    actor: str,
    status: RunStatus,
    error: str | None,
) -> ScheduledRun:
    with _in_flight_lock:
        _in_flight.discard(run.counts.get("crawl_id", 0))
    end_run(store.sessions, run, status, actor, error=error[:300] if error else None)
    crawl_id = run.counts.get("crawl_id")
    log.info(
        "source %s: crawl %s %s (%s pages, %s records)",
        source_id, crawl_id, status.value, run.counts.get("pages", 0),
        run.counts.get("records", 0),
    )  # fmt: skip
    return ScheduledRun(status.value, source_id, run.id, crawl_id, error)


def _record_skip(store: Store, source_id: int, actor: str, reason: str) -> None:
    with store.sessions.begin() as s:
        audit.record(
            s, actor, f"{RunKind.SCHEDULER_JOB.value}.skipped", object_type="source",
            object_id=source_id, reason=reason,
        )  # fmt: skip
    log.info("source %s: run skipped: %s", source_id, reason)


# -- crawl processes, and what a killed scheduler left --------------------------------------

# The crawls this process's jobs are running (stopped when the scheduler stops).
_in_flight: set[int] = set()
_in_flight_lock = threading.Lock()


def stop_running_crawls(store: Store) -> list[int]:
    """Stop every crawl this process's jobs are running, together (the scheduler is
    stopping): each records its interruption, and its job's run ends interrupted."""
    with _in_flight_lock:
        crawl_ids = sorted(_in_flight)
    stoppers = [threading.Thread(target=stop_crawl, args=(store, c)) for c in crawl_ids]
    for t in stoppers:
        t.start()
    for t in stoppers:
        t.join()
    return crawl_ids


def crawl_pids(store: Store, crawl_id: int) -> list[int]:
    """This machine's processes running crawl ``crawl_id`` of this store: the ``scrapy
    crawl`` command line names the crawl (``-s LEAKWATCH_CRAWL_ID=<id>``) and its environment
    the store (``DATABASE_URL``, as ``crawler.launch`` sets it). Crawl ids are only unique
    within a store: another store's crawl 1 on the same machine is not this one's."""
    marker = f"LEAKWATCH_CRAWL_ID={crawl_id}".encode()
    database = f"DATABASE_URL={store.settings.db_url}".encode()
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            args = (entry / "cmdline").read_bytes().split(b"\0")
            if marker not in args or b"crawl" not in args:
                continue
            environ = (entry / "environ").read_bytes().split(b"\0")
        except OSError:  # it ended meanwhile, or is not ours to read
            continue
        if database in environ:
            pids.append(int(entry.name))
    return pids


def stop_crawl(store: Store, crawl_id: int, grace_s: float = STOP_GRACE_S) -> None:
    """Stop crawl ``crawl_id`` as Ctrl-C would (Scrapy closes the spider and records the
    crawl interrupted, rows found so far kept), here or on the Scrapyd nodes; a process of
    this machine still there after ``grace_s`` is killed."""
    if store.settings.scrapyd_nodes:
        from crawler.scrapyd import cancel_on_nodes, job_id

        cancel_on_nodes(store.settings.scrapyd_nodes, job_id(store, crawl_id))
    pids = crawl_pids(store, crawl_id)
    for pid in pids:
        _signal(pid, signal.SIGINT)
    deadline = time.monotonic() + grace_s
    while pids and time.monotonic() < deadline:
        time.sleep(0.1)
        pids = [p for p in pids if _alive(p)]
    for pid in pids:
        _signal(pid, signal.SIGKILL)


def _signal(pid: int, sig: signal.Signals) -> None:
    with suppress(ProcessLookupError):
        os.kill(pid, sig)


def _alive(pid: int) -> bool:
    """Whether ``pid`` still runs (a zombie, ended but not yet reaped, does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


@dataclass(frozen=True, slots=True)
class Recovered:
    """What a killed scheduler left: its job runs (now interrupted) and their crawls."""

    runs: list[int]
    crawls: list[int]


def recover_scheduler_runs(store: Store, actor: str = SCHEDULER_ACTOR) -> Recovered:
    """Settle what a killed scheduler left. Call only holding :func:`scheduler_lock`: then
    every job run still ``running`` is a dead scheduler's. Its crawl is stopped if it
    outlived the scheduler, and recorded interrupted if it did not record its own end."""
    with store.sessions() as s:
        stale = s.execute(
            select(WorkRun.id, WorkRun.counts).where(
                WorkRun.kind == RunKind.SCHEDULER_JOB, WorkRun.status == RunStatus.RUNNING
            )
        ).all()
    crawls = [int(c["crawl_id"]) for _, c in stale if isinstance(c, dict) and c.get("crawl_id")]
    for crawl_id in crawls:
        stop_crawl(store, crawl_id)
        _settle_orphan(store, crawl_id, actor)
    runs = recover_stale(store.sessions, actor, kinds={RunKind.SCHEDULER_JOB})
    return Recovered(runs, crawls)


def _settle_orphan(store: Store, crawl_id: int, actor: str) -> None:
    """A dead scheduler's crawl, stopped: recorded interrupted if it could not record its
    end; if it recorded its interruption itself, its error says what caused it."""
    with store.sessions() as s:
        crawl = s.get(Crawl, crawl_id)
        if crawl is None:
            return
        status, error = crawl.status, crawl.error or ""
    if status in (CrawlStatus.QUEUED, CrawlStatus.RUNNING):
        settle_crawl(store, crawl_id, actor, f"{ORPHAN_MESSAGE}: left unfinished", stopped=True)
    elif status == CrawlStatus.FAILED and error.startswith("stopped by a signal"):
        # the crawl outlived the scheduler until stopped above: it ended interrupted itself
        settle_crawl(store, crawl_id, actor, f"{ORPHAN_MESSAGE}: {error}", stopped=True)
    else:
        return  # it ended on its own (done, or failed for its own reason): as recorded
    log.info("crawl %s, left by a killed scheduler, settled", crawl_id)
