"""One writer at a time for the operations that rewrite the watchlist or its keys.

An import, a key rotation and a codes export each hold this lock for their whole run; a
second one refuses at once with a line naming the run in progress. The lock belongs to the
process, so a killed process (SIGKILL included) releases it: on PostgreSQL it is a
session-level advisory lock on a connection of its own, on SQLite an ``flock`` on a file
beside the database. Whoever takes the lock next records the dead run as interrupted
(:func:`store.work_runs.recover_stale`). ``process_lock`` is the same kind of lock under
another name (the scheduler's single-instance lock).
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from store.models import WRITER_RUN_KINDS, RunStatus, WorkRun

# An arbitrary constant naming the lock among the server's advisory locks ('LWWRITE').
PG_LOCK_KEY = 0x4C57_5752_4954_45


class WriterBusy(Exception):
    """Another import, rotation or codes export holds the writer lock."""


@contextmanager
def writer_lock(engine: Engine) -> Iterator[None]:
    """Hold the store's writer lock; raises WriterBusy at once if someone else holds it."""
    with process_lock(engine, PG_LOCK_KEY, ".lock", lambda: WriterBusy(_busy_message(engine))):
        yield


@contextmanager
def process_lock(
    engine: Engine, pg_key: int, file_suffix: str, busy: Callable[[], Exception]
) -> Iterator[None]:
    """Hold a lock of this store that dies with the process holding it (see the module
    docstring): the PostgreSQL advisory lock ``pg_key``, or an ``flock`` on the SQLite
    database's name + ``file_suffix``. Raises ``busy()`` at once if another process holds it."""
    if engine.dialect.name == "postgresql":
        with _pg_lock(engine, pg_key, busy):
            yield
        return
    database = engine.url.database
    if not database or database == ":memory:":
        yield  # a private in-memory database has no other process
        return
    with _file_lock(Path(database + file_suffix), busy):
        yield


@contextmanager
def _pg_lock(engine: Engine, key: int, busy: Callable[[], Exception]) -> Iterator[None]:
    with engine.connect() as conn:
        got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar()
        conn.commit()  # the lock is the session's: it outlives this transaction
        if not got:
            raise busy()
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
            conn.commit()


@contextmanager
def _file_lock(path: Path, busy: Callable[[], Exception]) -> Iterator[None]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise busy() from None
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _busy_message(engine: Engine) -> str:
    run = None
    # The holder may have the lock a moment before it records its run: wait for it a little.
    for _ in range(20):
        with Session(engine) as session:
            run = session.scalars(
                select(WorkRun)
                .where(WorkRun.status == RunStatus.RUNNING, WorkRun.kind.in_(WRITER_RUN_KINDS))
                .order_by(WorkRun.id.desc())
            ).first()
        if run is not None:
            break
        time.sleep(0.05)
    if run is None:
        return "another import, key rotation or codes export is running: wait for it to end"
    return (
        f"another {run.kind.value} is running (run {run.id}, started "
        f"{run.started_at:%Y-%m-%d %H:%M:%S} UTC by {run.actor}, pid {run.pid} on {run.host}): "
        "wait for it to end, then run this again"
    )
