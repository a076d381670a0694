"""The legal team's letters: the list, one letter (its text, evidence, digest, history and
the steps the caller may take now), its files (PDF, e-内容証明 Word, 内容証明 text), drafting
from a case, approval (of the digest the approver was shown), sending, replies, closing or
escalating, rescinding; and the clause library and templates the legal team edits.

Every step is one function of ``notices.workflow`` / ``notices.edits``; a refusal by its
rules is shown on the page again with status 422.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response

from casework.permissions import Action, Forbidden
from casework.staff import NotFound
from notices.docx_letter import DocxError
from notices.edits import EDITABLE, EditRefused, edit_clause, edit_template
from notices.mailer import MailError
from notices.naiyo import Layout
from notices.sandbox import TemplateRefused
from notices.views import (
    LetterFormat,
    download_notice,
    letter_clauses,
    letter_template,
    list_notices,
    view_notice,
)
from notices.workflow import (
    LIVE,
    NoticeError,
    approve_notice,
    conclude_notice,
    draft_notice,
    record_reply,
    rescind_notice,
    send_notice,
)
from office.web.case_pages import case_page
from office.web.deps import CsrfDep, ObjectId, StoreDep, caller_of, permission
from office.web.pages import download, render
from store.models import NoticeKind, NoticeStatus, ReplyKind, SendChannel

router = APIRouter(prefix="/work", include_in_schema=False)
VIEW, DRAFT = permission(Action.VIEW_NOTICES), permission(Action.DRAFT_NOTICE)
APPROVE, SEND = permission(Action.APPROVE_NOTICE), permission(Action.SEND_NOTICE)
REPLY, EDIT = permission(Action.RECORD_REPLY), permission(Action.EDIT_LETTERS)
Text = Annotated[str, Form()]
LayoutQuery = Annotated[str, Query(max_length=10)]
ENDED = frozenset({NoticeStatus.CLOSED, NoticeStatus.WITHDRAWN})  # nothing more to do


@router.get("/notices", dependencies=[VIEW])
def notices(request: Request, store: StoreDep) -> Response:
    caller = caller_of(request)
    return render(request, caller, "work_notices.html",
                  notices=list_notices(store, caller.principal))  # fmt: skip


def notice_page(request: Request, store: StoreDep, notice_id: int, status: int = 200,
                error: str = "") -> Response:  # fmt: skip
    """The letter's page (shown again, with ``error``, when a step on it is refused)."""
    caller = caller_of(request)
    try:
        view = view_notice(store, caller.principal, notice_id)
    except NotFound:
        raise HTTPException(404, "no such notice") from None
    return render(request, caller, "work_notice.html", status, view=view, error=error,
                  live=view.notice.status in LIVE, ended=view.notice.status in ENDED,
                  is_drafter=view.notice.drafted_by_id == caller.principal.user_id,
                  reply_kinds=list(ReplyKind), channels=list(SendChannel),
                  layouts=Layout.paper())  # fmt: skip


def _file(request: Request, store: StoreDep, notice_id: int, fmt: LetterFormat,
          layout: str = Layout.H20x26.value) -> Response:  # fmt: skip
    try:
        chosen = Layout.parse(layout)
    except ValueError:
        raise HTTPException(422, "unknown layout") from None
    try:
        item = download_notice(store, caller_of(request).principal, notice_id, fmt, chosen)
    except NotFound:
        raise HTTPException(404, "no such notice") from None
    except (NoticeError, DocxError, TemplateRefused) as exc:
        return notice_page(request, store, notice_id, 422, error=str(exc))
    return download(item.content, item.content_type, item.filename)


# The files come before the page: "/notices/{notice_id}" would take "5.pdf" as an id.
@router.get("/notices/{notice_id}.pdf", dependencies=[VIEW])
def pdf(request: Request, store: StoreDep, notice_id: ObjectId) -> Response:
    return _file(request, store, notice_id, LetterFormat.PDF)


@router.get("/notices/{notice_id}.docx", dependencies=[VIEW])
def word(request: Request, store: StoreDep, notice_id: ObjectId,
         layout: LayoutQuery = Layout.H20x26.value) -> Response:  # fmt: skip
    return _file(request, store, notice_id, LetterFormat.DOCX, layout)


@router.get("/notices/{notice_id}.txt", dependencies=[VIEW])
def naiyo(request: Request, store: StoreDep, notice_id: ObjectId,
          layout: LayoutQuery = Layout.H20x26.value) -> Response:  # fmt: skip
    return _file(request, store, notice_id, LetterFormat.NAIYO, layout)


@router.get("/notices/{notice_id}", dependencies=[VIEW])
def notice(request: Request, store: StoreDep, notice_id: ObjectId) -> Response:
    return notice_page(request, store, notice_id)


@router.post("/cases/{case_id}/notices", dependencies=[DRAFT, CsrfDep])
def draft(request: Request, store: StoreDep, case_id: ObjectId,
          kind: Text = NoticeKind.CEASE_USE.value) -> Response:  # fmt: skip
    try:
        drafted = draft_notice(store, caller_of(request).principal, case_id, NoticeKind(kind))
    except ValueError as exc:  # NoticeError, or a kind not in the list
        message = str(exc) if isinstance(exc, NoticeError) else "種類を選んでください。"
        return case_page(request, store, case_id, 422, error=message)
    except TemplateRefused as exc:  # an edited template that fails on this case's facts
        return case_page(request, store, case_id, 422, error=str(exc))
    except NotFound:
        raise HTTPException(404, "no such case") from None
    except Forbidden:
        raise HTTPException(403, "not allowed") from None
    return RedirectResponse(f"/work/notices/{drafted.notice_id}", status_code=303)


def _step(request: Request, store: StoreDep, notice_id: int,
          step: Callable[[], object]) -> Response:  # fmt: skip
    """Run one step of the letter's workflow; its refusal shown on the letter's page."""
    try:
        step()
    except (NoticeError, TemplateRefused) as exc:
        return notice_page(request, store, notice_id, 422, error=str(exc))
    except MailError as exc:  # the mail server's trouble, not the form's: audited, retry
        return notice_page(request, store, notice_id, 502, error=str(exc))
    except NotFound:
        raise HTTPException(404, "no such notice") from None
    except Forbidden:
        raise HTTPException(403, "not allowed") from None
    return RedirectResponse(f"/work/notices/{notice_id}", status_code=303)


@router.post("/notices/{notice_id}/approve", dependencies=[APPROVE, CsrfDep])
def approve(request: Request, store: StoreDep, notice_id: ObjectId,
            facts_sha256: Text = "") -> Response:  # fmt: skip
    principal, digest = caller_of(request).principal, facts_sha256.strip()
    return _step(request, store, notice_id,
                 lambda: approve_notice(store, principal, notice_id, digest))  # fmt: skip


@router.post("/notices/{notice_id}/send", dependencies=[SEND, CsrfDep])
def send(request: Request, store: StoreDep, notice_id: ObjectId, channel: Text = "",
         email: Text = "", posted_reference: Text = "") -> Response:  # fmt: skip
    principal = caller_of(request).principal
    try:
        chosen = SendChannel(channel)
    except ValueError:
        return notice_page(request, store, notice_id, 422, error="送付の方法を選んでください。")
    return _step(request, store, notice_id, lambda: send_notice(
        store, principal, notice_id, chosen, email=email.strip() or None,
        posted_reference=posted_reference.strip() or None))  # fmt: skip


@router.post("/notices/{notice_id}/reply", dependencies=[REPLY, CsrfDep])
def reply(request: Request, store: StoreDep, notice_id: ObjectId, kind: Text = "",
          summary: Text = "") -> Response:  # fmt: skip
    principal = caller_of(request).principal
    try:
        chosen = ReplyKind(kind)
    except ValueError:
        return notice_page(request, store, notice_id, 422, error="回答の内容を選んでください。")
    return _step(request, store, notice_id,
                 lambda: record_reply(store, principal, notice_id, chosen, summary))  # fmt: skip


@router.post("/notices/{notice_id}/conclude", dependencies=[REPLY, CsrfDep])
def conclude(request: Request, store: StoreDep, notice_id: ObjectId, escalate: Text = "0",
             reason: Text = "") -> Response:  # fmt: skip
    principal = caller_of(request).principal
    return _step(request, store, notice_id, lambda: conclude_notice(
        store, principal, notice_id, escalate == "1", reason))  # fmt: skip


@router.post("/notices/{notice_id}/rescind", dependencies=[DRAFT, CsrfDep])
def rescind(request: Request, store: StoreDep, notice_id: ObjectId, reason: Text = ""
            ) -> Response:  # fmt: skip
    principal = caller_of(request).principal
    return _step(request, store, notice_id,
                 lambda: rescind_notice(store, principal, notice_id, reason))  # fmt: skip


def _clauses_page(request: Request, store: StoreDep, status: int = 200, error: str = "",
                  edited: str = "") -> Response:  # fmt: skip
    caller = caller_of(request)
    return render(request, caller, "work_clauses.html", status, error=error, edited=edited,
                  clauses=letter_clauses(store, caller.principal), templates=EDITABLE)  # fmt: skip


@router.get("/letters/clauses", dependencies=[EDIT])
def clauses(request: Request, store: StoreDep) -> Response:
    return _clauses_page(request, store)


@router.post("/letters/clauses", dependencies=[EDIT, CsrfDep])
def save_clause(request: Request, store: StoreDep, key: Text = "", title: Text = "",
                text: Text = "") -> Response:  # fmt: skip
    try:
        edit_clause(store, caller_of(request).principal, key.strip(), title, text)
    except EditRefused as exc:
        return _clauses_page(request, store, 422, error=str(exc))
    return _clauses_page(request, store, edited=key.strip())


def _template_page(request: Request, store: StoreDep, name: str, status: int = 200,
                   error: str = "", source: str | None = None, saved: bool = False
                   ) -> Response:  # fmt: skip
    caller = caller_of(request)
    try:
        current = letter_template(store, caller.principal, name)
    except NotFound:
        raise HTTPException(404, "no such template") from None
    return render(request, caller, "work_template.html", status, edit=current, error=error,
                  source=current.source if source is None else source, saved=saved)  # fmt: skip


@router.get("/letters/templates/{name}", dependencies=[EDIT])
def template(request: Request, store: StoreDep, name: str) -> Response:
    return _template_page(request, store, name)


@router.post("/letters/templates/{name}", dependencies=[EDIT, CsrfDep])
def save_template(request: Request, store: StoreDep, name: str, source: Text = "",
                  restore: Text = "") -> Response:  # fmt: skip
    if name not in EDITABLE:
        raise HTTPException(404, "no such template")
    try:
        edit_template(store, caller_of(request).principal, name,
                      None if restore == "1" else source.replace("\r\n", "\n"))  # fmt: skip
    except EditRefused as exc:
        return _template_page(request, store, name, 422, error=str(exc), source=source)
    return _template_page(request, store, name, saved=True)
