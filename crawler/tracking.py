"""Listings across crawls: first and last seen, shrunk, removed — how a takedown is verified.

After a crawl of a source:

* a listing seen in this crawl gets ``last_seen`` = now and its new ``row_count``; its rows not
  seen again get ``gone_at``; fewer rows than before -> ``shrunk``; as many or more -> ``active``
  (a listing that comes back after removal is active again, and says so in the audit log);
* a listing of the source not seen at all -> ``removed`` (``removed_at``, all rows gone).

Only a complete crawl (finished normally, no download error, page limit not hit) may conclude
that something is gone: a timeout must never close a case as "taken down".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from crawler.context import CRAWLER_ACTOR
from store import audit
from store.models import Listing, ListingRow, ListingStatus, utcnow


@dataclass
class Tracked:
    new: list[int] = field(default_factory=list)
    shrunk: list[int] = field(default_factory=list)
    removed: list[int] = field(default_factory=list)
    back: list[int] = field(default_factory=list)
    rows_gone: int = 0
    removals_checked: bool = True

    def as_dict(self) -> dict[str, Any]:
        return {
            "listings_new": len(self.new),
            "listings_shrunk": self.shrunk,
            "listings_removed": self.removed,
            "listings_back": self.back,
            "rows_gone": self.rows_gone,
            "removals_checked": self.removals_checked,
        }


def track_listings(
    session: Session,
    source_id: int | None,
    rows_seen: dict[int, int],
    crawl_started: datetime,
    *,
    complete: bool,
) -> Tracked:
    """Update every listing of ``source_id`` after a crawl that saw ``rows_seen`` rows per id."""
    now = utcnow()
    out = Tracked(removals_checked=complete)
    listings = session.execute(select(Listing).where(Listing.source_id == source_id)).scalars()
    for listing in listings:
        if listing.id in rows_seen:
            count = rows_seen[listing.id]
            before, status = listing.row_count, listing.status
            if listing.first_seen >= crawl_started:
                out.new.append(listing.id)
            listing.last_seen = now
            if not complete:
                listing.row_count = max(listing.row_count, count)
                continue
            gone = _rowcount(
                session.execute(
                    update(ListingRow)
                    .where(
                        ListingRow.listing_id == listing.id,
                        ListingRow.gone_at.is_(None),
                        ListingRow.last_seen < crawl_started,
                    )
                    .values(gone_at=now)
                )
            )
            out.rows_gone += gone
            listing.row_count = count
            listing.removed_at = None
            if status == ListingStatus.REMOVED:
                out.back.append(listing.id)
                listing.status = ListingStatus.ACTIVE
                _audit(session, "listing.reappeared", listing, before, count)
            elif count < before:
                out.shrunk.append(listing.id)
                listing.status = ListingStatus.SHRUNK
                _audit(session, "listing.shrunk", listing, before, count)
            # a shrunk listing stays shrunk while it holds no more than after the cut
        elif complete and listing.status != ListingStatus.REMOVED:
            before = listing.row_count
            out.rows_gone += _rowcount(
                session.execute(
                    update(ListingRow)
                    .where(ListingRow.listing_id == listing.id, ListingRow.gone_at.is_(None))
                    .values(gone_at=now)
                )
            )
            listing.status = ListingStatus.REMOVED
            listing.removed_at = now
            out.removed.append(listing.id)
            _audit(session, "listing.removed", listing, before, 0)
    session.flush()
    return out


def _audit(session: Session, action: str, listing: Listing, before: int, after: int) -> None:
    audit.record(
        session,
        CRAWLER_ACTOR,
        action,
        object_type="listing",
        object_id=listing.id,
        details={"source_id": listing.source_id, "rows_before": before, "rows_after": after},
    )


def _rowcount(result: object) -> int:
    return int(result.rowcount) if isinstance(result, CursorResult) else 0
