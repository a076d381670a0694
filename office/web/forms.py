"""Reading a report form (and its files) into the typed ``ReportForm``; the same for the page
forms of customers, people without a code and the hotline."""

from __future__ import annotations

from dataclasses import fields
from datetime import date
from typing import Any

from fastapi import UploadFile

from casework.attachments import MAX_BYTES, MAX_FILES, AttachmentError
from casework.intake import FormProblems, ReportForm
from store.models import ContactKind

TEXT_FIELDS = [f.name for f in fields(ReportForm) if f.name not in ("contact_kind", "contact_date")]


def report_form(values: dict[str, Any]) -> ReportForm:
    """The typed form; FormProblems for a bad kind or date (other checks: check_form)."""
    problems: dict[str, str] = {}
    try:
        kind = ContactKind(str(values.get("contact_kind") or ContactKind.MAIL.value))
    except ValueError:
        kind, problems["contact_kind"] = ContactKind.OTHER, "一覧から選んでください"
    raw_date = str(values.get("contact_date") or "").strip()
    when = None
    if raw_date:
        try:
            when = date.fromisoformat(raw_date)
        except ValueError:
            problems["contact_date"] = "日付を正しく入力してください（例：2026-04-01）"
    if problems:
        raise FormProblems(problems)
    texts = {name: str(values.get(name) or "") for name in TEXT_FIELDS}
    return ReportForm(contact_kind=kind, contact_date=when, **texts)


def read_uploads(uploads: list[UploadFile]) -> list[tuple[str, bytes]]:
    """(name, bytes) of each chosen file, never reading more than the limit allows."""
    chosen = [u for u in uploads if u.filename]
    if len(chosen) > MAX_FILES:
        raise AttachmentError(f"at most {MAX_FILES} files per report")
    out = []
    for upload in chosen:
        data = upload.file.read(MAX_BYTES + 1)
        out.append((upload.filename or "", data))
    return out
