"""The leaked-customer watchlist (households and persons, PII sealed) and staff users."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, LargeBinary, String, false, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from store.models.base import Base, UTCDateTime, str_enum, utcnow


class Household(Base):
    """A registrant's family. The registration code and login key sign customer reports."""

    __tablename__ = "household"
    __table_args__ = (
        # The codes export looks for undelivered keys: few, once the letters are out.
        Index(
            "ix_household_undelivered",
            "id",
            sqlite_where=text("login_key_sealed IS NOT NULL"),
            postgresql_where=text("login_key_sealed IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    household_ref: Mapped[str] = mapped_column(String(64), unique=True, comment="household_id")
    registration_code: Mapped[str] = mapped_column(String(16), unique=True)
    # sha256(salt || login key): what a sign-in is checked against.
    login_key_salt: Mapped[bytes] = mapped_column(LargeBinary(16))
    login_key_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    # The login key itself, sealed, until a codes export has written it durably for the
    # letters; then only the hash above remains. NULL: delivered (or imported before this).
    login_key_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    key_delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The customer's opt-in for an e-mail when something new is found or done: the address
    # is personal data, sealed.
    notify_opt_in: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    notify_email_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    persons: Mapped[list[WatchlistPerson]] = relationship(back_populates="household")


class WatchlistPerson(Base):
    """One leaked record. All personal fields live in `pii`, sealed with AES-GCM."""

    __tablename__ = "watchlist_person"
    __table_args__ = (
        Index("ix_watchlist_person_phone_bidx", "phone_bidx"),
        Index("ix_watchlist_person_postal_bidx", "postal_bidx"),
        # Most people have no e-mail or fax: partial indexes skip the NULLs (faster imports).
        Index(
            "ix_watchlist_person_email_bidx",
            "email_bidx",
            sqlite_where=text("email_bidx IS NOT NULL"),
            postgresql_where=text("email_bidx IS NOT NULL"),
        ),
        Index(
            "ix_watchlist_person_fax_bidx",
            "fax_bidx",
            sqlite_where=text("fax_bidx IS NOT NULL"),
            postgresql_where=text("fax_bidx IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    record_ref: Mapped[str] = mapped_column(String(64), unique=True, comment="record_id")
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id", ondelete="RESTRICT"))
    is_seed: Mapped[bool] = mapped_column(Boolean, default=False)
    pii: Mapped[bytes] = mapped_column(LargeBinary)
    # Keyed hashes of normalised values: exact look-up without decrypting anything.
    phone_bidx: Mapped[bytes | None] = mapped_column(LargeBinary(16))
    fax_bidx: Mapped[bytes | None] = mapped_column(LargeBinary(16))
    email_bidx: Mapped[bytes | None] = mapped_column(LargeBinary(16))
    postal_bidx: Mapped[bytes | None] = mapped_column(LargeBinary(16))
    # sha256 of the imported row, so a re-import of an unchanged row writes nothing.
    row_digest: Mapped[bytes] = mapped_column(LargeBinary(32))
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    household: Mapped[Household] = relationship(back_populates="persons")


class Role(enum.StrEnum):
    ADMIN = "admin"
    INVESTIGATOR = "investigator"
    LEGAL = "legal"
    OPERATOR = "operator"  # hotline operator entering reports for callers
    AUDITOR = "auditor"  # external monitoring body: read-only


class User(Base):
    """A staff account. Customers are not users: they sign with their household's codes."""

    __tablename__ = "app_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(str_enum(Role, "role"))
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_sign_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
