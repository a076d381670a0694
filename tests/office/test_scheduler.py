"""`leakwatch scheduler`: the real process (`python -m office scheduler`) on the test store.

Jobs persist across restarts without duplicates and follow the sources table; a run missed
while the scheduler was down runs once at start; a scheduler SIGKILLed mid-crawl leaves a crawl
that the next one settles as interrupted, with no row doubled by the next run; a second
scheduler on the same store refuses in one line. Time is made controllable by moving a
stored job's next run into the past, as if the scheduler had been down.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from crawler.scheduled import ORPHAN_MESSAGE, crawl_pids
from crawler.sources import add_source, set_schedule, set_start_urls
from office.scheduler import JOB_TABLE, OFFICE_JOBS, TZ, cron_trigger
from store.models import (
    AuditEvent,
    Crawl,
    CrawlStatus,
    Listing,
    ListingRow,
    RunKind,
    RunStatus,
    SchedulerJob,
    WorkRun,
)
from store.runtime import Store
from tests.crawler.conftest import crawl_endings, server_log
from tests.crawler.test_crawl_failures import _wait_for_slow_hit  # the same wait

REFUSAL = "another scheduler is running on this store: stop it first (only one may run)"
DAILY = "0 3 * * *"  # never due by itself during a test: a run is made due by moving it
SCHEDULER = [sys.executable, "-m", "office", "scheduler"]

OFFICE = {f"office:{name}" for name in OFFICE_JOBS}  # every office job has its job


def _jobs(store: Store) -> dict[str, float | None]:
    with store.sessions() as s:
        return dict(s.execute(select(SchedulerJob.id, SchedulerJob.next_run_time)).all())


@contextmanager
def _scheduler(*args: str) -> Iterator[subprocess.Popen[str]]:
    """A running `leakwatch scheduler` (the test's environment), once it says it runs."""
    proc = subprocess.Popen(SCHEDULER + list(args), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("running"):
                break
        else:
            raise AssertionError(f"the scheduler did not start: {proc.communicate()[1][-2000:]}")
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=60)


def _stop(proc: subprocess.Popen[str]) -> int:
    proc.send_signal(signal.SIGTERM)
    return proc.wait(timeout=60)


def _once() -> subprocess.CompletedProcess[str]:
    done = subprocess.run([*SCHEDULER, "--once"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def _make_due(store: Store, job_id: str, ago: timedelta) -> None:
    """Move the stored job's next run ``ago`` into the past, as if the scheduler had been
    down since then (through APScheduler's job store, with no scheduler running)."""
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore

    jobs = SQLAlchemyJobStore(engine=store.engine, tablename=JOB_TABLE)
    job = jobs.lookup_job(job_id)
    job.next_run_time = datetime.now(UTC) - ago
    jobs.update_job(job)


def _crawls(store: Store, source_id: int) -> list[Crawl]:
    with store.sessions() as s:
        return list(s.scalars(select(Crawl).where(Crawl.source_id == source_id)
                              .order_by(Crawl.id)))  # fmt: skip


def _job_runs(store: Store, subject: str) -> list[WorkRun]:
    with store.sessions() as s:
        q = select(WorkRun).where(WorkRun.kind == RunKind.SCHEDULER_JOB, WorkRun.subject == subject)
        return list(s.scalars(q.order_by(WorkRun.id)))


def test_jobs_persist_across_restarts_and_follow_the_sources(
    env: dict[str, str], store: Store
) -> None:
    kept = add_source(store, "kept", ["http://127.0.0.1:9/"], actor="t", is_local=True,
                      schedule=DAILY)  # fmt: skip
    monday = add_source(store, "monday", ["http://127.0.0.1:9/m"], actor="t", is_local=True,
                        schedule="30 9 * * 1")  # fmt: skip
    add_source(store, "by-hand", ["http://127.0.0.1:9/h"], actor="t", is_local=True)
    with _scheduler() as proc:
        assert _stop(proc) == 130  # SIGTERM: stopped as Ctrl-C stops it
    first = _jobs(store)
    assert set(first) == {f"source:{kept}", f"source:{monday}", *OFFICE}
    # crontab's weekday 1 is Monday (APScheduler 3 alone would take it for Tuesday)
    nxt = datetime.fromtimestamp(first[f"source:{monday}"] or 0, UTC).astimezone(TZ)
    assert (nxt.strftime("%a"), nxt.hour, nxt.minute) == ("Mon", 9, 30)
    with _scheduler() as proc:
        assert _stop(proc) == 130
    assert _jobs(store) == first  # the same jobs, not one more, their next runs untouched
    set_schedule(store, "monday", "0 18 * * 5", actor="t")
    set_schedule(store, "kept", None, actor="t")
    _once()
    after = _jobs(store)
    assert set(after) == {f"source:{monday}", *OFFICE}
    friday = datetime.fromtimestamp(after[f"source:{monday}"] or 0, UTC).astimezone(TZ)
    assert (friday.strftime("%a"), friday.hour) == ("Fri", 18)


def test_a_run_missed_while_down_runs_once(
    env: dict[str, str], store: Store, broker_web: str
) -> None:
    sid = add_source(store, "missed", [broker_web + "/paste/"], actor="t", is_local=True,
                     schedule=DAILY, options={"depth": 2})  # fmt: skip
    _once()  # the job is made; nothing is due
    assert _crawls(store, sid) == []
    _make_due(store, f"source:{sid}", timedelta(days=3, hours=1))  # three runs missed
    started = time.monotonic()
    done = _once()
    print(f"one missed run: {time.monotonic() - started:.1f} s")
    crawls = _crawls(store, sid)
    assert [c.status for c in crawls] == [CrawlStatus.DONE], done.stderr[-2000:]
    (run,) = _job_runs(store, f"source:{sid}")
    assert run.status == RunStatus.FINISHED and run.counts["crawl_id"] == crawls[0].id
    assert "1 job run(s)" in done.stdout
    nxt = _jobs(store)[f"source:{sid}"]
    assert nxt is not None and nxt > time.time()  # the next run is the next 03:00


def test_a_killed_scheduler_leaves_an_interrupted_crawl_and_no_doubled_rows(
    env: dict[str, str], store: Store, broker_web: str
) -> None:
    # the paste's rows come at once; the endless slow pages keep the crawl going until killed
    paste = broker_web + "/paste/"
    sid = add_source(store, "slowrows", [paste, broker_web + "/slow/?s=1"], actor="t",
                     is_local=True, schedule=DAILY, options={"depth": 50})  # fmt: skip
    _once()
    _make_due(store, f"source:{sid}", timedelta(hours=1))
    mark, _ = server_log(broker_web)
    with _scheduler() as proc:
        _wait_for_slow_hit(broker_web, mark)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    (killed,) = _crawls(store, sid)
    assert killed.status in (CrawlStatus.QUEUED, CrawlStatus.RUNNING)  # nobody settled it yet
    assert crawl_pids(store, killed.id)  # its scrapy process outlived the scheduler
    restart = _once()  # nothing is due: it settles what the killed one left
    assert "a killed scheduler's job runs recorded interrupted" in restart.stdout
    assert crawl_pids(store, killed.id) == []
    set_start_urls(store, "slowrows", [paste], actor="t")  # the next run can end: paste only
    _make_due(store, f"source:{sid}", timedelta(minutes=1))
    _once()  # the next run
    killed, clean = _crawls(store, sid)
    assert killed.status == CrawlStatus.FAILED and (killed.error or "").startswith(ORPHAN_MESSAGE)
    (ending,) = crawl_endings(store, killed.id)
    assert ending.action == "crawl.interrupted"
    assert killed.finished_at is not None and clean.started_at is not None
    assert killed.finished_at <= clean.started_at  # never two crawls of the source at once
    first_run, next_run = _job_runs(store, f"source:{sid}")
    assert (first_run.status, first_run.counts["crawl_id"]) == (RunStatus.INTERRUPTED, killed.id)
    assert next_run.status == RunStatus.FINISHED and clean.status == CrawlStatus.DONE
    # the next run is one clean crawl: the store holds exactly the rows it saw, none twice
    stats = clean.stats
    seen = stats["rows_new"] + stats["rows_again"]
    assert seen > 0 and stats["rows_again"] > 0  # the killed crawl's rows were kept
    with store.sessions() as s:
        stored = s.scalar(select(func.count()).select_from(ListingRow).join(Listing)
                          .where(Listing.source_id == sid))  # fmt: skip
        events = s.scalars(select(AuditEvent.action).where(
            AuditEvent.action.like("scheduler.job.%"))).all()  # fmt: skip
    assert stored == seen
    assert events.count("scheduler.job.interrupted") == 1
    assert f"source:{sid}" in _jobs(store)  # the job is still there


def test_a_second_scheduler_refuses_plainly(env: dict[str, str], store: Store) -> None:
    with _scheduler() as first:
        second = subprocess.run([*SCHEDULER, "--once"], capture_output=True, text=True,
                                timeout=60)  # fmt: skip
        assert _stop(first) == 130
    err = second.stderr.strip()
    assert second.returncode == 2
    assert err == f"error: {REFUSAL}"


def test_crontab_weekdays_become_day_names() -> None:
    """APScheduler 3 counts weekdays from Monday = 0; crontab from Sunday = 0 (or 7)."""
    cases = {"1": "mon", "0": "sun", "7": "sun", "1-5": "mon,tue,wed,thu,fri",
             "5-7": "sun,fri,sat", "*/2": "sun,tue,thu,sat", "sat,sun": "sun,sat"}  # fmt: skip
    for spec, names in cases.items():
        trigger = cron_trigger(f"0 3 * * {spec}")
        assert str(trigger.fields[4]) == names, spec
    with pytest.raises(ValueError):
        cron_trigger("0 3 * *")


def test_the_jobs_module_imports_nothing_from_the_web() -> None:
    """The scheduler process starts without FastAPI (an interface beside the web, not in it)."""
    code = "import sys, office.scheduler; print('fastapi' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ}, check=True)  # fmt: skip
    assert out.stdout.strip() == "False"


def test_the_demo_runs_the_scheduler_beside_the_web_app_and_stops_it_with_it(
    env: dict[str, str], store: Store
) -> None:
    from office.demo import scheduler_beside

    with scheduler_beside() as proc:  # as `leakwatch demo` wraps the web app
        deadline = time.monotonic() + 30
        while "office:sources.sync" not in _jobs(store):
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.2)
    assert proc.returncode == 130  # stopped as SIGTERM stops it, when the web app stopped


def test_sigterm_stops_the_running_crawl_and_records_it(
    env: dict[str, str], store: Store, broker_web: str
) -> None:
    sid = add_source(store, "stopped", [broker_web + "/slow/?s=1"], actor="t", is_local=True,
                     schedule=DAILY, options={"depth": 50})  # fmt: skip
    _once()
    _make_due(store, f"source:{sid}", timedelta(hours=1))
    mark, _ = server_log(broker_web)
    with _scheduler() as proc:
        _wait_for_slow_hit(broker_web, mark)
        assert _stop(proc) == 130
    (crawl,) = _crawls(store, sid)
    assert crawl.status == CrawlStatus.FAILED and crawl_pids(store, crawl.id) == []
    assert (crawl.error or "").startswith("stopped by a signal")
    (ending,) = crawl_endings(store, crawl.id)
    assert ending.action == "crawl.interrupted"
    (run,) = _job_runs(store, f"source:{sid}")
    assert (run.status, run.counts["crawl_id"]) == (RunStatus.INTERRUPTED, crawl.id)
