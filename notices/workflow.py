"""A notice's life: drafted → approved by a second legal user → sent → reply → closed or
escalated; rescinded with a reason at any point before it is closed.

Four eyes: the approver is never the drafter, and approves the exact facts they were shown
(the digest of the frozen facts is part of the approval: a letter changed in between is
refused). Letters are rendered only from their frozen facts. Every step is an audit event
inside the same transaction as the step, and moves the case where the step implies
(``casework.cases.follow_notice``). Sending by e-mail attaches the PDF and records its
SHA-256; sending by post records the 内容証明 reference.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from casework.cases import follow_notice
from casework.permissions import Action, Principal, require
from casework.staff import NotFound
from notices import mailer
from notices.clauses import clauses_for
from notices.edits import clause_library, template_source
from notices.facts import Heading, case_facts, freeze, thaw
from notices.letter import LetterFacts, LetterKind, PriorNotice
from notices.render import TITLES, render_pdf, render_text, template_name
from notices.sandbox import JST  # dates on letters are Japan's
from store import audit
from store.models import (
    Case,
    CaseStatus,
    Notice,
    NoticeKind,
    NoticeStatus,
    ReplyKind,
    SendChannel,
    utcnow,
)
from store.runtime import Store

LETTER_KIND = {NoticeKind.CEASE_USE: LetterKind.CEASE_USE, NoticeKind.REMINDER: LetterKind.REMINDER,
               NoticeKind.ESCALATION: LetterKind.FINAL}  # fmt: skip
LIVE = frozenset({NoticeStatus.SENT, NoticeStatus.REPLIED})  # awaiting the business
CASE_AFTER_REPLY = {ReplyKind.COMPLIED: CaseStatus.COMPLIED, ReplyKind.PARTLY: CaseStatus.DISPUTED,
                    ReplyKind.DISPUTED: CaseStatus.DISPUTED}  # fmt: skip


EMAIL = re.compile(r"[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+")


class NoticeError(ValueError):
    """A step the notice's rules do not allow (the message says which)."""


@dataclass(frozen=True, slots=True)
class Drafted:
    notice_id: int
    reference: str
    verify_code: str  # printed in the letter (so also in its frozen facts and body): it proves
    # a copy came from the office to whoever holds the letter; it is no secret from the store
    facts_sha256: str


def today_jst() -> date:
    return datetime.now(JST).date()


def draft_notice(store: Store, principal: Principal, case_id: int,
                 kind: NoticeKind = NoticeKind.CEASE_USE) -> Drafted:  # fmt: skip
    """A legal user drafts a letter about the case, from the case as it stands now."""
    require(principal, Action.DRAFT_NOTICE)
    return draft(store, case_id, kind, principal.audit_name, principal.user_id)


def draft(store: Store, case_id: int, kind: NoticeKind, actor: str,
          user_id: int | None) -> Drafted:  # fmt: skip
    """Draft a letter (a user's, or the scheduler's reminder with ``user_id`` None)."""
    with store.sessions.begin() as s:
        case = _open_case(s, case_id)
        prior = _prior(s, case.id)
        if kind is not NoticeKind.CEASE_USE and not prior:
            raise NoticeError("a reminder or final notice follows a letter that was sent")
        notice = Notice(case_id=case.id, kind=kind, template=template_name(LETTER_KIND[kind],
                        "txt"), drafted_by_id=user_id, created_at=utcnow())  # fmt: skip
        s.add(notice)
        s.flush()
        code, issued = f"{secrets.randbelow(10**8):08d}", today_jst()
        notice.reference = f"{issued.year}-{notice.id:06d}"
        notice.verify_hash = verify_hash(notice.reference, code)
        notice.deadline = issued + timedelta(days=store.settings.leakwatch_notice_deadline_days)
        library = clause_library(s)
    heading = Heading(LETTER_KIND[kind], notice.reference, code, issued, notice.deadline,
                      clauses_for(LETTER_KIND[kind], library), prior)  # fmt: skip
    try:
        return _freeze(store, notice.id, case_facts(store, case_id, heading), actor)
    except BaseException:
        # No draft without facts stays behind (it would show, and its digest would be "").
        with store.sessions.begin() as s:
            if (left := s.get(Notice, notice.id)) is not None and not left.facts_sha256:
                s.delete(left)
        raise


def _freeze(store: Store, notice_id: int, facts: LetterFacts, actor: str) -> Drafted:
    if not facts.listings:
        raise NoticeError("the case cites no listing yet: confirm its matches first")
    text, digest = freeze(facts)
    with store.sessions.begin() as s:
        notice = _notice(s, notice_id)
        notice.letter_facts, notice.facts_sha256 = text, digest
        notice.body = "\n\n".join(render_text(facts, template_source(s, notice.template)))
        audit.record(s, actor, "notice.drafted", object_type="notice", object_id=notice_id,
                     details={"kind": notice.kind.value, "reference": facts.reference,
                              "case": notice.case_id, "facts_sha256": digest})  # fmt: skip
    return Drafted(notice_id, facts.reference, facts.verify_code, digest)


def approve_notice(store: Store, principal: Principal, notice_id: int, facts_sha256: str) -> None:
    """A second legal user approves the letter they were shown (its facts' digest)."""
    require(principal, Action.APPROVE_NOTICE)
    with store.sessions.begin() as s:
        notice = _notice(s, notice_id, NoticeStatus.DRAFT)
        if notice.drafted_by_id is not None and notice.drafted_by_id == principal.user_id:
            raise NoticeError("a letter is approved by another legal user than its drafter")
        if not notice.facts_sha256:  # "" == "": a letter without facts is no letter to approve
            raise NoticeError("the letter has no facts: rescind it and draft it again")
        if not hmac.compare_digest(notice.facts_sha256, facts_sha256):
            raise NoticeError("the letter changed since it was shown: open it again")
        notice.status, notice.approved_by_id = NoticeStatus.APPROVED, principal.user_id
        notice.approved_at = utcnow()
        audit.record(
            s,
            principal.audit_name,
            "notice.approved",
            object_type="notice",
            object_id=notice_id,
            details={"facts_sha256": facts_sha256},
        )


def send_notice(store: Store, principal: Principal, notice_id: int, channel: SendChannel, *,
                email: str | None = None, posted_reference: str | None = None) -> str:  # fmt: skip
    """Send an approved letter: by e-mail with its PDF, or record it posted (内容証明).
    Returns where it went. A mail failure leaves the letter approved, and is audited."""
    require(principal, Action.SEND_NOTICE)
    with store.sessions() as s:
        notice = _notice(s, notice_id, NoticeStatus.APPROVED)
        facts, template = letter_facts(notice), template_source(s, template_name(
            LETTER_KIND[notice.kind], "html"))  # fmt: skip
        body = notice.body  # the text as drafted and approved (with the legal team's edits)
    pdf, where = b"", f"post:{posted_reference}"
    if channel is SendChannel.EMAIL:
        # One address, no spaces or line breaks (a header that would fail, or carry more).
        if not email or not EMAIL.fullmatch(email.strip()):
            raise NoticeError("sending by e-mail needs the business's e-mail address")
        email = email.strip()
        pdf = render_pdf(facts, template)
        where = _mail(store, principal, notice_id, facts, body, email, pdf)
    elif not (posted_reference or "").strip():
        raise NoticeError("a letter sent by post needs its 内容証明 reference")
    _record_sent(store, principal, notice_id, channel, email, posted_reference, pdf)
    return where


def _mail(store: Store, principal: Principal, notice_id: int, facts: LetterFacts, body: str,
          email: str, pdf: bytes) -> str:  # fmt: skip
    title = TITLES[facts.kind]
    msg = mailer.compose(
        store.settings, email, f"【{title}】文書番号 {facts.reference}（{facts.sender.name}）",
        body or "\n\n".join(render_text(facts)),
        (mailer.Attachment(f"{facts.reference}.pdf", pdf),),
    )  # fmt: skip
    try:
        return mailer.send(store.settings, msg)
    except mailer.MailError as exc:
        with store.sessions.begin() as s:
            audit.record(
                s,
                principal.audit_name,
                "notice.send_failed",
                object_type="notice",
                object_id=notice_id,
                reason=str(exc),
            )
        raise


def _record_sent(store: Store, principal: Principal, notice_id: int, channel: SendChannel,
                 email: str | None, posted: str | None, pdf: bytes) -> None:  # fmt: skip
    from notices.followup import owe_customers  # it imports this module

    with store.sessions.begin() as s:
        notice = _notice(s, notice_id, NoticeStatus.APPROVED)
        notice.status, notice.channel, notice.sent_at = NoticeStatus.SENT, channel, utcnow()
        notice.sent_by_id, notice.recipient_email = principal.user_id, email
        notice.posted_reference = (posted or "").strip() or None
        notice.pdf_sha256 = hashlib.sha256(pdf).hexdigest() if pdf else None
        audit.record(s, principal.audit_name, "notice.sent", object_type="notice",
                     object_id=notice_id, details={"channel": channel.value,
                                                   "pdf_sha256": notice.pdf_sha256})  # fmt: skip
        follow_notice(s, notice.case_id, CaseStatus.NOTICED, principal.audit_name,
                      f"notice {notice.reference} sent")  # fmt: skip
        owe_customers(s, notice.case_id, "noticed")


def record_reply(store: Store, principal: Principal, notice_id: int, kind: ReplyKind,
                 summary: str) -> None:  # fmt: skip
    """The business's answer (or that none came by the deadline)."""
    require(principal, Action.RECORD_REPLY)
    with store.sessions.begin() as s:
        notice = _notice(s, notice_id)
        if notice.status not in LIVE:
            raise NoticeError(f"a {notice.status.value} letter takes no reply")
        notice.status, notice.reply_kind = NoticeStatus.REPLIED, kind
        notice.reply_received_at, notice.reply_summary = utcnow(), summary.strip() or None
        audit.record(
            s,
            principal.audit_name,
            "notice.reply",
            object_type="notice",
            object_id=notice_id,
            details={"kind": kind.value},
        )
        if kind in CASE_AFTER_REPLY:
            follow_notice(s, notice.case_id, CASE_AFTER_REPLY[kind], principal.audit_name,
                          f"reply to {notice.reference}: {kind.value}")  # fmt: skip


def conclude_notice(store: Store, principal: Principal, notice_id: int, escalate: bool,
                    reason: str) -> None:  # fmt: skip
    """Close the letter's business, or escalate it (legal steps; the case follows)."""
    require(principal, Action.RECORD_REPLY)
    if not reason.strip():
        raise NoticeError("closing or escalating a letter needs a reason")
    with store.sessions.begin() as s:
        notice = _notice(s, notice_id)
        if notice.status not in LIVE:
            raise NoticeError(f"a {notice.status.value} letter cannot be concluded")
        notice.status = NoticeStatus.ESCALATED if escalate else NoticeStatus.CLOSED
        audit.record(
            s,
            principal.audit_name,
            f"notice.{notice.status.value}",
            object_type="notice",
            object_id=notice_id,
            reason=reason,
        )
        if escalate:
            follow_notice(s, notice.case_id, CaseStatus.ESCALATED, principal.audit_name, reason)


def rescind_notice(store: Store, principal: Principal, notice_id: int, reason: str) -> None:
    """Withdraw a letter (a draft not to be sent, or one sent in error), with a reason."""
    require(principal, Action.DRAFT_NOTICE)
    if not reason.strip():
        raise NoticeError("rescinding a letter needs a reason")
    with store.sessions.begin() as s:
        notice = _notice(s, notice_id)
        if notice.status in (NoticeStatus.CLOSED, NoticeStatus.WITHDRAWN):
            raise NoticeError(f"a {notice.status.value} letter cannot be rescinded")
        before = notice.status
        notice.status, notice.withdrawn_reason = NoticeStatus.WITHDRAWN, reason.strip()
        audit.record(
            s,
            principal.audit_name,
            "notice.rescinded",
            object_type="notice",
            object_id=notice_id,
            reason=reason,
            details={"was": before.value},
        )


def letter_facts(notice: Notice) -> LetterFacts:
    if not notice.letter_facts:
        raise NoticeError(f"notice {notice.id} has no facts")
    return thaw(notice.letter_facts)


def verify_hash(reference: str, code: str) -> str:
    return hashlib.sha256(f"{reference}:{code}".encode()).hexdigest()


def _notice(s: Session, notice_id: int, status: NoticeStatus | None = None) -> Notice:
    notice = s.get(Notice, notice_id)
    if notice is None:
        raise NotFound(f"no notice {notice_id}")
    if status is not None and notice.status is not status:
        raise NoticeError(f"the letter is {notice.status.value}, not {status.value}")
    return notice


def _open_case(s: Session, case_id: int) -> Case:
    case = s.get(Case, case_id)
    if case is None:
        raise NotFound(f"no case {case_id}")
    if case.status is CaseStatus.CLOSED:
        raise NoticeError("the case is closed")
    return case


def _prior(s: Session, case_id: int) -> tuple[PriorNotice, ...]:
    sent = s.scalars(select(Notice).where(Notice.case_id == case_id, Notice.sent_at.is_not(None),
                                          Notice.status != NoticeStatus.WITHDRAWN)
                     .order_by(Notice.sent_at))  # fmt: skip
    return tuple(PriorNotice(n.reference or "", n.sent_at.astimezone(JST).date(),
                             n.deadline or n.sent_at.date())
                 for n in sent if n.sent_at is not None)  # fmt: skip
