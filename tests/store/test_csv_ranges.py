"""Cutting a CSV file into byte ranges of whole lines, for workers to read side by side:
the ranges read together give exactly the records (and line numbers) of one reading, and a
file that cannot be cut safely is refused."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from store.csv_input import (
    ByteRange,
    CsvFile,
    CsvRecord,
    _lone_cr,
    plain_columns,
    range_records,
    record_ranges,
    text_records,
)

HEADER = "record_id,name,address\n"


def body(n: int) -> str:
    return "".join(f"P{i},山田 太郎{i},東京都千代田区九段南一丁目{i}番3号\n" for i in range(n))


def one_reading(path: Path, encoding: str | None = None) -> list[tuple[int, list[str] | str]]:
    with CsvFile(path, encoding) as f:
        return [(r.line, r.fields) if isinstance(r, CsvRecord) else r for r in f.records()]


def by_ranges(
    path: Path, ranges: list[ByteRange], encoding: str
) -> list[tuple[int, list[str] | str]]:
    return [(r.line, r.fields) if isinstance(r, CsvRecord) else r
            for rng in ranges for r in range_records(path, encoding, rng)]  # fmt: skip


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp932", "euc_jp"])
@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_ranges_read_like_one_reading(tmp_path: Path, encoding: str, newline: str) -> None:
    oversized = "P1001," + "x" * 70_000 + ",y\n"  # over the field limit: a reject, not a crash
    text = (
        HEADER
        + body(300)
        + "\n"
        + "P999,bad\x00name,x\n"
        + body(5)
        + "P1000,short\n"
        + oversized
        + body(3)
    )
    path = tmp_path / "w.csv"
    path.write_bytes(text.replace("\n", newline).encode(encoding))
    with CsvFile(path) as f:
        detected = f.encoding
    for parts in (1, 2, 7, 50):
        ranges = record_ranges(path, detected, parts)
        assert ranges is not None
        assert ranges[0].start == len((HEADER.replace("\n", newline)).encode(encoding))
        assert ranges[-1].end == path.stat().st_size
        assert all(a.end == b.start for a, b in pairwise(ranges))
        got = by_ranges(path, ranges, detected)
        assert got == one_reading(path)
        assert any(isinstance(g[1], str) and "field larger" in g[1] for g in got)
    assert len(record_ranges(path, detected, 7) or []) > 1


def test_undecodable_bytes_stay_escaped_in_their_record(tmp_path: Path) -> None:
    path = tmp_path / "w.csv"
    path.write_bytes(HEADER.encode() + body(50).encode() + b"P77,\xff\xfe,x\n" + body(50).encode())
    ranges = record_ranges(path, "utf-8", 4)
    assert ranges is not None
    got = by_ranges(path, ranges, "utf-8")
    assert got == one_reading(path, "utf-8")
    assert (52, ["P77", "\udcff\udcfe", "x"]) in got


def quoted(n: int) -> str:
    """Every field quoted, some holding commas, doubled quotes and line breaks."""
    out = []
    for i in range(n):
        name = f"山田\n太郎{i}" if i % 7 == 0 else f'山田 "太郎" {i}' if i % 5 == 0 else f"花子{i}"
        out.append(f'"P{i}","{name.replace(chr(34), chr(34) * 2)}","東京都, 千代田区{i}"\n')
    return "".join(out)


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
@pytest.mark.parametrize("content", [
    '"record_id","name","address"\n' + quoted(400),
    HEADER + body(100) + 'P1,"山田\n\n太郎",x\n' + body(100) + 'P2,ab"c,d\n' + body(50),
    '"record_id","na\nme","address"\n' + quoted(300) + '"P-last","no newline","x"',
])  # fmt: skip
def test_quoted_files_are_cut_where_records_end(tmp_path: Path, content: str, newline: str) -> None:
    path = tmp_path / "w.csv"
    path.write_text(content.replace("\n", newline), encoding="cp932" if "na\nme" in content
                    else "utf-8", newline="")  # fmt: skip
    with CsvFile(path) as f:
        detected = f.encoding
    whole = one_reading(path)
    assert any("\n" in field for _, fields in whole for field in fields)  # multi-line records
    for parts in (2, 5, 13):
        ranges = record_ranges(path, detected, parts)
        assert ranges is not None and len(ranges) > 1
        assert by_ranges(path, ranges, detected) == whole


@pytest.mark.parametrize("content", [
    HEADER + body(20) + "P1,山田\r太郎,x\n" + body(20),  # a lone carriage return
    HEADER + body(20) + 'P1,"山田\r太郎",x\n' + body(20),  # one in a quoted field too
    HEADER + body(20) + 'P1,"' + "x" * 70_000 + '",y\n' + body(20),  # the parser refuses it
    HEADER,  # no records
    "record_id,name",  # not even a line break
])  # fmt: skip
def test_files_that_cannot_be_cut_are_refused(tmp_path: Path, content: str) -> None:
    path = tmp_path / "w.csv"
    path.write_text(content, encoding="utf-8", newline="")
    assert record_ranges(path, "utf-8", 4) is None


def test_utf16_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "w.csv"
    path.write_text(HEADER + body(20), encoding="utf-16")
    assert record_ranges(path, "utf-16", 4) is None


def parsed_columns(text: str) -> list[list[str]]:
    records = [r.fields for r in text_records(text, 2) if isinstance(r, CsvRecord)]
    return [list(c) for c in zip(*records, strict=True)]


@pytest.mark.parametrize("text", [
    body(50),
    body(50).replace("\n", "\r\n"),
    body(3).rstrip("\n"),  # the last record without its newline
    "P1,  spaced  ,\tx\n P2,,\n",  # spaces and empty fields kept as they are
])  # fmt: skip
def test_plain_text_splits_into_the_columns_the_parser_reads(text: str) -> None:
    assert plain_columns(text, 3) == parsed_columns(text)


@pytest.mark.parametrize("text", [
    body(5) + '"P9","quoted",x\n',
    body(5) + "P9,a\rb,x\n",  # a lone carriage return ends a record for the parser
    body(5) + "\n" + body(2),  # a blank line
    body(5) + "P9,short\n",
    body(5) + "P9,a,b,c\n",
    body(5) + "P9,bad\x00name,x\n",
    body(5) + "P9," + "x" * 70_000 + ",y\n",  # over the field limit
    "",
])  # fmt: skip
def test_text_that_needs_the_parser_is_left_to_it(text: str) -> None:
    assert plain_columns(text, 3) is None


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=60).map(lambda b: bytes(b"a\r\n"[x % 3] for x in b)),
       st.lists(st.integers(0, 60), max_size=4))  # fmt: skip
def test_a_lone_carriage_return_is_found_across_block_boundaries(
    data: bytes, cuts: list[int]
) -> None:
    # What the whole text says: a CR not followed by a newline (one ending the file aside).
    lone = data.count(b"\r") != data.count(b"\r\n") + data.endswith(b"\r")
    found, carry, start = False, b"", 0
    for end in [*sorted(c for c in cuts if c < len(data)), len(data)]:
        block = data[start:end]
        if block:
            found = found or _lone_cr(carry + block[:1], block)
            carry = block[-1:]
        start = max(start, end)
    assert found == lone
