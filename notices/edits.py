"""The legal team's edits: clause wording and letter templates, stored and audited.

The library as shipped (``notices.clauses``) stands until counsel edits a clause; an edited
template is stored whole and rendered in the sandbox (``notices.sandbox``). An edit is
tried on a sample letter before it is stored, so a template that the sandbox refuses or
that names an unknown value never reaches a letter.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from casework.permissions import Action, Principal, require
from notices import clauses
from notices.letter import Capture, Clause, LetterFacts, LetterKind, ListingEvidence, Party
from notices.letter import PriorNotice as Prior
from notices.render import CERTIFICATE, render_certificate_text, render_html, render_text
from notices.sandbox import TemplateRefused
from store import audit
from store.models import NoticeClause, NoticeTemplate, utcnow
from store.runtime import Store

EDITABLE = tuple(f"{kind}.{form}" for kind in (*(k.value for k in LetterKind), CERTIFICATE)
                 for form in ("html", "txt"))  # fmt: skip


class EditRefused(ValueError):
    """An edit that would break letters (the message says where)."""


def clause_library(s: Session) -> dict[str, Clause]:
    """The clause library as the legal team left it."""
    edits = {c.key: (c.title, c.text) for c in s.scalars(select(NoticeClause))}
    return clauses.library(edits)


def template_source(s: Session, name: str) -> str | None:
    """The edited source of a template, or None while the packaged one stands."""
    return s.scalar(select(NoticeTemplate.source).where(NoticeTemplate.name == name))


def edit_clause(store: Store, principal: Principal, key: str, title: str, text: str) -> None:
    require(principal, Action.EDIT_LETTERS)
    try:
        clauses.library({key: (title, text)})
    except ValueError as exc:
        raise EditRefused(str(exc)) from None
    with store.sessions.begin() as s:
        row = s.get(NoticeClause, key) or NoticeClause(key=key)
        row.title, row.text = title.strip(), text.strip()
        row.updated_by_id, row.updated_at = principal.user_id, utcnow()
        s.add(row)
        audit.record(
            s,
            principal.audit_name,
            "notice.clause_edited",
            object_type="clause",
            object_id=key,
            details={"sha256": _digest(title + "\n" + text)},
        )


def edit_template(store: Store, principal: Principal, name: str, source: str | None) -> None:
    """Store an edited template (tried first on a sample letter); None restores the
    packaged one."""
    require(principal, Action.EDIT_LETTERS)
    if name not in EDITABLE:
        raise EditRefused(f"no template {name!r}: one of {', '.join(EDITABLE)}")
    if source is not None and not source.strip():
        # an empty template renders an empty letter: restoring the packaged one is None
        raise EditRefused(f"template {name!r} is empty: restore the packaged one instead")
    if source is not None:
        try_template(name, source)
    with store.sessions.begin() as s:
        row = s.get(NoticeTemplate, name)
        if source is None and row is not None:
            s.delete(row)
        elif source is not None:
            row = row or NoticeTemplate(name=name)
            row.source, row.updated_by_id, row.updated_at = source, principal.user_id, utcnow()
            s.add(row)
        audit.record(
            s,
            principal.audit_name,
            "notice.template_edited",
            object_type="template",
            object_id=name,
            details={"sha256": _digest(source) if source else None},
        )


def try_template(name: str, source: str) -> None:
    """Render the sample letter with the edited template; refuse it if that fails."""
    kind, _, form = name.partition(".")
    sample = sample_facts(LetterKind(kind) if kind != CERTIFICATE else LetterKind.CEASE_USE)
    try:
        if kind == CERTIFICATE:
            render_certificate_text(sample, source)
        elif form == "html":
            render_html(sample, source)
        else:
            render_text(sample, source)
    except TemplateRefused as exc:
        raise EditRefused(str(exc)) from None


def sample_facts(kind: LetterKind) -> LetterFacts:
    """A made-up letter (no real party, no personal data) to try templates on."""
    at = datetime(2026, 1, 5, 1, 30)
    capture = Capture("http://broker.example/list/1", at, "0" * 64)
    listing = ListingEvidence("SAMPLE-LIST-1", "http://broker.example/list/1", at, at, 100, 42,
                              (capture,))  # fmt: skip
    party = Party(
        name="見本株式会社", representative="代表取締役 見本 一郎", address="見本県見本市1-1"
    )
    prior = () if kind is LetterKind.CEASE_USE else (
        Prior("2026-000001", date(2026, 1, 6), date(2026, 1, 20)),)  # fmt: skip
    return LetterFacts(
        kind=kind, reference="2026-000002", verify_code="12345678",
        verify_url="http://office.example/verify", issued_on=date(2026, 2, 1),
        deadline=date(2026, 2, 15), sender=party, recipient=party, listings=(listing,),
        matched_total=42, grade_reasons=("見本の理由",),
        clauses=clauses.clauses_for(kind, clauses.library()), prior=prior,
    )  # fmt: skip


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
