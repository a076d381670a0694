"""Reviewers' decisions on candidate matches, and the matcher model refined from them.

A reviewer confirms or rejects a candidate (``label_candidate``, audited); ``learn_from_reviews``
refits the matcher's model and calibration from every label so far and stores it (audited);
every later match run scores with it (``store.matching.current_model``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from matcher import Matcher, Model, Thresholds, WatchlistIndex
from store import audit
from store.matching import current_index, current_model, open_listing_rows
from store.models import (
    CandidateMatch,
    ListingRow,
    MatchModel,
    ReviewState,
    WatchlistPerson,
    utcnow,
)
from store.private_files import check_output, private_text
from store.runtime import Store


class UnknownCandidate(LookupError):
    """No candidate match with that id."""


@dataclass(frozen=True, slots=True)
class Label:
    candidate_id: int
    before: ReviewState
    after: ReviewState


def label_candidate(
    store: Store,
    candidate_id: int,
    state: ReviewState,
    *,
    actor: str,
    note: str | None = None,
    reviewer_id: int | None = None,
) -> Label:
    """Record a reviewer's decision on one candidate match (audited: from, to)."""
    with store.sessions.begin() as s:
        candidate = s.get(CandidateMatch, candidate_id)
        if candidate is None:
            raise UnknownCandidate(f"no candidate match {candidate_id}")
        before = candidate.review_state
        candidate.review_state, candidate.review_note = state, note
        candidate.reviewer_id, candidate.reviewed_at = reviewer_id, utcnow()
        audit.record(
            s, actor, "candidate.reviewed", object_type="candidate_match",
            object_id=candidate_id, details={"from": before.value, "to": state.value},
        )  # fmt: skip
    return Label(candidate_id, before, state)


class NotEnoughLabels(ValueError):
    """Too few reviewed pairs to learn from."""


@dataclass
class LearnResult:
    confirmed: int
    rejected: int
    model_id: int
    before: Model
    after: Model


MIN_LABELS = 20  # below this a refit is noise; the calibration's prior would win anyway


def learn_from_reviews(
    store: Store, index: WatchlistIndex | None = None, *, actor: str = "system:matcher"
) -> LearnResult:
    """Refine the model from every pair reviewers confirmed or rejected, store it as the
    newest ``MatchModel`` and audit it. Raises NotEnoughLabels when fewer than MIN_LABELS
    pairs (or only one kind) have been reviewed."""
    if index is None:
        index = current_index(store)
    with store.sessions() as s:
        reviewed = s.execute(
            select(CandidateMatch.listing_row_id, WatchlistPerson.record_ref,
                   CandidateMatch.review_state)
            .join(WatchlistPerson, CandidateMatch.person_id == WatchlistPerson.id)
            .where(CandidateMatch.listing_row_id.is_not(None))
            .where(CandidateMatch.review_state.in_([ReviewState.CONFIRMED, ReviewState.REJECTED]))
        ).all()  # fmt: skip
        labels = {(str(rid), ref): state == ReviewState.CONFIRMED
                  for rid, ref, state in reviewed}  # fmt: skip
        confirmed = sum(labels.values())
        rejected = len(labels) - confirmed
        if len(labels) < MIN_LABELS or not confirmed or not rejected:
            raise NotEnoughLabels(
                f"{confirmed} confirmed and {rejected} rejected pairs: at least {MIN_LABELS} "
                "reviewed pairs of both kinds are needed to learn from"
            )
        row_ids = sorted({int(r) for r, _ in labels})
        rows: list[dict[str, str]] = []
        for chunk in range(0, len(row_ids), 1000):
            q = select(ListingRow.id, ListingRow.listing_id, ListingRow.pii).where(
                ListingRow.id.in_(row_ids[chunk : chunk + 1000])
            )
            rows += open_listing_rows(store.vault, s.execute(q))
        before = current_model(store)
        matcher = Matcher(index, Thresholds(report=0.0), before, em=False)
        after = matcher.learn(matcher.match(rows), rows, labels)
        record = MatchModel(created_by=actor, confirmed=confirmed, rejected=rejected,
                            params=after.to_json())  # fmt: skip
        s.add(record)
        s.flush()
        audit.record(
            s, actor, "match.model_learned", object_type="match_model", object_id=record.id,
            details={"confirmed": confirmed, "rejected": rejected, "rows": len(rows)},
        )  # fmt: skip
        s.commit()
        return LearnResult(confirmed, rejected, record.id, before, after)


@dataclass(frozen=True, slots=True)
class ModelInUse:
    model: Model
    learned: MatchModel | None  # None: the matcher's defaults


def model_in_use(store: Store) -> ModelInUse:
    """The model new matches are scored with, and where it came from."""
    with store.sessions() as s:
        latest = s.scalars(select(MatchModel).order_by(MatchModel.id.desc()).limit(1)).first()
    return ModelInUse(current_model(store), latest)


def export_model(store: Store, out: Path) -> None:
    """Write the model in use (numbers only, no personal data) for `leakwatch match
    --model` on files outside the store."""
    check_output(out)
    with private_text(out) as handle:
        handle.write(current_model(store).to_json() + "\n")
