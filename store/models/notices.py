"""Notices (letters) to businesses, the legal team's clause and template edits, and the
notifications owed to customers who opted in."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from store.models.base import Base, UTCDateTime, str_enum, utcnow


class NoticeKind(enum.StrEnum):
    CEASE_USE = "cease_use"  # 通知書
    REMINDER = "reminder"  # 催告書
    ESCALATION = "escalation"  # 最終通告書


class NoticeStatus(enum.StrEnum):
    """draft → approved → sent → replied → closed or escalated; withdrawn (rescinded) from
    any state before closing."""

    DRAFT = "draft"
    APPROVED = "approved"
    SENT = "sent"
    REPLIED = "replied"
    CLOSED = "closed"
    ESCALATED = "escalated"
    WITHDRAWN = "withdrawn"


class SendChannel(enum.StrEnum):
    EMAIL = "email"  # SMTP, the PDF attached
    POST = "post"  # 内容証明 by post or e-内容証明, its reference recorded


class ReplyKind(enum.StrEnum):
    COMPLIED = "complied"  # with the deletion certificate
    PARTLY = "partly"
    DISPUTED = "disputed"
    NO_REPLY = "no_reply"


class RecheckOutcome(enum.StrEnum):
    REMOVED = "removed"  # every listing gone, or none of its rows still match
    STILL_THERE = "still_there"  # a reminder was drafted


class Notice(Base):
    """A letter to a business. Approval needs a second person (four eyes); what is approved
    is the frozen ``facts`` (JSON, no personal data) with their digest."""

    __tablename__ = "notice"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_file.id"), index=True)
    kind: Mapped[NoticeKind] = mapped_column(str_enum(NoticeKind, "notice_kind"))
    status: Mapped[NoticeStatus] = mapped_column(
        str_enum(NoticeStatus, "notice_status"), default=NoticeStatus.DRAFT
    )
    template: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text, default="")
    reference: Mapped[str | None] = mapped_column(
        String(20), unique=True, comment="文書番号, digits and hyphens"
    )
    verify_hash: Mapped[str | None] = mapped_column(
        String(64), comment="sha256 of the printed verification code"
    )
    letter_facts: Mapped[str | None] = mapped_column(Text, comment="the letter's facts, JSON")
    facts_sha256: Mapped[str | None] = mapped_column(String(64))
    drafted_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    channel: Mapped[SendChannel | None] = mapped_column(str_enum(SendChannel, "send_channel"))
    recipient_email: Mapped[str | None] = mapped_column(String(300))
    posted_reference: Mapped[str | None] = mapped_column(
        String(60), comment="the post office's 内容証明 number"
    )
    sent_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    deadline: Mapped[date | None] = mapped_column(Date)
    reply_kind: Mapped[ReplyKind | None] = mapped_column(str_enum(ReplyKind, "reply_kind"))
    reply_received_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reply_summary: Mapped[str | None] = mapped_column(Text)
    rechecked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    recheck_outcome: Mapped[RecheckOutcome | None] = mapped_column(
        str_enum(RecheckOutcome, "recheck_outcome")
    )
    withdrawn_reason: Mapped[str | None] = mapped_column(Text)
    pdf_sha256: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class NoticeClause(Base):
    """The legal team's wording of one clause of the library (the default stands until
    edited)."""

    __tablename__ = "notice_clause"

    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class NoticeTemplate(Base):
    """The legal team's edit of one letter template (rendered in a sandbox)."""

    __tablename__ = "notice_template"

    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    source: Mapped[str] = mapped_column(Text)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class CustomerNotice(Base):
    """Something a customer who opted in is to be told about (once): a letter sent about
    a listing holding the household's data, or that listing gone."""

    __tablename__ = "customer_notice"
    __table_args__ = (UniqueConstraint("household_id", "case_id", "event"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(
        ForeignKey("household.id", ondelete="CASCADE"), index=True
    )
    case_id: Mapped[int] = mapped_column(ForeignKey("case_file.id"))
    event: Mapped[str] = mapped_column(String(30))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
