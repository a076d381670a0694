"""Terminal output shared by CLI commands: the Rich console, progress bars, error exits."""

from __future__ import annotations

import getpass
import logging
import os
import sys
import tempfile
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.markup import escape
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

if TYPE_CHECKING:
    from store.runtime import Store

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
    err_console.print(f"[bold red]error:[/] {escape(message)}")
    return typer.Exit(code)


# Exit status for an error nobody expected (sysexits' EX_SOFTWARE).
UNEXPECTED = 70
INTERRUPTED = 130  # 128 + SIGINT, as shells report it


def open_store() -> Store:
    """The configured store, for a command; warns about its files that others may read."""
    from store.runtime import Store
    from store.settings import load_settings

    store = Store.open(load_settings())
    for line in store.mode_warnings():
        err_console.print(f"[yellow]warning:[/] {escape(line)}")
    return store


def expected_error_types() -> tuple[type[Exception], ...]:
    """Errors whose message is the whole story for the user: shown as one line."""
    from store.audit import ExportError
    from store.csv_input import InputError
    from store.db import SchemaError
    from store.keyring import KeyError_
    from store.private_files import OutputError
    from store.writer_lock import WriterBusy

    return (InputError, SchemaError, KeyError_, OutputError, WriterBusy, ExportError)


def exit_for(exc: Exception) -> typer.Exit:
    """One line on the console for any error; for an unexpected one, the traceback goes to a
    private log file whose path the line gives."""
    if isinstance(exc, expected_error_types()):
        return fail(str(exc))
    log = write_error_log(exc)
    return fail(
        f"unexpected {type(exc).__name__} (a bug, or something this machine did not allow); "
        f"the details are in {log}",
        code=UNEXPECTED,
    )


def write_error_log(exc: BaseException) -> Path:
    """Append the traceback to LEAKWATCH_HOME/logs/errors.log (0600; a temporary folder if
    that cannot be written). Database errors carry no SQL parameters (hide_parameters) and
    no values quoted by the database (safe_error_text)."""
    from store.db import safe_error_text

    text = safe_error_text("".join(traceback.format_exception(exc)))
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    entry = f"--- {stamp} leakwatch {' '.join(sys.argv[1:2])} (pid {os.getpid()})\n{text}"
    for folder in _log_folders():
        path = folder / "errors.log"
        try:
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            with os.fdopen(fd, "a", encoding="utf-8", errors="replace") as handle:
                handle.write(entry)
            return path
        except OSError:
            continue
    return Path("(no writable log folder)")


def _log_folders() -> list[Path]:
    folders = []
    try:
        from store.settings import load_settings

        folders.append(load_settings().home / "logs")
    except Exception:  # noqa: S110 - broken settings must not hide the original error
        pass
    folders.append(Path(tempfile.gettempdir()) / f"leakwatch-{os.getuid()}")
    return folders


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
