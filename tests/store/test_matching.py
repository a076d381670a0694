"""Store integration: index from the sealed watchlist, candidate matches with explanations."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from matcher import IndexKeyError, WatchlistIndex
from store.keyring import MasterKey
from store.matching import build_index, load_index, match_listing_rows, save_index
from store.models import CandidateMatch, Listing, ListingRow, WatchlistPerson
from store.runtime import Store
from store.watchlist_import import import_watchlist
from synth.watchlist import generate_watchlist

FIELDS = ["name", "name_kana", "gender", "birthdate", "age", "grade", "guardian_name",
          "postal_code", "address", "phone", "email"]  # fmt: skip


def persons(store: Store) -> int:
    """How many persons the store holds (the fixture's watchlist, as imported)."""
    with store.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(WatchlistPerson)) or 0)


def test_match_listing_rows_writes_explained_candidates(
    store: Store, loaded_listing: tuple[list[dict[str, str]], list[dict[str, str]]]
) -> None:
    rows, truth = loaded_listing
    index = build_index(store)
    assert len(index) == persons(store) > 0
    result = match_listing_rows(store, index)
    assert result.rows == len(rows) and result.candidates > 0
    with store.sessions() as s:
        ref_of = dict(s.execute(select(ListingRow.id, ListingRow.row_ref)).all())
        rec_of = dict(s.execute(select(WatchlistPerson.id, WatchlistPerson.record_ref)).all())
        cands = s.scalars(select(CandidateMatch)).all()
        want = {t["row_id"]: t["record_id"] for t in truth if t["record_id"]}
        matched = [c for c in cands if c.decision.value == "match"]
        right = sum(want.get(ref_of[c.listing_row_id]) == rec_of[c.person_id] for c in matched)
        assert right / len(matched) >= 0.95 and right / len(want) >= 0.8  # a small store
        for c in cands:
            e = c.explanation
            total = e["prior_bits"] + sum(f["weight"] for f in e["fields"])
            assert total == pytest.approx(e["logit_bits"], abs=1e-2)
            assert 0 <= c.score <= 1
        assert s.scalar(select(Listing.as_of)) is not None or not any(r["age"] for r in rows)
    # A second run finds nothing new to do and writes no duplicates.
    again = match_listing_rows(store, index)
    with store.sessions() as s:
        assert s.scalar(select(func.count()).select_from(CandidateMatch)) == result.candidates
    assert again.candidates == 0
    # Rows without a candidate are not matched again while the watchlist stays the same...
    assert again.rows == 0
    without = result.rows - len({c.listing_row_id for c in cands})
    assert without > 0
    # ... and are, once it changed (here a person erased).
    with store.sessions() as s:
        person = s.scalars(select(WatchlistPerson).limit(1)).one()
        person.erased_at = datetime.now(UTC)
        s.commit()
    assert match_listing_rows(store, build_index(store)).rows == without


def test_erased_persons_are_not_indexed(
    store: Store, loaded_listing: tuple[list[dict[str, str]], list[dict[str, str]]]
) -> None:
    from datetime import UTC, datetime

    stored = persons(store)
    with store.sessions() as s:
        p = s.scalars(select(WatchlistPerson).order_by(WatchlistPerson.id)).first()
        assert p is not None
        p.erased_at = datetime.now(UTC)
        ref = p.record_ref
        s.commit()
    index = build_index(store)
    assert len(index) == stored - 1 and index.position(ref) is None


def test_index_saved_under_the_store_key(
    store: Store, tmp_path: Path, loaded_listing: tuple[list[dict[str, str]], list[dict[str, str]]]
) -> None:
    index = build_index(store)
    path = tmp_path / "w.idx"
    save_index(store, index, path)
    assert len(load_index(store, path)) == len(index)
    with pytest.raises(IndexKeyError):  # another store's key
        WatchlistIndex.load(path, MasterKey.generate().index_key)
    # Never the PII key itself: the index key is its own HKDF sub-key.
    current = store.key_ring().current
    assert current.index_key not in (current.enc_key, current.mac_key, current.raw)


def test_current_index_is_reused_until_the_watchlist_changes(
    store: Store, loaded_listing: tuple[list[dict[str, str]], list[dict[str, str]]], tmp_path: Path
) -> None:
    from store.matching import current_index

    stored = persons(store)
    first = current_index(store)
    saved = sorted((store.settings.home / "index").glob("watchlist-*.idx"))
    assert len(first) == stored and len(saved) == 1
    assert saved[0].stat().st_mode & 0o777 == 0o600
    mtime = saved[0].stat().st_mtime_ns
    again = current_index(store)
    assert len(again) == stored and saved[0].stat().st_mtime_ns == mtime  # loaded, not rebuilt
    extra = next(iter(generate_watchlist(1, 99)))
    path = tmp_path / "one.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(extra))
        w.writeheader()
        w.writerow(extra | {"record_id": "P99999999", "household_id": "H99999999"})
    import_watchlist(store.sessions, store.vault, path, actor="test", worker=False)
    grown = current_index(store)
    assert len(grown) == stored + 1
    assert [p.name for p in (store.settings.home / "index").glob("watchlist-*.idx")] != [
        saved[0].name
    ]


def test_an_index_cached_by_an_older_version_is_rebuilt(
    store: Store, loaded_listing: tuple[list[dict[str, str]], list[dict[str, str]]]
) -> None:
    # After an upgrade that changed normalisation, the cached index is stale: rebuilt, not
    # used (it would silently miss rows) and not an error.
    from matcher.sealing import seal_blob
    from store.matching import current_index
    from tests.samples import old_version

    first = current_index(store)
    (path,) = (store.settings.home / "index").glob("watchlist-*.idx")
    path.write_bytes(seal_blob(old_version(first), store.key_ring().current.index_key))
    again = current_index(store)
    assert len(again) == len(first)
    assert WatchlistIndex.load(path, store.key_ring().current.index_key).size == first.size
