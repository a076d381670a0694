"""Follow-up that must not depend on anyone remembering a date: the scheduler's steps.

- After a letter's deadline its listings are crawled again (the scheduler runs the crawls:
  ``due_rechecks`` says which sources), then ``conclude_recheck`` decides: every cited
  listing removed, or none of its confirmed rows still published → the case closes as
  removed; otherwise a reminder is drafted (a final notice after two letters) for the legal
  team to approve.
- Customers who opted in are told, once per event and at most one message per run, that a
  business was asked to stop using their data and that the listing is gone
  (``notify_customers``). The message names no one and no value: it asks them to sign in.
- Investigators get a daily digest of counts (``daily_digest``).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from casework.cases import close_as_removed
from notices import mailer
from notices.facts import cited_listings
from notices.workflow import LIVE, draft, today_jst
from store import audit
from store.models import (
    CandidateMatch,
    Case,
    CaseStatus,
    CustomerNotice,
    CustomerReport,
    Household,
    Listing,
    ListingRow,
    ListingStatus,
    Notice,
    NoticeKind,
    NoticeStatus,
    RecheckOutcome,
    ReviewState,
    WatchlistPerson,
    utcnow,
)
from store.runtime import Store
from store.sealed import NOTIFY_EMAIL

ACTOR = "scheduler"
EVENTS = {
    "noticed": "お客様の情報を含む名簿を掲載していた事業者に、利用停止を求める通知書を送りました。",
    "removed": "お客様の情報を含む名簿が削除されたことを確認しました。",
}


@dataclass(frozen=True, slots=True)
class Recheck:
    notice_id: int
    case_id: int
    source_ids: tuple[int, ...]


def due_rechecks(store: Store, today: date | None = None) -> list[Recheck]:
    """Letters whose deadline has passed with no re-check yet, and the sources to crawl."""
    today = today or today_jst()
    with store.sessions() as s:
        due = s.scalars(select(Notice).where(Notice.status.in_(LIVE), Notice.deadline < today,
                                             Notice.rechecked_at.is_(None))
                        .order_by(Notice.id))  # fmt: skip
        out = []
        for notice in due:
            case = s.get(Case, notice.case_id)
            if case is None or case.status is CaseStatus.CLOSED:
                continue
            sources = {lst.source_id for lst, _ in cited_listings(s, case) if lst.source_id}
            out.append(Recheck(notice.id, case.id, tuple(sorted(sources))))
        return out


def still_published(s: Session, case: Case) -> int:
    """Confirmed rows of the case's listings still published (listing not removed, row not
    gone)."""
    return s.scalar(
        select(func.count()).select_from(CandidateMatch)
        .join(ListingRow, ListingRow.id == CandidateMatch.listing_row_id)
        .join(Listing, Listing.id == ListingRow.listing_id)
        .where(Listing.business_id == case.business_id,
               CandidateMatch.review_state == ReviewState.CONFIRMED,
               Listing.status != ListingStatus.REMOVED, ListingRow.gone_at.is_(None))
    ) or 0  # fmt: skip


def conclude_recheck(store: Store, notice_id: int) -> RecheckOutcome:
    """After the re-crawl of a letter's listings: close the case as removed, or draft the
    next letter. Done once per letter (``rechecked_at``)."""
    with store.sessions.begin() as s:
        notice = s.get(Notice, notice_id)
        if notice is None or notice.rechecked_at is not None:
            raise LookupError(f"notice {notice_id} is not awaiting a re-check")
        case = s.get(Case, notice.case_id)
        assert case is not None
        remaining = still_published(s, case)
        outcome = RecheckOutcome.STILL_THERE if remaining else RecheckOutcome.REMOVED
        notice.rechecked_at, notice.recheck_outcome = utcnow(), outcome
        audit.record(
            s,
            ACTOR,
            "notice.rechecked",
            object_type="notice",
            object_id=notice_id,
            details={"outcome": outcome.value, "rows_still_published": remaining},
        )
        letters = (
            s.scalar(
                select(func.count()).where(Notice.case_id == case.id, Notice.sent_at.is_not(None))
            )
            or 0
        )
        if outcome is RecheckOutcome.REMOVED:
            close_as_removed(s, case.id, ACTOR, f"re-check after {notice.reference}: removed")
            owe_customers(s, case.id, "removed")
        case_id = case.id
    if outcome is RecheckOutcome.STILL_THERE:
        kind = NoticeKind.REMINDER if letters < 2 else NoticeKind.ESCALATION
        draft(store, case_id, kind, ACTOR, None)
    return outcome


def owe_customers(s: Session, case_id: int, event: str) -> int:
    """Note the event for every opted-in household with a confirmed match in the case's
    listings (once per household, case and event). Returns how many were noted."""
    case = s.get(Case, case_id)
    assert case is not None
    households = set(s.scalars(
        select(Household.id)
        .join(WatchlistPerson, WatchlistPerson.household_id == Household.id)
        .join(CandidateMatch, CandidateMatch.person_id == WatchlistPerson.id)
        .join(ListingRow, ListingRow.id == CandidateMatch.listing_row_id)
        .join(Listing, Listing.id == ListingRow.listing_id)
        .where(Listing.business_id == case.business_id, Household.notify_opt_in.is_(True),
               CandidateMatch.review_state == ReviewState.CONFIRMED)
    ))  # fmt: skip
    known = set(
        s.scalars(
            select(CustomerNotice.household_id).where(
                CustomerNotice.case_id == case_id, CustomerNotice.event == event
            )
        )
    )
    for household_id in sorted(households - known):
        s.add(CustomerNotice(household_id=household_id, case_id=case_id, event=event))
    return len(households - known)


def notify_customers(store: Store) -> int:
    """One e-mail per household for everything it has not been told yet. Returns how many
    messages went out; a household whose message failed is tried again next run."""
    with store.sessions() as s:
        pending: dict[int, list[CustomerNotice]] = defaultdict(list)
        for n in s.scalars(select(CustomerNotice).where(CustomerNotice.sent_at.is_(None))
                           .order_by(CustomerNotice.id)):  # fmt: skip
            pending[n.household_id].append(n)
        sealed = {
            h.id: h.notify_email_sealed
            for h in s.scalars(
                select(Household).where(Household.id.in_(pending), Household.notify_opt_in)
            )
        }
    sent = 0
    for household_id, events in pending.items():
        blob = sealed.get(household_id)
        if blob is not None:
            _tell(store, store.vault.open(blob, NOTIFY_EMAIL).decode(), events)
            sent += 1
        with store.sessions.begin() as s:  # opted out since: nothing to send, nothing owed
            for n in events:
                s.get(CustomerNotice, n.id).sent_at = utcnow()  # type: ignore[union-attr]
    return sent


def _tell(store: Store, email: str, events: list[CustomerNotice]) -> None:
    lines = [f"・{EVENTS.get(n.event, n.event)}" for n in events]
    settings = store.settings
    public = settings.leakwatch_public_url.rstrip("/")
    body = "\n".join([
        "お客様", "",
        f"{settings.leakwatch_sender_name} {settings.leakwatch_sender_department}です。",
        "お客様の情報の不正な利用について、次のとおりご報告します。", "", *lines, "",
        f"詳しくは {public}/ にログインしてご確認ください。",
        "このメールには、お客様の個人情報は記載していません。",
    ])  # fmt: skip
    mailer.send(
        store.settings,
        mailer.compose(store.settings, email, "【ご報告】流出した情報の利用停止について", body),
    )


@dataclass(frozen=True, slots=True)
class Digest:
    pending_review: int
    new_reports: int
    deadlines_passed: int
    drafts_awaiting_approval: int
    open_cases: int


def digest_counts(store: Store, today: date | None = None) -> Digest:
    today = today or today_jst()
    since = utcnow() - timedelta(days=1)
    with store.sessions() as s:

        def count(query: object) -> int:
            return s.scalar(query) or 0  # type: ignore[call-overload]

        return Digest(
            count(select(func.count()).where(CandidateMatch.review_state == ReviewState.PENDING,
                                             CandidateMatch.decision != "nonmatch")),
            count(select(func.count()).where(CustomerReport.created_at >= since)),
            count(select(func.count()).where(Notice.status.in_(LIVE), Notice.deadline < today)),
            count(select(func.count()).where(Notice.status == NoticeStatus.DRAFT)),
            count(select(func.count()).where(Case.status != CaseStatus.CLOSED)),
        )  # fmt: skip


def daily_digest(store: Store, today: date | None = None) -> int:
    """The investigators' morning mail (counts only) to ``LEAKWATCH_DIGEST_TO``. Returns how
    many addresses it went to."""
    to = [a.strip() for a in store.settings.leakwatch_digest_to.split(",") if a.strip()]
    if not to:
        return 0
    d = digest_counts(store, today)
    public = store.settings.leakwatch_public_url.rstrip("/")
    body = "\n".join([
        f"確認待ちの照合候補: {d.pending_review}件", f"この24時間の新しい通報: {d.new_reports}件",
        f"回答期限を過ぎた通知書: {d.deadlines_passed}件",
        f"承認待ちの通知書の下書き: {d.drafts_awaiting_approval}件",
        f"対応中の案件: {d.open_cases}件", "", f"{public}/staff",
    ])  # fmt: skip
    msg = mailer.compose(store.settings, ", ".join(to), "LeakWatch 日次ダイジェスト", body)
    mailer.send(store.settings, msg)
    return len(to)
