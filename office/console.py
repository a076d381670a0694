"""Terminal output shared by CLI commands: the Rich console, progress bars, error exits."""

from __future__ import annotations

import getpass
import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

# soft_wrap: long paths, URLs and hashes stay on one line, whole, for copying.
console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


class ExitPlan:
    """How a command run by the console script may end the process."""

    # Set by office.cli.main: this process is the `leakwatch` command, not a test running
    # commands in-process.
    console_script = False

    @classmethod
    def end_now(cls) -> None:
        """For a command that leaves nothing to clean up (files closed, workers joined): as
        the console script, end the process here, its output flushed. Tearing a big heap
        down (an index of 200,000 persons) does nothing the operating system will not do,
        and takes a tenth of a second or more; so does the cyclic GC's first collection
        once turned back on, walking every object made while it was off. Run in-process,
        this returns."""
        if cls.console_script:
            logging.shutdown()
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(0)


def cli_actor() -> str:
    """Who the audit log records for a command run from a shell."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli:unknown"


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print a clean error (no traceback) and return the exit to raise."""
    err_console.print(f"[bold red]error:[/] {message}")
    return typer.Exit(code)


class RowsPerSecond(ProgressColumn):
    """Rows/s from the task's `rows` field (the bar itself tracks bytes)."""

    def render(self, task: Task) -> Text:
        rows = int(task.fields.get("rows", 0))
        elapsed = task.finished_time if task.finished else task.elapsed
        rate = rows / elapsed if elapsed else 0.0
        return Text(f"{rows:,} rows {rate:,.0f} rows/s", style="progress.data.speed")


@contextmanager
def byte_progress(label: str, total: int) -> Iterator[tuple[Progress, TaskID]]:
    """A progress bar over a file's bytes that also shows rows and rows/s."""
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        DownloadColumn(),
        RowsPerSecond(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=False,
    )
    with progress:
        task = progress.add_task(label, total=total, rows=0)
        yield progress, task
