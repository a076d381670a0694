"""Who is signed in, and how hard someone is guessing: sessions, API tokens, sign-in limits.

A session or token is a random secret handed to the browser or the API client once; only
its SHA-256 is stored, so a copy of the database signs nobody in. Sessions belong either to
a staff user or to a household (a customer signed in with the letter's code and key).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from store.models.base import Base, UTCDateTime, utcnow


class WebSession(Base):
    """A signed-in browser: server-side, so signing out or disabling a user ends it at once."""

    __tablename__ = "web_session"
    __table_args__ = (
        CheckConstraint("(user_id IS NULL) <> (household_id IS NULL)", name="one_principal"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("app_user.id", ondelete="CASCADE"), index=True
    )
    household_id: Mapped[int | None] = mapped_column(
        ForeignKey("household.id", ondelete="CASCADE"), index=True
    )
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ApiToken(Base):
    """A staff user's token for the JSON API (``Authorization: Bearer …``)."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class SignInLimit(Base):
    """Failed sign-ins counted per account, per registration code and per client address
    (keyed hashes, never the address itself), and the lock they lead to."""

    __tablename__ = "sign_in_limit"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
