"""A notice's life in the store: drafted from a case with confirmed matches, approved by a
second legal user who saw exactly those facts, sent (outbox or SMTP), answered, rescinded;
and the re-check after the deadline. Every step audited; no personal data in the letter."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from email import message_from_bytes as _parse
from email import policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import select, update

from casework.accounts import add_user
from casework.cases import open_case
from casework.permissions import Actor, Forbidden, Principal
from notices import followup
from notices.workflow import (
    NoticeError,
    approve_notice,
    draft_notice,
    record_reply,
    rescind_notice,
    send_notice,
    today_jst,
)
from store.matching import build_index, match_listing_rows
from store.models import (
    AuditEvent,
    Business,
    CandidateMatch,
    Case,
    CaseStatus,
    Household,
    Listing,
    ListingRow,
    Notice,
    NoticeKind,
    NoticeStatus,
    RecheckOutcome,
    ReplyKind,
    ReviewState,
    Role,
    SendChannel,
    WatchlistPerson,
)
from store.runtime import Store
from store.sealed import NOTIFY_EMAIL

# What identifies a person (gender and relationship are categories: 本人 is also a word).
IDENTIFYING = (
    "name",
    "name_kana",
    "birthdate",
    "postal_code",
    "address",
    "phone",
    "fax",
    "due_date",
    "email",
)
Rows = tuple[list[dict[str, str]], list[dict[str, str]]]


@dataclass
class Office:
    case_id: int
    drafter: Principal
    approver: Principal
    investigator: Principal


def _legal(store: Store, name: str, role: Role = Role.LEGAL) -> Principal:
    uid = add_user(store, name, "a long enough password", role, actor="test")
    return Principal(Actor(role.value), user_id=uid, name=name)


@pytest.fixture
def office(store: Store, loaded_listing: Rows) -> Office:
    """A business whose listing holds confirmed matches (the truth stands in for reviewers),
    and its open case."""
    _, truth = loaded_listing
    match_listing_rows(store, build_index(store))
    with store.sessions.begin() as s:
        business = Business(name="株式会社テスト名簿", representative="代表取締役 試験 一郎")
        s.add(business)
        s.flush()
        s.execute(update(Listing).values(business_id=business.id, title="TEST-LIST-2026",
                                         url="http://127.0.0.1:9/list"))  # fmt: skip
        ref_of = dict(s.execute(select(ListingRow.id, ListingRow.row_ref)).all())
        rec_of = dict(s.execute(select(WatchlistPerson.id, WatchlistPerson.record_ref)).all())
        want = {t["row_id"]: t["record_id"] for t in truth if t["record_id"]}
        for c in s.scalars(select(CandidateMatch)):
            right = want.get(ref_of[c.listing_row_id]) == rec_of[c.person_id]
            c.review_state = ReviewState.CONFIRMED if right else ReviewState.REJECTED
        case_id = open_case(s, business.id, "テスト名簿の件")
    return Office(case_id, _legal(store, "legal-a"), _legal(store, "legal-b"),
                  _legal(store, "inv-a", Role.INVESTIGATOR))  # fmt: skip


def message_from_bytes(data: bytes) -> EmailMessage:
    return _parse(data, policy=policy.default)  # type: ignore[return-value]


def _events(store: Store, action: str) -> list[AuditEvent]:
    with store.sessions() as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_draft_approve_send_by_mail_into_the_outbox(store: Store, office: Office) -> None:
    drafted = draft_notice(store, office.drafter, office.case_id)
    assert drafted.reference.startswith(f"{today_jst().year}-")
    with store.sessions() as s:
        notice = s.get(Notice, drafted.notice_id)
        assert notice is not None and notice.status is NoticeStatus.DRAFT
        assert drafted.verify_code not in (notice.verify_hash or "")  # only its hash is kept
        assert "TEST-LIST-2026" in notice.body and "通知書" in notice.body
    # Four eyes: not the drafter, not an investigator, not a changed letter.
    with pytest.raises(NoticeError, match="another legal user"):
        approve_notice(store, office.drafter, drafted.notice_id, drafted.facts_sha256)
    with pytest.raises(Forbidden):
        approve_notice(store, office.investigator, drafted.notice_id, drafted.facts_sha256)
    with pytest.raises(NoticeError, match="changed since"):
        approve_notice(store, office.approver, drafted.notice_id, "0" * 64)
    with pytest.raises(NoticeError, match="not approved"):  # no sending before approval
        send_notice(store, office.drafter, drafted.notice_id, SendChannel.EMAIL,
                    email="info@broker.example")  # fmt: skip
    approve_notice(store, office.approver, drafted.notice_id, drafted.facts_sha256)
    where = send_notice(store, office.drafter, drafted.notice_id, SendChannel.EMAIL,
                        email="info@broker.example")  # fmt: skip
    mail = message_from_bytes(Path(where).read_bytes())
    assert mail["To"] == "info@broker.example" and drafted.reference in mail["Subject"]
    pdf = [p for p in mail.walk() if p.get_content_type() == "application/pdf"]
    assert len(pdf) == 1 and pdf[0].get_payload(decode=True).startswith(b"%PDF")
    assert oct(Path(where).stat().st_mode & 0o777) == "0o600"
    with store.sessions() as s:
        notice = s.get(Notice, drafted.notice_id)
        case = s.get(Case, office.case_id)
        assert notice is not None and case is not None
        assert notice.status is NoticeStatus.SENT and notice.pdf_sha256
        assert case.status is CaseStatus.NOTICED
    for action in ("notice.drafted", "notice.approved", "notice.sent"):
        assert len(_events(store, action)) == 1, action


def test_reply_rescind_and_the_rules_between(store: Store, office: Office) -> None:
    d = draft_notice(store, office.drafter, office.case_id)
    with pytest.raises(NoticeError, match="takes no reply"):
        record_reply(store, office.drafter, d.notice_id, ReplyKind.COMPLIED, "")
    with pytest.raises(NoticeError, match="needs a reason"):
        rescind_notice(store, office.drafter, d.notice_id, " ")
    rescind_notice(store, office.approver, d.notice_id, "wrong business")
    with pytest.raises(NoticeError, match="withdrawn"):
        approve_notice(store, office.approver, d.notice_id, d.facts_sha256)
    d2 = draft_notice(store, office.drafter, office.case_id)
    approve_notice(store, office.approver, d2.notice_id, d2.facts_sha256)
    with pytest.raises(NoticeError, match="内容証明 reference"):
        send_notice(store, office.approver, d2.notice_id, SendChannel.POST)
    send_notice(store, office.approver, d2.notice_id, SendChannel.POST,
                posted_reference="第12345号")  # fmt: skip
    record_reply(store, office.drafter, d2.notice_id, ReplyKind.COMPLIED, "certificate came")
    with store.sessions() as s:
        case = s.get(Case, office.case_id)
        notice = s.get(Notice, d2.notice_id)
        assert case is not None and case.status is CaseStatus.COMPLIED
        assert notice is not None and notice.posted_reference == "第12345号"
    assert _events(store, "notice.rescinded")[0].reason == "wrong business"


def test_a_letter_says_nothing_of_the_records_the_listing_did_not_publish(
    store: Store, office: Office, loaded_listing: Rows
) -> None:
    """Every watchlist value of the matched persons that the listing itself did not show
    must be absent from the letter (and so is any word of seeds)."""
    from notices.facts import thaw
    from notices.render import render_html, render_text

    rows, _ = loaded_listing
    with store.sessions.begin() as s:  # one matched record is a decoy: the grade says so
        s.scalars(
            select(WatchlistPerson)
            .join(CandidateMatch)
            .where(CandidateMatch.review_state == ReviewState.CONFIRMED)
        ).first().is_seed = True  # type: ignore[union-attr]
    d = draft_notice(store, office.drafter, office.case_id)
    with store.sessions() as s:
        facts = thaw(s.get(Notice, d.notice_id).letter_facts)  # type: ignore[union-attr, arg-type]
        persons = s.scalars(
            select(WatchlistPerson)
            .join(CandidateMatch)
            .where(CandidateMatch.review_state == ReviewState.CONFIRMED)
        ).all()
        values = {
            v
            for p in persons
            for k, v in store.vault.open_json(p.pii, "watchlist_person.pii").items()
            if k in IDENTIFYING and v
        }
    published = {v for r in rows for v in r.values()}
    letter = "\n".join(render_text(facts)) + render_html(facts)
    leaked = sorted(v for v in values - published if v in letter)
    assert persons and values and leaked == []
    for word in ("seed", "おとり", "仕込"):
        assert word not in letter


def test_recheck_closes_when_the_rows_are_gone_and_tells_the_customer_once(
    store: Store, office: Office, tmp_path: Path
) -> None:
    with store.sessions.begin() as s:  # one customer opted in, one household with a match
        hid = s.scalars(
            select(Household.id)
            .join(WatchlistPerson)
            .join(CandidateMatch)
            .where(CandidateMatch.review_state == ReviewState.CONFIRMED)
        ).first()
        household = s.get(Household, hid)
        household.notify_opt_in = True  # type: ignore[union-attr]
        household.notify_email_sealed = store.vault.seal(b"parent@example.jp", NOTIFY_EMAIL)  # type: ignore[union-attr]
    d = draft_notice(store, office.drafter, office.case_id)
    approve_notice(store, office.approver, d.notice_id, d.facts_sha256)
    send_notice(store, office.approver, d.notice_id, SendChannel.POST, posted_reference="1")
    assert followup.due_rechecks(store) == []  # the deadline has not passed
    later = today_jst() + timedelta(days=30)
    assert [r.notice_id for r in followup.due_rechecks(store, later)] == [d.notice_id]
    with store.sessions.begin() as s:  # the broker took the rows down
        s.execute(update(ListingRow).values(gone_at=s.scalar(select(Notice.sent_at))))
    assert followup.conclude_recheck(store, d.notice_id) is RecheckOutcome.REMOVED
    with store.sessions() as s:
        case = s.get(Case, office.case_id)
        assert case is not None and case.status is CaseStatus.CLOSED
    assert followup.notify_customers(store) == 1
    assert followup.notify_customers(store) == 0  # told once
    mails = list(store.settings.outbox_dir.glob("*.eml"))
    assert len(mails) == 1
    text = message_from_bytes(mails[0].read_bytes()).get_content()
    assert "削除されたことを確認" in text and "利用停止" in text


def test_recheck_drafts_a_reminder_when_the_rows_are_still_there(
    store: Store, office: Office
) -> None:
    d = draft_notice(store, office.drafter, office.case_id)
    approve_notice(store, office.approver, d.notice_id, d.facts_sha256)
    send_notice(store, office.approver, d.notice_id, SendChannel.POST, posted_reference="1")
    assert followup.conclude_recheck(store, d.notice_id) is RecheckOutcome.STILL_THERE
    with pytest.raises(LookupError):  # once per letter
        followup.conclude_recheck(store, d.notice_id)
    with store.sessions() as s:
        reminder = s.scalars(select(Notice).where(Notice.kind == NoticeKind.REMINDER)).one()
        assert reminder.status is NoticeStatus.DRAFT and reminder.drafted_by_id is None
        assert d.reference in reminder.body  # it cites the first letter
    # A scheduler's draft is approved by any legal user (no one drafted it).
    approve_notice(store, office.drafter, reminder.id, reminder.facts_sha256 or "")


def test_digest_counts_go_to_the_configured_addresses(
    store: Store, office: Office, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert followup.daily_digest(store) == 0  # nobody configured: nothing sent
    draft_notice(store, office.drafter, office.case_id)
    monkeypatch.setenv("LEAKWATCH_DIGEST_TO", "team@office.example")
    from store.settings import load_settings

    store.settings = load_settings()  # type: ignore[misc]
    assert followup.daily_digest(store) == 1
    body = message_from_bytes(next(store.settings.outbox_dir.glob("*.eml")).read_bytes())
    text = body.get_content()
    assert "承認待ちの通知書の下書き: 1件" in text
