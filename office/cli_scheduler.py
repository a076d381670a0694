"""`leakwatch scheduler [--once]`: the scheduler process (``office.scheduler``) from a shell.

It prints what it recovered and the jobs it runs, then runs until Ctrl-C or SIGTERM (exit
130, running crawls stopped and recorded interrupted). A second scheduler on the same store
refuses with one line (exit 2).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Annotated

import typer

from office.console import console, fail, open_store

if TYPE_CHECKING:
    from office.scheduler import SchedulerReport

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def scheduler_cmd(
    once: Annotated[
        bool,
        typer.Option(help="Run the jobs due now (runs missed while it was down), then stop."),
    ] = False,
) -> None:
    """Run the scheduler: sources' crawls on their cron schedules (Tokyo time), on Scrapyd
    nodes when LEAKWATCH_SCRAPYD_URLS is set, and the office's jobs. One per store."""
    from sqlalchemy.engine import make_url

    from crawler.scheduled import SchedulerRunning
    from office.scheduler import run_scheduler

    # Job ids, counts and reasons only: the scheduler's log holds no personal data.
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    for noisy in ("apscheduler", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    store = open_store()
    where = make_url(store.settings.db_url).render_as_string(hide_password=True)
    try:
        report = run_scheduler(store, once=once, on_start=lambda r: _print_start(r, where, once))
    except SchedulerRunning as exc:
        raise fail(str(exc)) from None
    finally:
        store.close()
    if once:
        console.print(f"scheduler: one pass done, {report.submitted} job run(s) started and ended")


def _print_start(report: SchedulerReport, where: str, once: bool) -> None:
    if report.recovered.runs:
        console.print(
            f"a killed scheduler's job runs recorded interrupted: {report.recovered.runs} "
            f"(crawls settled: {report.recovered.crawls})"
        )
    synced = report.synced
    if synced.refused:
        console.print(f"[yellow]not a cron line, not scheduled: {', '.join(synced.refused)}[/]")
    console.print(f"scheduler on {where}: {len(report.jobs)} job(s): {', '.join(report.jobs)}")
    if not once:
        console.print("running (Ctrl-C stops it)")


def register(app: typer.Typer) -> None:
    """Add the `scheduler` command to the `leakwatch` app."""
    app.command("scheduler")(scheduler_cmd)
