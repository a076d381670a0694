"""Round trips through the real database, with Japanese text and every enum-like column."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from store.corporate_number import InvalidCorporateNumber, normalise_corporate_number
from store.models import (
    Business,
    BusinessAlias,
    CandidateMatch,
    Case,
    CaseMatch,
    ContactKind,
    Crawl,
    CustomerReport,
    Decision,
    EvidenceCapture,
    Household,
    Listing,
    ListingRow,
    Notice,
    NoticeKind,
    ReportChannel,
    Role,
    Source,
    User,
    WatchlistPerson,
)
from store.runtime import Store

JST = timezone(timedelta(hours=9))


def _household(ref: str = "H1") -> Household:
    return Household(
        household_ref=ref,
        registration_code=f"CODE-{ref}",
        login_key_salt=b"s" * 16,
        login_key_hash=b"h" * 32,
    )


def test_whole_domain_round_trip(store: Store) -> None:
    fetched_at = datetime(2026, 11, 1, 9, 30, 15, 123456, tzinfo=JST)
    with store.sessions.begin() as s:
        biz = Business(
            name="株式会社名簿センター",
            corporate_number="７０００－０１２０５０００２",
            representative="代表取締役 山田 太郎",
            address="大阪府大阪市北区梅田一丁目1番1号",
        )
        biz.aliases.append(BusinessAlias(alias="名簿の森"))
        src = Source(
            name="名簿の森",
            start_urls=["http://127.0.0.1:8000/"],
            options={"depth": 2},
            is_local=True,
        )
        s.add_all([biz, src])
        s.flush()
        crawl = Crawl(source_id=src.id)
        s.add(crawl)
        s.flush()
        ev = EvidenceCapture(
            crawl_id=crawl.id,
            url="http://127.0.0.1:8000/名簿?p=1",
            fetched_at=fetched_at,
            http_status=200,
            content_type="text/html; charset=Shift_JIS",
            sha256="ab" * 32,
            size=10,
            warc_path="w.warc.gz",
            warc_offset=0,
            warc_length=10,
        )
        listing = Listing(
            source_id=src.id, business_id=biz.id, key="list-1", title="小学生名簿 2014年版"
        )
        hh = _household()
        s.add_all([ev, listing, hh])
        s.flush()
        person = WatchlistPerson(
            record_ref="P1", household_id=hh.id, pii=b"\x01sealed", row_digest=b"d" * 32
        )
        row = ListingRow(listing_id=listing.id, row_ref="r1", evidence_id=ev.id, pii=b"\x01x")
        user = User(
            username="inv1", display_name="調査 一郎", role=Role.INVESTIGATOR, password_hash="x"
        )
        s.add_all([person, row, user])
        s.flush()
        match = CandidateMatch(
            listing_row_id=row.id,
            person_id=person.id,
            score=0.97,
            decision=Decision.MATCH,
            explanation={"name": {"level": "exact", "weight": 8.1}},
        )
        case = Case(business_id=biz.id, title="名簿の森 件")
        report = CustomerReport(
            reference="R-1",
            household_id=hh.id,
            channel=ReportChannel.HOTLINE,
            contact_kind=ContactKind.CALL,
            contact_date=date(2026, 10, 3),
            facts=b"\x01f",
        )
        s.add_all([match, case, report])
        s.flush()
        s.add(CaseMatch(case_id=case.id, match_id=match.id))
        s.add(
            Notice(
                case_id=case.id,
                kind=NoticeKind.CEASE_USE,
                template="cease_use_v1",
                body="貴社が保有する個人データの利用停止を求めます。",
                deadline=date(2026, 12, 15),
            )
        )

    with store.sessions() as s:
        biz = s.scalars(select(Business)).one()
        assert biz.name == "株式会社名簿センター"
        assert biz.corporate_number == "7000012050002"
        assert [a.alias for a in biz.aliases] == ["名簿の森"]
        ev = s.scalars(select(EvidenceCapture)).one()
        assert ev.fetched_at == fetched_at and ev.fetched_at.tzinfo is not None
        assert ev.url.endswith("名簿?p=1")
        assert s.scalars(select(Listing)).one().title == "小学生名簿 2014年版"
        assert s.scalars(select(User)).one().role is Role.INVESTIGATOR
        match = s.scalars(select(CandidateMatch)).one()
        assert match.decision is Decision.MATCH
        assert match.explanation["name"]["weight"] == pytest.approx(8.1)
        assert s.scalars(select(Notice)).one().body.startswith("貴社")
        assert s.scalars(select(CustomerReport)).one().contact_date == date(2026, 10, 3)
        assert s.scalars(select(Source)).one().start_urls == ["http://127.0.0.1:8000/"]


def test_corporate_number_check_digit() -> None:
    assert normalise_corporate_number("7000012050002") == "7000012050002"
    for bad in ("7000012050003", "700001205000", "abcdefghijklm", ""):
        with pytest.raises(InvalidCorporateNumber):
            normalise_corporate_number(bad)
    with pytest.raises(InvalidCorporateNumber):
        Business(name="x", corporate_number="1234567890123")


def test_foreign_keys_are_enforced(store: Store) -> None:
    with pytest.raises(IntegrityError), store.sessions.begin() as s:
        s.add(WatchlistPerson(record_ref="P9", household_id=999, pii=b"x", row_digest=b"d" * 32))


def test_candidate_needs_exactly_one_subject(store: Store) -> None:
    with store.sessions.begin() as s:
        hh = _household()
        s.add(hh)
        s.flush()
        s.add(WatchlistPerson(record_ref="P1", household_id=hh.id, pii=b"x", row_digest=b"d" * 32))
    with pytest.raises(IntegrityError), store.sessions.begin() as s:
        pid = s.scalars(select(WatchlistPerson.id)).one()
        s.add(CandidateMatch(person_id=pid, score=0.5, decision=Decision.REVIEW))


def test_enum_values_are_checked_by_the_database(store: Store) -> None:
    from sqlalchemy import text

    with pytest.raises(IntegrityError), store.sessions.begin() as s:
        s.execute(
            text(
                "INSERT INTO app_user (username, display_name, role, password_hash, active,"
                " created_at) VALUES ('u', 'u', 'superuser', 'x', true, :t)"
            ),
            {"t": datetime.now(UTC).replace(tzinfo=None)},
        )


def test_sqlite_runs_in_wal_mode_with_foreign_keys(store: Store) -> None:
    from sqlalchemy import text

    if store.engine.dialect.name != "sqlite":
        pytest.skip("SQLite pragmas")
    with store.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_default_database_is_a_sqlite_file_under_leakwatch_home(
    monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    from store.settings import Settings

    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("LEAKWATCH_HOME", str(tmp_path))
    assert Settings().db_url == f"sqlite:///{tmp_path}/leakwatch.db"
