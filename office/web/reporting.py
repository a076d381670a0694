"""Filing a report from a page form: read, check, file, process, answer — shared by the
customer's page, the public page and the hotline page, which differ only in who files."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import Request, UploadFile
from fastapi.responses import Response
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from casework.attachments import AttachmentError, accept
from casework.intake import FormProblems, file_report, process_report
from casework.resident import ResidentIndex
from casework.staff import NotFound, find_household
from office.web.deps import caller_of, get_resident, get_store
from office.web.forms import read_uploads, report_form
from office.web.pages import render
from store.runtime import Store

log = logging.getLogger("leakwatch.web")


async def text_fields(request: Request) -> dict[str, str]:
    """The form's text fields (files are read by their own parameter)."""
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}


async def file_from_page(request: Request, uploads: list[UploadFile], page: dict[str, Any]
                         ) -> Response:  # fmt: skip
    """The async route's part: read the form, then do the work on the thread pool (the
    store's calls block)."""
    values = await text_fields(request)
    return await run_in_threadpool(handle_report, request, values, uploads, page)


def handle_report(request: Request, values: dict[str, Any], uploads: list[UploadFile],
                  page: dict[str, Any]) -> Response:  # fmt: skip
    """File the report in ``values``; on a problem, the form again with every problem next to
    its field (and nothing filed)."""
    caller, store = caller_of(request), get_store(request)
    try:
        form = report_form(values)
        household_id = _caller_household(request, values)
        attachments = accept(read_uploads(uploads)) if page["attachments"] else []
        filed = file_report(store, caller.principal, form, attachments, household_id=household_id)
    except FormProblems as problems:
        return render(request, caller, "report_form.html", 422, form=values,
                      errors=problems.fields, **page)  # fmt: skip
    except AttachmentError as exc:
        return render(request, caller, "report_form.html", 422, form=values,
                      errors={"attachments": _attachment_message(str(exc))}, **page)  # fmt: skip
    response = render(request, caller, "report_filed.html", reference=filed.reference,
                      report_id=filed.report_id)  # fmt: skip
    # Acknowledged first (the report is committed), processed once the answer has gone: the
    # customer does not wait for the business to be resolved and the facts matched.
    response.background = BackgroundTask(_process, store, filed.report_id, get_resident(request))
    return response


def _process(store: Store, report_id: int, resident: ResidentIndex) -> None:
    try:
        process_report(store, report_id, resident)
    except Exception:  # the report is kept; processing is retried by staff or the scheduler
        log.exception("processing report %s failed", report_id)


def _caller_household(request: Request, values: dict[str, Any]) -> int | None:
    """The household of the registration code a hotline operator entered (or none)."""
    code = str(values.get("registration_code") or "").strip()
    if not code:
        return None
    try:
        return find_household(get_store(request), caller_of(request).principal, code).id
    except NotFound:
        raise FormProblems({"registration_code": "この登録番号は見つかりません"}) from None


def _attachment_message(reason: str) -> str:
    name, _, why = reason.rpartition(": ")
    text = {"not an image or a PDF": "画像かPDFではありません",
            "the file is empty": "ファイルが空です"}.get(why)  # fmt: skip
    if why.startswith("larger than"):
        text = "5MBを超えています"
    if reason.startswith("at most"):
        return "添付できるのは3つまでです"
    return f"{name}：{text or why}"
