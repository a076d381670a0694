"""Reading letters: the list, one letter with its evidence and history, its renderings as
files (PDF, HTML, 内容証明 text, e-内容証明 Word), the clause library and the templates as
the legal team edits them, and a preview of the letter a case would get.

Every rendering of a drafted letter is made from its frozen facts (``notices.facts.thaw``),
never from the case as it has become since; a download is audited like every export. The
``*_for`` / ``notice_*`` functions without a principal are the CLI's (a shell holding the
store's key reads everything, as ``leakwatch audit export`` does); the pages call the ones
that take a principal and check its right first.
"""

from __future__ import annotations

import enum
import hashlib
import tempfile
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from importlib import resources
from pathlib import Path

from sqlalchemy import select

from casework.permissions import Action, Principal, require
from casework.staff import Download, NotFound
from notices.clauses import clauses_for
from notices.docx_letter import write_docx
from notices.edits import EDITABLE, clause_library, template_source
from notices.facts import Heading, case_facts
from notices.letter import Clause, LetterFacts, LetterKind
from notices.naiyo import Layout
from notices.render import TITLES, render_html, render_naiyo, render_pdf, template_name
from notices.workflow import LETTER_KIND, letter_facts, today_jst
from store import audit
from store.models import AuditEvent, Business, Case, Notice, NoticeKind, NoticeStatus, User
from store.runtime import Store

# A preview is no letter: its reference and code are all zeros (a reference is digits only,
# so 下書き cannot be printed in its place), and /verify never confirms them.
PREVIEW_REFERENCE = "0000-000000"
PREVIEW_CODE = "00000000"


class LetterFormat(enum.StrEnum):
    PDF = "pdf"
    HTML = "html"
    NAIYO = "naiyo"  # the 内容証明 text, laid out in the post office's grid
    DOCX = "docx"  # e-内容証明


MEDIA = {
    LetterFormat.PDF: ("application/pdf", "pdf"),
    LetterFormat.HTML: ("text/html; charset=utf-8", "html"),
    LetterFormat.NAIYO: ("text/plain; charset=utf-8", "txt"),
    LetterFormat.DOCX: (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "docx",
    ),
}


@dataclass(frozen=True, slots=True)
class NoticeLine:
    id: int
    reference: str
    case_id: int
    case_title: str
    business: str
    kind: NoticeKind
    status: NoticeStatus
    deadline: date | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    at: datetime
    actor: str
    action: str
    reason: str | None


@dataclass(frozen=True)
class NoticeView:
    line: NoticeLine
    notice: Notice  # detached: its columns as read
    title: str  # 通知書, 催告書 or 最終通告書
    facts: LetterFacts | None
    drafted_by: str  # user name, or "scheduler" for a reminder nobody drafted
    approved_by: str | None
    sent_by: str | None
    history: list[HistoryEntry]


@dataclass(frozen=True, slots=True)
class TemplateText:
    name: str
    source: str
    edited: bool  # False: the packaged template stands


def list_notices(store: Store, principal: Principal, case_id: int | None = None
                 ) -> list[NoticeLine]:  # fmt: skip
    require(principal, Action.VIEW_NOTICES)
    return notice_lines(store, case_id)


def notice_lines(store: Store, case_id: int | None = None) -> list[NoticeLine]:
    """Every letter (or the case's), newest first."""
    query = (select(Notice, Case.title, Business.name)
             .join(Case, Case.id == Notice.case_id)
             .join(Business, Business.id == Case.business_id)
             .order_by(Notice.id.desc()))  # fmt: skip
    if case_id is not None:
        query = query.where(Notice.case_id == case_id)
    with store.sessions() as s:
        return [_line(n, title, name) for n, title, name in s.execute(query)]


def _line(n: Notice, case_title: str, business: str) -> NoticeLine:
    return NoticeLine(n.id, n.reference or "", n.case_id, case_title, business, n.kind, n.status,
                      n.deadline, n.created_at)  # fmt: skip


def view_notice(store: Store, principal: Principal, notice_id: int) -> NoticeView:
    require(principal, Action.VIEW_NOTICES)
    return notice_view(store, notice_id)


def notice_view(store: Store, notice_id: int) -> NoticeView:
    """One letter: its columns, frozen facts, who drafted, approved and sent it, and every
    audit event about it (the letter's own chain of custody)."""
    with store.sessions() as s:
        row = s.execute(select(Notice, Case.title, Business.name)
                        .join(Case, Case.id == Notice.case_id)
                        .join(Business, Business.id == Case.business_id)
                        .where(Notice.id == notice_id)).first()  # fmt: skip
        if row is None:
            raise NotFound(f"no notice {notice_id}")
        notice, case_title, business = row
        ids = [notice.drafted_by_id, notice.approved_by_id, notice.sent_by_id]
        wanted = [i for i in ids if i is not None]
        names: dict[int | None, str] = {
            uid: name
            for uid, name in s.execute(select(User.id, User.username).where(User.id.in_(wanted)))
        }
        events = s.execute(select(AuditEvent.at, AuditEvent.actor, AuditEvent.action,
                                  AuditEvent.reason)
                           .where(AuditEvent.object_type == "notice",
                                  AuditEvent.object_id == str(notice_id))
                           .order_by(AuditEvent.seq))  # fmt: skip
        history = [HistoryEntry(*e) for e in events]
    return NoticeView(
        _line(notice, case_title, business), notice, TITLES[LETTER_KIND[notice.kind]],
        letter_facts(notice) if notice.letter_facts else None,
        names.get(notice.drafted_by_id, "scheduler"), names.get(notice.approved_by_id),
        names.get(notice.sent_by_id), history,
    )  # fmt: skip


def find_notice(store: Store, reference: str) -> int | None:
    """The id of the letter with this 文書番号."""
    with store.sessions() as s:
        return s.scalar(select(Notice.id).where(Notice.reference == reference.strip()))


def latest_notice(store: Store, case_id: int) -> int | None:
    """The case's latest letter that was not withdrawn."""
    with store.sessions() as s:
        return s.scalar(select(Notice.id).where(Notice.case_id == case_id,
                                                Notice.status != NoticeStatus.WITHDRAWN)
                        .order_by(Notice.id.desc()).limit(1))  # fmt: skip


def render_letter(store: Store, facts: LetterFacts, fmt: LetterFormat,
                  layout: Layout = Layout.H20x26) -> bytes:  # fmt: skip
    """The letter in ``fmt``, with the legal team's edits of its templates."""
    with store.sessions() as s:
        html = template_source(s, template_name(facts.kind, "html"))
        txt = template_source(s, template_name(facts.kind, "txt"))
    if fmt is LetterFormat.PDF:
        return render_pdf(facts, html)
    if fmt is LetterFormat.HTML:
        return render_html(facts, html).encode()
    if fmt is LetterFormat.NAIYO:
        return render_naiyo(facts, layout, txt).encode()
    text = render_naiyo(facts, Layout.WORD, txt)  # the Word file has a grid of its own
    with tempfile.TemporaryDirectory(prefix="leakwatch-docx-") as folder:
        path = Path(folder) / "letter.docx"
        write_docx(text, path, Layout.WORD)  # refuses what e-内容証明 would (NotWordText, too long)
        return path.read_bytes()


def download_notice(store: Store, principal: Principal, notice_id: int, fmt: LetterFormat,
                    layout: Layout = Layout.H20x26) -> Download:  # fmt: skip
    require(principal, Action.VIEW_NOTICES)
    return notice_file(store, notice_id, fmt, layout, principal.audit_name)


def notice_file(store: Store, notice_id: int, fmt: LetterFormat, layout: Layout,
                actor: str) -> Download:  # fmt: skip
    """A drafted letter rendered from its frozen facts, as a file; audited as an export."""
    with store.sessions() as s:
        notice = s.get(Notice, notice_id)
        if notice is None:
            raise NotFound(f"no notice {notice_id}")
        facts = letter_facts(notice)
    content = render_letter(store, facts, fmt, layout)
    media, ext = MEDIA[fmt]
    suffix = f"-{layout.value}" if fmt in (LetterFormat.NAIYO, LetterFormat.DOCX) else ""
    with store.sessions.begin() as s:
        audit.record(s, actor, "notice.downloaded", object_type="notice", object_id=notice_id,
                     details={"format": fmt.value, "layout": suffix.lstrip("-") or None,
                              "sha256": hashlib.sha256(content).hexdigest()})  # fmt: skip
    return Download(f"{facts.reference}{suffix}.{ext}", media, content)


def preview_facts(store: Store, case_id: int) -> LetterFacts:
    """The cease-use letter the case would get now, not stored: reference and code zeros."""
    with store.sessions() as s:
        if s.get(Case, case_id) is None:
            raise NotFound(f"no case {case_id}")
        library = clause_library(s)
    issued = today_jst()
    heading = Heading(LetterKind.CEASE_USE, PREVIEW_REFERENCE, PREVIEW_CODE, issued,
                      issued + timedelta(days=store.settings.leakwatch_notice_deadline_days),
                      clauses_for(LetterKind.CEASE_USE, library))  # fmt: skip
    return case_facts(store, case_id, heading)


def letter_clauses(store: Store, principal: Principal) -> list[Clause]:
    """The clause library as the legal team left it, for editing."""
    require(principal, Action.EDIT_LETTERS)
    with store.sessions() as s:
        return list(clause_library(s).values())


def letter_template(store: Store, principal: Principal, name: str) -> TemplateText:
    """An editable template's source: the legal team's edit, or the packaged one."""
    require(principal, Action.EDIT_LETTERS)
    if name not in EDITABLE:
        raise NotFound(f"no editable template {name!r}")
    with store.sessions() as s:
        edited = template_source(s, name)
    if edited is not None:
        return TemplateText(name, edited, True)
    packaged = (resources.files("notices") / "templates" / name).read_text("utf-8")
    return TemplateText(name, packaged, False)
