"""Keeping a resident index in step with the store's watchlist, change by change.

The resident matcher holds one index for hours or days while imports add and edit persons
and customers' erasures remove them. Reloading 35 million persons for each change would
take minutes; instead it asks the store, every few seconds, which persons changed since it
last looked, and applies exactly those (:func:`changes` then :func:`apply`).

What changed is read from the rows themselves: a person added has a new ``id``, a person
re-imported with new data a new ``updated_at``, an erased person an ``erased_at``. The
watermark is the highest of each seen so far. An importer stamps ``updated_at`` before its
transaction commits, so a person may become visible with a stamp a little older than what
was already seen; each look therefore reaches :data:`OVERLAP` back, and persons already
applied in that window (same id, same stamp) are skipped, so overlapping looks cost
nothing. After applying, the index's count of persons is checked against the store's:
a difference that persists over a look that found nothing new means a change was missed
(a transaction that committed more than ``OVERLAP`` after it stamped its rows, a row
deleted outright) and the caller reloads the index from scratch. Nothing personal is
logged: counts only.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, or_, select

from matcher import WatchlistIndex
from store.matching import watchlist_version
from store.models import Household, WatchlistPerson
from store.runtime import Store
from store.sealed import PERSON_PII

OVERLAP = timedelta(minutes=10)  # how far back each look reaches past the watermark
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass
class Watermark:
    """How far the index has caught up with the store: the highest person id, update stamp
    and erasure stamp applied, the persons applied (and erased) within :data:`OVERLAP` of
    the highest stamp (id → stamp), and the store's watchlist version at that point."""

    top_id: int = 0
    updated: datetime = _EPOCH
    erased: datetime = _EPOCH
    applied: dict[int, datetime] = field(default_factory=dict)
    erased_applied: dict[int, datetime] = field(default_factory=dict)
    version: str = ""


@dataclass
class Changes:
    """Persons to add or replace (data-contract rows) and record ids to forget, with the
    watermark they bring the index to."""

    upserts: list[dict[str, str]]
    erasures: list[str]
    mark: Watermark
    seen: int = 0  # rows looked at (the overlap's included)

    def __bool__(self) -> bool:
        return bool(self.upserts or self.erasures)


def _aware(t: datetime | None) -> datetime:
    if t is None:
        return _EPOCH
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)


def current_mark(store: Store) -> Watermark:
    """The watermark of the store as it is now, for an index built from it just before:
    taken *before* the build, it can only be behind the index, never ahead (what the build
    already holds is applied again harmlessly: the same person replaced by itself)."""
    with store.sessions() as s:
        top, updated, erased = s.execute(select(
            func.max(WatchlistPerson.id), func.max(WatchlistPerson.updated_at),
            func.max(WatchlistPerson.erased_at))).one()  # fmt: skip
    return Watermark(int(top or 0), _aware(updated), _aware(erased),
                     version=watchlist_version(store))  # fmt: skip


def changes(store: Store, mark: Watermark, batch: int = 5000) -> Changes:
    """Every person added, re-imported or erased since ``mark`` (reaching :data:`OVERLAP`
    back; those applied already skipped), and the watermark after them."""
    version = watchlist_version(store)
    new = Watermark(
        mark.top_id,
        mark.updated,
        mark.erased,
        dict(mark.applied),
        dict(mark.erased_applied),
        version,
    )
    upserts: list[dict[str, str]] = []
    erasures: list[str] = []
    seen = 0
    for pid, ref, hh, blob, updated, erased in _changed_rows(store, mark, batch):
        seen += 1
        updated, stamp = _aware(updated), _aware(erased) if erased is not None else None
        new.top_id = max(new.top_id, pid)
        new.updated = max(new.updated, updated)
        if stamp is not None:
            new.erased = max(new.erased, stamp)
            if mark.erased_applied.get(pid) != stamp:
                erasures.append(ref)
                new.erased_applied[pid] = stamp
            new.applied.pop(pid, None)
            continue
        if mark.applied.get(pid) == updated and pid <= mark.top_id:
            continue  # this very state is in the index already
        row = {k: str(v) for k, v in store.vault.open_json(blob, PERSON_PII).items()
               if isinstance(v, str | int)}  # fmt: skip
        row["record_id"], row["household_id"] = ref, hh
        upserts.append(row)
        new.applied[pid] = updated
    new.applied = {p: t for p, t in new.applied.items() if t >= new.updated - OVERLAP}
    new.erased_applied = {p: t for p, t in new.erased_applied.items()
                          if t >= new.erased - OVERLAP}  # fmt: skip
    return Changes(upserts, erasures, new, seen)


def _changed_rows(store: Store, mark: Watermark, batch: int) -> Iterator[tuple[
        int, str, str, bytes, datetime, datetime | None]]:  # fmt: skip
    q = (
        select(WatchlistPerson.id, WatchlistPerson.record_ref, Household.household_ref,
               WatchlistPerson.pii, WatchlistPerson.updated_at, WatchlistPerson.erased_at)
        .join(Household, WatchlistPerson.household_id == Household.id)
        .where(or_(WatchlistPerson.id > mark.top_id,
                   WatchlistPerson.updated_at >= mark.updated - OVERLAP,
                   WatchlistPerson.erased_at >= mark.erased - OVERLAP))
        .order_by(WatchlistPerson.id)
    )  # fmt: skip
    with store.sessions() as s:
        for row in s.execute(q.execution_options(yield_per=batch)):
            yield row[0], row[1], row[2], row[3], row[4], row[5]


def apply(index: WatchlistIndex, found: Changes) -> tuple[int, int]:
    """The changes applied to ``index``: (persons added or replaced, persons removed)."""
    removed = index.remove(found.erasures) if found.erasures else 0
    added = index.add(found.upserts) if found.upserts else 0
    return added, removed


def live_persons(store: Store) -> int:
    """How many persons the store holds that are not erased (what the index should hold)."""
    with store.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(WatchlistPerson)
                            .where(WatchlistPerson.erased_at.is_(None))) or 0)  # fmt: skip


__all__ = ["OVERLAP", "Changes", "Watermark", "apply", "changes", "current_mark", "live_persons"]
