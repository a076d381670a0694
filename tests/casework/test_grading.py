"""Evidence grades on synthetic listings: drawn from the watchlist (strong), other families of
the same regions and ages with a few coincidental namesakes (none), the same with one seed
record in it (conclusive) — and the figures behind each reason."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from casework.grading import Grade, binomial_tail, grade_listing
from matcher.contract import RECORD_FIELDS
from store.matching import build_index, match_listing_rows
from store.models import Listing, ListingRow
from store.runtime import Store
from store.sealed import LISTING_ROW_PII, listing_row_indexes
from store.watchlist_import import import_watchlist
from synth.csvio import write_csv
from synth.listing import generate_listing
from synth.watchlist import WATCHLIST_COLUMNS, generate_seeds, generate_watchlist

LEAK = date(2014, 6, 30)


def _import(store: Store, rows: list[dict[str, str]], path: Path, seed: bool = False) -> None:
    write_csv(rows, path, WATCHLIST_COLUMNS)
    import_watchlist(store.sessions, store.vault, path, actor="test", worker=False, seed=seed)


def _listing(store: Store, key: str, rows: list[dict[str, str]]) -> int:
    with store.sessions.begin() as s:
        listing = Listing(key=key)
        s.add(listing)
        s.flush()
        for i, row in enumerate(rows):
            pii = {f: row.get(f, "") for f in RECORD_FIELDS}
            s.add(ListingRow(listing_id=listing.id, row_ref=f"{key}-{i}",
                             pii=store.vault.seal_json(pii, LISTING_ROW_PII),
                             **listing_row_indexes(store.vault, pii)))  # fmt: skip
        return listing.id


def _strangers(count: int, seed: int) -> list[dict[str, str]]:
    """Families who are not in the watchlist, as a list would publish them."""
    return [{f: p.get(f, "") for f in RECORD_FIELDS} for p in generate_watchlist(count, seed)]


@pytest.fixture
def graded(store: Store, tmp_path: Path) -> dict[str, object]:
    seeds = list(generate_seeds(2, 31))
    seed_ids = {p["record_id"] for p in seeds}
    watchlist = [p for p in generate_watchlist(600, 31) if p["record_id"] not in seed_ids]
    _import(store, watchlist, tmp_path / "w.csv")
    _import(store, seeds, tmp_path / "seeds.csv", seed=True)
    drawn, _ = generate_listing(watchlist, 120, 41, positive_share=0.9, listings=1)
    others = _strangers(150, 977)
    # Coincidental namesakes: strangers who happen to bear a watchlist person's name and
    # birthday (the matcher sends them to review: nothing places them at the household).
    for stranger, person in zip(others[:4], watchlist[10:14], strict=True):
        for column in ("name", "name_kana", "birthdate", "gender"):
            stranger[column] = person[column]
    ids = {
        "drawn": _listing(store, "drawn", drawn),
        "others": _listing(store, "others", others),
        "seeded": _listing(store, "seeded", [*others, {f: seeds[0].get(f, "")
                                                       for f in RECORD_FIELDS}]),
    }  # fmt: skip
    match_listing_rows(store, build_index(store))
    return {name: grade_listing(store, lid, LEAK) for name, lid in ids.items()}


def test_a_listing_drawn_from_the_watchlist_is_strong(graded: dict[str, object]) -> None:
    g = graded["drawn"]
    assert g.grade == Grade.STRONG  # type: ignore[attr-defined]
    assert g.rows == 120 and g.matched >= 60 and g.expected < 1  # type: ignore[attr-defined]
    assert g.tail_p < 1e-6 and not g.seeds  # type: ignore[attr-defined]
    overlap = g.reasons[0]  # type: ignore[attr-defined]
    assert overlap.kind == "overlap" and overlap.figures["matched"] == g.matched  # type: ignore[attr-defined]
    assert overlap.figures["rows"] == 120 and overlap.figures["p"] == g.tail_p  # type: ignore[attr-defined]
    assert f"120行のうち{g.matched}行が" in overlap.text  # type: ignore[attr-defined]


def test_other_families_with_namesakes_grade_none(graded: dict[str, object], store: Store) -> None:
    from sqlalchemy import func, select

    from store.models import CandidateMatch, Decision

    with store.sessions() as s:  # the namesakes are candidates, for review only
        reviews = s.scalar(
            select(func.count())
            .select_from(CandidateMatch)
            .join(ListingRow)
            .join(Listing)
            .where(Listing.key == "others", CandidateMatch.decision == Decision.REVIEW)
        )
    assert reviews and reviews >= 4
    g = graded["others"]
    assert g.grade == Grade.NONE and g.rows == 150 and g.matched == 0  # type: ignore[attr-defined]
    assert g.tail_p == 1.0 and [r.kind for r in g.reasons] == ["overlap"]  # type: ignore[attr-defined]


def test_one_seed_is_conclusive_and_never_named(graded: dict[str, object]) -> None:
    g = graded["seeded"]
    assert g.grade == Grade.CONCLUSIVE and g.seeds and g.matched == 1  # type: ignore[attr-defined]
    seed = [r for r in g.reasons if r.kind == "seed"]  # type: ignore[attr-defined]
    assert len(seed) == 1 and seed[0].figures == {"present": "yes"}
    # A seed's place in the list would tell the broker which record to drop: no reason names it.
    texts = " ".join(r.text + repr(r.figures) for r in g.reasons)  # type: ignore[attr-defined]
    assert "seeded-150" not in texts and not any(c.isdigit() for c in seed[0].text)


def test_binomial_tail_against_known_values() -> None:
    assert binomial_tail(0, 10, 0.3) == 1.0
    assert binomial_tail(1, 10, 0.5) == pytest.approx(1 - 0.5**10)
    assert binomial_tail(10, 10, 0.5) == pytest.approx(0.5**10)
    assert binomial_tail(3, 10, 0.1) == pytest.approx(0.0701908264, rel=1e-8)
    assert binomial_tail(90, 100, 1e-4) < 1e-300 or binomial_tail(90, 100, 1e-4) == 0.0


def test_overlap_a_list_of_strangers_would_give_is_not_evidence() -> None:
    """When the watchlist holds half the families of a region and age, 10 matches in 20 rows
    are what chance gives: not strong, not even weak."""
    from casework.composition import Composition
    from casework.grading import _Row, grade_rows
    from matcher.figures import LIVE_BIRTHS, population_share

    born = LIVE_BIRTHS[2008] * population_share("東京都")
    half = Composition({"東京都": {"2008": int(born / 2)}})
    rows = [_Row("東京都", 2008, matched=i < 10) for i in range(20)]
    g = grade_rows(1, rows, half, None, LEAK)
    assert g.expected == pytest.approx(10, rel=1e-3) and 0.5 < g.tail_p < 0.7
    assert g.grade == Grade.NONE
    many = grade_rows(1, [_Row("東京都", 2008, matched=True) for _ in range(20)], half, None,
                      LEAK)  # fmt: skip
    assert many.tail_p == pytest.approx(0.5**20, rel=1e-3) and many.grade == Grade.STRONG
