"""The investigators' workspace: the review queue, a listing with its evidence grade and its
candidates side by side (masked), one value revealed with a reason, labels and a decision
for the whole listing."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from casework.grading import grade_listing
from casework.permissions import Action
from casework.review import UnknownCandidate
from casework.review_queue import (
    RevealRefused,
    decide_listing,
    label,
    listing_candidates,
    reveal,
    review_queue,
)
from casework.staff import NotFound
from office.web.deps import CsrfDep, ObjectId, StoreDep, caller_of, permission
from office.web.pages import render
from store.models import ListingDecision, ReviewState

router = APIRouter(prefix="/work", include_in_schema=False)
REVIEW = permission(Action.MANAGE_CASES)
Text = Annotated[str, Form()]


@router.get("/queue", dependencies=[REVIEW])
def queue(request: Request, store: StoreDep) -> Response:
    caller = caller_of(request)
    listings = review_queue(store, caller.principal, store.settings.leakwatch_leak_date)
    return render(request, caller, "work_queue.html", listings=listings)


def _listing_page(request: Request, store: StoreDep, listing_id: int, status: int = 200,
                  **extra: object) -> Response:  # fmt: skip
    caller = caller_of(request)
    try:
        candidates = listing_candidates(store, caller.principal, listing_id)
        grade = grade_listing(store, listing_id, store.settings.leakwatch_leak_date)
    except (NotFound, LookupError):
        raise HTTPException(404, "no such listing") from None
    context: dict[str, object] = {"candidates": candidates, "grade": grade,
                                  "revealed": None, "error": ""}  # fmt: skip
    return render(request, caller, "work_listing.html", status, **(context | extra))


@router.get("/listings/{listing_id}", dependencies=[REVIEW])
def listing(request: Request, store: StoreDep, listing_id: ObjectId) -> Response:
    return _listing_page(request, store, listing_id)


@router.post("/listings/{listing_id}/candidates/{candidate_id}/reveal",
             dependencies=[REVIEW, CsrfDep])  # fmt: skip
def reveal_value(request: Request, store: StoreDep, listing_id: ObjectId,
                 candidate_id: ObjectId, field: Text = "", side: Text = "",
                 reason: Text = "") -> Response:  # fmt: skip
    try:
        value = reveal(store, caller_of(request).principal, candidate_id, field, side, reason)
    except RevealRefused:
        return _listing_page(request, store, listing_id, 422,
                             error="表示する理由を入力してください（記録されます）。")  # fmt: skip
    except NotFound:
        raise HTTPException(404, "no such candidate") from None
    shown = {"candidate": candidate_id, "field": field, "side": side, "value": value}
    return _listing_page(request, store, listing_id, revealed=shown)


@router.post("/listings/{listing_id}/candidates/{candidate_id}/label",
             dependencies=[REVIEW, CsrfDep])  # fmt: skip
def label_candidate(
    request: Request,
    store: StoreDep,
    listing_id: ObjectId,
    candidate_id: ObjectId,
    state: Text = "",
    note: Text = "",
) -> Response:
    try:
        chosen = ReviewState(state)
        label(store, caller_of(request).principal, candidate_id, chosen, note.strip() or None)
    except ValueError:
        return _listing_page(request, store, listing_id, 422, error="判定を選んでください。")
    except UnknownCandidate:
        raise HTTPException(404, "no such candidate") from None
    return RedirectResponse(f"/work/listings/{listing_id}#c{candidate_id}", status_code=303)


@router.post("/listings/{listing_id}/decision", dependencies=[REVIEW, CsrfDep])
def decide(request: Request, store: StoreDep, listing_id: ObjectId, decision: Text = "",
           reason: Text = "") -> Response:  # fmt: skip
    try:
        decide_listing(store, caller_of(request).principal, listing_id,
                       ListingDecision(decision), reason)  # fmt: skip
    except (ValueError, RevealRefused):
        return _listing_page(request, store, listing_id, 422,
                             error="名簿全体の判定には、判定と理由が必要です。")  # fmt: skip
    except NotFound:
        raise HTTPException(404, "no such listing") from None
    return RedirectResponse(f"/work/listings/{listing_id}", status_code=303)
