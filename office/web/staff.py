"""Staff pages: the menu, customer reports (personal values masked), attachments as
downloads, and the user's own API tokens."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import Response

from casework.accounts import create_token
from casework.permissions import Action
from casework.staff import NotFound, download_attachment, list_reports, view_report
from office.web.deps import CsrfDep, ObjectId, StoreDep, caller_of, permission
from office.web.pages import download, render

router = APIRouter(include_in_schema=False)


@router.get("/staff", dependencies=[permission(Action.VIEW_STAFF_HOME)])
def home(request: Request) -> Response:
    return render(request, caller_of(request), "staff_home.html")


@router.get("/staff/reports", dependencies=[permission(Action.VIEW_REPORTS)])
def reports(request: Request, store: StoreDep) -> Response:
    caller = caller_of(request)
    return render(request, caller, "staff_reports.html",
                  reports=list_reports(store, caller.principal))  # fmt: skip


@router.get("/staff/reports/{report_id}", dependencies=[permission(Action.VIEW_REPORTS)])
def report(request: Request, store: StoreDep, report_id: ObjectId) -> Response:
    caller = caller_of(request)
    try:
        view = view_report(store, caller.principal, report_id)
    except NotFound:
        raise HTTPException(404, "no such report") from None
    return render(request, caller, "staff_report.html", view=view)


@router.get("/staff/attachments/{attachment_id}",
            dependencies=[permission(Action.DOWNLOAD_ATTACHMENT)])  # fmt: skip
def attachment(request: Request, store: StoreDep, attachment_id: ObjectId) -> Response:
    try:
        item = download_attachment(store, caller_of(request).principal, attachment_id)
    except NotFound:
        raise HTTPException(404, "no such attachment") from None
    # Always a download, never shown inline: the bytes came from outside.
    return download(item.content, item.content_type, item.filename)


@router.get("/account/tokens", dependencies=[permission(Action.MANAGE_OWN_TOKENS)])
def tokens(request: Request) -> Response:
    return render(request, caller_of(request), "tokens.html", token="")


@router.post("/account/tokens", dependencies=[permission(Action.MANAGE_OWN_TOKENS), CsrfDep])
def new_token(request: Request, store: StoreDep, name: Annotated[str, Form()] = "") -> Response:
    caller = caller_of(request)
    token = create_token(store, caller.principal, name.strip() or "token")
    return render(request, caller, "tokens.html", token=token)
