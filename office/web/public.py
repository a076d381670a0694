"""Pages for everyone: the welcome page, and a report from someone without the letter's code
(contact details only; nothing about any household is shown)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Request, UploadFile
from fastapi.responses import Response

from casework.permissions import Action
from office.web.deps import CsrfDep, caller_of, permission
from office.web.pages import render
from office.web.reporting import file_from_page

router = APIRouter(include_in_schema=False)
Files = Annotated[list[UploadFile], File()]

PUBLIC_PAGE: dict[str, Any] = {
    "heading": "不審な連絡の届出", "action": "/report", "needs_contact": True,
    "attachments": True, "hotline": False,
    "intro": "流出した情報が使われたと思われる連絡について教えてください。",
}  # fmt: skip


@router.get("/", dependencies=[permission(Action.SIGN_IN)])
def index(request: Request) -> Response:
    return render(request, caller_of(request), "index.html")


@router.get("/report", dependencies=[permission(Action.REPORT_WITHOUT_CODE)])
def report_form(request: Request) -> Response:
    return render(request, caller_of(request), "report_form.html", form={}, errors={},
                  **PUBLIC_PAGE)  # fmt: skip


@router.post("/report", dependencies=[permission(Action.REPORT_WITHOUT_CODE), CsrfDep])
async def report(request: Request, attachments: Files = []) -> Response:  # noqa: B006
    return await file_from_page(request, attachments, PUBLIC_PAGE)
