"""Long operations and the keys the store was sealed with: rows that outlive a crashed process.

``WorkRun`` is one import, key rotation or codes export, or one run of a scheduled job:
started, then finished, failed or interrupted, with the counts it had committed. A run killed
outright (SIGKILL, power loss) stays ``running`` until the next holder of its lock (the writer
lock, or the scheduler's) finds it and records it as interrupted. ``StoreKey`` holds a check
value (an HMAC, never the key) of every master key the store's data may be sealed under, so a
wrong key is refused before it seals anything. ``SchedulerJob`` is the scheduler's job store
(APScheduler's own table layout).
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, Integer, LargeBinary, String, Text, Unicode
from sqlalchemy.orm import Mapped, mapped_column

from store.models.base import Base, UTCDateTime, str_enum, utcnow


class RunKind(enum.StrEnum):
    IMPORT = "watchlist.import"
    ROTATION = "key.rotate"
    CODES_EXPORT = "codes.export"
    SCHEDULER_JOB = "scheduler.job"  # one run of a job of the scheduler process


# The runs that hold the writer lock (store.writer_lock): the next writer recovers only these;
# a scheduler job's run is recovered by the next scheduler (it holds a lock of its own).
WRITER_RUN_KINDS = frozenset({RunKind.IMPORT, RunKind.ROTATION, RunKind.CODES_EXPORT})


class RunStatus(enum.StrEnum):
    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"
    INTERRUPTED = "interrupted"


class WorkRun(Base):
    """One run of a long writing operation (see the module docstring)."""

    __tablename__ = "work_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[RunKind] = mapped_column(str_enum(RunKind, "run_kind"), index=True)
    status: Mapped[RunStatus] = mapped_column(str_enum(RunStatus, "run_status"))
    actor: Mapped[str] = mapped_column(String(100))
    subject: Mapped[str | None] = mapped_column(String(300), comment="file name or key id")
    host: Mapped[str] = mapped_column(String(100))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text)


class StoreKey(Base):
    """A master key the store's sealed data may be under: its public id and a check MAC."""

    __tablename__ = "store_key"

    key_id: Mapped[str] = mapped_column(String(8), primary_key=True, comment="hex key id")
    check_mac: Mapped[bytes] = mapped_column(LargeBinary(32), comment="HMAC under the key")
    added_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SchedulerJob(Base):
    """A job of the scheduler process, as APScheduler's SQLAlchemy job store keeps it (its
    table layout exactly: the job store reads and writes it; the migrations create it)."""

    __tablename__ = "scheduler_jobs"

    id: Mapped[str] = mapped_column(Unicode(191), primary_key=True)
    next_run_time: Mapped[float | None] = mapped_column(Float(25), index=True)
    job_state: Mapped[bytes] = mapped_column(LargeBinary)
