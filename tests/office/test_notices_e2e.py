"""End to end, with real parts: the fixture broker site is crawled, its rows match the
watchlist, reviewers confirm them, the case gets a letter that a second legal user approves
and that goes to a real SMTP server; then the site takes the listing down (or does not) and
the scheduled re-check closes the case (or drafts a reminder). The customer who opted in
gets one e-mail."""

from __future__ import annotations

import csv
import mailbox
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import pytest
from sqlalchemy import select, update

from casework.accounts import add_user
from casework.cases import open_case
from casework.customers import set_notifications
from casework.permissions import Actor, Principal
from casework.review import label_candidate
from crawler.launch import add_source
from crawler.scheduled import crawl_scheduled_source
from notices.workflow import approve_notice, draft_notice, send_notice, today_jst
from office.jobs import notify_customers, recheck_notices
from store.models import (
    Business,
    CandidateMatch,
    Case,
    CaseStatus,
    Decision,
    Household,
    Listing,
    ListingRow,
    Notice,
    NoticeKind,
    NoticeStatus,
    ReviewState,
    Role,
    SendChannel,
    WatchlistPerson,
)
from store.runtime import Store
from store.settings import load_settings
from store.watchlist_import import import_watchlist
from synth.broker_web import build_fixture

CUSTOMER_MAIL = "parent@example.jp"
BUSINESS_MAIL = "info@broker.example"


def _takedown(base: str, mode: str) -> None:
    with urllib.request.urlopen(f"{base}/_control/takedown?mode={mode}", timeout=5) as r:
        assert r.read() == mode.encode()


def _mails(maildir: Path, to: str) -> dict[str, EmailMessage]:
    """The messages the SMTP server accepted for ``to``, by Message-ID (the server is the
    session's: a test compares what it found before and after)."""
    box = mailbox.Maildir(maildir, factory=None, create=False)
    parsed = [BytesParser(policy=policy.default).parsebytes(m.as_bytes()) for m in box]
    return {str(m["Message-ID"]): m for m in parsed if m["To"] == to}  # type: ignore[misc]


def _new(maildir: Path, to: str, before: dict[str, EmailMessage]) -> list[EmailMessage]:
    return [m for k, m in _mails(maildir, to).items() if k not in before]


def _user(store: Store, name: str) -> Principal:
    uid = add_user(store, name, "a long enough password", Role.LEGAL, actor="test")
    return Principal(Actor.LEGAL, user_id=uid, name=name)


@pytest.fixture
def found(store: Store, broker_web: str, smtp_server: tuple[int, Path], tmp_path: Path,
          monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[int, int]]:  # fmt: skip
    """The broker's takedown listing crawled, matched and confirmed, its case opened, a
    customer of a matched household opted in: (case id, source id)."""
    port, _ = smtp_server
    monkeypatch.setenv("LEAKWATCH_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("LEAKWATCH_SMTP_PORT", str(port))
    store.settings = load_settings()  # type: ignore[misc]
    watchlist = tmp_path / "w.csv"
    rows = build_fixture().watchlist
    with watchlist.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    import_watchlist(store.sessions, store.vault, watchlist, actor="test", worker=False)
    with store.sessions.begin() as s:
        business = Business(name="株式会社テイクダウン名簿", representative="代表取締役 削除 次郎")
        s.add(business)
        s.flush()
        business_id = business.id
    source_id = add_source(store, "td", [broker_web + "/takedown/"], actor="test",
                           is_local=True, business_id=business_id)  # fmt: skip
    try:
        assert (
            crawl_scheduled_source(store, source_id, actor="test", on_schedule=False).status
            == "finished"
        )
        yield _confirm_and_open(store, business_id), source_id
    finally:
        _takedown(broker_web, "restore")


def _confirm_and_open(store: Store, business_id: int) -> int:
    with store.sessions() as s:
        matched = list(s.scalars(select(CandidateMatch.id).where(
            CandidateMatch.decision == Decision.MATCH)))  # fmt: skip
    assert len(matched) > 10  # the crawl's rows were matched as they arrived
    for candidate_id in matched:  # reviewers confirm them
        label_candidate(store, candidate_id, ReviewState.CONFIRMED, actor="user:inv")
    with store.sessions.begin() as s:
        household = s.scalars(select(Household).join(WatchlistPerson).join(CandidateMatch)
                              .where(CandidateMatch.id == matched[0])).one()  # fmt: skip
        case_id = open_case(s, business_id, "テイクダウン名簿の件")
        customer = Principal(Actor.CUSTOMER, household_id=household.id, name="h")
    set_notifications(store, customer, CUSTOMER_MAIL)
    return case_id


def _notice_sent(store: Store, case_id: int, maildir: Path) -> int:
    drafter, approver = _user(store, "legal-1"), _user(store, "legal-2")
    drafted = draft_notice(store, drafter, case_id)
    approve_notice(store, approver, drafted.notice_id, drafted.facts_sha256)
    earlier = _mails(maildir, BUSINESS_MAIL)
    where = send_notice(store, drafter, drafted.notice_id, SendChannel.EMAIL,
                        email=BUSINESS_MAIL)  # fmt: skip
    assert where.startswith("smtp:127.0.0.1:")
    mine = _new(maildir, BUSINESS_MAIL, earlier)
    assert len(mine) == 1 and drafted.reference in str(mine[0]["Subject"])
    pdf = [p for p in mine[0].iter_attachments() if p.get_content_type() == "application/pdf"]
    assert len(pdf) == 1 and pdf[0].get_content().startswith(b"%PDF")
    with store.sessions.begin() as s:  # the deadline passes
        s.execute(update(Notice).where(Notice.id == drafted.notice_id)
                  .values(deadline=today_jst() - timedelta(days=1)))  # fmt: skip
    return drafted.notice_id


def test_the_listing_taken_down_closes_the_case(
    store: Store, found: tuple[int, int], broker_web: str, smtp_server: tuple[int, Path]
) -> None:
    case_id, _ = found
    _, maildir = smtp_server
    before = _mails(maildir, CUSTOMER_MAIL)
    notice_id = _notice_sent(store, case_id, maildir)
    _takedown(broker_web, "remove")
    assert recheck_notices(store) == {notice_id: "removed"}
    assert recheck_notices(store) == {}  # once
    with store.sessions() as s:
        case = s.get(Case, case_id)
        assert case is not None and case.status is CaseStatus.CLOSED
        assert s.scalars(select(Listing.status)).one().value == "removed"
    assert notify_customers(store) == 1 and notify_customers(store) == 0
    told = _new(maildir, CUSTOMER_MAIL, before)
    assert len(told) == 1
    text = told[0].get_content()
    assert "削除されたことを確認" in text and "利用停止" in text
    with store.sessions() as s:  # the customer's message names no one and no value
        values = [r for r in s.scalars(select(ListingRow.row_ref))]
    assert not any(v in text for v in values)


def test_the_listing_still_there_gets_a_reminder(
    store: Store, found: tuple[int, int], smtp_server: tuple[int, Path]
) -> None:
    case_id, _ = found
    _, maildir = smtp_server
    before = _mails(maildir, CUSTOMER_MAIL)
    notice_id = _notice_sent(store, case_id, maildir)
    assert recheck_notices(store) == {notice_id: "still_there"}
    with store.sessions() as s:
        case = s.get(Case, case_id)
        reminder = s.scalars(select(Notice).where(Notice.kind == NoticeKind.REMINDER)).one()
        assert case is not None and case.status is CaseStatus.NOTICED
        assert reminder.status is NoticeStatus.DRAFT
    assert notify_customers(store) == 1  # told the letter went out, once
    assert len(_new(maildir, CUSTOMER_MAIL, before)) == 1
