"""Erasing a household's personal data, on its request or an admin's, after a second admin's
approval.

What goes: every sealed value of its persons (and their blind indexes), its login key and
registration code (no letter works any more), its notification address, its reports' facts,
details and attachments, and the published rows reviewers or the matcher tied to its
persons. What stays: ids, scores and the matcher's levels (no personal value), so counts and
the chain of custody still add up; the household's reference, so the same file imported
again does not bring the persons back. The saved match indexes are deleted (the next one is
built without them). The audit event counts what was erased and names no value.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from casework.permissions import Action, Principal, require
from casework.staff import NotFound
from store import audit
from store.models import (
    CandidateMatch,
    CustomerReport,
    Decision,
    ErasureRequest,
    ErasureStatus,
    Household,
    ListingRow,
    ReportAttachment,
    ReviewState,
    WatchlistPerson,
    utcnow,
)
from store.runtime import Store
from store.sealed import LISTING_ROW_PII, PERSON_PII, REPORT_DETAILS, REPORT_FACTS


class ErasureRefused(PermissionError):
    """The same admin may not ask for and approve an erasure."""


@dataclass(frozen=True, slots=True)
class Erased:
    persons: int
    rows: int  # published rows emptied
    reports: int


def request_for_household(store: Store, principal: Principal, household_ref: str) -> int:
    """An admin's request to erase a household (a customer asks from their own page)."""
    require(principal, Action.MANAGE_ERASURE)
    with store.sessions.begin() as s:
        household = s.scalar(select(Household.id).where(Household.household_ref == household_ref))
        if household is None:
            raise NotFound("no such household")
        request = ErasureRequest(household_id=household, requested_by=principal.audit_name)
        s.add(request)
        s.flush()
        audit.record(s, principal.audit_name, "erasure.requested", object_type="household",
                     object_id=household)  # fmt: skip
        return request.id


@dataclass(frozen=True, slots=True)
class PendingErasure:
    id: int
    household_ref: str
    requested_by: str


def pending(store: Store, principal: Principal) -> list[PendingErasure]:
    require(principal, Action.MANAGE_ERASURE)
    query = (select(ErasureRequest.id, Household.household_ref, ErasureRequest.requested_by)
             .join(Household).where(ErasureRequest.status == ErasureStatus.REQUESTED)
             .order_by(ErasureRequest.id))  # fmt: skip
    with store.sessions() as s:
        return [PendingErasure(*row) for row in s.execute(query)]


def approve(store: Store, principal: Principal, request_id: int) -> Erased:
    """Carry out a requested erasure: an admin, never the one who asked."""
    require(principal, Action.MANAGE_ERASURE)
    with store.sessions.begin() as s:
        request = s.get(ErasureRequest, request_id)
        if request is None or request.status != ErasureStatus.REQUESTED:
            raise NotFound("no such pending request")
        if request.requested_by == principal.audit_name:
            raise ErasureRefused("a second admin approves an erasure an admin asked for")
        erased = _erase(s, store, request.household_id)
        request.status, request.decided_at = ErasureStatus.DONE, utcnow()
        request.decided_by_id = principal.user_id
        audit.record(s, principal.audit_name, "household.erased", object_type="household",
                     object_id=request.household_id,
                     details={"persons": erased.persons, "rows": erased.rows,
                              "reports": erased.reports})  # fmt: skip
    for saved in (store.settings.home / "index").glob("watchlist-*.idx"):
        saved.unlink(missing_ok=True)  # built again, without them, when next needed
    return erased


def _erase(s: Session, store: Store, household_id: int) -> Erased:
    vault, now = store.vault, utcnow()
    persons = list(
        s.scalars(select(WatchlistPerson.id).where(WatchlistPerson.household_id == household_id))
    )
    s.execute(
        update(WatchlistPerson)
        .where(WatchlistPerson.id.in_(persons))
        .values(
            pii=vault.seal_json({}, PERSON_PII),
            phone_bidx=None,
            fax_bidx=None,
            email_bidx=None,
            postal_bidx=None,
            row_digest=secrets.token_bytes(32),
            erased_at=now,
        )
    )
    household = s.get(Household, household_id)
    assert household is not None
    # A code nobody can type (outside the letters' alphabet): no letter signs in any more.
    household.registration_code = "X" + secrets.token_hex(7).upper()
    household.login_key_hash, household.login_key_sealed = secrets.token_bytes(32), None
    household.notify_opt_in, household.notify_email_sealed = False, None
    rows = _published_rows(s, persons)
    s.execute(
        update(ListingRow)
        .where(ListingRow.id.in_(rows))
        .values(
            pii=vault.seal_json({}, LISTING_ROW_PII),
            phone_bidx=None,
            postal_bidx=None,
            email_bidx=None,
        )
    )
    reports = list(
        s.scalars(select(CustomerReport.id).where(CustomerReport.household_id == household_id))
    )
    s.execute(
        update(CustomerReport)
        .where(CustomerReport.id.in_(reports))
        .values(
            facts=vault.seal_json({}, REPORT_FACTS),
            details_sealed=vault.seal_json({}, REPORT_DETAILS),
        )
    )
    s.execute(delete(ReportAttachment).where(ReportAttachment.report_id.in_(reports)))
    return Erased(len(persons), len(rows), len(reports))


def _published_rows(s: Session, persons: list[int]) -> list[int]:
    """Rows the matcher decided, or a reviewer confirmed, were these persons (not those
    rejected: they are someone else's)."""
    query = select(CandidateMatch.listing_row_id).where(
        CandidateMatch.person_id.in_(persons),
        CandidateMatch.listing_row_id.is_not(None),
        CandidateMatch.review_state != ReviewState.REJECTED,
        (CandidateMatch.decision == Decision.MATCH)
        | (CandidateMatch.review_state == ReviewState.CONFIRMED),
    )
    return sorted({r for r in s.scalars(query) if r is not None})
