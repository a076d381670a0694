"""One writer at a time for the operations that rewrite the watchlist or its keys.

An import, a key rotation and a codes export each hold this lock for their whole run; a
second one refuses at once with a line naming the run in progress. The lock belongs to the
process, so a killed process (SIGKILL included) releases it: on PostgreSQL it is a
session-level advisory lock on a connection of its own, on SQLite an ``flock`` on a file
beside the database. Whoever takes the lock next records the dead run as interrupted
(:func:`store.work_runs.recover_stale`).
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from store.models import RunStatus, WorkRun

# An arbitrary constant naming the lock among the server's advisory locks ('LWWRITE').
PG_LOCK_KEY = 0x4C57_5752_4954_45


class WriterBusy(Exception):
    """Another import, rotation or codes export holds the writer lock."""


@contextmanager
def writer_lock(engine: Engine) -> Iterator[None]:
    """Hold the store's writer lock; raises WriterBusy at once if someone else holds it."""
    if engine.dialect.name == "postgresql":
        with _pg_lock(engine):
            yield
        return
    database = engine.url.database
    if not database or database == ":memory:":
        yield  # a private in-memory database has no other writer
        return
    with _file_lock(Path(database + ".lock"), engine):
        yield


@contextmanager
def _pg_lock(engine: Engine) -> Iterator[None]:
    with engine.connect() as conn:
        got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": PG_LOCK_KEY}).scalar()
        conn.commit()  # the lock is the session's: it outlives this transaction
        if not got:
            raise WriterBusy(_busy_message(engine))
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": PG_LOCK_KEY})
            conn.commit()


@contextmanager
def _file_lock(path: Path, engine: Engine) -> Iterator[None]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise WriterBusy(_busy_message(engine)) from None
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
                .where(WorkRun.status == RunStatus.RUNNING)
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
