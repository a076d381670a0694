"""Customer reports: the contact facts a report holds, matched against the watchlist.

A report's ``facts`` (sealed) say what the direct mail, call or e-mail used — the name as
addressed, the address, the phone number called, the e-mail — in the listing columns of the
data contract (``FACT_FIELDS``): to the matcher a report is a one-row listing dated by its
contact date. ``report_facts`` checks and bounds what an intake form or an operator entered;
``match_reports`` writes a ``CandidateMatch`` per reported (report, person) pair with its
explanation, like ``store.matching.match_listing_rows`` does for crawled rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

from sqlalchemy import exists, select

from matcher import Matcher, Thresholds, WatchlistIndex
from matcher.contract import RECORD_FIELDS
from store import audit
from store.matching import StoreMatchResult, current_index, current_model, write_candidates
from store.models import CandidateMatch, CustomerReport
from store.runtime import Store
from store.sealed import REPORT_FACTS

FACT_FIELDS = RECORD_FIELDS  # a report's facts are one published record's fields
LOCATING_FIELDS = ("name", "address", "phone", "email")  # a report needs one of these
MAX_FACT_CHARS = 500


class FactsError(ValueError):
    """Facts that cannot be matched: the message names the field."""


def report_facts(values: Mapping[str, str]) -> dict[str, str]:
    """The facts to seal: known fields only, trimmed, bounded, at least one that can find a
    person. Raises FactsError naming the offending field."""
    unknown = sorted(set(values) - set(FACT_FIELDS))
    if unknown:
        raise FactsError(f"unknown fact field(s): {', '.join(unknown)} "
                         f"(known: {', '.join(FACT_FIELDS)})")  # fmt: skip
    out: dict[str, str] = {}
    for name in FACT_FIELDS:
        value = values.get(name)
        if value is None:
            continue
        if not isinstance(value, str):
            raise FactsError(f"{name}: text expected")
        value = value.strip()
        if len(value) > MAX_FACT_CHARS:
            raise FactsError(f"{name}: longer than {MAX_FACT_CHARS} characters")
        if value:
            out[name] = value
    if not any(out.get(f) for f in LOCATING_FIELDS):
        raise FactsError(f"give at least one of: {', '.join(LOCATING_FIELDS)}")
    return out


def match_reports(
    store: Store,
    index: WatchlistIndex | None = None,
    *,
    report_ids: Sequence[int] | None = None,
    thresholds: Thresholds | None = None,
    actor: str = "system:matcher",
) -> StoreMatchResult:
    """Match reports without candidates yet (of ``report_ids``) and store the candidates.

    No EM here: a handful of reports says nothing about the model's parameters; the model
    learned from crawls and reviewers' labels (``current_model``) scores them."""
    if index is None:
        index = current_index(store)
    out = StoreMatchResult()
    with store.sessions() as s:
        q = (
            select(CustomerReport.id, CustomerReport.contact_date, CustomerReport.facts)
            .where(~exists().where(CandidateMatch.report_id == CustomerReport.id))
            .order_by(CustomerReport.id)
        )
        if report_ids is not None:
            q = q.where(CustomerReport.id.in_(list(report_ids)))
        rows: list[dict[str, str]] = []
        as_of: dict[str, date] = {}
        for rid, contact_date, blob in s.execute(q):
            facts = store.vault.open_json(blob, REPORT_FACTS)
            row = {k: str(v) for k, v in facts.items() if k in FACT_FIELDS}
            row["row_id"], row["listing_id"] = str(rid), f"report-{rid}"
            rows.append(row)
            if contact_date is not None:
                as_of[row["listing_id"]] = contact_date
        out.rows = len(rows)
        if not rows:
            return out
        matcher = Matcher(index, thresholds, current_model(store), em=False)
        result = matcher.match(rows, as_of=as_of)
        out.candidates = write_candidates(
            s, result, lambda row_id: {"report_id": int(row_id)}, out.decisions
        )
        audit.record(
            s, actor, "match.reports", object_type="customer_report",
            details={"reports": out.rows, "candidates": out.candidates, **out.decisions},
        )  # fmt: skip
        s.commit()
    return out
