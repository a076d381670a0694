"""Watchlist import: encodings, bad rows, idempotent re-import, seeds, household codes."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest
from sqlalchemy import func, select

from store.codes import check_login_key
from store.csv_input import InputError
from store.models import AuditEvent, Household, WatchlistPerson
from store.runtime import Store
from store.sealed import PERSON_PII
from store.watchlist_import import ImportResult, import_watchlist
from tests.samples import ROWS, write_csv


def _import(store: Store, path: Path, **kwargs: object) -> ImportResult:
    return import_watchlist(store.sessions, store.vault, path, actor="test", **kwargs)  # type: ignore[arg-type]


def _decrypted(store: Store) -> dict[str, dict[str, str]]:
    with store.sessions() as s:
        return {
            p.record_ref: store.vault.open_json(p.pii, PERSON_PII)
            for p in s.scalars(select(WatchlistPerson))
        }


def _count(store: Store, model: type) -> int:
    with store.sessions() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


@pytest.mark.parametrize("worker", [False, True], ids=["in-process", "worker-process"])
def test_utf8_import_keeps_every_field(store: Store, tmp_path: Path, worker: bool) -> None:
    result = _import(store, write_csv(tmp_path / "w.csv", ROWS), worker=worker)
    assert (result.inserted, result.rejected, result.households_created) == (5, 0, 2)
    stored = _decrypted(store)
    for row in ROWS:
        got = stored[row["record_id"]]
        for column in ("name", "name_kana", "address", "phone", "email", "birthdate", "due_date"):
            assert got[column] == row[column]
    assert result.reject_path is None and not (tmp_path / "w.csv.rejects.csv").exists()


@pytest.mark.parametrize("encoding", ["cp932", "utf-8-sig", "euc_jp"])
def test_japanese_encodings_are_detected(store: Store, tmp_path: Path, encoding: str) -> None:
    # 髙 is outside EUC-JP (JIS X 0208), so use the common form for all three encodings.
    rows = [r | {"name": r["name"].replace("髙", "高")} for r in ROWS]
    result = _import(store, write_csv(tmp_path / "w.csv", rows, encoding=encoding))
    assert result.encoding == encoding
    assert result.inserted == 5 and result.rejected == 0
    assert _decrypted(store)["P0004"]["name"] == "渡邉 恵子"


def test_cp932_with_ibm_extension_kanji(store: Store, tmp_path: Path) -> None:
    """髙 and 﨑 exist in CP932 (IBM extensions) but not in JIS X 0208: they must survive."""
    rows = [ROWS[0] | {"name": "髙﨑 美咲"}]
    result = _import(store, write_csv(tmp_path / "w.csv", rows, encoding="cp932"))
    assert result.encoding == "cp932"
    assert _decrypted(store)["P0001"]["name"] == "髙﨑 美咲"


def test_forced_encoding(store: Store, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "w.csv", ROWS[3:], encoding="cp932")
    assert _import(store, path, encoding="cp932").inserted == 2
    with pytest.raises(InputError, match="unknown encoding"):
        _import(store, path, encoding="klingon")


@pytest.mark.parametrize("worker", [False, True], ids=["in-process", "worker-process"])
def test_bad_rows_are_rejected_with_line_and_reason_and_good_rows_load(
    store: Store, tmp_path: Path, worker: bool
) -> None:
    bad = [
        ROWS[0],
        ROWS[1] | {"birthdate": "2008-02-30"},
        ROWS[2] | {"record_id": ""},
        ROWS[3] | {"postal_code": "530-00"},
        ROWS[4] | {"phone": "12345"},
        ROWS[0] | {"record_id": "P0010", "gender": "?"},
        ROWS[0] | {"record_id": "P0011", "email": "not-an-address"},
        ROWS[0] | {"record_id": "P0012", "household_id": ""},
        ROWS[0] | {"record_id": "P0013", "due_date": "2014/09/01"},
    ]
    path = write_csv(tmp_path / "w.csv", bad)
    with open(path, "a", encoding="utf-8", newline="") as handle:
        handle.write("P0014,H009,short row\n")
        handle.write('P0015,H009,"unterminated quote\n')
    result = _import(store, path, worker=worker)
    assert result.inserted == 1 and result.rejected == 10
    with open(tmp_path / "w.csv.rejects.csv", encoding="utf-8") as handle:
        rejects = list(csv.DictReader(handle))
    assert [(r["line"], r["reason"].split(":")[0]) for r in rejects[:8]] == [
        ("3", "birthdate"),
        ("4", "record_id"),
        ("5", "postal_code"),
        ("6", "phone"),
        ("7", "gender"),
        ("8", "email"),
        ("9", "household_id"),
        ("10", "due_date"),
    ]
    assert rejects[8]["line"] == "11" and "expected 13 columns" in rejects[8]["reason"]
    assert rejects[9]["line"] == "12"
    assert rejects[0]["record_id"] == "P0002"  # the rejected row itself is kept for fixing
    assert os.stat(tmp_path / "w.csv.rejects.csv").st_mode & 0o777 == 0o600
    # Reasons name the column, never the (personal) value.
    assert all(ROWS[4]["phone"] not in r["reason"] for r in rejects)


def test_undecodable_bytes_reject_only_that_row(store: Store, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "w.csv", ROWS[:3], encoding="cp932")
    raw = path.read_bytes().replace("陽菜".encode("cp932"), b"\x82\xff\x82")
    path.write_bytes(raw)
    result = _import(store, path, encoding="cp932")
    assert result.inserted == 2 and result.rejected == 1
    assert result.first_rejects[0][0] == 4 and "cp932" in result.first_rejects[0][1]


def test_reimport_updates_and_never_duplicates(store: Store, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "w.csv", ROWS)
    _import(store, path)
    again = _import(store, path)
    assert (again.inserted, again.updated, again.unchanged, again.households_created) == (
        0,
        0,
        5,
        0,
    )
    moved = [
        r | {"address": "東京都港区芝公園四丁目2番8号"} if r["household_id"] == "H002" else r
        for r in ROWS
    ]
    third = _import(store, write_csv(tmp_path / "w2.csv", moved))
    assert (third.inserted, third.updated, third.unchanged) == (0, 2, 3)
    assert _count(store, WatchlistPerson) == 5 and _count(store, Household) == 2
    assert _decrypted(store)["P0005"]["address"] == "東京都港区芝公園四丁目2番8号"


@pytest.mark.parametrize("worker", [False, True], ids=["in-process", "worker-process"])
def test_a_repeated_record_id_is_rejected_and_the_first_kept(
    store: Store, tmp_path: Path, worker: bool
) -> None:
    rows = [ROWS[0], ROWS[1], ROWS[0] | {"email": "new@example.jp"}]
    result = _import(store, write_csv(tmp_path / "w.csv", rows), worker=worker)
    assert (result.inserted, result.rejected) == (2, 1) and _count(store, WatchlistPerson) == 2
    assert _decrypted(store)["P0001"]["email"] == ROWS[0]["email"]
    assert result.first_rejects == [(4, result.first_rejects[0][1])]
    assert "record_id: repeats an earlier row" in result.first_rejects[0][1]
    with open(tmp_path / "w.csv.rejects.csv", encoding="utf-8") as handle:
        (rejected,) = csv.DictReader(handle)
    assert rejected["line"] == "4" and rejected["email"] == "new@example.jp"


def test_unknown_columns_are_kept(store: Store, tmp_path: Path) -> None:
    rows = [r | {"member_rank": "gold"} for r in ROWS[:1]]
    path = write_csv(tmp_path / "w.csv", rows, columns=[*ROWS[0].keys(), "member_rank"])
    _import(store, path)
    assert '"member_rank": "gold"' in _decrypted(store)["P0001"]["_extra"]


def test_missing_required_column_is_a_file_error(store: Store, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "w.csv", ROWS, columns=["record_id", "name"])
    with pytest.raises(
        InputError, match=r"w\.csv, line 1: missing required column\(s\): household_id"
    ):
        _import(store, path)
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(InputError, match="empty"):
        _import(store, empty)
    with pytest.raises(InputError, match="cannot open"):
        _import(store, tmp_path / "absent.csv")


def test_codes_out_gives_working_login_keys_once(store: Store, tmp_path: Path) -> None:
    codes = tmp_path / "codes.csv"
    _import(store, write_csv(tmp_path / "w.csv", ROWS), codes_out=codes)
    assert os.stat(codes).st_mode & 0o777 == 0o600
    with open(codes, encoding="utf-8") as handle:
        issued = {r["household_id"]: r for r in csv.DictReader(handle)}
    assert set(issued) == {"H001", "H002"}
    with store.sessions() as s:
        for hh in s.scalars(select(Household)):
            entry = issued[hh.household_ref]
            assert entry["registration_code"] == hh.registration_code
            assert check_login_key(entry["login_key"], hh.login_key_salt, hh.login_key_hash)
            assert check_login_key(
                entry["login_key"].lower().replace("-", " "), hh.login_key_salt, hh.login_key_hash
            )
            assert not check_login_key("WRONG-KEY", hh.login_key_salt, hh.login_key_hash)
    second = tmp_path / "codes2.csv"
    result = _import(store, write_csv(tmp_path / "w.csv", ROWS), codes_out=second)
    assert result.codes_path is None  # no new household: no keys to hand out again


def test_seed_flag_is_sticky(store: Store, tmp_path: Path) -> None:
    _import(store, write_csv(tmp_path / "s.csv", ROWS[3:]), seed=True)
    _import(store, write_csv(tmp_path / "w.csv", ROWS))
    with store.sessions() as s:
        seeds = set(s.scalars(select(WatchlistPerson.record_ref).where(WatchlistPerson.is_seed)))
    assert seeds == {"P0004", "P0005"}


def test_import_is_audited_without_personal_data(store: Store, tmp_path: Path) -> None:
    result = _import(store, write_csv(tmp_path / "w.csv", ROWS))
    with store.sessions() as s:
        events = s.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all()
    assert [e.action for e in events] == ["watchlist.import.started", "watchlist.import.finished"]
    assert {e.object_id for e in events} == {str(result.run_id)}
    done = events[-1].details
    assert done["inserted"] == 5 and done["households_created"] == 2
    assert "髙橋" not in str(done) and len(done["sha256"]) == 64


def test_blind_indexes_find_exact_values(store: Store, tmp_path: Path) -> None:
    _import(store, write_csv(tmp_path / "w.csv", ROWS))
    from store.lookup_keys import phone_key

    key = store.vault.blind_index("phone", phone_key("０３（３２３４）５６７８"))
    with store.sessions() as s:
        refs = set(
            s.scalars(select(WatchlistPerson.record_ref).where(WatchlistPerson.phone_bidx == key))
        )
    assert refs == {"P0001", "P0002", "P0003"}


def test_control_characters_are_rejected_and_bad_bytes_shown_as_replacement(
    store: Store, tmp_path: Path
) -> None:
    rows = [
        ROWS[0] | {"name": "髙橋\x00美咲"},
        ROWS[1] | {"name_kana": "タカハシ\nヒロト"},
        ROWS[3],
    ]
    path = write_csv(tmp_path / "w.csv", rows, encoding="cp932")
    path.write_bytes(path.read_bytes().replace("渡邉".encode("cp932"), b"\x82\xff\x82"))
    result = _import(store, path, encoding="cp932")
    assert (result.inserted, result.rejected) == (0, 3)
    reasons = dict(result.first_rejects)
    assert "name: holds a control character" in reasons[2]
    assert "name_kana: holds a control character" in reasons[3]
    assert "not valid cp932" in reasons[5]  # the quoted line break made row 2 two lines
    text = (tmp_path / "w.csv.rejects.csv").read_text(encoding="utf-8")
    assert "\ufffd" in text and "\\udc" not in text  # readable, not escape sequences


def test_a_record_id_repeated_across_batches_keeps_the_first(store: Store, tmp_path: Path) -> None:
    later = [dict(ROWS[0], email="later@example.jp")]
    rows = [ROWS[0], *ROWS[1:], *later]  # the repeat lands in the third batch of two
    result = _import(store, write_csv(tmp_path / "w.csv", rows), batch_size=2)
    assert (result.inserted, result.rejected) == (5, 1)
    assert result.first_rejects[0][0] == len(rows) + 1  # its line (the header is line 1)
    assert _decrypted(store)["P0001"]["email"] == ROWS[0]["email"]


def test_database_errors_never_show_sql_parameters(store: Store, tmp_path: Path) -> None:
    import traceback

    from sqlalchemy import insert
    from sqlalchemy.exc import IntegrityError

    from store.db import safe_error_text

    _import(store, write_csv(tmp_path / "w.csv", ROWS))
    with store.sessions() as s:
        code = s.scalars(select(Household.registration_code)).first()
    assert code is not None
    values = {"household_ref": "H999", "registration_code": code, "login_key_salt": b"s" * 16,
              "login_key_hash": b"h" * 32}  # fmt: skip
    with pytest.raises(IntegrityError) as caught, store.sessions.begin() as s:
        s.execute(insert(Household).values(values))
    assert "parameters hidden" in str(caught.value)
    # PostgreSQL quotes the duplicate value in its DETAIL: what we log or record never does.
    logged = safe_error_text("".join(traceback.format_exception(caught.value)))
    assert code not in logged and "registration_code" in logged
