"""The office's figures over time, each a small table the dashboard draws and offers as CSV:
listings and matched rows found per week, cases by status, notices sent and cases complied
per week, and the days from a listing's first sighting to its removal."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from casework.permissions import Action, Principal, require
from store.models import (
    AuditEvent,
    CandidateMatch,
    Case,
    CaseStatus,
    Decision,
    Listing,
    ListingRow,
    Notice,
    ReviewState,
)
from store.runtime import Store


@dataclass(frozen=True)
class Figure:
    name: str  # its file name: <name>.csv
    title: str
    columns: tuple[str, ...]
    rows: list[tuple[str | int | float, ...]]


def week_of(moment: datetime) -> str:
    """The Monday of the moment's ISO week, as YYYY-MM-DD."""
    day = moment.date()
    return (day - timedelta(days=day.weekday())).isoformat()


def figures(store: Store, principal: Principal) -> list[Figure]:
    require(principal, Action.VIEW_DASHBOARD)
    with store.sessions() as s:
        listings = Counter(week_of(t) for t in s.scalars(select(Listing.first_seen)))
        matched = Counter(
            week_of(t)
            for t in s.scalars(
                select(ListingRow.first_seen)
                .join(CandidateMatch)
                .where(
                    CandidateMatch.review_state != ReviewState.REJECTED,
                    (CandidateMatch.decision == Decision.MATCH)
                    | (CandidateMatch.review_state == ReviewState.CONFIRMED),
                )
                .distinct()
            )
        )
        statuses = Counter(s.scalars(select(Case.status)))
        sent = Counter(
            week_of(t)
            for t in s.scalars(select(Notice.sent_at).where(Notice.sent_at.is_not(None)))
            if t
        )
        complied = Counter(
            week_of(t)
            for t in s.scalars(
                select(AuditEvent.at).where(
                    AuditEvent.action == "case.status",
                    AuditEvent.details["to"].as_string() == CaseStatus.COMPLIED.value,
                )
            )
        )
        removal = s.execute(
            select(Listing.id, Listing.first_seen, Listing.removed_at)
            .where(Listing.removed_at.is_not(None))
            .order_by(Listing.id)
        ).all()
    return [
        _weekly("found", "名簿と一致行（週ごと）", {"listings": listings, "matched_rows": matched}),
        Figure("cases", "案件の状態", ("status", "cases"),
               [(st.value, statuses.get(st, 0)) for st in CaseStatus]),
        _weekly("notices", "通知と対応（週ごと）",
                {"notices_sent": sent, "cases_complied": complied}),
        Figure("removal", "初確認から削除までの日数", ("listing", "days"),
               [(lid, round((gone - first).total_seconds() / 86400, 1))
                for lid, first, gone in removal if gone is not None]),
    ]  # fmt: skip


def _weekly(name: str, title: str, series: dict[str, Counter[str]]) -> Figure:
    weeks = sorted(set().union(*series.values()))
    return Figure(name, title, ("week", *series),
                  [(w, *(c.get(w, 0) for c in series.values())) for w in weeks])  # fmt: skip
