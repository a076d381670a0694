"""The demo's web part: staff accounts for every role, a business with a case, findings a
reviewer confirmed, reports from a customer and the hotline — so a newcomer can sign in and
click through every screen. Passwords are random, kept in LEAKWATCH_HOME/demo (0600), and
printed; demo accounts are named demo-*, and a production server refuses to start while one
is active."""

from __future__ import annotations

import csv
import secrets
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from casework.accounts import DEMO_PREFIX, add_user, list_users
from casework.intake import ReportForm, file_report, process_report
from casework.permissions import Actor, Principal
from casework.resident import ResidentIndex
from casework.review import label_candidate
from notices.workflow import draft_notice
from store.models import (
    Business,
    CandidateMatch,
    Case,
    ContactKind,
    CustomerReport,
    Decision,
    Household,
    Listing,
    ListingRow,
    Notice,
    ReviewState,
    Role,
    User,
    WatchlistPerson,
)
from store.private_files import private_text
from store.runtime import Store

BUSINESS = "株式会社デモ名簿センター"
SECOND_LEGAL = DEMO_PREFIX + "legal-2"


@dataclass(frozen=True, slots=True)
class DemoSignIns:
    users: dict[str, str]  # user name -> password
    customers: list[tuple[str, str]]  # (registration code, login key) with findings


def prepare_web_demo(store: Store, demo_dir: Path) -> DemoSignIns:
    users = _demo_users(store, demo_dir / "demo-users.csv")
    households = _confirm_findings(store)
    customers = _keys_of(store, demo_dir, households)
    _demo_reports(store, households[:1])
    _demo_letter(store)
    return DemoSignIns(users, customers)


def _demo_users(store: Store, kept: Path) -> dict[str, str]:
    """One account per role; the passwords made the first time are kept for the re-runs."""
    known = {}
    if kept.exists():
        with open(kept, encoding="utf-8") as handle:
            known = {row["username"]: row["password"] for row in csv.DictReader(handle)}
    existing = {u.username for u in list_users(store)}
    # A second legal account: a letter is approved by another legal user than its drafter.
    accounts = [(DEMO_PREFIX + role.value, role) for role in Role]
    for name, role in [*accounts, (SECOND_LEGAL, Role.LEGAL)]:
        if name not in existing:
            known[name] = secrets.token_urlsafe(12)
            add_user(store, name, known[name], role, actor="demo",
                     display_name=f"デモ {role.value}")  # fmt: skip
    with private_text(kept) as handle:
        writer = csv.writer(handle)
        writer.writerow(["username", "password"])
        writer.writerows(sorted(known.items()))
    return known


def _demo_letter(store: Store) -> None:
    """The demo case's cease-use letter, drafted by demo-legal, for demo-legal-2 to approve
    on /work/notices (once: a re-run keeps the letter there is)."""
    with store.sessions() as s:
        case_id = s.scalar(select(Case.id).join(Business).where(Business.name == BUSINESS))
        drafter = s.scalar(select(User.id).where(User.username == DEMO_PREFIX + "legal"))
        drafted = s.scalar(select(Notice.id).where(Notice.case_id == case_id))
    if case_id is None or drafter is None or drafted is not None:
        return
    principal = Principal(Actor.LEGAL, user_id=drafter, name=DEMO_PREFIX + "legal")
    draft_notice(store, principal, case_id)


def _confirm_findings(store: Store, households: int = 3) -> list[int]:
    """A reviewer confirms the matches of a few households in the crawled listings, and the
    listings are put under one business with a case (as an investigator would)."""
    with store.sessions.begin() as s:
        business = s.scalars(select(Business).where(Business.name == BUSINESS)).first()
        if business is None:
            business = Business(name=BUSINESS)
            s.add(business)
            s.flush()
            s.add(Case(business_id=business.id, title=BUSINESS))
        for listing in s.scalars(select(Listing)):
            listing.business_id = business.id
        matches = s.execute(
            select(CandidateMatch.id, WatchlistPerson.household_id)
            .join(WatchlistPerson, WatchlistPerson.id == CandidateMatch.person_id)
            .join(ListingRow, ListingRow.id == CandidateMatch.listing_row_id)
            .where(CandidateMatch.decision == Decision.MATCH,
                   WatchlistPerson.is_seed.is_(False))
            .order_by(CandidateMatch.score.desc(), CandidateMatch.id)
        ).all()  # fmt: skip
    chosen: list[int] = []
    for match_id, household in matches:
        if household not in chosen and len(chosen) >= households:
            continue
        if household not in chosen:
            chosen.append(household)
        label_candidate(store, match_id, ReviewState.CONFIRMED, actor="demo",
                        note="the demo's reviewer")  # fmt: skip
    return chosen


def _keys_of(store: Store, demo_dir: Path, households: list[int]) -> list[tuple[str, str]]:
    """The letter's code and key of those households, from the demo's first codes export."""
    first = demo_dir / "household-codes.csv"
    if not first.exists():
        return []
    with store.sessions() as s:
        refs = list(s.scalars(select(Household.household_ref)
                              .where(Household.id.in_(households))))  # fmt: skip
    with open(first, encoding="utf-8") as handle:
        rows = {row["household_id"]: row for row in csv.DictReader(handle)}
    return [(rows[ref]["registration_code"], rows[ref]["login_key"])
            for ref in refs if ref in rows]  # fmt: skip


def _demo_reports(store: Store, households: list[int]) -> None:
    """A customer's report and a hotline report, the first time only."""
    with store.sessions() as s:
        if s.scalar(select(CustomerReport.id).limit(1)) is not None:
            return
        refs = dict(s.execute(select(Household.id, Household.household_ref)
                              .where(Household.id.in_(households))).all())  # fmt: skip
        operator = s.scalar(select(User.id).where(User.username == DEMO_PREFIX + "operator"))
    resident = ResidentIndex()
    form = ReportForm(contact_kind=ContactKind.MAIL, business_name="(株)デモ名簿センター",
                      description="子ども向け教材のダイレクトメールが届いた（デモ）")  # fmt: skip
    for household in households:
        customer = Principal(Actor.CUSTOMER, household_id=household, name=refs[household])
        process_report(store, file_report(store, customer, form, []).report_id, resident)
    hotline = Principal(Actor.OPERATOR, user_id=operator, name=DEMO_PREFIX + "operator")
    call = ReportForm(
        contact_kind=ContactKind.CALL,
        business_name="デモ名簿センター",
        description="営業電話があった（デモ）",
        reporter_phone="090-0000-0000",
    )
    process_report(store, file_report(store, hotline, call, []).report_id, resident)
