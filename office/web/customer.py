"""The customer's own pages: what was found about the household, reports and their status,
e-mail notifications, and a request to erase the household's data."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import Response

from casework.customers import (
    erasure_status,
    household_findings,
    my_reports,
    notification_address,
    request_erasure,
    set_notifications,
)
from casework.permissions import Action
from office.web.deps import CsrfDep, ObjectId, StoreDep, caller_of, permission
from office.web.pages import render
from office.web.reporting import file_from_page

router = APIRouter(prefix="/me", include_in_schema=False)
Files = Annotated[list[UploadFile], File()]
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")

CUSTOMER_PAGE: dict[str, Any] = {
    "heading": "不審な連絡の届出", "action": "/me/report", "needs_contact": False,
    "attachments": True, "hotline": False,
    "intro": "流出した情報が使われたと思われるダイレクトメールや電話などについて教えてください。",
}  # fmt: skip


def _home(request: Request, store: StoreDep, status: int = 200, **extra: Any) -> Response:
    caller = caller_of(request)
    principal = caller.principal
    context: dict[str, Any] = {
        "findings": household_findings(store, principal),
        "reports": my_reports(store, principal),
        "notify_email": notification_address(store, principal),
        "erasure": erasure_status(store, principal), "message": "", "errors": {},
    }  # fmt: skip
    return render(request, caller, "me.html", status, **(context | extra))


@router.get("", dependencies=[permission(Action.VIEW_OWN_HOUSEHOLD)])
def home(request: Request, store: StoreDep) -> Response:
    return _home(request, store)


@router.get("/report", dependencies=[permission(Action.FILE_OWN_REPORT)])
def report_form(request: Request) -> Response:
    return render(request, caller_of(request), "report_form.html", form={}, errors={},
                  **CUSTOMER_PAGE)  # fmt: skip


@router.post("/report", dependencies=[permission(Action.FILE_OWN_REPORT), CsrfDep])
async def report(request: Request, attachments: Files = []) -> Response:  # noqa: B006
    return await file_from_page(request, attachments, CUSTOMER_PAGE)


@router.get("/reports/{report_id}", dependencies=[permission(Action.VIEW_OWN_REPORTS)])
def one_report(request: Request, store: StoreDep, report_id: ObjectId) -> Response:
    caller = caller_of(request)
    found = [r for r in my_reports(store, caller.principal) if r.id == report_id]
    if not found:
        raise HTTPException(404, "no such report")
    return render(request, caller, "my_report.html", report=found[0])


@router.post("/notifications", dependencies=[permission(Action.SET_OWN_NOTIFICATIONS), CsrfDep])
def notifications(request: Request, store: StoreDep,
                  email: Annotated[str, Form()] = "") -> Response:  # fmt: skip
    email = email.strip()
    if email and not _EMAIL.match(email):
        problem = {"email": "メールアドレスを正しく入力してください"}
        return _home(request, store, 422, errors=problem)
    set_notifications(store, caller_of(request).principal, email or None)
    message = "メールでのお知らせを設定しました。" if email else "メールでのお知らせを止めました。"
    return _home(request, store, message=message)


@router.post("/erasure", dependencies=[permission(Action.REQUEST_OWN_ERASURE), CsrfDep])
def erasure(request: Request, store: StoreDep) -> Response:
    request_erasure(store, caller_of(request).principal)
    return _home(request, store, message="削除のご依頼を受け付けました。")
