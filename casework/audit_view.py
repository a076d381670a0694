"""The audit chain as the auditor reads it: verified, newest first, a page at a time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from casework.permissions import Action, Principal, require
from store import audit
from store.models import AuditEvent
from store.runtime import Store

PAGE = 100


@dataclass(frozen=True, slots=True)
class EventLine:
    seq: int
    at: datetime
    actor: str
    action: str
    object: str
    reason: str | None
    details: dict[str, Any]


@dataclass(frozen=True)
class ChainPage:
    report: audit.ChainReport
    events: list[EventLine]
    page: int
    pages: int


def chain_page(store: Store, principal: Principal, page: int = 1) -> ChainPage:
    """The chain checked from end to end, and one page of it (page 1: the newest)."""
    require(principal, Action.VIEW_AUDIT)
    with store.sessions() as s:
        report = audit.verify(s)
        total = s.scalar(select(func.count()).select_from(AuditEvent)) or 0
        pages = max(1, -(-total // PAGE))
        page = min(max(1, page), pages)
        rows = s.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())
                         .offset((page - 1) * PAGE).limit(PAGE))  # fmt: skip
        events = [EventLine(e.seq, e.at, e.actor, e.action,
                            f"{e.object_type or ''} {e.object_id or ''}".strip(), e.reason,
                            e.details) for e in rows]  # fmt: skip
    return ChainPage(report, events, page, pages)
