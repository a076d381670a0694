"""Reports of suspicious contact, from customers (with or without the letter's code) and from
the hotline: checked, sealed, acknowledged with a tracking number, then processed.

Filing and processing are two steps: the report (facts, details, attachments) is committed
first, so nothing the customer sent is lost if processing fails; processing resolves the
business, attaches the report to the business's case, and matches the "as addressed" facts
against the watchlist (did they use the leaked spelling, the pre-move address?).
"""

from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from casework.attachments import Attachment
from casework.businesses import resolve_business
from casework.permissions import Action, Actor, Principal, require
from casework.reports import match_reports
from casework.resident import ResidentIndex
from store import audit
from store.codes import ALPHABET
from store.models import (
    Case,
    CaseStatus,
    ContactKind,
    CustomerReport,
    ReportAttachment,
    ReportChannel,
    ReportStatus,
    utcnow,
)
from store.runtime import Store
from store.sealed import ATTACHMENT, REPORT_DETAILS, REPORT_FACTS

MAX_TEXT = 500
MAX_DESCRIPTION = 4000
# Field name -> what the report's facts call it (the listing contract's fields).
FACT_OF = {"addressed_name": "name", "addressed_address": "address",
           "addressed_phone": "phone", "addressed_email": "email"}  # fmt: skip


@dataclass(frozen=True)
class ReportForm:
    """What a report says. Every text is free text, bounded; nothing is required but that
    the report says something (and, without a code, how to reach the reporter)."""

    contact_kind: ContactKind = ContactKind.MAIL
    contact_date: date | None = None
    business_name: str = ""
    business_phone: str = ""
    business_address: str = ""
    business_url: str = ""
    business_number: str = ""  # 法人番号, if the customer has it
    addressed_name: str = ""  # how they were addressed, exactly as written
    addressed_address: str = ""
    addressed_phone: str = ""  # the number they were called on
    addressed_email: str = ""
    description: str = ""
    reporter_name: str = ""  # contact details: for a report without a code
    reporter_phone: str = ""
    reporter_email: str = ""


@dataclass
class FormProblems(ValueError):
    """Field name -> what is wrong with it (shown next to the field)."""

    fields: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class FiledReport:
    report_id: int
    reference: str  # the tracking number given to the reporter


def check_form(form: ReportForm, *, needs_contact: bool) -> None:
    """Raise FormProblems naming every field that is wrong."""
    problems: dict[str, str] = {}
    for name, value in asdict(form).items():
        limit = MAX_DESCRIPTION if name == "description" else MAX_TEXT
        if isinstance(value, str) and len(value) > limit:
            problems[name] = f"{limit}文字以内で入力してください"
        if isinstance(value, str) and "\x00" in value:
            problems[name] = "使えない文字が含まれています"
    if form.contact_date is not None and not date(2000, 1, 1) <= form.contact_date <= date.today():
        problems["contact_date"] = "2000年以降、今日までの日付を入力してください"
    if not (form.business_name.strip() or form.description.strip() or form.addressed_name.strip()):
        problems["description"] = "事業者名か、何があったかを入力してください"
    if needs_contact and not (form.reporter_phone.strip() or form.reporter_email.strip()):
        problems["reporter_phone"] = "連絡先（電話番号かメールアドレス）を入力してください"
    if problems:
        raise FormProblems(problems)


def file_report(
    store: Store,
    principal: Principal,
    form: ReportForm,
    attachments: list[Attachment],
    *,
    household_id: int | None = None,
) -> FiledReport:
    """Commit a report (facts, details, attachments sealed) and audit it. A customer files
    for their own household; the hotline for a caller's (``household_id``, found by code) or
    for none; someone without a code, for none, with contact details."""
    channel, household_id = _channel_and_household(principal, household_id)
    check_form(form, needs_contact=household_id is None)
    facts = {FACT_OF[k]: v.strip() for k, v in asdict(form).items() if k in FACT_OF and v.strip()}
    details = {k: v.strip() for k, v in asdict(form).items()
               if isinstance(v, str) and k not in FACT_OF and v.strip()}  # fmt: skip
    vault = store.vault
    with store.sessions.begin() as s:
        report = CustomerReport(
            reference=_new_reference(s), household_id=household_id, channel=channel,
            entered_by_id=principal.user_id, contact_kind=form.contact_kind,
            contact_date=form.contact_date, facts=vault.seal_json(facts, REPORT_FACTS),
            details_sealed=vault.seal_json(details, REPORT_DETAILS),
        )  # fmt: skip
        s.add(report)
        s.flush()
        for item in attachments:
            s.add(ReportAttachment(
                report_id=report.id, filename=item.filename, content_type=item.content_type,
                size=len(item.content), sha256=item.sha256,
                content_sealed=vault.seal(item.content, ATTACHMENT),
            ))  # fmt: skip
        audit.record(s, principal.audit_name, "report.filed", object_type="customer_report",
                     object_id=report.id, details={
                         "channel": channel.value, "attachments": len(attachments),
                         "household_known": household_id is not None,
                         "facts": sorted(facts)})  # fmt: skip
        return FiledReport(report.id, report.reference)


def _channel_and_household(
    principal: Principal, household_id: int | None
) -> tuple[ReportChannel, int | None]:
    if principal.actor == Actor.CUSTOMER:
        require(principal, Action.FILE_OWN_REPORT)
        return ReportChannel.WEB, principal.household_id
    if principal.actor == Actor.ANONYMOUS:
        require(principal, Action.REPORT_WITHOUT_CODE)
        return ReportChannel.WEB, None
    require(principal, Action.FILE_REPORT_FOR_CALLER)
    return ReportChannel.HOTLINE, household_id


def _new_reference(s: Session) -> str:
    while True:
        ref = "LW-" + "".join(secrets.choice(ALPHABET) for _ in range(8))
        if s.scalar(select(CustomerReport.id).where(CustomerReport.reference == ref)) is None:
            return ref


def process_report(store: Store, report_id: int, resident: ResidentIndex) -> None:
    """Resolve the business, attach the report to its case, match the facts (audited).
    Safe to run again: a report already linked keeps its case, matched facts are skipped."""
    with store.sessions.begin() as s:
        report = s.get(CustomerReport, report_id)
        if report is None:
            return
        details = store.vault.open_json(report.details_sealed, REPORT_DETAILS) \
            if report.details_sealed else {}  # fmt: skip
        business = resolve_business(s, str(details.get("business_name", "")),
                                    str(details.get("business_number", "")) or None)  # fmt: skip
        if business is not None and report.case_id is None:
            report.business_id = business.id
            report.case_id = _open_case(s, business.id, business.name)
            report.status = ReportStatus.LINKED
        elif report.status == ReportStatus.RECEIVED:
            report.status = ReportStatus.UNDER_REVIEW
        has_facts = bool(store.vault.open_json(report.facts, REPORT_FACTS))
        audit.record(s, "system:intake", "report.processed", object_type="customer_report",
                     object_id=report_id, details={"case": report.case_id,
                                                   "facts_matched": has_facts})  # fmt: skip
    if has_facts:
        match_reports(store, resident.get(store), report_ids=[report_id],
                      actor="system:intake")  # fmt: skip


def _open_case(s: Session, business_id: int, name: str) -> int:
    open_statuses = [s for s in CaseStatus if s != CaseStatus.CLOSED]
    case_id = s.scalar(select(Case.id).where(Case.business_id == business_id,
                                             Case.status.in_(open_statuses))
                       .order_by(Case.id))  # fmt: skip
    if case_id is not None:
        return case_id
    case = Case(business_id=business_id, title=name[:300], created_at=utcnow())
    s.add(case)
    s.flush()
    return case.id
