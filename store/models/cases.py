"""Review and action: businesses, candidate matches with reviewer labels, and cases."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from store.business_names import name_key
from store.corporate_number import normalise_corporate_number
from store.models.base import Base, UTCDateTime, str_enum, utcnow


class Business(Base):
    """A business offering or using the data: the recipient of notices."""

    __tablename__ = "business"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    name_key: Mapped[str] = mapped_column(
        String(300), index=True, default="", comment="store.business_names.name_key(name)"
    )
    corporate_number: Mapped[str | None] = mapped_column(
        String(13), unique=True, comment="法人番号, check digit validated"
    )
    representative: Mapped[str | None] = mapped_column(String(200))
    address: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(Text)
    contact: Mapped[str | None] = mapped_column(Text, comment="how to reach it: phone, e-mail")
    notes: Mapped[str | None] = mapped_column(Text)
    merged_into_id: Mapped[int | None] = mapped_column(
        ForeignKey("business.id"), comment="a duplicate, merged into this business"
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    aliases: Mapped[list[BusinessAlias]] = relationship(
        back_populates="business", cascade="all, delete-orphan"
    )

    @validates("corporate_number")
    def _check_corporate_number(self, _key: str, value: str | None) -> str | None:
        return None if value is None else normalise_corporate_number(value)

    @validates("name")
    def _keep_name_key(self, _key: str, value: str) -> str:
        self.name_key = name_key(value)
        return value


class BusinessAlias(Base):
    """Trade names, shop names and domains under which the same business appears."""

    __tablename__ = "business_alias"
    __table_args__ = (UniqueConstraint("business_id", "alias"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    business_id: Mapped[int] = mapped_column(ForeignKey("business.id", ondelete="CASCADE"))
    alias: Mapped[str] = mapped_column(String(300), index=True)
    alias_key: Mapped[str] = mapped_column(String(300), index=True, default="")

    business: Mapped[Business] = relationship(back_populates="aliases")

    @validates("alias")
    def _keep_alias_key(self, _key: str, value: str) -> str:
        self.alias_key = name_key(value)
        return value


class Decision(enum.StrEnum):
    MATCH = "match"
    REVIEW = "review"
    NONMATCH = "nonmatch"


class ReviewState(enum.StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    REJECTED = "rejected"
    UNSURE = "unsure"


class CandidateMatch(Base):
    """A listing row or report fact that may be a watchlist person, with its explanation."""

    __tablename__ = "candidate_match"
    __table_args__ = (
        UniqueConstraint("listing_row_id", "person_id"),
        UniqueConstraint("report_id", "person_id"),
        CheckConstraint("(listing_row_id IS NULL) <> (report_id IS NULL)", name="one_subject"),
        CheckConstraint("score >= 0 AND score <= 1", name="score_range"),
        Index("ix_candidate_match_review", "review_state", "decision"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_row_id: Mapped[int | None] = mapped_column(
        ForeignKey("listing_row.id", ondelete="CASCADE")
    )
    report_id: Mapped[int | None] = mapped_column(
        ForeignKey("customer_report.id", ondelete="CASCADE")
    )
    person_id: Mapped[int] = mapped_column(ForeignKey("watchlist_person.id"), index=True)
    score: Mapped[float] = mapped_column(Float)
    decision: Mapped[Decision] = mapped_column(str_enum(Decision, "decision"))
    explanation: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    review_state: Mapped[ReviewState] = mapped_column(
        str_enum(ReviewState, "review_state"), default=ReviewState.PENDING
    )
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    review_note: Mapped[str | None] = mapped_column(Text)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class CaseStatus(enum.StrEnum):
    """open → noticed → complied / disputed / escalated → closed."""

    OPEN = "open"
    NOTICED = "noticed"  # a cease-use request was sent
    COMPLIED = "complied"  # the business says it stopped (a re-crawl must still show it)
    DISPUTED = "disputed"
    ESCALATED = "escalated"
    CLOSED = "closed"  # read-only from then on


class ClosingBasis(enum.StrEnum):
    REMOVED = "removed"  # a complete re-crawl found every listing gone
    APPROVED = "approved"  # a second investigator approved the closing, with a reason


class Case(Base):
    """Everything we hold against one business, and where the takedown stands."""

    __tablename__ = "case_file"

    id: Mapped[int] = mapped_column(primary_key=True)
    business_id: Mapped[int] = mapped_column(ForeignKey("business.id"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    status: Mapped[CaseStatus] = mapped_column(
        str_enum(CaseStatus, "case_status"), default=CaseStatus.OPEN
    )
    opened_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Closing without a removal takes two investigators: one asks (with a reason), another
    # approves (with a reason).
    close_requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    close_request_reason: Mapped[str | None] = mapped_column(Text)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    closing_basis: Mapped[ClosingBasis | None] = mapped_column(
        str_enum(ClosingBasis, "closing_basis")
    )
    closing_reason: Mapped[str | None] = mapped_column(Text)

    business: Mapped[Business] = relationship()


class CaseMatch(Base):
    """The confirmed matches a case relies on."""

    __tablename__ = "case_match"

    case_id: Mapped[int] = mapped_column(
        ForeignKey("case_file.id", ondelete="CASCADE"), primary_key=True
    )
    match_id: Mapped[int] = mapped_column(
        ForeignKey("candidate_match.id", ondelete="CASCADE"), primary_key=True
    )


class MatchModel(Base):
    """A matcher model refined from reviewers' labels: the newest one scores new rows.

    ``params`` is the matcher's own JSON (m-probabilities, prior, calibration): numbers only,
    never personal data; the counts say what it was learned from."""

    __tablename__ = "match_model"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    created_by: Mapped[str] = mapped_column(String(100))
    confirmed: Mapped[int] = mapped_column(comment="confirmed pairs it was learned from")
    rejected: Mapped[int] = mapped_column(comment="rejected pairs it was learned from")
    params: Mapped[str] = mapped_column(Text)
