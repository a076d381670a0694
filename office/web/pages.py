"""Rendering pages: the Jinja2 environment (autoescape on), the labels pages show, and the
response helpers every router uses."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from casework.grading import Grade
from casework.permissions import Action, may
from notices.sandbox import jst
from office.web.deps import PRE_CSRF_COOKIE, Caller, csrf_token_for
from store.models import (
    CaseStatus,
    ContactKind,
    NoticeKind,
    NoticeStatus,
    ReplyKind,
    ReportStatus,
    SendChannel,
)

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
NOTICE_LABELS = {NoticeStatus.DRAFT: "下書き（承認待ち）",
                 NoticeStatus.APPROVED: "承認済み（未送付）",
                 NoticeStatus.SENT: "送付済み（回答待ち）", NoticeStatus.REPLIED: "回答あり",
                 NoticeStatus.CLOSED: "終了", NoticeStatus.ESCALATED: "法的措置へ",
                 NoticeStatus.WITHDRAWN: "撤回"}  # fmt: skip
NOTICE_KIND_LABELS = {NoticeKind.CEASE_USE: "通知書", NoticeKind.REMINDER: "催告書",
                      NoticeKind.ESCALATION: "最終通告書"}  # fmt: skip
REPLY_LABELS = {ReplyKind.COMPLIED: "応じた（削除証明書あり）", ReplyKind.PARTLY: "一部だけ応じた",
                ReplyKind.DISPUTED: "争う", ReplyKind.NO_REPLY: "期限までに回答なし"}  # fmt: skip
CHANNEL_LABELS = {SendChannel.EMAIL: "電子メール（PDF添付）", SendChannel.POST: "内容証明郵便"}
_ENV.globals.update(contact_labels=CONTACT_LABELS, status_labels=STATUS_LABELS, Action=Action,
                    grade_labels=GRADE_LABELS, case_labels=CASE_LABELS,
                    notice_labels=NOTICE_LABELS, notice_kind_labels=NOTICE_KIND_LABELS,
                    reply_labels=REPLY_LABELS, channel_labels=CHANNEL_LABELS)  # fmt: skip
_ENV.filters["jst"] = jst  # capture times as letters print them: Japan time, to the minute


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


def download(content: bytes, media_type: str, filename: str) -> Response:
    """A file as a download, never shown inline (nosniff: the type given is the type)."""
    return Response(content, media_type=media_type, headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}",
        "X-Content-Type-Options": "nosniff", "Content-Security-Policy": "sandbox"})  # fmt: skip
