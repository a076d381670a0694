"""Businesses and their cases: the register, merging duplicates, and a case's life.

A case gathers everything held against one business: its listings (with their evidence
grades), the matches reviewers confirmed there, customers' reports and the notices sent. Its
status moves open → noticed → complied / disputed / escalated → closed. A case closes only
when a complete re-crawl found every listing of the business gone, or when a second
investigator approves a closing another asked for, each with a reason; a closed case is
read-only. Every step is an audit event, and the case's timeline is read from them: the
chain of custody.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from casework.permissions import Action, Principal, require
from casework.staff import NotFound
from store import audit
from store.corporate_number import InvalidCorporateNumber, normalise_corporate_number
from store.models import (
    AuditEvent,
    Business,
    BusinessAlias,
    CandidateMatch,
    Case,
    CaseStatus,
    ClosingBasis,
    CustomerReport,
    Listing,
    ListingRow,
    ListingStatus,
    Notice,
    ReviewState,
    Source,
    utcnow,
)
from store.runtime import Store

# Which status may follow which (closing has rules of its own: ``request_close``).
NEXT: dict[CaseStatus, frozenset[CaseStatus]] = {
    CaseStatus.OPEN: frozenset({CaseStatus.NOTICED, CaseStatus.ESCALATED}),
    CaseStatus.NOTICED: frozenset({CaseStatus.COMPLIED, CaseStatus.DISPUTED, CaseStatus.ESCALATED}),
    CaseStatus.COMPLIED: frozenset({CaseStatus.DISPUTED, CaseStatus.ESCALATED}),
    CaseStatus.DISPUTED: frozenset({CaseStatus.ESCALATED, CaseStatus.COMPLIED}),
    CaseStatus.ESCALATED: frozenset({CaseStatus.COMPLIED}),
    CaseStatus.CLOSED: frozenset(),
}


class CaseError(ValueError):
    """A step the case's rules do not allow (the message says which)."""


@dataclass(frozen=True, slots=True)
class BusinessInput:
    name: str
    corporate_number: str = ""
    address: str = ""
    representative: str = ""
    contact: str = ""
    url: str = ""
    aliases: tuple[str, ...] = ()


def register_business(store: Store, principal: Principal, data: BusinessInput) -> int:
    """A new business (its corporate number's check digit verified); audited."""
    require(principal, Action.MANAGE_CASES)
    if not data.name.strip():
        raise CaseError("a business needs a name")
    number = _number(data.corporate_number)
    with store.sessions.begin() as s:
        if number and s.scalar(select(Business.id).where(Business.corporate_number == number)):
            raise CaseError(f"a business with corporate number {number} is registered")
        business = Business(name=data.name.strip()[:300], corporate_number=number,
                            address=data.address or None, url=data.url or None,
                            representative=data.representative or None,
                            contact=data.contact or None)  # fmt: skip
        business.aliases = [BusinessAlias(alias=a.strip()[:300]) for a in data.aliases
                            if a.strip()]  # fmt: skip
        s.add(business)
        s.flush()
        audit.record(
            s,
            principal.audit_name,
            "business.registered",
            object_type="business",
            object_id=business.id,
            details={"aliases": len(business.aliases)},
        )
        return business.id


def _number(text: str) -> str | None:
    if not text.strip():
        return None
    try:
        return normalise_corporate_number(text)
    except InvalidCorporateNumber as exc:
        raise CaseError(str(exc)) from None


def merge_businesses(store: Store, principal: Principal, keep: int, drop: int) -> None:
    """``drop`` was the same business as ``keep``: its name becomes an alias, and its
    listings, sources, reports and cases move to ``keep`` (audited)."""
    require(principal, Action.MANAGE_CASES)
    if keep == drop:
        raise CaseError("a business cannot be merged into itself")
    with store.sessions.begin() as s:
        kept, gone = s.get(Business, keep), s.get(Business, drop)
        if kept is None or gone is None or gone.merged_into_id is not None:
            raise NotFound("no such business (or it was merged already)")
        for model in (Listing, Source, CustomerReport, Case):
            s.execute(update(model).where(model.business_id == drop).values(business_id=keep))
        for alias in [gone.name, *(a.alias for a in gone.aliases)]:
            if not any(a.alias == alias for a in kept.aliases) and alias != kept.name:
                kept.aliases.append(BusinessAlias(alias=alias))
        gone.merged_into_id = keep
        audit.record(
            s,
            principal.audit_name,
            "business.merged",
            object_type="business",
            object_id=keep,
            details={"merged": drop},
        )


def open_case(s: Session, business_id: int, title: str) -> int:
    """The business's open case, made if it has none (the caller audits)."""
    case_id = s.scalar(select(Case.id).where(Case.business_id == business_id,
                                             Case.status != CaseStatus.CLOSED)
                       .order_by(Case.id))  # fmt: skip
    if case_id is not None:
        return case_id
    case = Case(business_id=business_id, title=title[:300], created_at=utcnow())
    s.add(case)
    s.flush()
    return case.id


def set_status(store: Store, principal: Principal, case_id: int, status: CaseStatus,
               reason: str) -> None:  # fmt: skip
    require(principal, Action.MANAGE_CASES)
    if status == CaseStatus.CLOSED:
        raise CaseError("a case is closed by request_close (a re-crawl or a second approver)")
    with store.sessions.begin() as s:
        case = _live_case(s, case_id)
        if status not in NEXT[case.status]:
            raise CaseError(f"a {case.status.value} case cannot become {status.value}")
        before, case.status = case.status, status
        audit.record(
            s,
            principal.audit_name,
            "case.status",
            object_type="case",
            object_id=case_id,
            reason=reason or None,
            details={"from": before.value, "to": status.value},
        )


def follow_notice(s: Session, case_id: int, status: CaseStatus, actor: str, reason: str) -> None:
    """A letter's step moves its case (sent → noticed, a reply → complied or disputed, an
    escalation → escalated): inside the letter's transaction, audited as ``actor``. A step
    the case's rules do not allow leaves it as it is (a complied case stays complied when a
    reminder goes out)."""
    case = _live_case(s, case_id)
    if status == case.status or status not in NEXT[case.status]:
        return
    before, case.status = case.status, status
    audit.record(
        s,
        actor,
        "case.status",
        object_type="case",
        object_id=case_id,
        reason=reason,
        details={"from": before.value, "to": status.value},
    )


def close_as_removed(s: Session, case_id: int, actor: str, reason: str) -> None:
    """Close the case because a re-check found its listings gone (the scheduler's step)."""
    _close(s, _live_case(s, case_id), (actor, None), ClosingBasis.REMOVED, reason)


def _live_case(s: Session, case_id: int) -> Case:
    case = s.get(Case, case_id)
    if case is None:
        raise NotFound(f"no case {case_id}")
    if case.status == CaseStatus.CLOSED:
        raise CaseError("the case is closed: it is read-only")
    return case


def request_close(store: Store, principal: Principal, case_id: int, reason: str) -> bool:
    """Close the case if a complete re-crawl found every listing gone; otherwise record the
    request for a second investigator. True if the case is closed now."""
    require(principal, Action.MANAGE_CASES)
    if not reason.strip():
        raise CaseError("closing a case needs a reason")
    with store.sessions.begin() as s:
        case = _live_case(s, case_id)
        statuses = set(
            s.scalars(select(Listing.status).where(Listing.business_id == case.business_id))
        )
        if statuses and statuses == {ListingStatus.REMOVED}:
            _close(s, case, principal, ClosingBasis.REMOVED, reason)
            return True
        case.close_requested_by_id, case.close_request_reason = principal.user_id, reason
        audit.record(
            s,
            principal.audit_name,
            "case.close_requested",
            object_type="case",
            object_id=case_id,
            reason=reason,
        )
        return False


def approve_close(store: Store, principal: Principal, case_id: int, reason: str) -> None:
    """The second investigator's approval of a requested closing (never the requester's)."""
    require(principal, Action.MANAGE_CASES)
    if not reason.strip():
        raise CaseError("approving a closing needs a reason")
    with store.sessions.begin() as s:
        case = _live_case(s, case_id)
        if case.close_requested_by_id is None:
            raise CaseError("nobody asked to close this case")
        if case.close_requested_by_id == principal.user_id:
            raise CaseError("a closing is approved by another investigator than the one who "
                            "asked for it")  # fmt: skip
        _close(s, case, principal, ClosingBasis.APPROVED, reason)


def _close(s: Session, case: Case, by: Principal | tuple[str, int | None], basis: ClosingBasis,
           reason: str) -> None:  # fmt: skip
    """Close the case, audited as ``by`` (a principal, or an actor name and user id)."""
    actor, user_id = (by.audit_name, by.user_id) if isinstance(by, Principal) else by
    case.status, case.closed_at, case.closed_by_id = CaseStatus.CLOSED, utcnow(), user_id
    case.closing_basis, case.closing_reason = basis, reason
    audit.record(s, actor, "case.closed", object_type="case", object_id=case.id, reason=reason,
                 details={"basis": basis.value})  # fmt: skip


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    at: datetime
    actor: str
    action: str
    reason: str | None


def timeline(s: Session, case: Case) -> list[TimelineEntry]:
    """Everything done about the case, its business, listings, reports and notices: who,
    what, when (from the audit chain)."""
    listings = [
        str(i) for i in s.scalars(select(Listing.id).where(Listing.business_id == case.business_id))
    ]
    reports = [
        str(i)
        for i in s.scalars(select(CustomerReport.id).where(CustomerReport.case_id == case.id))
    ]
    notices = [str(i) for i in s.scalars(select(Notice.id).where(Notice.case_id == case.id))]
    wanted = (
        ((AuditEvent.object_type == "case") & (AuditEvent.object_id == str(case.id)))
        | ((AuditEvent.object_type == "business") & (AuditEvent.object_id == str(case.business_id)))
        | ((AuditEvent.object_type == "listing") & AuditEvent.object_id.in_(listings))
        | ((AuditEvent.object_type == "customer_report") & AuditEvent.object_id.in_(reports))
        | ((AuditEvent.object_type == "notice") & AuditEvent.object_id.in_(notices))
    )
    events = s.execute(
        select(AuditEvent.at, AuditEvent.actor, AuditEvent.action, AuditEvent.reason)
        .where(wanted)
        .order_by(AuditEvent.seq)
    )
    return [TimelineEntry(*e) for e in events]


def confirmed_in_case(s: Session, case: Case) -> int:
    """Matches reviewers confirmed in the business's listings."""
    return s.scalar(
        select(func.count()).select_from(CandidateMatch)
        .join(ListingRow, ListingRow.id == CandidateMatch.listing_row_id)
        .join(Listing, Listing.id == ListingRow.listing_id)
        .where(Listing.business_id == case.business_id,
               CandidateMatch.review_state == ReviewState.CONFIRMED)
    ) or 0  # fmt: skip


@dataclass(frozen=True, slots=True)
class CaseLine:
    id: int
    title: str
    business: str
    status: CaseStatus
    created_at: datetime


def list_cases(store: Store, principal: Principal) -> list[CaseLine]:
    require(principal, Action.VIEW_CASES)
    query = select(Case, Business.name).join(Business).order_by(Case.id.desc())
    with store.sessions() as s:
        return [CaseLine(c.id, c.title, name, c.status, c.created_at)
                for c, name in s.execute(query)]  # fmt: skip


@dataclass(frozen=True)
class CaseView:
    case: CaseLine
    business: Business
    aliases: list[str]
    listings: list[Listing]
    confirmed: int
    reports: list[str]  # tracking numbers
    notices: int
    closing_requested: bool
    closing: str | None  # how and why it was closed
    timeline: list[TimelineEntry]


def view_case(store: Store, principal: Principal, case_id: int) -> CaseView:
    require(principal, Action.VIEW_CASES)
    with store.sessions() as s:
        case = s.get(Case, case_id)
        if case is None:
            raise NotFound(f"no case {case_id}")
        business = s.get(Business, case.business_id)
        assert business is not None
        listings = list(s.scalars(select(Listing).where(Listing.business_id == business.id)
                                  .order_by(Listing.id)))  # fmt: skip
        reports = list(
            s.scalars(select(CustomerReport.reference).where(CustomerReport.case_id == case.id))
        )
        notices = s.scalar(select(func.count()).where(Notice.case_id == case.id)) or 0
        closing = (f"{case.closing_basis.value}: {case.closing_reason}"
                   if case.closing_basis else None)  # fmt: skip
        return CaseView(
            CaseLine(case.id, case.title, business.name, case.status, case.created_at),
            business, [a.alias for a in business.aliases], listings,
            confirmed_in_case(s, case), reports, notices,
            case.close_requested_by_id is not None, closing, timeline(s, case),
        )  # fmt: skip
