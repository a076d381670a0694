"""Reviewers' labels, and the model refined from them that every later match run uses."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from casework.review import UnknownCandidate, export_model, label_candidate
from matcher import Model
from store.matching import build_index, match_listing_rows
from store.models import (
    AuditEvent,
    CandidateMatch,
    Listing,
    ListingRow,
    ReviewState,
    WatchlistPerson,
)
from store.runtime import Store


def test_reviewers_labels_refine_the_model_used_next(
    store: Store, loaded_listing: tuple[list[dict[str, str]], list[dict[str, str]]]
) -> None:
    from sqlalchemy import delete

    from casework.review import NotEnoughLabels, learn_from_reviews
    from matcher import Matcher
    from store.matching import current_model
    from store.models import MatchModel

    rows, truth = loaded_listing
    index = build_index(store)
    match_listing_rows(store, index)
    with pytest.raises(NotEnoughLabels, match="0 confirmed and 0 rejected"):
        learn_from_reviews(store, index)
    assert current_model(store).to_json() == Model().to_json()
    # Reviewers label every candidate (the synthetic truth stands in for their judgement).
    with store.sessions() as s:
        ref_of = dict(s.execute(select(ListingRow.id, ListingRow.row_ref)).all())
        rec_of = dict(s.execute(select(WatchlistPerson.id, WatchlistPerson.record_ref)).all())
        want = {t["row_id"]: t["record_id"] for t in truth if t["record_id"]}
        for c in s.scalars(select(CandidateMatch)):
            right = want.get(ref_of[c.listing_row_id]) == rec_of[c.person_id]
            c.review_state = ReviewState.CONFIRMED if right else ReviewState.REJECTED
        s.commit()
    learned = learn_from_reviews(store, index, actor="user:reviewer")
    assert learned.confirmed > 20 and learned.rejected > 0
    assert learned.after.to_json() != learned.before.to_json()
    assert current_model(store).to_json() == learned.after.to_json()
    with store.sessions() as s:
        kept = s.scalars(select(MatchModel)).one()
        assert (kept.confirmed, kept.rejected) == (learned.confirmed, learned.rejected)
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "match.model_learned")
                          ).one()  # fmt: skip
        assert event.actor == "user:reviewer" and "rejected" in event.details
        s.execute(delete(CandidateMatch))
        s.commit()
    # The next run scores with the learned model: exactly the candidates, and the scores,
    # the matcher gives the same rows with it (the listing dated as the first run dated it).
    match_listing_rows(store, index, row_ids=sorted(ref_of), em=False)
    with store.sessions() as s:
        stored = {
            (ref_of[r], rec_of[p]): sc
            for r, p, sc in s.execute(
                select(
                    CandidateMatch.listing_row_id, CandidateMatch.person_id, CandidateMatch.score
                )
            )
        }
        listing = s.scalars(select(Listing)).one()
        lid, as_of = str(listing.id), listing.as_of
    by_ref = {r["row_id"]: r for r in rows}
    fresh = Matcher(index, model=learned.after, em=False).match(
        [{**by_ref[ref_of[i]], "row_id": str(i), "listing_id": lid} for i in sorted(ref_of)],
        as_of={lid: as_of.date()} if as_of is not None else None,
    )
    expected = {(ref_of[int(c.row_id)], c.record_id): c.score for c in fresh.candidates}
    assert stored and stored.keys() == expected.keys()  # the very same pairs, not a few
    assert all(stored[k] == pytest.approx(v, abs=1e-9) for k, v in expected.items())


def test_a_label_is_stored_and_audited_from_and_to(
    store: Store, loaded_listing: tuple[list[dict[str, str]], list[dict[str, str]]], tmp_path
) -> None:
    match_listing_rows(store, build_index(store))
    with store.sessions() as s:
        first = s.scalars(select(CandidateMatch.id).order_by(CandidateMatch.id)).first()
    assert first is not None
    label = label_candidate(store, first, ReviewState.CONFIRMED, actor="user:r", note="same DM")
    assert (label.before, label.after) == (ReviewState.PENDING, ReviewState.CONFIRMED)
    with store.sessions() as s:
        stored = s.get(CandidateMatch, first)
        assert stored is not None and stored.review_note == "same DM"
        assert stored.review_state == ReviewState.CONFIRMED
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "candidate.reviewed")).one()
        assert event.details == {"from": "pending", "to": "confirmed"} and event.actor == "user:r"
    with pytest.raises(UnknownCandidate):
        label_candidate(store, 10**9, ReviewState.REJECTED, actor="user:r")
    out = tmp_path / "model.json"
    export_model(store, out)
    assert Model.from_json(out.read_text()).to_json() == Model().to_json()
