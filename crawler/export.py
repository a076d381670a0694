"""Rows out: a source's listing rows as a listing-contract CSV (``leakwatch match`` input)."""

from __future__ import annotations

import csv
import os
from pathlib import Path

from sqlalchemy import select

from crawler.display import csv_safe
from crawler.fields import LISTING_COLUMNS, RECORD_FIELDS
from store import audit
from store.models import Listing, ListingRow, Source
from store.runtime import Store
from store.sealed import LISTING_ROW_PII


class ExportError(Exception):
    pass


def export_rows(
    store: Store, source_name: str, out: Path, *, actor: str, include_gone: bool = False
) -> int:
    """Write the source's rows (still published ones unless ``include_gone``); 0600 file."""
    with store.sessions() as s:
        src = s.execute(select(Source).where(Source.name == source_name)).scalar_one_or_none()
        if src is None:
            raise ExportError(f"no source named {source_name!r}")
        q = (
            select(ListingRow, Listing.id)
            .join(Listing, ListingRow.listing_id == Listing.id)
            .where(Listing.source_id == src.id)
            .order_by(ListingRow.id)
        )
        if not include_gone:
            q = q.where(ListingRow.gone_at.is_(None))
        n = 0
        out.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(fd, 0o600)  # an existing file keeps its old mode through O_CREAT
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            w = csv.writer(f)
            w.writerow(LISTING_COLUMNS)
            for row, listing_id in s.execute(q.execution_options(yield_per=1000)):
                pii = store.vault.open_json(row.pii, LISTING_ROW_PII)
                values = [str(row.id), f"L{listing_id}"]
                values += [csv_safe(str(pii.get(f, ""))) for f in RECORD_FIELDS]
                w.writerow(values)
                n += 1
        audit.record(
            s, actor, "rows.exported", object_type="source", object_id=src.id,
            details={"rows": n, "include_gone": include_gone},
        )  # fmt: skip
        s.commit()
    return n
