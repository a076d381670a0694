"""The hotline: an operator enters a caller's report, found by the letter's code if the
caller has it, marked as taken by phone."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Request, UploadFile
from fastapi.responses import Response

from casework.permissions import Action
from office.web.deps import CsrfDep, caller_of, permission
from office.web.pages import render
from office.web.reporting import file_from_page

router = APIRouter(prefix="/hotline", include_in_schema=False)
Files = Annotated[list[UploadFile], File()]

HOTLINE_PAGE: dict[str, Any] = {
    "heading": "電話での届出を入力", "action": "/hotline/report", "needs_contact": True,
    "attachments": False, "hotline": True,
    "intro": "お電話の内容を入力してください。登録番号がわかれば、ご家族の記録に結びつけます。",
}  # fmt: skip


@router.get("/report", dependencies=[permission(Action.FILE_REPORT_FOR_CALLER)])
def report_form(request: Request) -> Response:
    return render(request, caller_of(request), "report_form.html", form={}, errors={},
                  **HOTLINE_PAGE)  # fmt: skip


@router.post("/report", dependencies=[permission(Action.FILE_REPORT_FOR_CALLER), CsrfDep])
async def report(request: Request, attachments: Files = []) -> Response:  # noqa: B006
    return await file_from_page(request, attachments, HOTLINE_PAGE)
