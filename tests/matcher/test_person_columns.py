"""The index's column-wise, memoised normalisation of watchlist persons (``watchlist_chunk``)
gives exactly what normalising each person on its own (``person_features``) gives."""

from __future__ import annotations

from datetime import date
from typing import Any

from matcher import persons as persons_module
from matcher.features import person_features, phone_digits
from matcher.keys import phone_head_key, phone_int, phone_tail_key, str_hash
from matcher.persons import PERSON_FIELDS, PersonChunk, watchlist_chunk
from synth.watchlist import generate_watchlist
from tests.matcher.conftest import HOUSEHOLD

ODD = [
    {"record_id": " P1 ", "household_id": "", "name": "山田花子", "name_kana": "",
     "birthdate": "平成20年4月", "relationship": "", "phone": "090-****-1234",
     "address": "", "postal_code": "1020074", "email": "Hanako@Example.JP"},
    {"record_id": "P2", "name": "", "name_kana": "", "relationship": "胎児",
     "due_date": "2026-12-01", "phone": "03-1234-5678"},
    {"record_id": "P3", "name": "", "relationship": "長女", "phone": "not a number"},
    {"record_id": "", "name": "山田 太郎"},  # no record id: dropped
    {"record_id": "P4", "name": "Taro YAMADA", "gender": "男性", "relationship": "guardian",
     "birthdate": "1980/5/5", "address": "東京都千代田区九段南1-2-3-101", "email": "not mail"},
    {"record_id": "P5", "name": "ｻｲﾄｳ ﾊﾅｺ", "birthdate": "S55.5.5", "relationship": "母",
     "address": "東京都千代田区九段南1-2-3-101", "phone": "0312345678"},
    {"record_id": "P6", "name": "山田 花子", "phone": "03-1234-5678 090-1234-5678",
     "fax": "TEL/FAX 03-1234-5679"},  # several numbers: the first is the phone
    {"record_id": "P7", "name": "山田 花子", "phone": "9" * 40, "fax": "03-****-5679"},
]  # fmt: skip


def reference(row: dict[str, str]) -> tuple[Any, ...] | None:
    """One person, normalised from scratch, in PersonColumns order."""
    rid = (row.get("record_id") or "").strip()
    if not rid:
        return None
    f = person_features(row)
    p = f.place
    assert p is not None
    hh = (row.get("household_id") or "").strip() or rid
    birth = f.birth_lo if f.birth_lo == f.birth_hi else 0
    phone = phone_int(f.phone)
    return (rid, str_hash("rid\x1f" + rid), str_hash("hh\x1f" + hh), f.fam, f.giv, f.fam_w,
            f.giv_w, f.fam_k, f.giv_k, f.fam_l, f.giv_l, birth,
            date.fromordinal(birth).year if birth else 0, f.gender, f.relationship, p.town,
            p.city, p.postal, p.block, p.unit, phone,
            phone_tail_key(f.phone) if phone else 0, phone_head_key(f.phone) if phone else 0,
            phone_int(phone_digits(row.get("fax") or "")),
            str_hash("email\x1f" + f.email) if f.email else 0)  # fmt: skip


def chunk_of(rows: list[dict[str, str]]) -> PersonChunk:
    return watchlist_chunk({k: [r.get(k) or "" for r in rows] for k in PERSON_FIELDS}, len(rows))


def persons(chunk: PersonChunk) -> list[tuple[Any, ...]]:
    """Each person of ``chunk`` with its word ids turned back into words, as ``reference``."""

    def words(vocab: str) -> list[list[str]]:
        w = chunk.words[vocab]
        return [[w[i] for i in col] for col in chunk.ids[vocab].T.tolist()]

    num = {k: v.tolist() for k, v in chunk.numbers.items()}
    columns = [chunk.record_ids, num["rid_h"], num["hh"], *words("kanji"), *words("kana"),
               *words("loose"), num["birth"], num["year"], num["gender"], num["rel"],
               *words("town"), *words("city"), num["postal"], num["block"], num["unit"],
               num["phone"], num["tail"], num["head"], num["fax"], num["email"]]  # fmt: skip
    return list(zip(*columns, strict=True))


def test_columns_equal_per_person_normalisation() -> None:
    rows = HOUSEHOLD + ODD + list(generate_watchlist(2000, 41))
    expected = [t for t in map(reference, rows) if t is not None]
    assert persons(chunk_of(rows)) == expected
    assert len(expected) == len(rows) - 1


def test_columns_do_not_depend_on_what_was_seen_before() -> None:
    rows = HOUSEHOLD + ODD + list(generate_watchlist(500, 42))
    first = persons(chunk_of(rows))
    again = persons(chunk_of(list(reversed(rows))))[::-1]
    assert first == again
    persons_module._name_values.seen.clear()
    persons_module._birth_values.seen.clear()
    assert persons(chunk_of(rows)) == first


def test_caches_stay_bounded(monkeypatch: Any) -> None:
    monkeypatch.setattr(persons_module._name_values, "most", 50)
    monkeypatch.setattr(persons_module._birth_values, "most", 50)
    rows = list(generate_watchlist(400, 43))
    got = persons(chunk_of(rows))
    assert got == [reference(r) for r in rows]
    assert len(persons_module._name_values.seen) <= 50
    assert len(persons_module._birth_values.seen) <= 50


def test_no_rows_give_an_empty_chunk() -> None:
    chunk = chunk_of([{"record_id": "  "}])
    assert len(chunk) == 0
    assert all(len(a) == 0 for a in [*chunk.ids.values(), *chunk.numbers.values()])
