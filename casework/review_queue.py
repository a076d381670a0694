"""The investigators' review queue: listings first, the strongest evidence first, each
candidate's listing row beside the watchlist record — every personal value masked.

A reviewer sees per field how the matcher compared it (level and weight in bits) and the two
values masked (山＊ ＊＊, 03-****-78). One value at a time may be revealed, with a reason;
each reveal is an audit event naming the field and the reason, never the value. Decisions
are labels (confirmed, rejected, unsure) that ``leakwatch model learn`` learns from; a whole
listing can be decided at once, with a reason.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from casework.grading import Grade, ListingGrade, grade_listing
from casework.permissions import Action, Principal, require
from casework.review import label_candidate
from casework.staff import NotFound
from store import audit
from store.masking import mask_value
from store.models import (
    CandidateMatch,
    Decision,
    Listing,
    ListingDecision,
    ListingRow,
    ReviewState,
    WatchlistPerson,
    utcnow,
)
from store.runtime import Store
from store.sealed import LISTING_ROW_PII, PERSON_PII

# The fields shown side by side: listing column -> watchlist column.
SIDE_BY_SIDE = {"name": "name", "name_kana": "name_kana", "birthdate": "birthdate",
                "gender": "gender", "address": "address", "postal_code": "postal_code",
                "phone": "phone", "email": "email", "guardian_name": ""}  # fmt: skip
# The matcher's fields (explanation) behind each field shown.
LEVEL_FIELDS = {
    "name": ("family_name", "given_name"),
    "name_kana": (),
    "birthdate": ("birth",),
    "gender": ("gender",),
    "address": ("place",),
    "postal_code": (),
    "phone": ("phone",),
    "email": ("email",),
    "guardian_name": ("guardian",),
}
GRADE_ORDER = [Grade.CONCLUSIVE, Grade.STRONG, Grade.WEAK, Grade.NONE]


class RevealRefused(ValueError):
    """No reason given, or a field that is not shown."""


@dataclass(frozen=True, slots=True)
class QueuedListing:
    listing_id: int
    title: str
    grade: ListingGrade
    pending: int
    best_score: float


def review_queue(store: Store, principal: Principal, leak_date: date) -> list[QueuedListing]:
    """Listings with candidates still to review, by evidence grade, then best score."""
    require(principal, Action.MANAGE_CASES)
    query = (
        select(Listing.id, Listing.title, Listing.key, CandidateMatch.score)
        .join(ListingRow, ListingRow.listing_id == Listing.id)
        .join(CandidateMatch, CandidateMatch.listing_row_id == ListingRow.id)
        .where(CandidateMatch.review_state == ReviewState.PENDING,
               CandidateMatch.decision != Decision.NONMATCH)
    )  # fmt: skip
    pending: Counter[int] = Counter()
    best: dict[int, float] = {}
    titles: dict[int, str] = {}
    with store.sessions() as s:
        for lid, title, key, score in s.execute(query):
            pending[lid] += 1
            best[lid] = max(best.get(lid, 0.0), score)
            titles[lid] = title or key
    queued = [QueuedListing(lid, titles[lid], grade_listing(store, lid, leak_date), n, best[lid])
              for lid, n in pending.items()]  # fmt: skip
    return sorted(queued, key=lambda q: (GRADE_ORDER.index(q.grade.grade), -q.best_score))


@dataclass(frozen=True, slots=True)
class FieldView:
    field: str
    listing: str  # masked
    watchlist: str  # masked
    level: str
    weight: float


@dataclass(frozen=True, slots=True)
class CandidateView:
    id: int
    row_id: int
    record_ref: str
    score: float
    decision: Decision
    state: ReviewState
    fields: list[FieldView]
    bits: list[tuple[str, str, float]]  # every field the matcher weighed: field, level, bits


def listing_candidates(store: Store, principal: Principal, listing_id: int
                       ) -> list[CandidateView]:  # fmt: skip
    require(principal, Action.MANAGE_CASES)
    query = (
        select(CandidateMatch, ListingRow.pii, WatchlistPerson.pii, WatchlistPerson.record_ref)
        .join(ListingRow, ListingRow.id == CandidateMatch.listing_row_id)
        .join(WatchlistPerson, WatchlistPerson.id == CandidateMatch.person_id)
        .where(ListingRow.listing_id == listing_id,
               CandidateMatch.decision != Decision.NONMATCH)
        .order_by(CandidateMatch.score.desc(), CandidateMatch.id)
    )  # fmt: skip
    with store.sessions() as s:
        if s.get(Listing, listing_id) is None:
            raise NotFound(f"no listing {listing_id}")
        return [_view(store, c, row_blob, person_blob, ref)
                for c, row_blob, person_blob, ref in s.execute(query)]  # fmt: skip


def _view(store: Store, c: CandidateMatch, row_blob: bytes, person_blob: bytes, ref: str
          ) -> CandidateView:  # fmt: skip
    row = store.vault.open_json(row_blob, LISTING_ROW_PII)
    person = store.vault.open_json(person_blob, PERSON_PII)
    levels = {f["field"]: f for f in c.explanation.get("fields", []) if isinstance(f, dict)}
    shown = []
    for name, other in SIDE_BY_SIDE.items():
        weighed = [levels[f] for f in LEVEL_FIELDS[name] if f in levels]
        shown.append(FieldView(
            name, mask_value(str(row.get(name, ""))),
            mask_value(str(person.get(other, ""))) if other else "",
            ", ".join(str(f["level"]) for f in weighed),
            sum(float(f["weight"]) for f in weighed),
        ))  # fmt: skip
    bits = [(str(f["field"]), str(f["level"]), float(f["weight"])) for f in levels.values()]
    return CandidateView(c.id, c.listing_row_id or 0, ref, c.score, c.decision, c.review_state,
                         shown, bits)  # fmt: skip


def reveal(store: Store, principal: Principal, candidate_id: int, field: str, side: str,
           reason: str) -> str:  # fmt: skip
    """One personal value in clear, for one reviewer, for a stated reason (audited)."""
    require(principal, Action.MANAGE_CASES)
    if not reason.strip():
        raise RevealRefused("revealing a value needs a reason")
    if field not in SIDE_BY_SIDE or side not in ("listing", "watchlist"):
        raise RevealRefused("not a field shown here")
    with store.sessions.begin() as s:
        found = s.execute(
            select(ListingRow.pii, WatchlistPerson.pii)
            .join(CandidateMatch, CandidateMatch.listing_row_id == ListingRow.id)
            .join(WatchlistPerson, WatchlistPerson.id == CandidateMatch.person_id)
            .where(CandidateMatch.id == candidate_id)
        ).first()  # fmt: skip
        if found is None:
            raise NotFound(f"no candidate {candidate_id}")
        audit.record(s, principal.audit_name, "pii.revealed", object_type="candidate_match",
                     object_id=candidate_id, reason=reason.strip()[:500],
                     details={"field": field, "side": side})  # fmt: skip
    if side == "listing":
        return str(store.vault.open_json(found[0], LISTING_ROW_PII).get(field, ""))
    column = SIDE_BY_SIDE[field]
    return str(store.vault.open_json(found[1], PERSON_PII).get(column, "")) if column else ""


def label(store: Store, principal: Principal, candidate_id: int, state: ReviewState,
          note: str | None = None) -> None:  # fmt: skip
    require(principal, Action.MANAGE_CASES)
    label_candidate(store, candidate_id, state, actor=principal.audit_name, note=note,
                    reviewer_id=principal.user_id)  # fmt: skip


def decide_listing(store: Store, principal: Principal, listing_id: int,
                   decision: ListingDecision, reason: str) -> int:  # fmt: skip
    """A decision for the whole listing, with a reason: from the leak (its pending matches
    confirmed) or unrelated (its pending candidates rejected); how many were labelled."""
    require(principal, Action.MANAGE_CASES)
    if not reason.strip():
        raise RevealRefused("a decision on a whole listing needs a reason")
    state = ReviewState.CONFIRMED if decision == ListingDecision.FROM_THE_LEAK else \
        ReviewState.REJECTED  # fmt: skip
    with store.sessions.begin() as s:
        listing = s.get(Listing, listing_id)
        if listing is None:
            raise NotFound(f"no listing {listing_id}")
        listing.decision, listing.decision_reason = decision, reason.strip()
        listing.decided_by_id, listing.decided_at = principal.user_id, utcnow()
        wanted = [Decision.MATCH] if state == ReviewState.CONFIRMED else list(Decision)
        pending = s.scalars(
            select(CandidateMatch).join(ListingRow)
            .where(ListingRow.listing_id == listing_id,
                   CandidateMatch.review_state == ReviewState.PENDING,
                   CandidateMatch.decision.in_(wanted))
        ).all()  # fmt: skip
        for candidate in pending:
            candidate.review_state, candidate.reviewer_id = state, principal.user_id
            candidate.reviewed_at = utcnow()
        audit.record(s, principal.audit_name, "listing.decided", object_type="listing",
                     object_id=listing_id, reason=reason.strip(),
                     details={"decision": decision.value, "labelled": len(pending)})  # fmt: skip
        return len(pending)
