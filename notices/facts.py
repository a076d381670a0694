"""A case's facts as a letter states them (``LetterFacts``), and their frozen JSON form.

What a letter may say is decided here, once, for every rendering: the business's own
listings (its identifiers, addresses, when we saw them), how many of the rows it published
coincide with records of the leaked copy (counts only), the captures with their SHA-256,
and the evidence grade's reasons — except the seed reason: a letter never tells a broker
that decoy records exist, let alone which. No name, address or other value of a watchlist
person is read here at all.

A drafted letter's facts are frozen as JSON with their digest; approval covers exactly that
digest, and every later rendering is made from the frozen facts, not from the case as it
has become since.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from datetime import date, datetime
from typing import Any

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from casework.grading import grade_listing
from notices.letter import (
    Capture,
    Clause,
    LetterFacts,
    LetterKind,
    ListingEvidence,
    Party,
    PriorNotice,
)
from store.models import (
    Business,
    CandidateMatch,
    Case,
    EvidenceCapture,
    Listing,
    ListingDecision,
    ListingRow,
    ReviewState,
)
from store.runtime import Store
from store.settings import Settings

CAPTURES_PER_LISTING = 6  # the first and latest captures prove "from when until when"
HIDDEN_REASONS = frozenset({"seed"})  # never printed: decoys must stay secret


def sender_of(settings: Settings) -> Party:
    return Party(name=settings.leakwatch_sender_name,
                 representative=settings.leakwatch_sender_representative,
                 department=settings.leakwatch_sender_department,
                 address=settings.leakwatch_sender_address,
                 contact=settings.leakwatch_sender_contact)  # fmt: skip


def recipient_of(business: Business) -> Party:
    return Party(name=business.name, representative=business.representative or "",
                 address=business.address or "")  # fmt: skip


def cited_listings(s: Session, case: Case) -> list[tuple[Listing, int]]:
    """The business's listings a letter cites, with their confirmed rows: every listing with
    a confirmed match or judged to come from the leak (and not judged unrelated)."""
    confirmed = (
        select(Listing.id, func.count(distinct(ListingRow.id)))
        .join(ListingRow, ListingRow.listing_id == Listing.id)
        .join(CandidateMatch, CandidateMatch.listing_row_id == ListingRow.id)
        .where(Listing.business_id == case.business_id,
               CandidateMatch.review_state == ReviewState.CONFIRMED)
        .group_by(Listing.id)
    )  # fmt: skip
    counts: dict[int, int] = {lid: n for lid, n in s.execute(confirmed)}
    listings = s.scalars(select(Listing).where(Listing.business_id == case.business_id)
                         .order_by(Listing.id))  # fmt: skip
    return [
        (lst, counts.get(lst.id, 0))
        for lst in listings
        if lst.decision != ListingDecision.UNRELATED
        and (counts.get(lst.id) or lst.decision == ListingDecision.FROM_THE_LEAK)
    ]


def captures_of(s: Session, listing_id: int) -> tuple[Capture, ...]:
    """The listing's captures, first and latest first (at most ``CAPTURES_PER_LISTING``)."""
    rows = s.execute(
        select(EvidenceCapture.url, EvidenceCapture.fetched_at, EvidenceCapture.sha256)
        .where(EvidenceCapture.id.in_(select(ListingRow.evidence_id)
                                      .where(ListingRow.listing_id == listing_id)))
        .order_by(EvidenceCapture.fetched_at, EvidenceCapture.id)
    ).all()  # fmt: skip
    if len(rows) > CAPTURES_PER_LISTING:
        rows = [*rows[: CAPTURES_PER_LISTING // 2], *rows[-(CAPTURES_PER_LISTING // 2) :]]
    return tuple(Capture(url, at, sha) for url, at, sha in rows)


def listing_evidence(s: Session, listing: Listing, matched: int) -> ListingEvidence:
    return ListingEvidence(
        identifier=(listing.title or listing.key)[:200], url=listing.url or "",
        first_seen=listing.first_seen, last_seen=listing.last_seen,
        rows=listing.row_count, matched=matched, captures=captures_of(s, listing.id),
    )  # fmt: skip


def grade_reasons(store: Store, listing_ids: list[int]) -> tuple[str, ...]:
    """The evidence grade's reasons of every cited listing, the seed reason left out."""
    leak = store.settings.leakwatch_leak_date
    reasons: list[str] = []
    for listing_id in listing_ids:
        grade = grade_listing(store, listing_id, leak)
        reasons += [in_words(r.text) for r in grade.reasons if r.kind not in HIDDEN_REASONS]
    return tuple(dict.fromkeys(reasons))


_SCIENTIFIC = re.compile(r"(\d+(?:\.\d+)?)e-0*(\d+)")


def in_words(text: str) -> str:
    """A reason as a letter may print it: the screens' ``1.5e-228`` becomes 1.5×10のマイナス
    228乗 (a 内容証明 takes no Latin letter outside a proper noun, and a recipient reads
    no e-notation)."""
    return _SCIENTIFIC.sub(lambda m: f"{m[1]}×10のマイナス{m[2]}乗", text)


@dataclasses.dataclass(frozen=True, slots=True)
class Heading:
    """What the workflow decides for a letter (the rest comes from the case)."""

    kind: LetterKind
    reference: str
    verify_code: str
    issued_on: date
    deadline: date
    clauses: tuple[Clause, ...]
    prior: tuple[PriorNotice, ...] = ()


def case_facts(store: Store, case_id: int, heading: Heading) -> LetterFacts:
    """The facts of a letter about the case, as the case stands now."""
    with store.sessions() as s:
        case = s.get(Case, case_id)
        if case is None:
            raise LookupError(f"no case {case_id}")
        business = s.get(Business, case.business_id)
        assert business is not None
        cited = cited_listings(s, case)
        listings = tuple(listing_evidence(s, lst, n) for lst, n in cited)
        recipient = recipient_of(business)
    public = store.settings.leakwatch_public_url.rstrip("/")
    return LetterFacts(
        kind=heading.kind, reference=heading.reference, verify_code=heading.verify_code,
        verify_url=f"{public}/verify", issued_on=heading.issued_on, deadline=heading.deadline,
        sender=sender_of(store.settings), recipient=recipient, listings=listings,
        matched_total=sum(lst.matched for lst in listings),
        grade_reasons=grade_reasons(store, [lst.id for lst, _ in cited]),
        clauses=heading.clauses, prior=heading.prior,
    )  # fmt: skip


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    return value.value if hasattr(value, "value") else value


def freeze(facts: LetterFacts) -> tuple[str, str]:
    """The facts as canonical JSON, and its SHA-256 (what an approver approves)."""
    text = json.dumps(_plain(facts), ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return text, hashlib.sha256(text.encode()).hexdigest()


def thaw(text: str) -> LetterFacts:
    """The facts a letter was frozen with."""
    d = json.loads(text)
    return LetterFacts(
        kind=LetterKind(d["kind"]), reference=d["reference"], verify_code=d["verify_code"],
        verify_url=d["verify_url"], issued_on=date.fromisoformat(d["issued_on"]),
        deadline=date.fromisoformat(d["deadline"]), sender=Party(**d["sender"]),
        recipient=Party(**d["recipient"]), listings=tuple(_listing(x) for x in d["listings"]),
        matched_total=d["matched_total"], grade_reasons=tuple(d["grade_reasons"]),
        clauses=tuple(Clause(**c) for c in d["clauses"]),
        prior=tuple(PriorNotice(p["reference"], date.fromisoformat(p["sent_on"]),
                                date.fromisoformat(p["deadline"])) for p in d["prior"]),
    )  # fmt: skip


def _listing(d: dict[str, Any]) -> ListingEvidence:
    return ListingEvidence(
        identifier=d["identifier"], url=d["url"],
        first_seen=datetime.fromisoformat(d["first_seen"]),
        last_seen=datetime.fromisoformat(d["last_seen"]), rows=d["rows"], matched=d["matched"],
        captures=tuple(Capture(c["url"], datetime.fromisoformat(c["fetched_at"]), c["sha256"])
                       for c in d["captures"]),
    )  # fmt: skip
