"""Erasure: after a household's data is erased, its values are in no table, no database dump,
no index file and no export; matches keep ids and scores; the audit chain verifies."""

from __future__ import annotations

import csv
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select

from casework.accounts import SignInFailed, sign_in_customer
from casework.attachments import Attachment
from casework.customers import request_erasure, set_notifications
from casework.erasure import ErasureRefused, approve, request_for_household
from casework.intake import ReportForm, file_report
from casework.permissions import Actor, Principal
from matcher.contract import RECORD_FIELDS
from store import audit
from store.matching import current_index
from store.models import (
    CandidateMatch,
    Decision,
    Household,
    Listing,
    ListingRow,
    ReviewState,
    Source,
    WatchlistPerson,
)
from store.runtime import Store
from store.sealed import LISTING_ROW_PII, SEALED_COLUMNS, listing_row_indexes
from store.watchlist_import import import_watchlist
from synth.csvio import write_csv
from synth.watchlist import WATCHLIST_COLUMNS, generate_watchlist
from tests.databases import ON_POSTGRES

PNG = b"\x89PNG\r\n\x1a\n" + bytes(64)


def _all_sealed_text(store: Store) -> str:
    """Every sealed value of every table, opened: what the store holds in clear, in effect."""
    texts = []
    with store.sessions() as s:
        for sealed in SEALED_COLUMNS:
            column = getattr(sealed.model, sealed.column)
            for blob in s.scalars(select(column).where(column.is_not(None))):
                texts.append(store.vault.open(blob, sealed.context).decode("utf-8", "replace"))
    return "\n".join(texts)


def _dump(store: Store) -> bytes:
    """The database as a backup would hold it."""
    if ON_POSTGRES:
        url = store.engine.url
        return subprocess.run(["pg_dump", "-h", url.host or "127.0.0.1", "-U",
                               url.username or "postgres", url.database or ""],
                              capture_output=True, check=True).stdout  # fmt: skip
    path = Path(str(store.engine.url.database))
    return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())


@pytest.fixture
def household(store: Store, tmp_path: Path) -> dict[str, object]:
    rows = list(generate_watchlist(40, 5))
    write_csv(rows, tmp_path / "w.csv", WATCHLIST_COLUMNS)
    import_watchlist(store.sessions, store.vault, tmp_path / "w.csv", actor="t", worker=False,
                     codes_out=tmp_path / "codes.csv")  # fmt: skip
    with open(tmp_path / "codes.csv", encoding="utf-8") as handle:
        code = next(csv.DictReader(handle))
    ref = code["household_id"]
    members = [r for r in rows if r["household_id"] == ref]
    with store.sessions.begin() as s:
        hid = s.scalars(select(Household.id).where(Household.household_ref == ref)).one()
        source = Source(name="s", start_urls=["https://example.jp/"])
        s.add(source)
        s.flush()
        listing = Listing(key="/l", source_id=source.id)
        s.add(listing)
        s.flush()
        for i, person in enumerate(members):
            pii = {f: person.get(f, "") for f in RECORD_FIELDS}
            row = ListingRow(listing_id=listing.id, row_ref=f"r{i}",
                             pii=store.vault.seal_json(pii, LISTING_ROW_PII),
                             **listing_row_indexes(store.vault, pii))  # fmt: skip
            s.add(row)
            s.flush()
            pid = s.scalars(
                select(WatchlistPerson.id).where(WatchlistPerson.record_ref == person["record_id"])
            ).one()
            s.add(
                CandidateMatch(
                    listing_row_id=row.id,
                    person_id=pid,
                    score=0.99,
                    decision=Decision.MATCH,
                    review_state=ReviewState.CONFIRMED,
                )
            )
    customer = Principal(Actor.CUSTOMER, household_id=hid, name=ref)
    set_notifications(store, customer, "parent-erase@example.jp")
    form = ReportForm(description="DM 宛名は 旧住所", addressed_name=members[0]["name"],
                      addressed_address=members[0]["address"])  # fmt: skip
    file_report(store, customer, form, [Attachment("dm.png", "image/png", PNG)])
    current_index(store)  # a saved index that holds them
    return {"customer": customer, "members": members, "code": code, "path": tmp_path / "w.csv"}


def _values(members: list[dict[str, str]]) -> list[str]:
    return [m[f] for m in members for f in ("name", "name_kana", "address", "phone", "email")
            if m[f]] + ["parent-erase@example.jp"]  # fmt: skip


def test_erasure_leaves_no_value_anywhere(store: Store, household: dict[str, object],
                                          tmp_path: Path) -> None:  # fmt: skip
    from crawler.export import export_rows

    members = household["members"]
    customer = household["customer"]
    values = _values(members)  # type: ignore[arg-type]
    assert all(v in _all_sealed_text(store) for v in values[:3])  # there before
    request = request_erasure(store, customer)  # type: ignore[arg-type]
    admin = Principal(Actor.ADMIN, user_id=None, name="admin1")
    erased = approve(store, admin, request)
    assert erased.persons == len(members) and erased.rows == len(members)  # type: ignore[arg-type]
    sealed = _all_sealed_text(store)
    dump = _dump(store)
    assert [v for v in values if v in sealed] == []
    assert [v for v in values if v.encode() in dump] == []
    assert not list((store.settings.home / "index").glob("watchlist-*.idx"))
    index = current_index(store)
    refs = {index.record_id(i) for i in range(index.size)}
    assert not refs & {m["record_id"] for m in members}  # type: ignore[index]
    saved = b"".join(p.read_bytes() for p in (store.settings.home / "index").glob("*"))
    assert [v for v in values if v.encode() in saved] == []
    out = tmp_path / "rows.csv"
    export_rows(store, "s", out, actor="t")
    assert [v for v in values if v in out.read_text(encoding="utf-8")] == []
    with store.sessions() as s:  # matches keep ids and scores only
        kept = s.scalars(select(CandidateMatch)).all()
        assert len(kept) == len(members) and all(c.score == 0.99 for c in kept)  # type: ignore[arg-type]
        assert audit.verify(s).ok
    code = household["code"]
    with pytest.raises(SignInFailed):
        sign_in_customer(store, code["registration_code"], code["login_key"], "127.0.0.1")  # type: ignore[index]
    again = import_watchlist(store.sessions, store.vault, household["path"], actor="t",  # type: ignore[arg-type]
                             worker=False)  # fmt: skip
    assert (
        again.kept_erased == len(members)
        and [
            v
            for v in values  # type: ignore[arg-type]
            if v in _all_sealed_text(store)
        ]
        == []
    )


def test_an_admins_request_needs_a_second_admin(store: Store, household: dict[str, object]
                                                ) -> None:  # fmt: skip
    first = Principal(Actor.ADMIN, name="admin1")
    request = request_for_household(store, first, household["code"]["household_id"])  # type: ignore[index]
    with pytest.raises(ErasureRefused):
        approve(store, first, request)
    assert approve(store, Principal(Actor.ADMIN, name="admin2"), request).persons > 0
