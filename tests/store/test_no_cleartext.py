"""After an import, no name, reading, address, phone or e-mail is readable in the raw database."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from store.runtime import Store
from store.watchlist_import import import_watchlist
from tests.databases import ON_POSTGRES
from tests.samples import PII_COLUMNS, ROWS, write_csv


def _needles() -> set[bytes]:
    needles: set[bytes] = set()
    for row in ROWS:
        for column in PII_COLUMNS:
            value = row[column]
            if not value:
                continue
            needles.add(value.encode("utf-8"))
            if column == "phone":
                needles.add(value.replace("-", "").encode())
            if column in ("name", "name_kana", "address"):
                # Parts as well: a surname or a town alone would already leak.
                needles.update(part.encode() for part in value.split() if len(part) > 1)
        needles.add(row["postal_code"].replace("-", "").encode())
    return needles


def _assert_clean(raw: bytes) -> None:
    found = sorted(n.decode() for n in _needles() if n in raw)
    assert not found, f"clear text in the database: {found}"


def test_raw_database_holds_no_clear_text(store: Store, tmp_path: Path) -> None:
    import_watchlist(store.sessions, store.vault, write_csv(tmp_path / "w.csv", ROWS), actor="t")
    store.close()
    if ON_POSTGRES:
        url = make_url(store.settings.db_url)
        dump = subprocess.run(
            [
                "pg_dump",
                "-h",
                url.host or "127.0.0.1",
                "-p",
                str(url.port or 5432),
                "-U",
                url.username or "postgres",
                url.database or "",
            ],
            check=True,
            capture_output=True,
        ).stdout
        assert b"watchlist_person" in dump  # the dump really holds the table
        _assert_clean(dump)
    else:
        db = Path(store.settings.db_url.split("///", 1)[1])
        raw = b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*"))  # db, -wal, -shm
        assert len(raw) > 10_000
        _assert_clean(raw)


def test_the_scan_would_see_clear_text(tmp_path: Path) -> None:
    """Guards the guard: the same scan on the plain CSV finds the values."""
    raw = write_csv(tmp_path / "w.csv", ROWS).read_bytes()
    with pytest.raises(AssertionError, match="clear text"):
        _assert_clean(raw)
