"""The index laid out for 35 million persons: key tables of positions whose keys are computed
from the columns, packed vocabularies, frequencies kept up to date, a streamed sealed file.

Each layout choice must give exactly what the plain layout gave: the same persons under the
same keys, the same ids, the same frequencies, and an index changed person by person that
matches like one built afresh."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pytest

from matcher import IndexKeyError, Matcher, WatchlistIndex, frequencies, sealing
from matcher import columns as columns_module
from matcher.columns import FENCE, DerivedTable, KeyTable, Vocab
from matcher.derived import name_year_keys
from matcher.features import GUARDIAN
from matcher.index import KEY_KINDS, PERSON_FIELDS
from matcher.persons import watchlist_chunk
from synth.listing import generate_listing
from synth.watchlist import generate_watchlist
from tests.matcher.conftest import HOUSEHOLD

ODD = [  # persons whose keys take the unusual paths
    {**HOUSEHOLD[0], "record_id": "X1", "phone": "", "fax": "03-9999-0000", "birthdate": ""},
    {**HOUSEHOLD[1], "record_id": "X2", "phone": "0312", "postal_code": "", "email": "a@b.jp"},
    {**HOUSEHOLD[2], "record_id": "X3", "phone": "+81-90-1234-5678-999", "birthdate": "1849-12-31"},
    {**HOUSEHOLD[3], "record_id": "X4", "phone": "03-****-5678", "name": "ヤマダ", "name_kana": ""},
]  # fmt: skip


Filed = dict[str, set[tuple[int, int]]]


def plain_keys(rows: list[dict[str, str]], index: WatchlistIndex) -> Filed:
    """(position, key) of every person under every kind, computed as the plain layout did
    (from the normalised chunk's own numbers, not from the index's columns)."""
    chunk = watchlist_chunk({k: [r.get(k) or "" for r in rows] for k in PERSON_FIELDS}, len(rows))
    num = chunk.numbers
    cols = index.cols
    post = num["postal"] << 24
    fam, giv = cols["fam"].astype(np.int64), cols["giv"].astype(np.int64)
    fam_l, giv_l = cols["fam_l"].astype(np.int64), cols["giv_l"].astype(np.int64)
    keys = {
        "phone": num["phone"], "ph_tail": num["tail"], "ph_head": num["head"],
        "postal_fam": np.where((post != 0) & (fam_l != 0), post | fam_l, 0),
        "postal_kanji": np.where((post != 0) & (fam != 0), post | fam, 0),
        "block": num["block"], "email": num["email"], "fax": num["fax"],
        "kana_year": name_year_keys(fam_l, giv_l, num["year"], False),
        "kanji_year": name_year_keys(fam, giv, num["year"], True),
    }  # fmt: skip
    return {k: {(p, int(v)) for p, v in enumerate(keys[k].tolist()) if v} for k in KEY_KINDS}


def filed(index: WatchlistIndex) -> Filed:
    return {k: set(zip(t.idx.tolist(), t.keys.tolist(), strict=True))
            for k, t in index.tables.items()}  # fmt: skip


def test_keys_computed_from_columns_are_the_keys_persons_were_filed_under() -> None:
    rows = HOUSEHOLD + ODD + list(generate_watchlist(3000, 51))
    index = WatchlistIndex.build(rows)
    assert filed(index) == plain_keys(rows, index)
    for table in index.tables.values():  # sorted by key, ties by position
        k, i = table.keys, table.idx
        assert np.all((k[1:] > k[:-1]) | ((k[1:] == k[:-1]) & (i[1:] > i[:-1])))
    guardians = {(int(p), int(h)) for p, h in zip(index.guardians.idx, index.guardians.keys,
                                                   strict=True)}  # fmt: skip
    is_g = np.flatnonzero(index.cols["rel"] == GUARDIAN)
    assert guardians == {(int(p), int(index.cols["hh"][p])) for p in is_g}


def test_a_derived_table_finds_what_a_table_of_keys_finds() -> None:
    rng = np.random.default_rng(3)
    values = rng.integers(1, 300, 5000).astype(np.int64)  # many ties
    values[rng.random(5000) < 0.2] = 0  # no key
    table = DerivedTable.build(lambda pos: values[pos], values, np.arange(5000, dtype=np.int32))
    plain = KeyTable.build(values, np.arange(5000, dtype=np.int32))
    assert np.array_equal(table.idx, plain.idx) and np.array_equal(table.keys, plain.keys)
    assert len(table.fence) == -(-len(table.idx) // FENCE)
    queries = np.concatenate([np.arange(-2, 305), rng.integers(0, 310, 2000)]).astype(np.int64)
    for got, want in zip(table.lookup_many(queries), plain.lookup_many(queries), strict=True):
        assert np.array_equal(got, want)


def test_vocab_frozen_or_not_gives_the_same_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    words = ["", "山田", "高橋", "ヤマダ", "x" * 40, "髙橋", "山田"]
    vocab = Vocab()
    first = vocab.add_words(words)
    assert first.tolist() == [0, 1, 2, 3, 4, 5, 1]
    vocab.freeze()
    assert not vocab.ids and vocab.frozen == 6
    more = vocab.add_words(["高橋", "新", "", "新"])
    assert more.tolist() == [2, 6, 0, 6] and vocab.get("新") == 6 and vocab.get("無") == -1
    assert vocab.ids_of(["新", "山田", "無", ""]).tolist() == [6, 1, -1, 0]
    vocab.freeze()
    assert vocab.words == ["", "山田", "高橋", "ヤマダ", "x" * 40, "髙橋", "新"]
    assert vocab.words_at(np.array([6, 0, 5])) == ["新", "", "髙橋"]
    again = Vocab.of_arrays(vocab.arrays())
    assert again.ids_of(vocab.words).tolist() == list(range(7))
    # Every word hashing alike: a collision never confuses two words.
    monkeypatch.setattr(columns_module, "word_hash", lambda data: 7)
    same = Vocab()
    same.add_words(words)
    same.freeze()
    assert same.ids_of(["山田", "高橋", "ヤマダ", "無", ""]).tolist() == [1, 2, 3, -1, 0]


def tables_by_record(index: WatchlistIndex) -> dict[str, set[frozenset[str]]]:
    """Each table as the groups of record ids that share a key (key values and positions
    left out: an index changed person by person numbers its words in another order)."""
    out = {}
    for kind, table in (*index.tables.items(), ("guardian", index.guardians)):
        keys, ids = table.keys.tolist(), index.record_ids_at(table.idx.astype(np.int64))
        by_key: dict[int, set[str]] = {}
        for k, r in zip(keys, ids, strict=True):
            by_key.setdefault(k, set()).add(r)
        out[kind] = {frozenset(v) for v in by_key.values()}
    return out


def same_stats(a: WatchlistIndex, b: WatchlistIndex) -> None:
    """The same frequencies, word by word (the two number their words differently)."""
    sa, sb = a.stats(), b.stats()
    assert sa.keys() == sb.keys()
    vocab_of = {**frequencies.COUNTED, "g_giv_l": "loose"}
    for k in sa:
        if k in vocab_of:
            va, vb = a.vocabs[vocab_of[k]], b.vocabs[vocab_of[k]]
            assert len(sa[k]) == len(va) and len(sb[k]) == len(vb), k
            by_word = [{v.word(i): int(n) for i, n in enumerate(s[k].tolist()) if n}
                       for v, s in ((va, sa), (vb, sb))]  # fmt: skip
            assert by_word[0] == by_word[1], k
        elif isinstance(sa[k], np.ndarray):
            assert np.array_equal(sa[k], sb[k]), k
        else:
            assert sa[k] == sb[k], k


def test_an_index_changed_person_by_person_matches_like_one_built_afresh() -> None:
    people = HOUSEHOLD + list(generate_watchlist(4000, 52))
    listing, _ = generate_listing(people, 600, 53)
    late = list(generate_watchlist(300, 54))  # new persons, new words among them
    edited = {**people[10], "phone": "090-4444-3333", "address": "大阪府大阪市北区梅田一丁目1番1号"}
    gone = [people[0]["record_id"], people[57]["record_id"], people[1200]["record_id"]]

    index = WatchlistIndex.build(people)
    index.stats()  # computed now: from here on kept up to date, never recounted
    index.add(late)
    index.add([edited])
    assert index.remove(gone) == 3
    final = [edited if r["record_id"] == edited["record_id"] else r
             for r in people + late if r["record_id"] not in gone]  # fmt: skip
    fresh = WatchlistIndex.build(final)
    assert len(index) == len(fresh) and index.size == len(fresh) + 4
    assert tables_by_record(index) == tables_by_record(fresh)
    same_stats(index, fresh)
    a = Matcher(index).match(listing).candidates
    b = Matcher(fresh).match(listing).candidates
    assert [(c.row_id, c.record_id, c.decision) for c in a] == [
        (c.row_id, c.record_id, c.decision) for c in b
    ]
    assert [c.score for c in a] == pytest.approx([c.score for c in b], rel=1e-9, abs=1e-12)
    # Compacted (as a save does), the positions are a fresh build's.
    index.compact()
    assert index.size == len(fresh) and tables_by_record(index) == tables_by_record(fresh)


def test_the_sealed_stream_round_trips_and_refuses_tampering(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(sealing, "SEGMENT", 4096)  # many segments from a small index
    index = WatchlistIndex.build(HOUSEHOLD + list(generate_watchlist(1500, 55)))
    key = os.urandom(32)
    path = tmp_path / "w.idx"
    index.save(path, key)
    assert path.stat().st_mode & 0o777 == 0o600
    loaded = WatchlistIndex.load(path, key)
    assert tables_by_record(loaded) == tables_by_record(index)
    assert loaded.stats()["births"].tolist() == index.stats()["births"].tolist()
    for name, col in index.cols.items():
        assert np.array_equal(col, loaded.cols[name]), name
    blob = path.read_bytes()
    with pytest.raises(IndexKeyError):
        WatchlistIndex.load(path, os.urandom(32))
    cases = {
        "flipped": blob[:-100] + bytes([blob[-100] ^ 1]) + blob[-99:],
        "cut": blob[: len(blob) // 2],
        "extra": blob + b"\0",
    }
    # Two segments of the same length swapped: each is intact, but out of place.
    seg = 4 + 12 + 4096 + 16
    first = blob.index(b"\x00\x00\x10\x00")  # a full segment's length field
    cases["swapped"] = (blob[:first] + blob[first + seg : first + 2 * seg]
                        + blob[first : first + seg] + blob[first + 2 * seg :])  # fmt: skip
    for name, data in cases.items():
        with pytest.raises(IndexKeyError):
            sealing.read_sealed(io.BytesIO(data), [key])
        assert name


def test_memory_per_person_is_a_few_hundred_bytes_at_most() -> None:
    index = WatchlistIndex.build(list(generate_watchlist(20_000, 56)))
    index.stats()
    # 90 bytes of columns, 4 a key, the record id and its hash: under 200 bytes a person.
    assert index.memory_bytes() / len(index) < 200
