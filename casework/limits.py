"""Sign-in limits: failures counted per account, per registration code and per address.

After ``max_failures`` failures within ``window`` the key is locked for ``lock``; a success
clears the account's (or code's) count. Addresses are kept as keyed hashes, never in clear.
The counts live in the database, so every server process and every restart sees them.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as lite_insert
from sqlalchemy.orm import Session

from store.models import SignInLimit, utcnow


@dataclass(frozen=True, slots=True)
class Limit:
    max_failures: int
    window: timedelta
    lock: timedelta


ACCOUNT = Limit(5, timedelta(minutes=15), timedelta(minutes=15))
CODE = Limit(5, timedelta(minutes=30), timedelta(minutes=30))  # the letter's code + key
ADDRESS = Limit(30, timedelta(minutes=15), timedelta(minutes=15))


class Locked(PermissionError):
    """Too many failures: the key is locked until ``until``."""

    def __init__(self, until: datetime) -> None:
        super().__init__(f"locked until {until:%H:%M} UTC")
        self.until = until


def address_key(secret: bytes, address: str) -> str:
    return "addr:" + hmac.digest(secret, address.encode(), hashlib.sha256)[:12].hex()


def check(session: Session, key: str, now: datetime | None = None) -> None:
    """Raise Locked if ``key`` is locked now."""
    row = session.get(SignInLimit, key)
    now = now or utcnow()
    if row is not None and row.locked_until is not None and row.locked_until > now:
        raise Locked(row.locked_until)


def fail(session: Session, key: str, limit: Limit, now: datetime | None = None) -> bool:
    """Count one failure; True if it locked the key. Concurrent failures all count: the
    count is raised in the database (a read-then-write would lose some of them)."""
    now = now or utcnow()
    dialect_insert = pg_insert if session.get_bind().dialect.name == "postgresql" else lite_insert
    session.execute(dialect_insert(SignInLimit).values(key=key, failures=0, window_start=now)
                    .on_conflict_do_nothing(index_elements=["key"]))  # fmt: skip
    session.execute(update(SignInLimit).where(SignInLimit.key == key)
                    .values(failures=SignInLimit.failures + 1))  # fmt: skip
    row = session.get(SignInLimit, key, populate_existing=True)
    assert row is not None
    if now - row.window_start > limit.window:
        row.failures, row.window_start = 1, now
    if row.failures >= limit.max_failures:
        row.locked_until, row.failures, row.window_start = now + limit.lock, 0, now
        return True
    return False


def clear(session: Session, key: str) -> None:
    row = session.get(SignInLimit, key)
    if row is not None:
        row.failures, row.locked_until = 0, None
