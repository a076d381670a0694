"""Key rotation keeps every value, re-derives blind indexes, and survives an interruption."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from store import rotation
from store.keyring import KeyRing, MasterKey, read_key_file, write_key_file
from store.lookup_keys import phone_key
from store.models import (
    ContactKind,
    CustomerReport,
    Listing,
    ListingRow,
    ReportChannel,
    WatchlistPerson,
)
from store.runtime import Store
from store.sealed import (
    LISTING_ROW_PII,
    LOGIN_KEY,
    PERSON_PII,
    REPORT_FACTS,
    SEALED_COLUMNS,
    listing_row_fingerprint,
)
from store.settings import Settings
from store.vault import DecryptError, Vault
from store.watchlist_import import import_watchlist
from tests.samples import ROWS, write_csv


def _fill(store: Store, tmp_path: Path) -> None:
    import_watchlist(store.sessions, store.vault, write_csv(tmp_path / "w.csv", ROWS), actor="t")
    vault = store.vault
    with store.sessions.begin() as s:
        listing = Listing(key="l1")
        s.add(listing)
        s.flush()
        pii = {"name": "ﾀｶﾊｼ ﾋﾛﾄ", "phone": "03-3234-5678", "postal_code": "1020074"}
        s.add(
            ListingRow(
                listing_id=listing.id,
                row_ref=listing_row_fingerprint(vault, pii) + "#2",
                pii=vault.seal_json(pii, LISTING_ROW_PII),
                phone_bidx=vault.blind_index("phone", phone_key(pii["phone"])),
            )
        )
        s.add(
            CustomerReport(
                reference="R1",
                channel=ReportChannel.WEB,
                contact_kind=ContactKind.MAIL,
                facts=vault.seal_json({"dm_name": "髙橋 大翔 様"}, REPORT_FACTS),
            )
        )


def _snapshot(store: Store, vault: Vault) -> dict[str, object]:
    with store.sessions() as s:
        return {
            "persons": {
                p.record_ref: vault.open_json(p.pii, PERSON_PII)
                for p in s.scalars(select(WatchlistPerson))
            },
            "rows": [
                vault.open_json(r.pii, LISTING_ROW_PII) for r in s.scalars(select(ListingRow))
            ],
            "reports": [
                vault.open_json(r.facts, REPORT_FACTS) for r in s.scalars(select(CustomerReport))
            ],
        }


def _phone_hits(store: Store, vault: Vault, model: type) -> int:
    key = vault.blind_index("phone", phone_key("03-3234-5678"))
    with store.sessions() as s:
        return len(s.scalars(select(model).where(model.phone_bidx == key)).all())  # type: ignore[attr-defined]


def test_registry_covers_every_sealed_column() -> None:
    from store.models import Base

    sealed = {(c.model.__tablename__, c.column) for c in SEALED_COLUMNS}
    binary_pii = {
        (t.name, c.name)
        for t in Base.metadata.sorted_tables
        for c in t.columns
        if c.name in ("pii", "facts") or c.name.endswith("_sealed")
    }
    assert binary_pii == sealed


def test_rotation_keeps_every_value_with_env_key(store: Store, tmp_path: Path) -> None:
    _fill(store, tmp_path)
    old_vault = store.vault
    before = _snapshot(store, old_vault)
    new_key = MasterKey.generate()
    key_out = tmp_path / "new.key"
    result = rotation.rotate_key(store, new_key, actor="t", key_out=key_out)
    assert read_key_file(key_out).keys == (new_key,)
    # 5 persons, 1 listing row, 1 report, 2 households' undelivered login keys
    expected = {PERSON_PII: 5, LISTING_ROW_PII: 1, REPORT_FACTS: 1, LOGIN_KEY: 2}
    assert result.resealed == {c.context: expected.get(c.context, 0) for c in SEALED_COLUMNS}
    new_vault = Vault(KeyRing((new_key,)))
    assert _snapshot(store, new_vault) == before
    assert _phone_hits(store, new_vault, WatchlistPerson) == 3
    assert _phone_hits(store, new_vault, ListingRow) == 1
    with store.sessions() as s:
        row = s.scalars(select(ListingRow)).one()
        # A re-crawl under the new key must still recognise the row (and keep its "#2").
        record = new_vault.open_json(row.pii, LISTING_ROW_PII)
        assert row.row_ref == listing_row_fingerprint(new_vault, record) + "#2"
    with pytest.raises(DecryptError):
        _snapshot(store, Vault(KeyRing((old_vault.ring.current,))))
    # The re-derived digests still recognise unchanged rows on re-import.
    store.use_key_ring(KeyRing((new_key,)))
    again = import_watchlist(store.sessions, store.vault, tmp_path / "w.csv", actor="t")
    assert again.unchanged == 5 and again.updated == 0


def test_rotation_with_key_file_survives_interruption(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, key_ring: KeyRing
) -> None:
    _fill(store, tmp_path)
    before = _snapshot(store, store.vault)
    key_file = tmp_path / "leakwatch.key"
    write_key_file(key_file, key_ring)
    monkeypatch.delenv("LEAKWATCH_KEY")
    monkeypatch.setenv("LEAKWATCH_KEY_FILE", str(key_file))
    file_store = Store.open(Settings())
    monkeypatch.setattr(rotation, "BATCH", 2)

    def crash(context: str, done: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        rotation.rotate_key(file_store, actor="t", progress=crash)
    mid_ring = read_key_file(key_file)
    assert len(mid_ring.keys) == 2  # both keys kept while data is mixed
    assert _snapshot(file_store, Vault(mid_ring)) == before

    resumed = Store.open(Settings())
    again = rotation.rotate_key(resumed, actor="t")
    final = read_key_file(key_file)
    # The same rotation is finished: no third key, the one it was going to.
    assert again.resumed and final.keys == (mid_ring.current,)
    assert _snapshot(resumed, Vault(final)) == before
    file_store.close()
    resumed.close()


@pytest.mark.parametrize("stop_at", ["before-ring", "batch-1", "batch-4", "before-final-ring"])
def test_rotation_interrupted_anywhere_resumes_to_the_same_key(
    store: Store,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    key_ring: KeyRing,
    stop_at: str,
) -> None:
    from store import audit
    from store.models import AuditEvent, Household

    _fill(store, tmp_path)
    before = _snapshot(store, store.vault)
    key_file = tmp_path / "leakwatch.key"
    write_key_file(key_file, key_ring)
    monkeypatch.delenv("LEAKWATCH_KEY")
    monkeypatch.setenv("LEAKWATCH_KEY_FILE", str(key_file))
    monkeypatch.setattr(rotation, "BATCH", 2)
    writes = {"before-ring": 1, "before-final-ring": 2}.get(stop_at)
    batches = {"batch-1": 1, "batch-4": 4}.get(stop_at)
    real_write = rotation.write_key_file
    calls = {"write": 0, "batch": 0}

    def write(path: Path, ring: KeyRing) -> None:
        calls["write"] += 1
        if calls["write"] == writes:
            raise KeyboardInterrupt
        real_write(path, ring)

    def progress(_context: str, _done: int) -> None:
        calls["batch"] += 1
        if calls["batch"] == batches:
            raise KeyboardInterrupt

    monkeypatch.setattr(rotation, "write_key_file", write)
    first = Store.open(Settings())
    with pytest.raises(KeyboardInterrupt):
        rotation.rotate_key(first, actor="t", progress=progress)
    first.close()
    monkeypatch.setattr(rotation, "write_key_file", real_write)
    resumed = Store.open(Settings())
    result = rotation.rotate_key(resumed, actor="t")
    resumed.close()
    final = read_key_file(key_file)
    assert len(final.keys) == 1 and final.current.key_id.hex() == result.new_key_id
    vault = Vault(final)
    assert _snapshot(store, vault) == before
    assert _phone_hits(store, vault, WatchlistPerson) == 3
    assert _phone_hits(store, vault, ListingRow) == 1
    with store.sessions() as s:
        row = s.scalars(select(ListingRow)).one()
        published = vault.open_json(row.pii, LISTING_ROW_PII)
        assert row.row_ref == listing_row_fingerprint(vault, published) + "#2"
        for hh in s.scalars(select(Household)):  # undelivered login keys open under the new key
            assert hh.login_key_sealed is not None
            vault.open(hh.login_key_sealed, LOGIN_KEY)
        actions = list(
            s.scalars(
                select(AuditEvent.action)
                .where(AuditEvent.action.like("key.rotate%"))
                .order_by(AuditEvent.seq)
            )
        )
        assert actions == ["key.rotate.started", "key.rotate.interrupted",
                           "key.rotate.started", "key.rotate.finished"]  # fmt: skip
        assert audit.verify(s).ok
