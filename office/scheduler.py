"""The scheduler process (`leakwatch scheduler`): APScheduler 3 in one process, its jobs kept
in the store's own database (table ``scheduler_jobs``), so they outlive restarts.

An interface, like the CLI and the web app: every job calls one typed action below office.

- Each enabled source with a schedule has a job ``source:<id>``: its cron expression, in
  Tokyo time, runs :func:`crawler.scheduled.crawl_scheduled_source` (the crawl of
  `leakwatch crawl`, or on a Scrapyd node when LEAKWATCH_SCRAPYD_URLS is set). The jobs
  follow the sources table: synced at start and by the ``sources.sync`` office job.
- The office's jobs are :data:`OFFICE_JOBS`, name → :class:`OfficeJob` (a typed action taking
  the store, and its cron expression); a job is added with one entry there.

Every job run is a work run (``scheduler.job``) with its audit events. Missed runs (the
scheduler was down) run once at start (coalesced, no grace limit); a job never runs twice at
once. Only one scheduler runs on a store; at start it settles what a killed predecessor left
(:func:`crawler.scheduled.recover_scheduler_runs`). Times are stored in UTC.
"""

from __future__ import annotations

import logging
import re
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import FrameType
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.events import (  # type: ignore[import-untyped]  # APScheduler 3 is untyped
    EVENT_JOB_ERROR,
    EVENT_JOB_EXECUTED,
    EVENT_JOB_MISSED,
    EVENT_JOB_SUBMITTED,
    EVENT_SCHEDULER_START,
    JobEvent,
)
from apscheduler.executors.pool import ThreadPoolExecutor  # type: ignore[import-untyped]
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore  # type: ignore[import-untyped]
from apscheduler.schedulers.blocking import BlockingScheduler  # type: ignore[import-untyped]
from apscheduler.triggers.cron import CronTrigger  # type: ignore[import-untyped]

from crawler.scheduled import (
    SCHEDULER_ACTOR,
    Recovered,
    crawl_scheduled_source,
    recover_scheduler_runs,
    scheduled_sources,
    scheduler_lock,
    source_job_id,
    stop_running_crawls,
)
from office import jobs
from store.models import RunKind
from store.runtime import Store
from store.work_runs import tracked_run

log = logging.getLogger(__name__)
TZ = ZoneInfo("Asia/Tokyo")  # cron expressions are office hours in Japan; times stored UTC
JOB_TABLE = "scheduler_jobs"  # store.models.SchedulerJob: the migrations make it
# A run missed while the scheduler was down runs once at start however late (coalesce: once;
# no grace limit: not zero), and a job never runs beside itself.
JOB_DEFAULTS: dict[str, Any] = {"coalesce": True, "misfire_grace_time": None, "max_instances": 1}
WORKERS = 4  # jobs at once: a crawl's thread only waits for its own process or node
STOP_POLL_S = 0.5  # how soon the loop sees that a stop was asked for


@dataclass(frozen=True, slots=True)
class OfficeJob:
    """A job of the office: ``action(store)`` (a typed function below office) at ``cron``
    (minute hour day month weekday, Tokyo time). Its return value is not used."""

    action: Callable[[Store], object]
    cron: str
    description: str


@dataclass(frozen=True, slots=True)
class SyncResult:
    """What syncing the jobs with the sources table and OFFICE_JOBS changed (job ids)."""

    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # a schedule that is not a cron line


def _sync_sources_job(store: Store) -> SyncResult:
    """The ``sources.sync`` job: the running scheduler's jobs follow the sources table."""
    return sync_jobs(_running().scheduler, store)


# The office's jobs: name -> OfficeJob. Adding one is one entry (its action a typed function
# below office taking the store); the scheduler adds, changes and removes their jobs to match.
OFFICE_JOBS: dict[str, OfficeJob] = {
    "sources.sync": OfficeJob(
        _sync_sources_job,
        "*/10 * * * *",
        "add, change and remove the sources' crawl jobs as the sources table says",
    ),
    "notices.recheck": OfficeJob(
        jobs.recheck_notices,
        "0 6 * * *",
        "re-crawl the listings of letters past their deadline; close as removed or draft "
        "the next letter",
    ),
    "digest.daily": OfficeJob(
        jobs.send_digest, "30 8 * * 1-5", "the investigators' morning digest (counts only)"
    ),
    "customers.notify": OfficeJob(
        jobs.notify_customers,
        "15 * * * *",
        "tell opted-in customers what was done, one message per household",
    ),
}


# -- what the job store holds: references to these two functions, with plain arguments ------


def run_source_job(source_id: int) -> None:
    """Job ``source:<id>``: one scheduled crawl of the source (recorded by the action)."""
    crawl_scheduled_source(_running().store, source_id)


def run_office_job(name: str) -> None:
    """Job ``office:<name>``: OFFICE_JOBS[name]'s action, recorded as a work run."""
    job = OFFICE_JOBS.get(name)
    if job is None:  # taken out of the registry: the next sync removes its job
        log.info("office job %s is no longer registered: skipped", name)
        return
    store = _running().store
    try:
        with tracked_run(store.sessions, RunKind.SCHEDULER_JOB, SCHEDULER_ACTOR, f"office:{name}"):
            job.action(store)
    except Exception as exc:  # recorded failed with its reason by tracked_run
        log.error("office job %s failed: %s", name, type(exc).__name__)


# -- syncing ----------------------------------------------------------------------------------

_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def cron_trigger(expr: str) -> Any:
    """A CronTrigger (Tokyo time) for a crontab line. APScheduler 3 numbers weekdays from
    Monday = 0, crontab from Sunday = 0 (7 too): the weekday field is given by name."""
    fields = expr.split()
    if len(fields) != 5:
        raise ValueError("a schedule is a cron expression of five fields")
    minute, hour, day, month, weekday = fields
    return CronTrigger(minute=minute, hour=hour, day=day, month=month,
                       day_of_week=_weekday_names(weekday), timezone=TZ)  # fmt: skip


def _weekday_names(spec: str) -> str:
    """A crontab weekday field (numbers 0-7, names, ranges, lists, steps) as day names."""
    if spec == "*":
        return spec
    days: set[int] = set()
    for part in spec.lower().split(","):
        body, _, step = part.partition("/")
        if body == "*":
            first, last = 0, 6
        else:
            ends = [_weekday_number(v) for v in body.split("-", 1)]
            first, last = ends[0], ends[-1]
            if len(ends) == 2 and last == 0:
                last = 7  # "5-0" is not crontab, but "5-7" (Friday to Sunday) is
        days.update(n % 7 for n in range(first, last + 1, int(step) if step else 1))
    return ",".join(_WEEKDAYS[n] for n in sorted(days))


def _weekday_number(value: str) -> int:
    if value[:3] in _WEEKDAYS:
        return _WEEKDAYS.index(value[:3])
    if not re.fullmatch(r"[0-7]", value):
        raise ValueError(f"not a weekday: {value!r}")
    return int(value)


def sync_jobs(scheduler: Any, store: Store) -> SyncResult:
    """Make the job store hold one job per scheduled source and per office job, each with its
    current cron line; an unchanged job is left alone (its next run stays as it was)."""
    wanted: dict[str, tuple[Callable[..., None], list[Any], str]] = {
        source_job_id(s.id): (run_source_job, [s.id], s.schedule) for s in scheduled_sources(store)
    }
    wanted.update({f"office:{n}": (run_office_job, [n], j.cron) for n, j in OFFICE_JOBS.items()})
    existing = {job.id: job for job in scheduler.get_jobs()}
    result = SyncResult()
    for job_id in sorted(set(existing) - set(wanted)):
        scheduler.remove_job(job_id)
        result.removed.append(job_id)
    for job_id, (func, args, cron) in wanted.items():
        try:
            trigger = cron_trigger(cron)
        except ValueError:
            result.refused.append(job_id)
            continue
        job = existing.get(job_id)
        if job is None:
            scheduler.add_job(func, trigger, args=args, id=job_id, name=job_id)
            result.added.append(job_id)
        elif str(job.trigger) != str(trigger) or job.args != tuple(args):
            scheduler.modify_job(job_id, func=func, args=args)
            scheduler.reschedule_job(job_id, trigger=trigger)
            result.changed.append(job_id)
    if result.added or result.changed or result.removed or result.refused:
        log.info("jobs synced: added %s, changed %s, removed %s, bad schedule %s",
                 result.added, result.changed, result.removed, result.refused)  # fmt: skip
    return result


# -- the process ----------------------------------------------------------------------------


@dataclass
class _Running:
    store: Store
    scheduler: Any


_current: _Running | None = None
_current_lock = threading.Lock()


def _running() -> _Running:
    if _current is None:
        raise RuntimeError("no scheduler runs in this process (see leakwatch scheduler)")
    return _current


@dataclass(frozen=True, slots=True)
class SchedulerReport:
    """How a scheduler run went: what it recovered, its jobs at start, the runs it started."""

    recovered: Recovered
    synced: SyncResult
    jobs: list[str]
    submitted: int


def run_scheduler(
    store: Store, *, once: bool = False, on_start: Callable[[SchedulerReport], None] | None = None
) -> SchedulerReport:
    """Run the scheduler on ``store`` until Ctrl-C or SIGTERM, then stop the running crawls
    (each recorded interrupted), let the jobs record their end, and raise KeyboardInterrupt.
    ``once``: run the jobs due now (missed runs), wait for them, and return. Raises
    SchedulerRunning when another scheduler holds the store."""
    global _current
    with scheduler_lock(store):
        recovered = recover_scheduler_runs(store)
        scheduler = _Scheduler(store, once)
        reports: list[SchedulerReport] = []

        def started(_event: object) -> None:  # the job store is open, the loop not turning
            synced = sync_jobs(scheduler, store)
            jobs = sorted(job.id for job in scheduler.get_jobs())
            reports.append(SchedulerReport(recovered, synced, jobs, 0))
            if on_start is not None:
                on_start(reports[0])

        scheduler.add_listener(started, EVENT_SCHEDULER_START)
        with _current_lock:
            _current = _Running(store, scheduler)
        try:
            _serve(scheduler, store)
        finally:
            with _current_lock:
                _current = None
        first = reports[0] if reports else SchedulerReport(recovered, SyncResult(), [], 0)
        return SchedulerReport(first.recovered, first.synced, first.jobs, scheduler.submitted)


def _serve(scheduler: _Scheduler, store: Store) -> None:
    """Run the loop. Ctrl-C and SIGTERM only ask it to stop (APScheduler swallows what its
    listeners and job submission raise, a KeyboardInterrupt included); a second one stops at
    once. Then the running crawls are stopped and recorded, and KeyboardInterrupt raised."""

    def ask_stop(_signum: int, _frame: FrameType | None) -> None:
        if scheduler.stop_requested:
            raise KeyboardInterrupt  # asked twice: now
        scheduler.stop_requested = True

    main = threading.current_thread() is threading.main_thread()
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    if main:  # signal handlers belong to the main thread
        for sig in previous:
            signal.signal(sig, ask_stop)
    try:
        scheduler.start()  # returns when a stop is asked for (or, --once, after its pass)
        if scheduler.stop_requested:
            log.info("stopping: crawls %s stopped", stop_running_crawls(store))
        scheduler.shutdown(wait=True)  # the jobs record how they ended
    finally:
        if main:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
    if scheduler.stop_requested:
        raise KeyboardInterrupt


class _Scheduler(BlockingScheduler):  # type: ignore[misc]  # APScheduler 3 is untyped
    """APScheduler's blocking scheduler on the store's job table, whose loop also ends when
    a stop is asked for; ``once``: one pass over the jobs due now (missed runs included),
    ended when they have."""

    def __init__(self, store: Store, once: bool) -> None:
        super().__init__(
            jobstores={"default": SQLAlchemyJobStore(engine=store.engine, tablename=JOB_TABLE)},
            executors={"default": ThreadPoolExecutor(WORKERS)},
            job_defaults=JOB_DEFAULTS,
            timezone=TZ,
        )
        self.once = once
        self.stop_requested = False
        self.submitted = 0  # job runs started
        self.ended = 0  # job runs ended
        # a submitted run ends executed, failed, or missed (too late: never with no grace)
        ends = EVENT_JOB_EXECUTED | EVENT_JOB_ERROR | EVENT_JOB_MISSED
        self.add_listener(self._count, EVENT_JOB_SUBMITTED | ends)

    def _count(self, event: JobEvent) -> None:
        if event.code == EVENT_JOB_SUBMITTED:
            self.submitted += 1
            return
        self.ended += 1
        if event.code == EVENT_JOB_MISSED:
            log.warning("job %s missed its run at %s", event.job_id, event.scheduled_run_time)

    def _main_loop(self) -> None:
        if self.once:
            self._process_jobs()
            while self.ended < self.submitted and not self.stop_requested:
                time.sleep(STOP_POLL_S)
            return
        due = time.monotonic()
        while not self.stop_requested:
            woken = self._event.wait(STOP_POLL_S)  # short waits: a stop is seen within one
            if not woken and time.monotonic() < due:
                continue
            self._event.clear()
            wait_s = self._process_jobs()
            due = time.monotonic() + (wait_s if wait_s is not None else 3600.0)
