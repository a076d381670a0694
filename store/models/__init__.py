"""SQLAlchemy 2 typed models for the whole LeakWatch domain (re-exported here)."""

from store.models.audit import AuditEvent, AuditHead
from store.models.base import Base, UTCDateTime, utcnow
from store.models.cases import (
    Business,
    BusinessAlias,
    CandidateMatch,
    Case,
    CaseMatch,
    CaseStatus,
    Decision,
    MatchModel,
    ReviewState,
)
from store.models.crawling import (
    Crawl,
    CrawlStatus,
    EvidenceCapture,
    Listing,
    ListingRow,
    ListingStatus,
    Source,
)
from store.models.operations import RunKind, RunStatus, StoreKey, WorkRun
from store.models.people import Household, Role, User, WatchlistPerson
from store.models.reports import (
    ContactKind,
    CustomerReport,
    ErasureRequest,
    ErasureStatus,
    Notice,
    NoticeKind,
    NoticeStatus,
    ReportAttachment,
    ReportChannel,
    ReportStatus,
)
from store.models.web import ApiToken, SignInLimit, WebSession

__all__ = [
    "ApiToken",
    "AuditEvent",
    "AuditHead",
    "Base",
    "Business",
    "BusinessAlias",
    "CandidateMatch",
    "Case",
    "CaseMatch",
    "CaseStatus",
    "ContactKind",
    "Crawl",
    "CrawlStatus",
    "CustomerReport",
    "Decision",
    "ErasureRequest",
    "ErasureStatus",
    "EvidenceCapture",
    "Household",
    "Listing",
    "ListingRow",
    "ListingStatus",
    "MatchModel",
    "Notice",
    "NoticeKind",
    "NoticeStatus",
    "ReportAttachment",
    "ReportChannel",
    "ReportStatus",
    "ReviewState",
    "Role",
    "RunKind",
    "RunStatus",
    "SignInLimit",
    "Source",
    "StoreKey",
    "UTCDateTime",
    "User",
    "WatchlistPerson",
    "WebSession",
    "WorkRun",
    "utcnow",
]
