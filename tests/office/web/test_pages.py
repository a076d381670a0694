"""The pages at work: a customer's findings and reports, the hotline, attachments, admin."""

from __future__ import annotations

import re

from sqlalchemy import select

from casework.permissions import Actor
from store.models import (
    AuditEvent,
    Business,
    CandidateMatch,
    Case,
    CustomerReport,
    Decision,
    Household,
    Listing,
    ListingRow,
    ReportAttachment,
    ReportChannel,
    ReviewState,
    WatchlistPerson,
)
from store.sealed import LISTING_ROW_PII
from tests.office.web.conftest import Web, csrf_of

PNG = b"\x89PNG\r\n\x1a\n" + bytes(200)


def _file(client, path: str, data: dict[str, str], files=None):  # type: ignore[no-untyped-def]
    return client.post(path, data=data | {"csrf_token": csrf_of(client)}, files=files)


def _member(web: Web, household: int) -> dict[str, str]:
    """A watchlist person of the household whose letter is ``web.codes[household]``."""
    ref = web.codes[household]["household_id"]
    return next(p for p in web.watchlist if p["household_id"] == ref)


def test_a_customer_files_a_report_with_an_attachment_and_sees_its_status(web: Web) -> None:
    client = web.signed_in(Actor.CUSTOMER)
    sent = _file(client, "/me/report", {
        "contact_kind": "mail", "business_name": "㈱ヤマダ名簿", "description": "DMが届いた",
        "addressed_name": _member(web, 0)["name"]},
        files=[("attachments", ("dm.png", PNG, "image/png"))])  # fmt: skip
    assert sent.status_code == 200, sent.text[:300]
    reference = re.search(r"LW-[0-9A-Z]{8}", sent.text)
    assert reference is not None
    home = client.get("/me")
    assert reference.group(0) in home.text and "事業者ごとの調査に加えました" in home.text
    with web.store.sessions() as s:
        report = s.scalars(select(CustomerReport)).one()
        household = s.scalars(
            select(Household).where(Household.household_ref == web.codes[0]["household_id"])
        ).one()
        assert report.household_id == household.id and report.channel == ReportChannel.WEB
        assert report.case_id is not None  # the business was resolved and its case opened
        attachment = s.scalars(select(ReportAttachment)).one()
        assert attachment.content_type == "image/png" and attachment.size == len(PNG)
        assert PNG not in attachment.content_sealed  # sealed at rest
        events = set(s.scalars(select(AuditEvent.action)))
    assert {"customer.signed_in", "report.filed", "report.processed"} <= events


def test_same_business_in_other_words_joins_the_same_case(web: Web) -> None:
    client = web.signed_in(Actor.CUSTOMER)
    for name in ("株式会社ヤマダ名簿", "（株）ヤマダ　名簿", "ヤマダ名簿株式会社"):
        assert _file(client, "/me/report", {"business_name": name, "description": "x"}
                     ).status_code == 200  # fmt: skip
    with web.store.sessions() as s:
        assert len(s.scalars(select(Business)).all()) == 1
        assert len(set(s.scalars(select(CustomerReport.case_id)))) == 1


def test_a_customer_never_reaches_another_households_report(web: Web) -> None:
    other = web.signed_in(Actor.CUSTOMER, household=1)
    _file(other, "/me/report", {"description": "x", "business_name": "B"},
          files=[("attachments", ("a.png", PNG, "image/png"))])  # fmt: skip
    with web.store.sessions() as s:
        report_id = s.scalars(select(CustomerReport.id)).one()
        attachment_id = s.scalars(select(ReportAttachment.id)).one()
    me = web.signed_in(Actor.CUSTOMER, household=0)
    assert me.get(f"/me/reports/{report_id}").status_code == 404
    assert other.get(f"/me/reports/{report_id}").status_code == 200
    assert me.get(f"/staff/attachments/{attachment_id}").status_code == 403
    investigator = web.signed_in(Actor.INVESTIGATOR)
    got = investigator.get(f"/staff/attachments/{attachment_id}")
    assert got.status_code == 200 and got.content == PNG
    assert got.headers["content-disposition"].startswith("attachment;")


def test_an_operator_enters_a_callers_report_by_code(web: Web) -> None:
    client = web.signed_in(Actor.OPERATOR)
    code = web.codes[2]["registration_code"]
    bad = _file(client, "/hotline/report", {"registration_code": "ZZZZ-ZZZZ-ZZZZ",
                                            "description": "電話"})  # fmt: skip
    assert bad.status_code == 422 and "この登録番号は見つかりません" in bad.text
    form = {"registration_code": code.lower(), "contact_kind": "call", "description": "電話"}
    done = _file(client, "/hotline/report", form)
    assert done.status_code == 200 and "LW-" in done.text
    no_code = _file(client, "/hotline/report", {"description": "電話"})
    assert no_code.status_code == 422 and "連絡先" in no_code.text  # how to call them back
    with web.store.sessions() as s:
        report = s.scalars(select(CustomerReport)).one()
        household = s.scalars(
            select(Household).where(Household.household_ref == web.codes[2]["household_id"])
        ).one()
        assert report.channel == ReportChannel.HOTLINE and report.household_id == household.id
        assert report.entered_by_id is not None
    listed = client.get("/staff/reports")
    assert report.reference in listed.text  # the operator sees the reports they entered


def test_reported_facts_are_matched_against_the_watchlist(web: Web) -> None:
    person = _member(web, 0)
    client = web.signed_in(Actor.CUSTOMER)
    _file(client, "/me/report", {"description": "DM", "addressed_name": person["name"],
                                 "addressed_address": person["address"]})  # fmt: skip
    with web.store.sessions() as s:
        refs = set(
            s.scalars(
                select(WatchlistPerson.record_ref).join(
                    CandidateMatch, CandidateMatch.person_id == WatchlistPerson.id
                )
            )
        )
    assert person["record_id"] in refs


def _confirmed_finding(web: Web, business: str) -> None:
    """A crawled listing with one row confirmed as the first household's person."""
    person = _member(web, 0)
    with web.store.sessions.begin() as s:
        biz = Business(name=business)
        s.add(biz)
        s.flush()
        s.add(Case(business_id=biz.id, title=business))
        listing = Listing(key="/list", business_id=biz.id, title=business)
        s.add(listing)
        s.flush()
        pii = {"name": person["name"], "phone": person["phone"], "birthdate": ""}
        row = ListingRow(listing_id=listing.id, row_ref="r1",
                         pii=web.store.vault.seal_json(pii, LISTING_ROW_PII))  # fmt: skip
        s.add(row)
        s.flush()
        pid = s.scalars(
            select(WatchlistPerson.id).where(WatchlistPerson.record_ref == person["record_id"])
        ).one()
        s.add(
            CandidateMatch(
                listing_row_id=row.id,
                person_id=pid,
                score=0.99,
                decision=Decision.MATCH,
                review_state=ReviewState.CONFIRMED,
            )
        )


def test_findings_show_kinds_of_data_never_values_or_other_households(web: Web) -> None:
    _confirmed_finding(web, "<script>alert('crawled')</script>名簿")
    mine = web.signed_in(Actor.CUSTOMER, household=0).get("/me").text
    assert "氏名" in mine and "電話番号" in mine and "生年月日" not in mine
    person = _member(web, 0)
    assert person["name"] not in mine and person["phone"] not in mine
    assert "<script>alert" not in mine and "&lt;script&gt;" in mine  # crawled text escaped
    theirs = web.signed_in(Actor.CUSTOMER, household=1).get("/me").text
    assert "現在のところ、担当者が確認した情報はありません" in theirs


def test_reported_text_is_shown_escaped_to_staff(web: Web) -> None:
    client = web.signed_in(Actor.CUSTOMER)
    _file(client, "/me/report", {"business_name": "<img src=x onerror=alert(1)>社",
                                 "description": "<script>x</script>"})  # fmt: skip
    page = web.signed_in(Actor.INVESTIGATOR).get("/staff/reports").text
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;社" in page


def test_disguised_files_are_refused_and_nothing_is_filed(web: Web) -> None:
    client = web.signed_in(Actor.CUSTOMER)
    for name, data in (("photo.jpg", b"MZ\x90\x00" + bytes(300)),
                       ("letter.pdf", b"<html><script>x</script></html>"),
                       ("a.png", b"PK\x03\x04" + bytes(100))):  # fmt: skip
        sent = _file(client, "/me/report", {"description": "x"},
                     files=[("attachments", (name, data, "image/png"))])  # fmt: skip
        assert sent.status_code == 422 and "画像かPDFではありません" in sent.text, name
    too_many = [("attachments", (f"{i}.png", PNG, "image/png")) for i in range(4)]
    assert "3つまで" in _file(client, "/me/report", {"description": "x"}, too_many).text
    with web.store.sessions() as s:
        assert s.scalars(select(CustomerReport)).first() is None


def test_an_admin_adds_and_disables_a_user_whose_session_ends(web: Web) -> None:
    admin = web.signed_in(Actor.ADMIN)
    added = _file(admin, "/admin/users", {"username": "newbie", "role": "investigator",
                                          "password": "another long password"})  # fmt: skip
    assert added.status_code == 200 and "newbie を追加しました" in added.text
    legal = web.signed_in(Actor.LEGAL)
    assert legal.get("/staff").status_code == 200
    with web.store.sessions() as s:
        from store.models import User

        legal_id = s.scalars(select(User.id).where(User.username == "legal")).one()
    assert admin.post(f"/admin/users/{legal_id}/disable",
                      data={"csrf_token": csrf_of(admin)},
                      follow_redirects=False).status_code == 303  # fmt: skip
    assert legal.get("/staff", follow_redirects=False).status_code == 303  # signed out


def test_notifications_and_erasure_requests(web: Web) -> None:
    client = web.signed_in(Actor.CUSTOMER)
    bad = _file(client, "/me/notifications", {"email": "not an address"})
    assert bad.status_code == 422 and "メールアドレスを正しく" in bad.text
    ok = _file(client, "/me/notifications", {"email": "parent@example.jp"})
    assert "parent@example.jp" in ok.text
    with web.store.sessions() as s:
        household = s.scalars(select(Household).where(Household.notify_opt_in)).one()
        assert household.notify_email_sealed and b"parent@" not in household.notify_email_sealed
    first = _file(client, "/me/erasure", {})
    again = _file(client, "/me/erasure", {})
    assert "受付済み" in first.text and "受付済み" in again.text
    from store.models import ErasureRequest

    with web.store.sessions() as s:
        assert len(s.scalars(select(ErasureRequest)).all()) == 1  # asked twice, one request
