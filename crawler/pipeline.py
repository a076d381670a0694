"""The store pipeline: records become sealed listing rows of recognised listings.

A listing is recognised by its key within the source (``crawler.spiders.generic.listing_key``):
the page's URL without pagination, and without host and port on the source's home host, so a
source moved to another port or host keeps its listings. A record's identity within its
listing (``row_ref``) is a keyed fingerprint of its published values (the vault's MAC key,
never a plain hash: a plain hash of a phone number is a guessing oracle), with ``#2``, ``#3``
for identical records. A row seen again gets a new ``last_seen``
and points at the newest capture; a new row is sealed with the vault, given its blind indexes,
and handed to the matcher when the crawl ends. Writes are batched; the audit log records the
counts only.

With storage off (``LEAKWATCH_STORE=False``, the benchmark's cost measurement) the pipeline is
not loaded at all (``NotConfigured``); the spider counts the records either way.
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from sqlalchemy import select

from crawler.context import CRAWLER_ACTOR, CrawlContext
from crawler.fields import RECORD_FIELDS
from crawler.summary import CrawlSummary, MatchingOutcome
from crawler.tracking import track_listings
from store import audit
from store.models import Crawl, CrawlStatus, Listing, ListingRow, utcnow
from store.sealed import LISTING_ROW_PII, listing_row_fingerprint, listing_row_indexes

log = logging.getLogger(__name__)
BATCH = 500
MAX_KEY = 200


class StorePipeline:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.rows: RowWriter | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StorePipeline:
        if not crawler.settings.getbool("LEAKWATCH_STORE", True):
            raise NotConfigured("storage is off (LEAKWATCH_STORE)")
        pipeline = cls(crawler)
        CrawlContext.of(crawler).on_open(pipeline.open)
        return pipeline

    def open(self, ctx: CrawlContext) -> None:
        self.rows = RowWriter(ctx)
        ctx.rows = self.rows

    def process_item(self, item: dict[str, Any]) -> dict[str, Any]:
        CrawlContext.of(self.crawler).ensure_open()
        assert self.rows is not None
        for rec in item.get("records", []):
            self.rows.add({**item, **rec, "records": None})
        return {"listing_key": item.get("listing_key")}  # nothing personal travels further


class RowWriter:
    def __init__(self, ctx: CrawlContext) -> None:
        self.ctx = ctx
        assert ctx.store is not None and ctx.session is not None and ctx.source is not None
        self.session = ctx.session
        self.vault = ctx.store.vault
        self.source_id = ctx.source.id
        self.pending: list[dict[str, Any]] = []
        self.listing_ids: dict[str, int] = {}
        self.seen_refs: dict[int, Counter[str]] = {}
        self.rows_seen: dict[int, int] = {}
        self.new_row_ids: list[int] = []
        self.rows_again = 0
        self.started = utcnow()

    def add(self, item: dict[str, Any]) -> None:
        self.pending.append(item)
        if len(self.pending) >= BATCH:
            self.flush()

    def _listing(self, item: dict[str, Any]) -> int:
        key = str(item["listing_key"])[:MAX_KEY]
        if key in self.listing_ids:
            return self.listing_ids[key]
        listing = self._find(key)
        before = str(item.get("listing_key_before") or "")[:MAX_KEY]
        if listing is None and before:
            # recorded before keys became relative to the source's home (host and port):
            # the same listing, re-keyed once, so it is not taken for a new one
            listing = self._find(before)
            if listing is not None:
                listing.key = key
                log.info("listing %s re-keyed relative to the source's home", listing.id)
        now = utcnow()
        if listing is None:
            assert self.ctx.source is not None
            listing = Listing(
                source_id=self.source_id,
                business_id=self.ctx.source.business_id,
                key=key,
                url=str(item.get("listing_url") or "")[:2000] or None,
                title=(str(item.get("title") or "")[:300] or None),
                first_seen=now,
                last_seen=now,
                row_count=0,
            )
            self.session.add(listing)
            self.session.flush()
        self.listing_ids[key] = listing.id
        self.seen_refs[listing.id] = Counter()
        self.rows_seen[listing.id] = 0
        return listing.id

    def _find(self, key: str) -> Listing | None:
        return self.session.execute(
            select(Listing).where(Listing.source_id == self.source_id, Listing.key == key)
        ).scalar_one_or_none()

    def _ref(self, listing_id: int, fields: dict[str, str]) -> str:
        base = listing_row_fingerprint(self.vault, fields)
        seen = self.seen_refs[listing_id]
        seen[base] += 1
        return base if seen[base] == 1 else f"{base}#{seen[base]}"

    def flush(self) -> None:
        if not self.pending:
            return
        now = utcnow()
        batch: list[tuple[int, str, dict[str, Any]]] = []
        for item in self.pending:
            lid = self._listing(item)
            fields = {f: str(item["fields"].get(f, "")) for f in RECORD_FIELDS}
            batch.append((lid, self._ref(lid, fields), item))
            self.rows_seen[lid] += 1
        self.pending.clear()
        by_listing: dict[int, list[str]] = {}
        for lid, ref, _ in batch:
            by_listing.setdefault(lid, []).append(ref)
        existing: dict[tuple[int, str], ListingRow] = {}
        for lid, refs in by_listing.items():
            for i in range(0, len(refs), 900):
                q = select(ListingRow).where(
                    ListingRow.listing_id == lid, ListingRow.row_ref.in_(refs[i : i + 900])
                )
                for row in self.session.execute(q).scalars():
                    existing[(lid, row.row_ref)] = row
        new_rows: list[ListingRow] = []
        for lid, ref, item in batch:
            evidence_id = item.get("evidence_id")
            seen_before = existing.get((lid, ref))
            if seen_before is not None:
                seen_before.last_seen = now
                seen_before.gone_at = None
                seen_before.evidence_id = evidence_id or seen_before.evidence_id
                self.rows_again += 1
                continue
            pii: dict[str, Any] = {f: str(item["fields"].get(f, "")) for f in RECORD_FIELDS}
            if item.get("extra"):
                pii["_extra"] = item["extra"]
            pii["_where"] = str(item.get("where", ""))[:300]
            row = ListingRow(
                listing_id=lid,
                row_ref=ref,
                evidence_id=evidence_id,
                pii=self.vault.seal_json(pii, LISTING_ROW_PII),
                first_seen=now,
                last_seen=now,
                **listing_row_indexes(self.vault, pii),
            )
            self.session.add(row)
            new_rows.append(row)
        self.session.flush()
        self.new_row_ids.extend(r.id for r in new_rows)
        self.session.commit()

    def finish(self, summary: CrawlSummary) -> CrawlSummary:
        """Flush, track the listings, complete the crawl row with its outcome and audit it.

        The outcome (``finished``, ``failed``, ``interrupted``) and its reason come from the
        summary (``crawler.context``); only a complete crawl may find rows or listings gone.
        """
        self.flush()
        tracked = track_listings(
            self.session, self.source_id, self.rows_seen, self.started, complete=summary.complete
        )
        stored: dict[str, Any] = {
            "listings_seen": len(self.rows_seen),
            "rows_new": len(self.new_row_ids),
            "rows_again": self.rows_again,
            **tracked.as_dict(),
        }
        self._complete_crawl(summary, stored)
        matching = hand_to_matcher(self.ctx, self.new_row_ids)
        return summary.model_copy(update={**stored, "matching": matching})

    def _complete_crawl(self, summary: CrawlSummary, stored: dict[str, Any]) -> None:
        """The crawl row's end (status, counts, error) and the crawl's audit event."""
        error = summary.error
        stats = {**_stats_view(summary), **stored}
        crawl = self.session.get(Crawl, self.ctx.crawl_id)
        if crawl is not None:
            crawl.status = CrawlStatus.FAILED if error else CrawlStatus.DONE
            crawl.finished_at = utcnow()
            crawl.pages = summary.pages
            crawl.bytes_fetched = summary.bytes
            crawl.stats = stats
            if error:
                crawl.error = error
            elif not summary.complete:
                crawl.error = f"incomplete ({summary.finish_reason}): removals were not checked"
        audit.record(
            self.session,
            CRAWLER_ACTOR,
            f"crawl.{summary.outcome}",
            object_type="crawl",
            object_id=self.ctx.crawl_id,
            reason=error or None,
            details={"source_id": self.source_id, **stats},
        )
        self.session.commit()


def _stats_view(summary: CrawlSummary) -> dict[str, Any]:
    """Counts and reasons only (URLs of refusals and cuts are not personal data)."""
    keep = (
        "finish_reason", "outcome", "complete", "pages", "bytes", "captures", "records",
        "download_errors", "robots_forbidden", "over_page_limit", "seconds",
    )  # fmt: skip
    data = summary.as_dict()
    out = {k: data[k] for k in keep if k in data}
    for key in ("truncated", "refused", "not_fetched", "file_errors", "render_errors",
                "browser_blocked"):  # fmt: skip
        out[key] = data.get(key, [])[:50]
    out["readers"] = data.get("readers", {})
    if data.get("rendered"):
        out["rendered"] = data["rendered"]
    if "login" in data:
        out["login"] = data["login"]
    return out


def hand_to_matcher(ctx: CrawlContext, row_ids: list[int]) -> MatchingOutcome:
    """THE call site that hands a crawl's new listing rows to the matcher (store.matching).

    Matching failures never lose the crawl: rows stay stored and can be matched again.
    """
    if not row_ids:
        return MatchingOutcome(status="no new rows")
    from store import matching  # imported late: building the matcher's tables takes time

    assert ctx.store is not None
    try:
        result = matching.match_listing_rows(ctx.store, row_ids=row_ids)
    except Exception as exc:
        log.exception("matching the new rows failed")
        return MatchingOutcome(status=f"matching failed: {type(exc).__name__}", rows=len(row_ids))
    return MatchingOutcome(status="matched", rows=len(row_ids), result=_plain(result))


def _plain(value: Any) -> Any:
    if isinstance(value, int | float | str | bool) or value is None:
        return value
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if hasattr(value, "__dataclass_fields__"):
        return {k: _plain(getattr(value, k)) for k in value.__dataclass_fields__}
    return str(value)
