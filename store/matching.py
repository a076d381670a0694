"""Matching inside the store: the index from the (decrypted) watchlist, candidate matches for
listing rows, with their explanations.

``build_index`` opens every live (not erased) person's sealed PII and builds the matcher's
index; ``save_index`` / ``load_index`` keep it on disk encrypted under the store's derived
``index_key``. ``match_listing_rows`` matches the listing rows that have no candidate yet (or
exactly the rows a crawl just wrote), writes one ``CandidateMatch`` per reported
(row, person) pair with the explanation as JSON, dates listings whose as-of was unknown, and
records one audit event with counts only.

``learn_from_reviews`` closes the loop: the pairs reviewers confirmed or rejected are matched
again, the matcher refines its model and calibration from those labels
(``Matcher.learn``), and the result is stored as a ``MatchModel``; ``current_model`` (the
newest) scores every later run.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

from sqlalchemy import Select, exists, func, or_, select, update
from sqlalchemy.orm import Session

from matcher import (
    IndexFormatError,
    IndexKeyError,
    MatchResult,
    Model,
    Thresholds,
    WatchlistIndex,
)
from store import audit
from store.match_files import read_index_file, save_index_file
from store.models import (
    CandidateMatch,
    Household,
    Listing,
    ListingRow,
    MatchModel,
    WatchlistPerson,
)
from store.models.cases import Decision
from store.runtime import Store
from store.sealed import LISTING_ROW_PII, PERSON_PII
from store.vault import Vault


def _persons(store: Store, batch: int) -> Iterator[dict[str, str]]:
    vault = store.vault
    q = (
        select(WatchlistPerson.record_ref, Household.household_ref, WatchlistPerson.pii)
        .join(Household, WatchlistPerson.household_id == Household.id)
        .where(WatchlistPerson.erased_at.is_(None))
        .order_by(WatchlistPerson.id)
    )
    with store.sessions() as s:
        for record_ref, household_ref, blob in s.execute(q.execution_options(yield_per=batch)):
            pii = vault.open_json(blob, PERSON_PII)
            row = {k: str(v) for k, v in pii.items() if isinstance(v, str | int)}
            row["record_id"], row["household_id"] = record_ref, household_ref
            yield row


def build_index(
    store: Store, batch: int = 5000, progress: Callable[[int], None] | None = None
) -> WatchlistIndex:
    """The match index of every live watchlist person (seeds included: they are ordinary
    records to the matcher)."""
    return WatchlistIndex.build(_persons(store, batch), progress=progress)


def save_index(store: Store, index: WatchlistIndex, path: Path) -> None:
    """The index sealed under the current index key: 0600, whole or not at all."""
    save_index_file(path, index, store.key_ring().current.index_key)


def load_index(store: Store, path: Path) -> WatchlistIndex:
    """Load an index saved under the current or an older (not yet rotated-away) key:
    IndexKeyError when none opens it, IndexFormatError when another version saved it."""
    return read_index_file(path, [key.index_key for key in store.key_ring().keys])


def watchlist_version(store: Store) -> str:
    """Changes whenever a person is added, re-imported with new data or erased."""
    with store.sessions() as s:
        n, top, changed, erased = s.execute(
            select(
                func.count(),
                func.max(WatchlistPerson.id),
                func.max(WatchlistPerson.updated_at),
                func.count(WatchlistPerson.erased_at),
            )
        ).one()
    return hashlib.sha256(f"{n}:{top}:{changed}:{erased}".encode()).hexdigest()[:16]


def current_index(store: Store) -> WatchlistIndex:
    """The index of the watchlist as it is now.

    Building it means opening every sealed person, so it is kept (encrypted) under
    LEAKWATCH_HOME/index/ for this version of the watchlist and reused by later crawls.
    """
    folder = store.settings.home / "index"
    path = folder / f"watchlist-{watchlist_version(store)}.idx"
    if path.exists():
        try:
            return load_index(store, path)
        except (IndexKeyError, IndexFormatError):
            pass  # sealed under a key rotated away since, or by an older LeakWatch: rebuild
    index = build_index(store)
    folder.mkdir(parents=True, exist_ok=True)
    save_index(store, index, path)  # readers never see a half-written index
    for stale in folder.glob("watchlist-*.idx"):
        if stale != path:
            stale.unlink(missing_ok=True)
    return index


@dataclass
class StoreMatchResult:
    rows: int = 0
    candidates: int = 0
    decisions: dict[str, int] = field(default_factory=lambda: {d.value: 0 for d in Decision})
    listings_dated: int = 0
    matcher: str = ""  # who matched: the resident matcher, or this process (for summaries)


def match_listing_rows(
    store: Store,
    index: WatchlistIndex | None = None,
    *,
    row_ids: Sequence[int] | None = None,
    listing_ids: Sequence[int] | None = None,
    thresholds: Thresholds | None = None,
    em: bool = True,
    actor: str = "system:matcher",
) -> StoreMatchResult:
    """Match listing rows still without candidates (of ``row_ids``) and store the candidates.

    Matched by ``index`` when given; else by the resident matcher when one serves this store
    (caught up with the watchlist first), else by ``current_index`` here
    (:func:`store.matcher_client.matcher_for`; ``matcher`` of the result says which).
    A row that yields no candidate is marked with the watchlist version it was matched
    against and looked at again only once the watchlist has changed (a person added, changed
    or erased); rows already holding candidates are never duplicated.
    """
    from store.matcher_client import matcher_for  # it imports this module

    version = watchlist_version(store)
    out = StoreMatchResult()
    with store.sessions() as s:
        q = _rows_to_match(version, row_ids, listing_ids)
        rows = open_listing_rows(store.vault, s.execute(q))
        out.rows = len(rows)
        if not rows:
            return out
        listing_refs = {int(r["listing_id"]) for r in rows}
        listings = {
            lst.id: lst for lst in s.scalars(select(Listing).where(Listing.id.in_(listing_refs)))
        }
        known = {str(i): lst.as_of.date() for i, lst in listings.items() if lst.as_of}
        matching = matcher_for(store, index, version=version)
        out.matcher = matching.label
        result = matching.match(rows, as_of=known, thresholds=thresholds,
                                model=current_model(store), em=em)  # fmt: skip
        out.candidates = write_candidates(
            s, result, lambda row_id: {"listing_row_id": int(row_id)}, out.decisions
        )
        out.listings_dated = _date_listings(listings, result)
        ids = [int(r["row_id"]) for r in rows]
        for chunk in range(0, len(ids), 1000):
            s.execute(update(ListingRow).where(ListingRow.id.in_(ids[chunk : chunk + 1000]))
                      .values(matched_against=version))  # fmt: skip
        audit.record(
            s, actor, "match.listing_rows", object_type="listing_row",
            details={"rows": out.rows, "candidates": out.candidates, **out.decisions,
                     "listings_dated": out.listings_dated},
        )  # fmt: skip
        s.commit()
    return out


def _rows_to_match(
    version: str, row_ids: Sequence[int] | None, listing_ids: Sequence[int] | None
) -> Select[int, int, bytes]:
    """Live rows without candidates: those asked for by id (whatever the watchlist version),
    else those not yet matched against this version of the watchlist."""
    q = (
        select(ListingRow.id, ListingRow.listing_id, ListingRow.pii)
        .where(ListingRow.gone_at.is_(None))
        .where(~exists().where(CandidateMatch.listing_row_id == ListingRow.id))
        .order_by(ListingRow.id)
    )
    if row_ids is not None:
        q = q.where(ListingRow.id.in_(list(row_ids)))
    else:
        q = q.where(or_(ListingRow.matched_against.is_(None),
                        ListingRow.matched_against != version))  # fmt: skip
    if listing_ids is not None:
        q = q.where(ListingRow.listing_id.in_(list(listing_ids)))
    return q


def _date_listings(listings: dict[int, Listing], result: MatchResult) -> int:
    """Give undated listings the middle of the date the matcher inferred; how many."""
    dated = 0
    for lref, iv in result.as_of.items():
        lst = listings.get(int(lref)) if lref else None
        if lst is not None and lst.as_of is None and iv is not None:
            mid = date.fromordinal((iv[0].toordinal() + iv[1].toordinal()) // 2)
            lst.as_of = datetime.combine(mid, time(), tzinfo=UTC)
            dated += 1
    return dated


def write_candidates(
    s: Session,
    result: MatchResult,
    subject: Callable[[str], dict[str, int]],
    decisions: dict[str, int],
) -> int:
    """One CandidateMatch per (subject, person) of ``result``, with its explanation (levels and
    weights, never personal data). ``subject`` maps a matcher row id to the candidate's
    subject column (a listing row or a report). Counts decisions into ``decisions``."""
    refs = sorted({c.record_id for c in result.candidates})
    person_of: dict[str, int] = {}
    for chunk in range(0, len(refs), 1000):
        q = select(WatchlistPerson.record_ref, WatchlistPerson.id).where(
            WatchlistPerson.record_ref.in_(refs[chunk : chunk + 1000])
        )
        person_of.update({ref: pid for ref, pid in s.execute(q)})
    seen: set[tuple[str, int]] = set()
    written = 0
    for c in result.candidates:
        pid = person_of.get(c.record_id)
        if pid is None or (c.row_id, pid) in seen:
            continue  # erased since the index was built
        seen.add((c.row_id, pid))
        s.add(
            CandidateMatch(
                **subject(c.row_id),
                person_id=pid,
                score=min(max(c.score, 0.0), 1.0),
                decision=Decision(c.decision),
                explanation=_explanation(c.explanation.to_dict()),
            )
        )
        written += 1
        decisions[c.decision] += 1
    return written


def open_listing_rows(vault: Vault, found: Iterable[Any]) -> list[dict[str, str]]:
    """(id, listing_id, sealed pii) → the matcher's row dicts, keyed by the row's id."""
    rows: list[dict[str, str]] = []
    for rid, lid, blob in found:
        pii = vault.open_json(blob, LISTING_ROW_PII)
        row = {k: str(v) for k, v in pii.items() if not k.startswith("_")}
        row["row_id"], row["listing_id"] = str(rid), str(lid)
        rows.append(row)
    return rows


def current_model(store: Store) -> Model:
    """The newest model learned from reviewers' labels, or the matcher's defaults."""
    with store.sessions() as s:
        params = s.scalar(select(MatchModel.params).order_by(MatchModel.id.desc()).limit(1))
    return Model.from_json(params) if params else Model()


def _explanation(d: dict[str, Any]) -> dict[str, Any]:
    """The explanation as stored: levels and weights only, never personal data."""
    return {k: d[k] for k in ("prior_bits", "fields", "logit_bits", "score", "notes")}
