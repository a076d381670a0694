"""What we watch and what we saw: sources, crawls, evidence captures, listings and their rows."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from store.models.base import Base, UTCDateTime, str_enum, utcnow


class Source(Base):
    """A site or file location to watch; options hold crawl settings (never secrets)."""

    __tablename__ = "source"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    start_urls: Mapped[list[str]] = mapped_column(JSON)
    schedule: Mapped[str | None] = mapped_column(String(100), comment="cron expression")
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    is_local: Mapped[bool] = mapped_column(Boolean, default=False)
    robots_override_reason: Mapped[str | None] = mapped_column(Text)
    business_id: Mapped[int | None] = mapped_column(ForeignKey("business.id"))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class CrawlStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class Crawl(Base):
    __tablename__ = "crawl"

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("source.id"), index=True)
    status: Mapped[CrawlStatus] = mapped_column(
        str_enum(CrawlStatus, "crawl_status"), default=CrawlStatus.QUEUED
    )
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    pages: Mapped[int] = mapped_column(Integer, default=0)
    bytes_fetched: Mapped[int] = mapped_column(BigInteger, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    stats: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    source: Mapped[Source] = relationship()


class EvidenceCapture(Base):
    """One fetched response, byte for byte in a WARC file, with its SHA-256."""

    __tablename__ = "evidence_capture"

    id: Mapped[int] = mapped_column(primary_key=True)
    crawl_id: Mapped[int | None] = mapped_column(ForeignKey("crawl.id"), index=True)
    url: Mapped[str] = mapped_column(Text)
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime())
    http_status: Mapped[int | None] = mapped_column(Integer)
    content_type: Mapped[str | None] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    warc_path: Mapped[str] = mapped_column(Text)
    warc_offset: Mapped[int] = mapped_column(BigInteger)
    warc_length: Mapped[int] = mapped_column(BigInteger)
    truncated: Mapped[bool] = mapped_column(Boolean, default=False)
    truncation_reason: Mapped[str | None] = mapped_column(Text)


class ListingStatus(enum.StrEnum):
    ACTIVE = "active"
    SHRUNK = "shrunk"  # still there with fewer of our rows
    REMOVED = "removed"


class ListingDecision(enum.StrEnum):
    FROM_THE_LEAK = "from_the_leak"
    UNRELATED = "unrelated"


class Listing(Base):
    """A published list (a page series, a sample file), recognised across crawls by `key`."""

    __tablename__ = "listing"
    __table_args__ = (UniqueConstraint("source_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int | None] = mapped_column(ForeignKey("source.id"), index=True)
    business_id: Mapped[int | None] = mapped_column(ForeignKey("business.id"), index=True)
    key: Mapped[str] = mapped_column(String(200))
    url: Mapped[str | None] = mapped_column(Text)
    title: Mapped[str | None] = mapped_column(Text)
    as_of: Mapped[datetime | None] = mapped_column(UTCDateTime(), comment="inferred list date")
    status: Mapped[ListingStatus] = mapped_column(
        str_enum(ListingStatus, "listing_status"), default=ListingStatus.ACTIVE
    )
    row_count: Mapped[int] = mapped_column(Integer, default=0)
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # An investigator's decision about the list as a whole (the rows' labels follow it).
    decision: Mapped[ListingDecision | None] = mapped_column(
        str_enum(ListingDecision, "listing_decision")
    )
    decision_reason: Mapped[str | None] = mapped_column(Text)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ListingRow(Base):
    """One published record, as published (sealed: it is still our customers' data)."""

    __tablename__ = "listing_row"
    __table_args__ = (
        UniqueConstraint("listing_id", "row_ref"),
        Index("ix_listing_row_phone_bidx", "phone_bidx"),
        Index("ix_listing_row_postal_bidx", "postal_bidx"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listing.id", ondelete="CASCADE"))
    row_ref: Mapped[str] = mapped_column(String(200), comment="row_id or a content fingerprint")
    evidence_id: Mapped[int | None] = mapped_column(ForeignKey("evidence_capture.id"), index=True)
    pii: Mapped[bytes] = mapped_column(LargeBinary)
    phone_bidx: Mapped[bytes | None] = mapped_column(LargeBinary(16))
    postal_bidx: Mapped[bytes | None] = mapped_column(LargeBinary(16))
    email_bidx: Mapped[bytes | None] = mapped_column(LargeBinary(16))
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    gone_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    matched_against: Mapped[str | None] = mapped_column(
        String(16), comment="watchlist version this row was last matched against"
    )

    listing: Mapped[Listing] = relationship()
