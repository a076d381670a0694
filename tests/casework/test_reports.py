"""Customer reports' contact facts matched against the watchlist in the store."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from casework.reports import FactsError, match_reports, report_facts
from store.matching import build_index
from store.models import AuditEvent, CandidateMatch, CustomerReport, WatchlistPerson
from store.models.reports import ContactKind, ReportChannel
from store.runtime import Store
from store.sealed import REPORT_FACTS


def test_facts_are_checked_and_bounded() -> None:
    assert report_facts({"name": "  山田 太郎 ", "phone": ""}) == {"name": "山田 太郎"}
    with pytest.raises(FactsError, match=r"unknown fact field.*salary"):
        report_facts({"name": "山田 太郎", "salary": "1"})
    with pytest.raises(FactsError, match="address: longer than 500"):
        report_facts({"address": "あ" * 501})
    with pytest.raises(FactsError, match="at least one of: name, address, phone, email"):
        report_facts({"gender": "M", "birthdate": "2010-01-01"})


def _report(store: Store, ref: str, facts: dict[str, str], contact: date | None) -> int:
    with store.sessions() as s:
        sealed = store.vault.seal_json(report_facts(facts), REPORT_FACTS)
        r = CustomerReport(
            reference=ref,
            channel=ReportChannel.HOTLINE,
            contact_kind=ContactKind.MAIL,
            contact_date=contact,
            facts=sealed,
        )
        s.add(r)
        s.commit()
        return r.id


def test_reports_are_matched_like_one_row_listings(
    store: Store, loaded_listing: tuple[list[dict[str, str]], list[dict[str, str]]]
) -> None:
    from synth.watchlist import generate_watchlist

    person = next(p for p in generate_watchlist(600, 31) if p["relationship"] != "本人")
    # A birthday direct mail addressed to the child, the address re-keyed.
    dm = _report(
        store,
        "R-1",
        {
            "name": person["name"].replace(" ", ""),
            "address": person["address"].replace("丁目", "-").replace("番", "-").replace("号", ""),
            "postal_code": person["postal_code"],
            "phone": person["phone"],
            "birthdate": person["birthdate"].replace("-", "/"),
        },
        date(2026, 10, 1),
    )
    nobody = _report(store, "R-2", {"name": "架空 存在", "phone": "090-0000-0001"}, None)
    result = match_reports(store, build_index(store), actor="user:operator")
    assert result.rows == 2
    with store.sessions() as s:
        found = s.execute(
            select(CandidateMatch.report_id, WatchlistPerson.record_ref, CandidateMatch.decision,
                   CandidateMatch.explanation)
            .join(WatchlistPerson, CandidateMatch.person_id == WatchlistPerson.id)
        ).all()  # fmt: skip
        best = {r: (ref, d.value) for r, ref, d, _ in found if d.value == "match"}
        assert best.get(dm) == (person["record_id"], "match")
        assert nobody not in best
        for *_, expl in found:  # levels and weights only: no personal data
            assert person["name"] not in str(expl) and person["phone"] not in str(expl)
        assert s.scalars(select(AuditEvent).where(AuditEvent.action == "match.reports")).one()
    # Reports with candidates are not matched twice.
    assert match_reports(store, build_index(store)).candidates == 0
