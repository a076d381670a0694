"""Writing and verifying the hash-chained audit log.

Each event's hash covers its own fields and the previous event's hash, so editing, deleting,
inserting or reordering any event breaks the chain from that point on. Database triggers refuse
UPDATE and DELETE on the table; the chain catches whoever gets past them (an insider with DDL
rights). `verify` also returns the head hash so it can be recorded outside the database.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from store.models import AuditEvent, AuditHead, utcnow
from store.models.base import to_plain

GENESIS = "0" * 64


def event_hash(
    *,
    seq: int,
    at: datetime,
    actor: str,
    action: str,
    object_type: str | None,
    object_id: str | None,
    reason: str | None,
    details: dict[str, Any],
    prev_hash: str,
) -> str:
    body = {
        "seq": seq,
        "at": at.isoformat(timespec="microseconds"),
        "actor": actor,
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "reason": reason,
        "details": details,
        "prev_hash": prev_hash,
    }
    canonical = json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def record(
    session: Session,
    actor: str,
    action: str,
    *,
    object_type: str | None = None,
    object_id: str | int | None = None,
    reason: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event inside the caller's transaction (it commits with the action it records).

    Details must never hold personal data: counts, ids and hashes only.
    """
    # Take the head's write lock before reading it. FOR UPDATE does on PostgreSQL; SQLite
    # ignores it, and its driver begins a transaction only at the first write, so a head read
    # before any write could be one another writer is about to move (two events, one seq).
    session.execute(update(AuditHead).where(AuditHead.id == 1).values(seq=AuditHead.seq))
    head = session.execute(
        select(AuditHead).where(AuditHead.id == 1).with_for_update()
    ).scalar_one()
    session.refresh(head)  # the head as it is now, not as this session may have cached it
    clean = {k: to_plain(v) for k, v in (details or {}).items()}
    # Round-trip through JSON so what we hash is exactly what the database gives back.
    clean = json.loads(json.dumps(clean, ensure_ascii=False, default=str))
    event = AuditEvent(
        seq=head.seq + 1,
        at=utcnow(),
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        reason=reason,
        details=clean,
        prev_hash=head.hash,
    )
    event.hash = _hash_of(event)
    session.add(event)
    head.seq, head.hash = event.seq, event.hash
    session.flush()
    return event


def _hash_of(event: AuditEvent) -> str:
    return event_hash(
        seq=event.seq,
        at=event.at,
        actor=event.actor,
        action=event.action,
        object_type=event.object_type,
        object_id=event.object_id,
        reason=event.reason,
        details=event.details,
        prev_hash=event.prev_hash,
    )


@dataclass(frozen=True, slots=True)
class ChainReport:
    ok: bool
    events: int
    head_hash: str
    first_bad_seq: int | None = None
    problem: str | None = None


def verify(session: Session) -> ChainReport:
    """Walk the chain in order; report the first event that breaks it, and why."""
    expected_seq = 1
    prev_hash = GENESIS
    count = 0
    rows = session.execute(
        select(AuditEvent).order_by(AuditEvent.seq).execution_options(yield_per=1000)
    ).scalars()
    for event in rows:
        count += 1
        if event.seq != expected_seq:
            kind = "missing (deleted?)" if event.seq > expected_seq else "duplicated"
            return _bad(
                count,
                prev_hash,
                expected_seq,
                f"event {expected_seq} is {kind}; next present is {event.seq}",
            )
        if event.prev_hash != prev_hash:
            return _bad(
                count,
                prev_hash,
                event.seq,
                f"event {event.seq} ({event.action}) does not follow event "
                f"{event.seq - 1}: inserted or reordered",
            )
        if _hash_of(event) != event.hash:
            return _bad(
                count,
                prev_hash,
                event.seq,
                f"event {event.seq} ({event.action} by {event.actor} at "
                f"{event.at.isoformat()}) was altered: its content no longer "
                "matches its hash",
            )
        prev_hash = event.hash
        expected_seq += 1
    head = session.execute(select(AuditHead).where(AuditHead.id == 1)).scalar_one()
    if head.seq != expected_seq - 1 or head.hash != prev_hash:
        if head.seq > expected_seq - 1:
            problem = f"events after {expected_seq - 1} were deleted (head is at {head.seq})"
            return _bad(count, prev_hash, expected_seq, problem)
        return _bad(
            count,
            prev_hash,
            head.seq + 1,
            f"event {head.seq + 1} is beyond the recorded head: inserted",
        )
    return ChainReport(ok=True, events=count, head_hash=prev_hash)


def _bad(count: int, head_hash: str, seq: int, problem: str) -> ChainReport:
    return ChainReport(
        ok=False, events=count, head_hash=head_hash, first_bad_seq=seq, problem=problem
    )


EXPORT_FORMAT = "leakwatch-audit-v1"


def export_chain(session: Session, out: Path) -> ChainReport:
    """Write the chain as JSON lines — a header, one line per event with every hashed field
    and its hash, a last line with the head hash and the count — to a new 0600 file; the
    report of the chain as written. Anyone can check the file without the database
    (``verify_export``); comparing its head with one recorded elsewhere shows truncation."""
    from store.private_files import private_text

    count, prev = 0, GENESIS
    rows = session.execute(
        select(AuditEvent).order_by(AuditEvent.seq).execution_options(yield_per=1000)
    ).scalars()
    with private_text(out, durable=True, replace=False) as handle:
        handle.write(json.dumps({"format": EXPORT_FORMAT}) + "\n")
        for event in rows:
            handle.write(json.dumps(_exported(event), ensure_ascii=False, sort_keys=True) + "\n")
            count, prev = count + 1, event.hash
        handle.write(json.dumps({"head": prev, "events": count}) + "\n")
    return ChainReport(ok=True, events=count, head_hash=prev)


def _exported(event: AuditEvent) -> dict[str, Any]:
    return {
        "seq": event.seq, "at": event.at.isoformat(timespec="microseconds"),
        "actor": event.actor, "action": event.action, "object_type": event.object_type,
        "object_id": event.object_id, "reason": event.reason, "details": event.details,
        "prev_hash": event.prev_hash, "hash": event.hash,
    }  # fmt: skip


class ExportError(ValueError):
    """Not an audit export, or one that cannot be read (the message says where)."""


def verify_export(path: Path) -> ChainReport:
    """Check an export on its own: every event's hash, every link, the sequence, and that the
    last line's head and count are the chain's. ExportError for a file that is not one."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ExportError(f"{path}: cannot read it ({type(exc).__name__})") from None
    if len(lines) < 2 or _json_line(path, lines[0], 1).get("format") != EXPORT_FORMAT:
        raise ExportError(f"{path}: not a LeakWatch audit export")
    prev, count = GENESIS, 0
    for n, line in enumerate(lines[1:-1], start=2):
        event = _json_line(path, line, n)
        problem = _check_exported(event, count + 1, prev)
        if problem:
            return _bad(count, prev, count + 1, f"line {n}: {problem}")
        prev, count = str(event["hash"]), count + 1
    tail = _json_line(path, lines[-1], len(lines))
    if tail.get("head") != prev or tail.get("events") != count:
        return _bad(count, prev, count + 1, "the last line's head or count is not the chain's "
                    "(events cut off or added at the end)")  # fmt: skip
    return ChainReport(ok=True, events=count, head_hash=prev)


def _json_line(path: Path, line: str, n: int) -> dict[str, Any]:
    try:
        value = json.loads(line)
    except json.JSONDecodeError:
        raise ExportError(f"{path}, line {n}: not JSON") from None
    if not isinstance(value, dict):
        raise ExportError(f"{path}, line {n}: not an object")
    return value


def _check_exported(event: dict[str, Any], seq: int, prev: str) -> str | None:
    try:
        if event["seq"] != seq:
            return f"event {seq} is missing or out of order (found {event['seq']})"
        if event["prev_hash"] != prev:
            return f"event {seq} does not follow event {seq - 1}"
        expected = event_hash(
            seq=event["seq"], at=datetime.fromisoformat(event["at"]), actor=event["actor"],
            action=event["action"], object_type=event["object_type"],
            object_id=event["object_id"], reason=event["reason"], details=event["details"],
            prev_hash=event["prev_hash"],
        )  # fmt: skip
    except (KeyError, TypeError, ValueError):
        return f"event {seq} lacks a field or has a malformed one"
    return None if expected == event["hash"] else f"event {seq} was altered after export"
