"""Runs of the long writing operations, and their events in the audit chain.

``tracked_run`` records a run as started (row and audit event, committed at once), lets the
work save its committed counts inside its own transactions, and records how it ended:
finished, failed (an error) or interrupted (Ctrl-C, SIGTERM). A run whose process was
killed outright is found by the next holder of the writer lock (``recover_stale``) and
recorded as interrupted then, with the counts it had committed.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from store import audit
from store.db import safe_error_text
from store.models import WRITER_RUN_KINDS, RunKind, RunStatus, WorkRun, utcnow


@dataclass
class Run:
    id: int
    kind: RunKind
    counts: dict[str, Any] = field(default_factory=dict)

    def save_counts(self, session: Session) -> None:
        """Store the counts inside the caller's transaction: they commit with the work."""
        session.execute(update(WorkRun).where(WorkRun.id == self.id).values(counts=self.counts))


def start_run(
    sessions: sessionmaker[Session], kind: RunKind, actor: str, subject: str | None
) -> Run:
    with sessions.begin() as session:
        row = WorkRun(
            kind=kind, status=RunStatus.RUNNING, actor=actor, subject=subject,
            host=socket.gethostname()[:100], pid=os.getpid(), counts={},
        )  # fmt: skip
        session.add(row)
        session.flush()
        audit.record(
            session, actor, f"{kind.value}.started", object_type="run", object_id=row.id,
            details={"subject": subject},
        )  # fmt: skip
        return Run(row.id, kind)


def end_run(
    sessions: sessionmaker[Session],
    run: Run,
    status: RunStatus,
    actor: str,
    *,
    error: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    with sessions.begin() as session:
        row = session.get(WorkRun, run.id)
        assert row is not None
        row.status, row.finished_at, row.error = status, utcnow(), error
        row.counts = dict(run.counts)
        audit.record(
            session, actor, f"{run.kind.value}.{status.value}", object_type="run",
            object_id=run.id, reason=error, details={**run.counts, **(details or {})},
        )  # fmt: skip


@contextmanager
def tracked_run(
    sessions: sessionmaker[Session], kind: RunKind, actor: str, subject: str | None
) -> Iterator[Run]:
    """Record the run's start and end (see the module docstring); re-raises what ended it."""
    run = start_run(sessions, kind, actor, subject)
    try:
        yield run
    except (KeyboardInterrupt, SystemExit):
        end_run(sessions, run, RunStatus.INTERRUPTED, actor, error="interrupted")
        raise
    except BaseException as exc:
        end_run(sessions, run, RunStatus.FAILED, actor, error=_error_line(exc))
        raise
    end_run(sessions, run, RunStatus.FINISHED, actor)


def _error_line(exc: BaseException) -> str:
    """The error for the run's row and event: our messages name files, lines and columns,
    never personal values (and database errors carry no parameters)."""
    return safe_error_text(f"{type(exc).__name__}: {exc}")[:300]


def recover_stale(
    sessions: sessionmaker[Session],
    actor: str,
    kinds: Collection[RunKind] = WRITER_RUN_KINDS,
) -> list[int]:
    """Record runs of ``kinds`` left ``running`` by a killed process as interrupted. Call
    only while holding the lock those runs hold (the writer lock for the default kinds, the
    scheduler's for its jobs): then no run of theirs can still be alive."""
    with sessions.begin() as session:
        stale = session.scalars(
            select(WorkRun)
            .where(WorkRun.status == RunStatus.RUNNING, WorkRun.kind.in_(list(kinds)))
            .order_by(WorkRun.id)
        ).all()
        for row in stale:
            row.status, row.finished_at = RunStatus.INTERRUPTED, utcnow()
            row.error = "the process ended without finishing (killed?)"
            audit.record(
                session, actor, f"{row.kind.value}.{RunStatus.INTERRUPTED.value}",
                object_type="run", object_id=row.id, reason=row.error,
                details={**row.counts, "found_by_run_of": actor, "pid": row.pid},
            )  # fmt: skip
        return [row.id for row in stale]
