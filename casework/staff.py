"""Staff views of customer reports: the list, one report with its personal values masked,
its attachments as downloads (audited), and the hotline's look-up of a caller's household.
Every query goes through ``restrict``: an operator sees the reports they entered."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select

from casework.permissions import Action, Principal, require, restrict
from store import audit
from store.codes import canonical_code
from store.masking import mask_value
from store.models import (
    Business,
    ContactKind,
    CustomerReport,
    Household,
    ReportAttachment,
    ReportChannel,
    ReportStatus,
)
from store.runtime import Store
from store.sealed import ATTACHMENT, REPORT_DETAILS, REPORT_FACTS


class NotFound(LookupError):
    """No such object within the principal's scope (shown as 404)."""


@dataclass(frozen=True, slots=True)
class ReportSummary:
    id: int
    reference: str
    channel: ReportChannel
    status: ReportStatus
    contact_kind: ContactKind
    contact_date: date | None
    created_at: datetime
    business: str | None


@dataclass(frozen=True, slots=True)
class AttachmentInfo:
    id: int
    filename: str
    content_type: str
    size: int


@dataclass(frozen=True, slots=True)
class ReportView:
    summary: ReportSummary
    masked: dict[str, str]  # every personal value masked (revealing is the workspace's)
    attachments: list[AttachmentInfo]


def list_reports(store: Store, principal: Principal, limit: int = 200) -> list[ReportSummary]:
    require(principal, Action.VIEW_REPORTS)
    query = restrict(select(CustomerReport, Business.name).outerjoin(Business), principal,
                     CustomerReport).order_by(CustomerReport.id.desc()).limit(limit)  # fmt: skip
    with store.sessions() as s:
        return [_summary(r, name) for r, name in s.execute(query)]


def _summary(r: CustomerReport, business: str | None) -> ReportSummary:
    return ReportSummary(r.id, r.reference, r.channel, r.status, r.contact_kind,
                         r.contact_date, r.created_at, business)  # fmt: skip


def view_report(store: Store, principal: Principal, report_id: int) -> ReportView:
    require(principal, Action.VIEW_REPORTS)
    query = restrict(select(CustomerReport, Business.name).outerjoin(Business), principal,
                     CustomerReport).where(CustomerReport.id == report_id)  # fmt: skip
    with store.sessions() as s:
        found = s.execute(query).first()
        if found is None:
            raise NotFound(f"no report {report_id}")
        report, business = found
        values = store.vault.open_json(report.facts, REPORT_FACTS)
        if report.details_sealed:
            values |= store.vault.open_json(report.details_sealed, REPORT_DETAILS)
        files = [
            AttachmentInfo(a.id, a.filename, a.content_type, a.size)
            for a in s.scalars(
                select(ReportAttachment).where(ReportAttachment.report_id == report.id)
            )
        ]
        return ReportView(
            _summary(report, business),
            {k: mask_value(str(v)) for k, v in sorted(values.items())},
            files,
        )


@dataclass(frozen=True, slots=True)
class Download:
    filename: str
    content_type: str
    content: bytes


def download_attachment(store: Store, principal: Principal, attachment_id: int) -> Download:
    """An attachment's bytes, for a download (audited as an export)."""
    require(principal, Action.DOWNLOAD_ATTACHMENT)
    query = restrict(select(ReportAttachment), principal, ReportAttachment).where(
        ReportAttachment.id == attachment_id
    )
    with store.sessions.begin() as s:
        item = s.scalars(query).first()
        if item is None:
            raise NotFound(f"no attachment {attachment_id}")
        audit.record(s, principal.audit_name, "attachment.downloaded",
                     object_type="report_attachment", object_id=item.id,
                     details={"report": item.report_id, "sha256": item.sha256})  # fmt: skip
        content = store.vault.open(item.content_sealed, ATTACHMENT)
        return Download(item.filename, item.content_type, content)


@dataclass(frozen=True, slots=True)
class HouseholdRef:
    id: int
    reference: str


def find_household(store: Store, principal: Principal, code: str) -> HouseholdRef:
    """The household of a caller's registration code (audited: who looked up which)."""
    require(principal, Action.FIND_HOUSEHOLD_BY_CODE)
    with store.sessions.begin() as s:
        household = s.scalars(
            select(Household).where(Household.registration_code == canonical_code(code)[:20])
        ).first()
        if household is None:
            raise NotFound("no household has this registration code")
        audit.record(s, principal.audit_name, "household.looked_up", object_type="household",
                     object_id=household.id)  # fmt: skip
        return HouseholdRef(household.id, household.household_ref)
