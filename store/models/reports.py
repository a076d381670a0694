"""Customer reports of suspicious contact, and erasure requests."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from store.models.base import Base, UTCDateTime, str_enum, utcnow


class ReportChannel(enum.StrEnum):
    WEB = "web"
    HOTLINE = "hotline"


class ContactKind(enum.StrEnum):
    MAIL = "mail"  # direct mail
    CALL = "call"
    EMAIL = "email"
    VISIT = "visit"
    OTHER = "other"


class ReportStatus(enum.StrEnum):
    RECEIVED = "received"
    UNDER_REVIEW = "under_review"
    LINKED = "linked"  # tied to a case
    CLOSED = "closed"


class CustomerReport(Base):
    """A report of contact that used a customer's data. `facts` (sealed) holds what was used."""

    __tablename__ = "customer_report"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    household_id: Mapped[int | None] = mapped_column(ForeignKey("household.id"), index=True)
    channel: Mapped[ReportChannel] = mapped_column(str_enum(ReportChannel, "report_channel"))
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    contact_kind: Mapped[ContactKind] = mapped_column(str_enum(ContactKind, "contact_kind"))
    contact_date: Mapped[date | None] = mapped_column(Date)
    business_id: Mapped[int | None] = mapped_column(ForeignKey("business.id"), index=True)
    facts: Mapped[bytes] = mapped_column(LargeBinary)
    # What else the reporter told us, sealed: the business as they know it (name, phone,
    # address, URL), what happened in their words, and how to reach them without a code.
    details_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    status: Mapped[ReportStatus] = mapped_column(
        str_enum(ReportStatus, "report_status"), default=ReportStatus.RECEIVED
    )
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case_file.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ReportAttachment(Base):
    """A photo or PDF of what the customer received: sealed like every personal value, in the
    database (never under the web root), served only to staff and only as a download."""

    __tablename__ = "report_attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(
        ForeignKey("customer_report.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str] = mapped_column(String(200), comment="cleaned; shown to staff")
    content_type: Mapped[str] = mapped_column(String(100), comment="sniffed from the bytes")
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    content_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ErasureStatus(enum.StrEnum):
    REQUESTED = "requested"
    APPROVED = "approved"
    DONE = "done"
    REFUSED = "refused"


class ErasureRequest(Base):
    """A household's request to erase its data (carried out after a second admin approves)."""

    __tablename__ = "erasure_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"), index=True)
    status: Mapped[ErasureStatus] = mapped_column(
        str_enum(ErasureStatus, "erasure_status"), default=ErasureStatus.REQUESTED
    )
    requested_by: Mapped[str] = mapped_column(String(100), comment="the audit actor")
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
