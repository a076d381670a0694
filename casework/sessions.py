"""Server-side sessions: a random token in the browser's cookie, its hash and the principal here.

A new session is made at every sign-in (the token a browser had before is never promoted),
ends at sign-out, after ``IDLE`` without a request or ``LIFETIME`` in all, and at once when
its user is disabled. Each session carries the CSRF token its forms must echo.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from casework.accounts import token_hash
from casework.permissions import Actor, Principal, actor_of
from store.models import Household, User, WebSession, utcnow
from store.runtime import Store

IDLE = timedelta(minutes=30)
LIFETIME = timedelta(hours=8)
# last_seen_at is written at most this often (a write per request would serialise readers).
TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class SessionInfo:
    principal: Principal
    csrf_token: str
    session_id: int


def start_session(store: Store, principal: Principal) -> tuple[str, SessionInfo]:
    """A new session for a principal who just signed in: (cookie token, its info)."""
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    now = utcnow()
    with store.sessions.begin() as s:
        row = WebSession(
            token_hash=token_hash(token), user_id=principal.user_id,
            household_id=principal.household_id, csrf_token=csrf, created_at=now,
            last_seen_at=now, expires_at=now + LIFETIME,
        )  # fmt: skip
        s.add(row)
        s.flush()
        return token, SessionInfo(principal, csrf, row.id)


def find_session(store: Store, token: str) -> SessionInfo | None:
    """The live session of a cookie token (its principal re-read: a disabled user or a
    changed role takes effect at once), or None."""
    now = utcnow()
    with store.sessions.begin() as s:
        row = s.scalars(select(WebSession).where(WebSession.token_hash == token_hash(token))
                        ).first()  # fmt: skip
        if row is None or row.ended_at is not None or row.expires_at <= now:
            return None
        if now - row.last_seen_at > IDLE:
            row.ended_at = now
            return None
        principal = _principal(s, row)
        if principal is None:
            row.ended_at = now
            return None
        if now - row.last_seen_at > TOUCH_EVERY:
            row.last_seen_at = now
        return SessionInfo(principal, row.csrf_token, row.id)


def _principal(s: Session, row: WebSession) -> Principal | None:
    if row.user_id is not None:
        user = s.get(User, row.user_id)
        if user is None or not user.active:
            return None
        return Principal(actor_of(user.role), user_id=user.id, name=user.username)
    household = s.get(Household, row.household_id)
    if household is None:
        return None
    return Principal(Actor.CUSTOMER, household_id=household.id, name=household.household_ref)


def end_session(store: Store, session_id: int) -> None:
    with store.sessions.begin() as s:
        s.execute(update(WebSession).where(WebSession.id == session_id,
                                           WebSession.ended_at.is_(None))
                  .values(ended_at=utcnow()))  # fmt: skip
