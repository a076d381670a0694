"""Small hand-made synthetic watchlist rows (no real person), a CSV writer, an index as an
older version would have saved it, and a check that two indexes are the same, for tests."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from matcher import WatchlistIndex
from store.watchlist_rows import COLUMNS

ROWS: list[dict[str, str]] = [
    {
        "record_id": "P0001",
        "household_id": "H001",
        "name": "髙橋 美咲",
        "name_kana": "タカハシ ミサキ",
        "gender": "F",
        "birthdate": "1979-05-03",
        "relationship": "本人",
        "postal_code": "102-0074",
        "address": "東京都千代田区九段南一丁目2番3号 九段ハイツ101号室",
        "phone": "03-3234-5678",
        "fax": "03-3234-5679",
        "due_date": "2014-09-01",
        "email": "misaki.t@example.jp",
    },
    {
        "record_id": "P0002",
        "household_id": "H001",
        "name": "髙橋 大翔",
        "name_kana": "タカハシ ヒロト",
        "gender": "M",
        "birthdate": "2008-04-05",
        "relationship": "長男",
        "postal_code": "102-0074",
        "address": "東京都千代田区九段南一丁目2番3号 九段ハイツ101号室",
        "phone": "03-3234-5678",
        "fax": "",
        "due_date": "",
        "email": "",
    },
    {
        "record_id": "P0003",
        "household_id": "H001",
        "name": "髙橋 陽菜",
        "name_kana": "タカハシ ヒナ",
        "gender": "F",
        "birthdate": "2011-01-20",
        "relationship": "長女",
        "postal_code": "102-0074",
        "address": "東京都千代田区九段南一丁目2番3号 九段ハイツ101号室",
        "phone": "03-3234-5678",
        "fax": "",
        "due_date": "",
        "email": "",
    },
    {
        "record_id": "P0004",
        "household_id": "H002",
        "name": "渡邉 恵子",
        "name_kana": "ワタナベ ケイコ",
        "gender": "F",
        "birthdate": "1983-11-30",
        "relationship": "本人",
        "postal_code": "530-0001",
        "address": "大阪府大阪市北区梅田三丁目4番5号",
        "phone": "090-1111-2222",
        "fax": "",
        "due_date": "",
        "email": "keiko-w@example.ne.jp",
    },
    {
        "record_id": "P0005",
        "household_id": "H002",
        "name": "渡邉 結衣",
        "name_kana": "ワタナベ ユイ",
        "gender": "F",
        "birthdate": "2006-07-07",
        "relationship": "長女",
        "postal_code": "530-0001",
        "address": "大阪府大阪市北区梅田三丁目4番5号",
        "phone": "090-1111-2222",
        "fax": "",
        "due_date": "",
        "email": "",
    },
]

PII_COLUMNS = ("name", "name_kana", "address", "phone", "email")


def write_csv(
    path: Path,
    rows: Iterable[dict[str, str]],
    *,
    encoding: str = "utf-8",
    columns: Sequence[str] = COLUMNS,
) -> Path:
    with open(path, "w", encoding=encoding, newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns), extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow(row)
    return path


def old_version(index: WatchlistIndex) -> bytes:
    """``index`` as an older LeakWatch would have saved it (another format tag)."""
    with np.load(io.BytesIO(index.to_bytes())) as z:
        arrays = {k: z[k] for k in z.files}
    meta = json.loads(bytes(arrays["meta"]).decode())
    meta["format"] = "leakwatch-match-index-v1"
    arrays["meta"] = np.frombuffer(json.dumps(meta, ensure_ascii=False).encode(), np.uint8)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def assert_same_index(a: WatchlistIndex, b: WatchlistIndex) -> None:
    """The very same index: columns, blocking tables, vocabularies and record ids."""
    for name, col in a.cols.items():
        assert np.array_equal(col, b.cols[name]), name
    for kind, table in a.tables.items():
        assert np.array_equal(table.keys, b.tables[kind].keys), kind
        assert np.array_equal(table.idx, b.tables[kind].idx), kind
    assert {k: v.words for k, v in a.vocabs.items()} == {k: v.words for k, v in b.vocabs.items()}
    assert [a.record_id(i) for i in range(a.size)] == [b.record_id(i) for i in range(b.size)]
