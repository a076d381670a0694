"""Businesses and cases: the list of cases, a case with its listings, confirmed matches,
reports, letters (drafted from here: ``office.web.notice_pages``) and timeline; registering
and merging businesses; status and closing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from casework.cases import (
    BusinessInput,
    CaseError,
    approve_close,
    list_cases,
    merge_businesses,
    register_business,
    request_close,
    set_status,
    view_case,
)
from casework.permissions import Action, may
from casework.staff import NotFound
from notices.views import list_notices
from office.web.deps import CsrfDep, ObjectId, StoreDep, caller_of, permission
from office.web.pages import render
from store.models import CaseStatus, NoticeKind

router = APIRouter(prefix="/work", include_in_schema=False)
READ, WRITE = permission(Action.VIEW_CASES), permission(Action.MANAGE_CASES)
Text = Annotated[str, Form()]


@router.get("/cases", dependencies=[READ])
def cases(request: Request, store: StoreDep) -> Response:
    caller = caller_of(request)
    return render(request, caller, "work_cases.html", cases=list_cases(store, caller.principal),
                  error="", form={})  # fmt: skip


def case_page(request: Request, store: StoreDep, case_id: int, status: int = 200,
              error: str = "") -> Response:  # fmt: skip
    """The case's page (also shown again, with ``error``, when a step on it is refused)."""
    caller = caller_of(request)
    try:
        view = view_case(store, caller.principal, case_id)
    except NotFound:
        raise HTTPException(404, "no such case") from None
    letters = (list_notices(store, caller.principal, case_id)
               if may(caller.principal, Action.VIEW_NOTICES) else [])  # fmt: skip
    return render(request, caller, "work_case.html", status, view=view, error=error,
                  statuses=[s for s in CaseStatus if s != CaseStatus.CLOSED],
                  letters=letters, notice_kinds=list(NoticeKind))  # fmt: skip


@router.get("/cases/{case_id}", dependencies=[READ])
def case(request: Request, store: StoreDep, case_id: ObjectId) -> Response:
    return case_page(request, store, case_id)


def _case_step(request: Request, store: StoreDep, case_id: int,
               step: Callable[[], object]) -> Response:  # fmt: skip
    """Run one step on the case; its refusal shown on the case's page."""
    try:
        step()
    except CaseError as exc:
        return case_page(request, store, case_id, 422, error=str(exc))
    except NotFound:
        raise HTTPException(404, "no such case") from None
    return RedirectResponse(f"/work/cases/{case_id}", status_code=303)


@router.post("/cases/{case_id}/status", dependencies=[WRITE, CsrfDep])
def status(request: Request, store: StoreDep, case_id: ObjectId, to: Text = "",
           reason: Text = "") -> Response:  # fmt: skip
    principal = caller_of(request).principal
    try:
        target = CaseStatus(to)
    except ValueError:
        return case_page(request, store, case_id, 422, error="状態を選んでください。")
    return _case_step(request, store, case_id,
                      lambda: set_status(store, principal, case_id, target, reason))  # fmt: skip


@router.post("/cases/{case_id}/close", dependencies=[WRITE, CsrfDep])
def close(request: Request, store: StoreDep, case_id: ObjectId, reason: Text = "") -> Response:
    principal = caller_of(request).principal
    return _case_step(request, store, case_id,
                      lambda: request_close(store, principal, case_id, reason))  # fmt: skip


@router.post("/cases/{case_id}/approve-close", dependencies=[WRITE, CsrfDep])
def approve(request: Request, store: StoreDep, case_id: ObjectId, reason: Text = "") -> Response:
    principal = caller_of(request).principal
    return _case_step(request, store, case_id,
                      lambda: approve_close(store, principal, case_id, reason))  # fmt: skip


@router.post("/businesses", dependencies=[WRITE, CsrfDep])
def add_business(request: Request, store: StoreDep, name: Text = "", corporate_number: Text = "",
                 address: Text = "", representative: Text = "", contact: Text = "",
                 aliases: Text = "") -> Response:  # fmt: skip
    caller = caller_of(request)
    data = BusinessInput(name, corporate_number, address, representative, contact,
                         aliases=tuple(a for a in aliases.splitlines() if a.strip()))  # fmt: skip
    try:
        register_business(store, caller.principal, data)
    except CaseError as exc:
        return render(request, caller, "work_cases.html", 422, error=str(exc),
                      cases=list_cases(store, caller.principal),
                      form={"name": name, "corporate_number": corporate_number})  # fmt: skip
    return RedirectResponse("/work/cases", status_code=303)


@router.post("/businesses/{business_id}/merge", dependencies=[WRITE, CsrfDep])
def merge(request: Request, store: StoreDep, business_id: ObjectId,
          duplicate: Annotated[int, Form(ge=1, le=2_147_483_647)] = 0) -> Response:  # fmt: skip
    try:
        merge_businesses(store, caller_of(request).principal, business_id, duplicate)
    except (CaseError, NotFound):
        raise HTTPException(404, "no such business to merge") from None
    return RedirectResponse("/work/cases", status_code=303)
