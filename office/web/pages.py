"""Rendering pages: the Jinja2 environment (autoescape on), the labels pages show, and the
response helpers every router uses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from casework.grading import Grade
from casework.permissions import Action, may
from office.web.deps import PRE_CSRF_COOKIE, Caller, csrf_token_for
from store.models import CaseStatus, ContactKind, ReportStatus

TEMPLATES = Path(__file__).with_name("templates")
_ENV = Environment(
    loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined,
    trim_blocks=True, lstrip_blocks=True,
)  # fmt: skip

CONTACT_LABELS = {ContactKind.MAIL: "ダイレクトメール", ContactKind.CALL: "電話",
                  ContactKind.EMAIL: "電子メール", ContactKind.VISIT: "訪問",
                  ContactKind.OTHER: "その他"}  # fmt: skip
STATUS_LABELS = {ReportStatus.RECEIVED: "受け付けました",
                 ReportStatus.UNDER_REVIEW: "担当者が確認しています",
                 ReportStatus.LINKED: "事業者ごとの調査に加えました",
                 ReportStatus.CLOSED: "対応を終えました"}  # fmt: skip
GRADE_LABELS = {Grade.CONCLUSIVE: "決定的（おとり記録あり）", Grade.STRONG: "強い",
                Grade.WEAK: "弱い", Grade.NONE: "なし"}  # fmt: skip
CASE_LABELS = {CaseStatus.OPEN: "調査中", CaseStatus.NOTICED: "申し入れ済み",
               CaseStatus.COMPLIED: "対応済みとの回答", CaseStatus.DISPUTED: "争いあり",
               CaseStatus.ESCALATED: "法的措置を検討", CaseStatus.CLOSED: "終了"}  # fmt: skip
_ENV.globals.update(contact_labels=CONTACT_LABELS, status_labels=STATUS_LABELS, Action=Action,
                    grade_labels=GRADE_LABELS, case_labels=CASE_LABELS)  # fmt: skip


def render(request: Request, caller: Caller, template: str, status: int = 200,
           **context: Any) -> HTMLResponse:  # fmt: skip
    """The page, with the caller's CSRF token for its forms and what the menu may offer."""
    token = csrf_token_for(request, caller)
    html = _ENV.get_template(template).render(
        caller=caller, principal=caller.principal, csrf_token=token,
        may=lambda action: may(caller.principal, action), **context,
    )  # fmt: skip
    response = HTMLResponse(html, status_code=status)
    if caller.session is None and request.cookies.get(PRE_CSRF_COOKIE) != token:
        response.set_cookie(PRE_CSRF_COOKIE, token, httponly=True, samesite="lax",
                            secure=request.url.scheme == "https", path="/")  # fmt: skip
    return response
