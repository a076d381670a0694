"""The evidence grade of a listing: how sure we are that a list derives from the leaked copy.

One matching record proves little — the leaked customers are a large share of all families
with children — so the grade weighs the listing as a whole, and says why:

* overlap beyond chance: the rows that match, against how many an unrelated list of
  families of the same prefectures and years of birth would match (the watchlist's own share
  of those families, from packaged census and birth figures), as a binomial tail probability;
* seed records (decoys planted in the watchlist): any one is conclusive — the grade says so,
  never which rows;
* leak-time quirks: matched rows that reproduce the spelling registered with us in an old
  or variant kanji form (髙, 﨑 …), which re-typed lists rarely keep;
* the list's date as the matcher inferred it, against the date of the leak.

Grades: conclusive (a seed), strong (at least ``STRONG_MIN`` matched rows, tail below
``STRONG_P``), weak (some overlap or quirks beyond chance), none.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select

from casework.composition import Composition, watchlist_composition
from matcher import parse_address, parse_birthdate
from store.models import (
    CandidateMatch,
    Decision,
    Listing,
    ListingRow,
    ReviewState,
    WatchlistPerson,
)
from store.runtime import Store
from store.sealed import LISTING_ROW_PII

STRONG_MIN, STRONG_P = 5, 1e-6
WEAK_P = 1e-3
OLD_FORM = "exact_old_form"  # matcher.levels.FamilyName.EXACT_OLD_FORM, as explanations name it


class Grade(enum.StrEnum):
    CONCLUSIVE = "conclusive"
    STRONG = "strong"
    WEAK = "weak"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class Reason:
    kind: str  # overlap, seed, quirks, date
    text: str
    figures: dict[str, float | int | str] = field(default_factory=dict)


@dataclass(frozen=True)
class ListingGrade:
    listing_id: int
    grade: Grade
    rows: int
    matched: int
    expected: float  # matched rows an unrelated list of such families would give
    tail_p: float  # P(at least `matched` | unrelated)
    seeds: bool
    quirks: int
    as_of: date | None
    reasons: list[Reason]


@dataclass
class _Row:
    prefecture: str
    year: int | None
    matched: bool = False
    seed: bool = False
    quirk: bool = False


def grade_listing(store: Store, listing_id: int, leak_date: date) -> ListingGrade:
    rows, as_of = _rows(store, listing_id)
    composition = watchlist_composition(store)
    return grade_rows(listing_id, list(rows.values()), composition, as_of, leak_date)


def grade_rows(listing_id: int, rows: list[_Row], composition: Composition, as_of: date | None,
               leak_date: date) -> ListingGrade:  # fmt: skip
    n = len(rows)
    matched = sum(r.matched for r in rows)
    expected = sum(composition.share(r.prefecture, r.year) for r in rows)
    tail = binomial_tail(matched, n, expected / n if n else 0.0)
    seeds = any(r.seed for r in rows)
    quirks = sum(r.quirk for r in rows)
    reasons = _reasons(n, matched, expected, tail, seeds, quirks, as_of, leak_date)
    if seeds:
        grade = Grade.CONCLUSIVE
    elif matched >= STRONG_MIN and tail < STRONG_P:
        grade = Grade.STRONG
    elif (matched and tail < WEAK_P) or quirks:
        grade = Grade.WEAK
    else:
        grade = Grade.NONE
    return ListingGrade(listing_id, grade, n, matched, expected, tail, seeds, quirks, as_of,
                        reasons)  # fmt: skip


def _reasons(n: int, matched: int, expected: float, tail: float, seeds: bool, quirks: int,
             as_of: date | None, leak_date: date) -> list[Reason]:  # fmt: skip
    out = [Reason("overlap", f"{n}行のうち{matched}行が流出データの記録と一致。同じ都道府県・"
                  f"年齢の無関係な世帯の名簿なら約{expected:.2f}行（偶然{matched}行以上一致する"
                  f"確率 {_p(tail)}）",
                  {"rows": n, "matched": matched, "expected": round(expected, 4),
                   "p": tail})]  # fmt: skip
    if seeds:
        out.append(Reason("seed", "流出データに仕込んだおとり記録がこの名簿に含まれています"
                          "（決定的）", {"present": "yes"}))  # fmt: skip
    if quirks:
        out.append(Reason("quirks", f"一致した{quirks}行が、当社に登録された旧字体・異体字の"
                          "表記をそのまま使っています", {"rows": quirks}))  # fmt: skip
    if as_of is not None:
        months = abs((as_of - leak_date).days) / 30.44
        out.append(
            Reason(
                "date",
                f"この名簿のデータは{as_of:%Y年%m月}頃のもの（推定）。流出は"
                f"{leak_date:%Y年%m月}（{months:.0f}か月差）",
                {"as_of": as_of.isoformat(), "months_from_leak": round(months, 1)},
            )
        )
    return out


def _p(p: float) -> str:
    return "1e-300未満" if p < 1e-300 else f"{p:.1e}" if p < 0.01 else f"{p:.2f}"


def binomial_tail(k: int, n: int, p: float) -> float:
    """P(X ≥ k) for X ~ Binomial(n, p), summed in log space (no underflow before 1e-300)."""
    if k <= 0:
        return 1.0
    if p <= 0.0 or k > n:
        return 0.0
    if p >= 1.0:
        return 1.0
    logs = [math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1)
            + i * math.log(p) + (n - i) * math.log1p(-p) for i in range(k, n + 1)]  # fmt: skip
    top = max(logs)
    return min(1.0, math.exp(top) * sum(math.exp(x - top) for x in logs))


def _rows(store: Store, listing_id: int) -> tuple[dict[int, _Row], date | None]:
    """The listing's live rows: region and year of birth from what it published, and what
    the matcher and reviewers found for each."""
    with store.sessions() as s:
        listing = s.get(Listing, listing_id)
        if listing is None:
            raise LookupError(f"no listing {listing_id}")
        as_of = listing.as_of.date() if listing.as_of else None
        rows: dict[int, _Row] = {}
        found = s.execute(
            select(ListingRow.id, ListingRow.pii).where(
                ListingRow.listing_id == listing_id, ListingRow.gone_at.is_(None)
            )
        )
        for row_id, blob in found:
            rows[row_id] = _published(store.vault.open_json(blob, LISTING_ROW_PII), as_of)
        candidates = s.execute(
            select(CandidateMatch.listing_row_id, CandidateMatch.decision,
                   CandidateMatch.review_state, CandidateMatch.explanation,
                   WatchlistPerson.is_seed)
            .join(WatchlistPerson, WatchlistPerson.id == CandidateMatch.person_id)
            .where(CandidateMatch.listing_row_id.in_(list(rows)))
        )  # fmt: skip
        for row_id, decision, state, explanation, is_seed in candidates:
            if state == ReviewState.REJECTED:
                continue
            if decision == Decision.MATCH or state == ReviewState.CONFIRMED:
                row = rows[row_id]
                row.matched, row.seed = True, row.seed or is_seed
                row.quirk = row.quirk or _old_form(explanation)
    return rows, as_of


def _published(values: dict[str, str], as_of: date | None) -> _Row:
    address = str(values.get("address", ""))
    prefecture = parse_address(address).pref if address else ""
    born = parse_birthdate(str(values.get("birthdate", "")), as_of)
    year = None
    # A day, a month, a year, or a school grade's April-to-April span: one year of birth.
    if born.start is not None and born.end is not None and born.end.year - born.start.year <= 1:
        year = born.end.year
    return _Row(prefecture or "", year)


def _old_form(explanation: dict[str, object]) -> bool:
    fields = explanation.get("fields", [])
    return isinstance(fields, list) and any(
        isinstance(f, dict) and f.get("field") == "family_name" and f.get("level") == OLD_FORM
        for f in fields
    )
