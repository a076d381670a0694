"""What a signed-in customer sees and asks for about their own household.

Findings are only what an investigator confirmed (never unreviewed candidates, never another
household's data, never the raw listing, never whether a record is a seed): per listing,
which kinds of data appeared, for how many of the family, since when, the business where a
case exists, and what was done. A customer also sees their reports' status, opts in to an
e-mail when something new is found or done, and asks for their data to be erased.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from casework.permissions import Action, Principal, require, restrict
from matcher import contract
from store import audit
from store.models import (
    Business,
    CandidateMatch,
    Case,
    CustomerReport,
    ErasureRequest,
    ErasureStatus,
    Household,
    Listing,
    ListingRow,
    ListingStatus,
    Notice,
    NoticeStatus,
    ReportStatus,
    ReviewState,
    WatchlistPerson,
)
from store.runtime import Store
from store.sealed import LISTING_ROW_PII, NOTIFY_EMAIL

# The kinds of data a published record can show, as the customer's page names them.
KINDS = {"name": "氏名", "name_kana": "ふりがな", "gender": "性別", "birthdate": "生年月日",
         "age": "年齢", "grade": "学年", "guardian_name": "保護者名", "postal_code": "郵便番号",
         "address": "住所", "phone": "電話番号", "email": "メールアドレス"}  # fmt: skip
assert set(KINDS) == set(contract.RECORD_FIELDS)


@dataclass(frozen=True, slots=True)
class Finding:
    kinds: tuple[str, ...]  # what appeared, in the page's words
    persons: int  # how many of the household
    since: datetime
    business: str | None  # where a case exists
    notice_sent: bool
    removed: bool


def household_findings(store: Store, principal: Principal) -> list[Finding]:
    """Confirmed findings about the principal's own household, one per listing."""
    require(principal, Action.VIEW_OWN_HOUSEHOLD)
    query = (
        select(Listing, ListingRow.pii, ListingRow.first_seen, WatchlistPerson.id)
        .join(ListingRow, ListingRow.listing_id == Listing.id)
        .join(CandidateMatch, CandidateMatch.listing_row_id == ListingRow.id)
        .join(WatchlistPerson, WatchlistPerson.id == CandidateMatch.person_id)
        .where(WatchlistPerson.household_id == principal.household_id,
               CandidateMatch.review_state == ReviewState.CONFIRMED)
    )  # fmt: skip
    by_listing: dict[int, tuple[Listing, set[str], set[int], datetime]] = {}
    with store.sessions() as s:
        for listing, blob, seen, person in s.execute(query):
            published = store.vault.open_json(blob, LISTING_ROW_PII)
            kinds = {k for k, v in published.items() if k in KINDS and str(v).strip()}
            entry = by_listing.setdefault(listing.id, (listing, set(), set(), seen))
            entry[1].update(kinds)
            entry[2].add(person)
            by_listing[listing.id] = (listing, entry[1], entry[2], min(entry[3], seen))
        return [_finding(s, *entry) for entry in by_listing.values()]


def _finding(s: Session, listing: Listing, kinds: set[str], persons: set[int], since: datetime
             ) -> Finding:  # fmt: skip
    business = s.get(Business, listing.business_id) if listing.business_id else None
    case_ids = list(s.scalars(select(Case.id).where(Case.business_id == business.id))) \
        if business else []  # fmt: skip
    noticed = bool(case_ids) and s.scalar(
        select(Notice.id).where(Notice.case_id.in_(case_ids),
                                Notice.status.in_([NoticeStatus.SENT, NoticeStatus.REPLIED]))
    ) is not None  # fmt: skip
    return Finding(
        kinds=tuple(KINDS[k] for k in KINDS if k in kinds), persons=len(persons), since=since,
        business=business.name if business and case_ids else None, notice_sent=noticed,
        removed=listing.status == ListingStatus.REMOVED,
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class ReportLine:
    id: int
    reference: str
    created_at: datetime
    status: ReportStatus
    linked_to_case: bool


def my_reports(store: Store, principal: Principal) -> list[ReportLine]:
    require(principal, Action.VIEW_OWN_REPORTS)
    query = restrict(select(CustomerReport), principal, CustomerReport)
    with store.sessions() as s:
        return [ReportLine(r.id, r.reference, r.created_at, r.status, r.case_id is not None)
                for r in s.scalars(query.order_by(CustomerReport.id.desc()))]  # fmt: skip


def set_notifications(store: Store, principal: Principal, email: str | None) -> None:
    """Opt in (with an address) or out (None) of an e-mail when something new is found or
    done (audited without the address)."""
    require(principal, Action.SET_OWN_NOTIFICATIONS)
    with store.sessions.begin() as s:
        household = s.get(Household, principal.household_id)
        assert household is not None
        household.notify_opt_in = bool(email)
        household.notify_email_sealed = store.vault.seal(email.encode(), NOTIFY_EMAIL) \
            if email else None  # fmt: skip
        audit.record(s, principal.audit_name, "customer.notifications", object_type="household",
                     object_id=household.id, details={"opt_in": bool(email)})  # fmt: skip


def notification_address(store: Store, principal: Principal) -> str | None:
    require(principal, Action.SET_OWN_NOTIFICATIONS)
    with store.sessions() as s:
        household = s.get(Household, principal.household_id)
        blob = household.notify_email_sealed if household else None
    return store.vault.open(blob, NOTIFY_EMAIL).decode() if blob else None


def request_erasure(store: Store, principal: Principal) -> int:
    """Ask for the household's data to be erased (once: an open request is returned)."""
    require(principal, Action.REQUEST_OWN_ERASURE)
    with store.sessions.begin() as s:
        open_id = s.scalar(
            select(ErasureRequest.id).where(
                ErasureRequest.household_id == principal.household_id,
                ErasureRequest.status.in_([ErasureStatus.REQUESTED, ErasureStatus.APPROVED]),
            )
        )
        if open_id is not None:
            return open_id
        request = ErasureRequest(household_id=principal.household_id,
                                 requested_by=principal.audit_name)  # fmt: skip
        s.add(request)
        s.flush()
        audit.record(s, principal.audit_name, "erasure.requested", object_type="household",
                     object_id=principal.household_id)  # fmt: skip
        return request.id


def erasure_status(store: Store, principal: Principal) -> ErasureStatus | None:
    require(principal, Action.VIEW_OWN_HOUSEHOLD)
    with store.sessions() as s:
        return s.scalar(select(ErasureRequest.status)
                        .where(ErasureRequest.household_id == principal.household_id)
                        .order_by(ErasureRequest.id.desc()).limit(1))  # fmt: skip
