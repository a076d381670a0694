"""The investigators' workspace at work: the queue, a listing's grade and candidates (masked),
a reveal that is audited, a confirmation counted in the business's case; cases, erasure
requests, the auditor's chain, and the dashboard's figures against the database."""

from __future__ import annotations

import csv
import io
import re

from sqlalchemy import func, select

from casework.permissions import Actor
from store.models import (
    AuditEvent,
    Business,
    CandidateMatch,
    Case,
    CaseStatus,
    Decision,
    Listing,
    ListingRow,
    ReviewState,
    WatchlistPerson,
)
from store.sealed import LISTING_ROW_PII
from tests.office.web.conftest import Web, csrf_of
from tests.office.web.test_pages import _member


def _listing_with_candidate(web: Web, business: str = "株式会社テスト名簿") -> tuple[int, int, int]:
    """A listing of one business with one row the matcher matched (pending review):
    (listing id, candidate id, case id)."""
    person = _member(web, 0)
    with web.store.sessions.begin() as s:
        biz = Business(name=business)
        s.add(biz)
        s.flush()
        case = Case(business_id=biz.id, title=business)
        listing = Listing(key="/l", business_id=biz.id, title="子供名簿")
        s.add_all([case, listing])
        s.flush()
        pii = {"name": person["name"], "address": person["address"], "phone": person["phone"]}
        row = ListingRow(listing_id=listing.id, row_ref="r1",
                         pii=web.store.vault.seal_json(pii, LISTING_ROW_PII))  # fmt: skip
        s.add(row)
        s.flush()
        pid = s.scalars(
            select(WatchlistPerson.id).where(WatchlistPerson.record_ref == person["record_id"])
        ).one()
        explanation = {
            "fields": [
                {"field": "family_name", "level": "exact", "weight": 9.5},
                {"field": "phone", "level": "exact", "weight": 13.0},
            ]
        }
        candidate = CandidateMatch(
            listing_row_id=row.id,
            person_id=pid,
            score=0.99,
            decision=Decision.MATCH,
            explanation=explanation,
        )
        s.add(candidate)
        s.flush()
        return listing.id, candidate.id, case.id


def test_investigator_reviews_reveals_confirms_and_the_case_counts_it(web: Web) -> None:
    listing_id, candidate_id, case_id = _listing_with_candidate(web)
    person = _member(web, 0)
    client = web.signed_in(Actor.INVESTIGATOR)
    queue = client.get("/work/queue").text
    assert "子供名簿" in queue
    page = client.get(f"/work/listings/{listing_id}").text
    assert "証拠の強さ" in page and "1行のうち1行が流出データの記録と一致" in page  # reasons
    assert person["name"] not in page and person["phone"] not in page  # masked
    refused = client.post(f"/work/listings/{listing_id}/candidates/{candidate_id}/reveal",
                          data={"csrf_token": csrf_of(client), "field": "phone",
                                "side": "listing", "reason": ""})  # fmt: skip
    assert refused.status_code == 422
    shown = client.post(f"/work/listings/{listing_id}/candidates/{candidate_id}/reveal",
                        data={"csrf_token": csrf_of(client), "field": "phone",
                              "side": "listing", "reason": "DMの電話番号と照合"})  # fmt: skip
    assert shown.status_code == 200 and person["phone"] in shown.text
    assert person["name"] not in shown.text  # one value, not the record
    with web.store.sessions() as s:
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "pii.revealed")).one()
    assert event.reason == "DMの電話番号と照合" and event.details == {
        "field": "phone",
        "side": "listing",
    }
    assert person["phone"] not in str(event.details)
    done = client.post(f"/work/listings/{listing_id}/candidates/{candidate_id}/label",
                       data={"csrf_token": csrf_of(client), "state": "confirmed"},
                       follow_redirects=False)  # fmt: skip
    assert done.status_code == 303
    case_page = client.get(f"/work/cases/{case_id}").text
    assert re.search(r"確定した一致</th><td>1件", case_page)


def test_closing_needs_a_removal_or_a_second_investigator(web: Web) -> None:
    from casework.accounts import add_user
    from store.models import Role
    from tests.office.web.conftest import PASSWORD, sign_in

    _, _, case_id = _listing_with_candidate(web)
    add_user(web.store, "investigator2", PASSWORD, Role.INVESTIGATOR, actor="test")
    first = web.signed_in(Actor.INVESTIGATOR)
    asked = first.post(f"/work/cases/{case_id}/close",
                       data={"csrf_token": csrf_of(first), "reason": "応じた"},
                       follow_redirects=False)  # fmt: skip
    assert asked.status_code == 303
    own = first.post(f"/work/cases/{case_id}/approve-close",
                     data={"csrf_token": csrf_of(first), "reason": "自分で承認"})  # fmt: skip
    assert own.status_code == 422 and "another investigator" in own.text
    second = web.client()
    sign_in(second, "/signin/staff", {"username": "investigator2", "password": PASSWORD})
    second.post(f"/work/cases/{case_id}/approve-close",
                data={"csrf_token": csrf_of(second), "reason": "確認した"})  # fmt: skip
    with web.store.sessions() as s:
        case = s.get(Case, case_id)
        assert case is not None and case.status == CaseStatus.CLOSED
    locked = second.post(f"/work/cases/{case_id}/status",
                         data={"csrf_token": csrf_of(second), "to": "escalated"})  # fmt: skip
    assert locked.status_code == 422 and "read-only" in locked.text


def test_the_auditor_reads_the_chain_and_changes_nothing(web: Web) -> None:
    _listing_with_candidate(web)
    auditor = web.signed_in(Actor.AUDITOR)
    page = auditor.get("/audit").text
    assert "改ざんは見つかりません" in page and "user.signed_in" in page
    assert auditor.get("/work/cases").status_code == 200
    token = csrf_of(auditor)
    for path in ("/work/businesses", "/work/cases/1/status", "/admin/users", "/work/sources",
                 "/admin/erasures", "/work/listings/1/decision"):  # fmt: skip
        assert auditor.post(path, data={"csrf_token": token}).status_code == 403, path


def test_dashboard_figures_equal_the_database(web: Web) -> None:
    _listing_with_candidate(web)
    client = web.signed_in(Actor.INVESTIGATOR)
    page = client.get("/work/dashboard").text
    assert page.count('<img src="/work/dashboard/') == 4
    plot = client.get("/work/dashboard/found.svg")
    assert plot.status_code == 200 and plot.text.lstrip().startswith("<?xml")
    rows = list(csv.DictReader(io.StringIO(client.get("/work/dashboard/found.csv").text)))
    with web.store.sessions() as s:
        listings = s.scalar(select(func.count()).select_from(Listing))
        matched = s.scalar(
            select(func.count(func.distinct(CandidateMatch.listing_row_id))).where(
                CandidateMatch.decision == Decision.MATCH,
                CandidateMatch.review_state != ReviewState.REJECTED,
            )
        )
        statuses = dict(s.execute(select(Case.status, func.count()).group_by(Case.status)).all())
    assert sum(int(r["listings"]) for r in rows) == listings
    assert sum(int(r["matched_rows"]) for r in rows) == matched == 1
    cases = {
        r["status"]: int(r["cases"])
        for r in csv.DictReader(io.StringIO(client.get("/work/dashboard/cases.csv").text))
    }
    assert cases == {st.value: statuses.get(st, 0) for st in CaseStatus}
