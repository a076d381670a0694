"""The audit chain: appends, the append-only guard, and detection of every kind of tampering."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from store import audit
from store.models import AuditEvent
from store.runtime import Store


def _append(store: Store, n: int) -> None:
    for i in range(n):
        with store.sessions.begin() as s:
            audit.record(
                s,
                f"user{i % 3}",
                "match.review",
                object_type="match",
                object_id=i,
                reason="確認済み" if i % 2 else None,
                details={"score": i / 10, "n": i},
            )


def _tamper(store: Store, *statements: tuple[str, dict[str, Any]]) -> None:
    """What an insider with DDL rights could do: get past the append-only triggers."""
    with store.engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.execute(text("DROP TRIGGER IF EXISTS audit_event_no_update"))
            conn.execute(text("DROP TRIGGER IF EXISTS audit_event_no_delete"))
        else:
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        for sql, params in statements:
            conn.execute(text(sql), params)


def _verify(store: Store) -> audit.ChainReport:
    with store.sessions() as s:
        return audit.verify(s)


def test_intact_chain_verifies(store: Store) -> None:
    _append(store, 6)
    report = _verify(store)
    assert report.ok and report.events == 6 and report.head_hash != audit.GENESIS


def test_empty_chain_verifies(store: Store) -> None:
    assert _verify(store).ok


def test_database_refuses_update_and_delete(store: Store) -> None:
    _append(store, 2)
    for sql in (
        "UPDATE audit_event SET actor = 'x' WHERE seq = 1",
        "DELETE FROM audit_event WHERE seq = 2",
    ):
        with pytest.raises(DatabaseError, match="append-only"), store.engine.begin() as conn:
            conn.execute(text(sql))
    assert _verify(store).ok


def test_edit_is_detected_and_named(store: Store) -> None:
    _append(store, 5)
    _tamper(store, ("UPDATE audit_event SET reason = 'nothing happened' WHERE seq = 3", {}))
    report = _verify(store)
    assert not report.ok and report.first_bad_seq == 3 and "altered" in (report.problem or "")


def test_edit_with_recomputed_hash_breaks_the_next_link(store: Store) -> None:
    _append(store, 5)
    with store.sessions() as s:
        ev = s.get(AuditEvent, 2)
        assert ev is not None
        forged = audit.event_hash(
            seq=2,
            at=ev.at,
            actor="someone_else",
            action=ev.action,
            object_type=ev.object_type,
            object_id=ev.object_id,
            reason=ev.reason,
            details=ev.details,
            prev_hash=ev.prev_hash,
        )
    _tamper(
        store,
        ("UPDATE audit_event SET actor = 'someone_else', hash = :h WHERE seq = 2", {"h": forged}),
    )
    report = _verify(store)
    assert not report.ok and report.first_bad_seq == 3


def test_delete_in_the_middle_is_detected(store: Store) -> None:
    _append(store, 5)
    _tamper(store, ("DELETE FROM audit_event WHERE seq = 2", {}))
    report = _verify(store)
    assert not report.ok and report.first_bad_seq == 2 and "missing" in (report.problem or "")


def test_delete_at_the_end_is_detected(store: Store) -> None:
    _append(store, 5)
    _tamper(store, ("DELETE FROM audit_event WHERE seq = 5", {}))
    report = _verify(store)
    assert not report.ok and report.first_bad_seq == 5 and "deleted" in (report.problem or "")


def test_insert_is_detected(store: Store) -> None:
    _append(store, 4)
    # Shift events 3..4 up and slip a fabricated event in as 3.
    _tamper(
        store,
        ("UPDATE audit_event SET seq = seq + 100 WHERE seq >= 3", {}),
        ("UPDATE audit_event SET seq = seq - 99 WHERE seq >= 103", {}),
        (
            "INSERT INTO audit_event (seq, at, actor, action, details, prev_hash, hash) "
            "SELECT 3, at, 'intruder', 'watchlist.export', details, hash, :h FROM audit_event "
            "WHERE seq = 2",
            {"h": "f" * 64},
        ),
    )
    report = _verify(store)
    assert not report.ok and report.first_bad_seq == 3


def test_insert_after_the_head_is_detected(store: Store) -> None:
    """Even a correctly hashed event appended behind the head's back is caught."""
    _append(store, 3)
    with store.sessions() as s:
        last = s.get(AuditEvent, 3)
        assert last is not None
        at, details, prev = last.at, last.details, last.hash
    forged = audit.event_hash(
        seq=4,
        at=at,
        actor="intruder",
        action="x",
        object_type=None,
        object_id=None,
        reason=None,
        details=details,
        prev_hash=prev,
    )
    _tamper(
        store,
        (
            "INSERT INTO audit_event (seq, at, actor, action, details, prev_hash, hash) "
            "SELECT 4, at, 'intruder', 'x', details, hash, :h FROM audit_event "
            "WHERE seq = 3",
            {"h": forged},
        ),
    )
    report = _verify(store)
    assert not report.ok and report.first_bad_seq == 4 and "inserted" in (report.problem or "")


def test_reorder_is_detected(store: Store) -> None:
    _append(store, 5)
    _tamper(
        store,
        ("UPDATE audit_event SET seq = 1000 WHERE seq = 2", {}),
        ("UPDATE audit_event SET seq = 2 WHERE seq = 3", {}),
        ("UPDATE audit_event SET seq = 3 WHERE seq = 1000", {}),
    )
    report = _verify(store)
    assert not report.ok and report.first_bad_seq == 2


def test_concurrent_writers_never_share_a_sequence_number(store: Store) -> None:
    """Four threads appending at once (the web app's thread pool): every event gets its own
    place in the chain. On SQLite the head is locked by a write before it is read."""
    import threading

    from store.audit import record, verify

    errors: list[BaseException] = []

    def append(n: int) -> None:
        try:
            for i in range(25):
                with store.sessions.begin() as s:
                    record(s, f"thread:{n}", "test.concurrent", object_id=i)
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=append, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with store.sessions() as s:
        report = verify(s)
    assert report.ok and report.events == 100


def test_an_export_verifies_anywhere_and_any_edit_is_caught(store: Store, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json

    from store.audit import ExportError, export_chain, record, verify_export

    for i in range(5):
        with store.sessions.begin() as s:
            record(s, "test", "test.event", object_id=i, details={"n": i, "text": "名簿"})
    out = tmp_path / "chain.jsonl"
    with store.sessions() as s:
        written = export_chain(s, out)
    assert out.stat().st_mode & 0o777 == 0o600
    checked = verify_export(out)
    assert checked.ok and checked.events == 5 and checked.head_hash == written.head_hash
    lines = out.read_text(encoding="utf-8").splitlines()

    def variant(name: str, new: list[str]) -> object:
        path = tmp_path / name
        path.write_text("\n".join(new) + "\n", encoding="utf-8")
        return verify_export(path)

    edited = json.loads(lines[3])
    edited["details"]["n"] = 99
    bad = variant("edited.jsonl", [*lines[:3], json.dumps(edited, ensure_ascii=False), *lines[4:]])
    assert not bad.ok and "event 3 was altered" in bad.problem  # type: ignore[attr-defined]
    cut = variant("cut.jsonl", [*lines[:-2], lines[-1]])
    assert not cut.ok and "cut off" in cut.problem  # type: ignore[attr-defined]
    gone = variant("gone.jsonl", [*lines[:2], *lines[3:]])
    assert not gone.ok and "missing or out of order" in gone.problem  # type: ignore[attr-defined]
    (tmp_path / "other.jsonl").write_text("hello\nworld\n", encoding="utf-8")
    with pytest.raises(ExportError, match="line 1: not JSON"):
        verify_export(tmp_path / "other.jsonl")
