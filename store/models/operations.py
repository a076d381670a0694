"""Long operations and the keys the store was sealed with: rows that outlive a crashed process.

``WorkRun`` is one import, key rotation or codes export: started, then finished, failed or
interrupted, with the counts it had committed. A run killed outright (SIGKILL, power loss)
stays ``running`` until the next writer, holding the writer lock, finds it and records it
as interrupted. ``StoreKey`` holds a check value (an HMAC, never the key) of every master key
the store's data may be sealed under, so a wrong key is refused before it seals anything.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from store.models.base import Base, UTCDateTime, str_enum, utcnow


class RunKind(enum.StrEnum):
    IMPORT = "watchlist.import"
    ROTATION = "key.rotate"
    CODES_EXPORT = "codes.export"


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
