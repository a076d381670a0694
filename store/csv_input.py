"""Opening CSV files from the outside world: encoding detection, limits, clear errors.

Japanese files arrive as UTF-8, UTF-8 with BOM, CP932 (Shift_JIS) or EUC-JP. We sniff a
prefix; bytes that still do not decode are kept as surrogate escapes so one bad row can be
rejected with its line number while the rest of the file loads.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import BinaryIO

SNIFF_BYTES = 256 * 1024
# A cell larger than this is not a name or an address: refuse it rather than buffer it.
MAX_FIELD_CHARS = 64 * 1024
CANDIDATES = ("utf-8", "cp932", "euc_jp")

csv.field_size_limit(MAX_FIELD_CHARS)


class InputError(Exception):
    """A whole file cannot be read (missing, undetectable encoding, no header...)."""


def detect_encoding(sample: bytes) -> str:
    """Return a Python codec name for `sample`, the first bytes of a file."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    for name in CANDIDATES:
        decoder = codecs.getincrementaldecoder(name)()
        try:
            decoder.decode(sample, final=False)  # the sample may end mid-character
        except UnicodeDecodeError:
            continue
        return name
    raise InputError("cannot detect the encoding (not UTF-8, CP932 or EUC-JP): use --encoding")


_ESCAPED_BYTE = re.compile("[\udc80-\udcff]")


def has_undecodable(*texts: str) -> bool:
    """True if decoding left surrogate escapes (bytes not valid in the file's encoding)."""
    return any(_ESCAPED_BYTE.search(t) for t in texts)


@dataclass(slots=True)
class CsvRecord:
    line: int  # physical line where the record starts (header is line 1)
    fields: list[str]


class CsvFile:
    """A streaming CSV reader that knows its encoding, header and byte position."""

    def __init__(self, path: Path, encoding: str | None = None) -> None:
        self.path = path
        try:
            self._raw: BinaryIO = open(path, "rb")  # noqa: SIM115 - closed in close()
        except OSError as exc:
            raise InputError(f"{path}: cannot open: {exc.strerror}") from None
        self.size = path.stat().st_size
        try:
            self.encoding = encoding or detect_encoding(self._raw.read(SNIFF_BYTES))
            codecs.lookup(self.encoding)
        except LookupError:
            self.close()
            raise InputError(f"{path}: unknown encoding {encoding!r}") from None
        except InputError as exc:
            self.close()
            raise InputError(f"{path}: {exc}") from None
        self._raw.seek(0)
        self._text = io.TextIOWrapper(
            self._raw, encoding=self.encoding, errors="surrogateescape", newline=""
        )
        self._reader = csv.reader(self._text)
        self.header = self._read_header()

    def _read_header(self) -> list[str]:
        try:
            header = next(self._reader)
        except StopIteration:
            raise InputError(f"{self.path}: the file is empty (a header row is required)") from None
        except csv.Error as exc:
            raise InputError(f"{self.path}, line 1: unreadable header: {exc}") from None
        header = [h.strip().lstrip("\ufeff") for h in header]
        if has_undecodable(*header):
            raise InputError(f"{self.path}, line 1: header is not valid {self.encoding}")
        return header

    @property
    def bytes_read(self) -> int:
        return self._raw.tell()

    def records(self) -> Iterator[CsvRecord | tuple[int, str]]:
        """Yield records, or (line, reason) for a record the CSV parser itself rejects."""
        reader = self._reader
        while True:
            start = reader.line_num + 1
            try:
                fields = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield (start, f"malformed CSV: {exc}")
                continue
            if not fields:  # blank line
                continue
            yield CsvRecord(start, fields)

    def close(self) -> None:
        self._raw.close()

    def __enter__(self) -> CsvFile:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


# --- reading one file in parallel -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ByteRange:
    """Whole lines of a CSV file: bytes [start, end), the first being physical line ``line``."""

    start: int
    end: int
    line: int


_SCAN = 8 << 20  # bytes per scanning step (the file is never read whole into memory)


def record_ranges(path: Path, encoding: str, parts: int) -> list[ByteRange] | None:
    """The records after the header line in about ``parts`` ranges of whole lines, for worker
    processes to read side by side; None when a line break does not always end a record: the
    file has a quote character (a quoted field may hold a line break) or a lone carriage
    return, or its encoding's bytes can contain a newline byte (UTF-16)."""
    if encoding.replace("_", "-").lower().startswith("utf-16") or parts < 1:
        return None
    # CP932 and EUC-JP never use 0x0A, 0x0D or 0x22 inside a character, nor does UTF-8.
    size = path.stat().st_size
    cuts: list[tuple[int, int]] = []  # (byte just after a newline, lines before it)
    targets = [size * i // parts for i in range(1, parts)]
    lines = 0
    header_end = -1
    with open(path, "rb") as fh:
        pos = 0
        carry = b""
        while block := fh.read(_SCAN):
            if b'"' in block:
                return None
            joined = carry + block
            if b"\r" in joined and (
                joined.count(b"\r") != joined.count(b"\r\n") + joined.endswith(b"\r")
            ):
                return None
            if header_end < 0:
                nl = block.find(b"\n")
                if nl >= 0:
                    header_end = pos + nl + 1
            while targets and targets[0] < pos + len(block):
                nl = block.find(b"\n", max(targets[0] - pos, 0))
                if nl < 0:
                    break
                cut = pos + nl + 1
                cuts.append((cut, lines + block.count(b"\n", 0, nl + 1)))
                targets = [t for t in targets if t >= cut]
            lines += block.count(b"\n")
            carry = block[-1:]
            pos += len(block)
    if header_end < 0:
        return None  # no record after the header
    bounds = [(header_end, 1)] + [(c, n) for c, n in cuts if c > header_end] + [(size, lines)]
    out = [ByteRange(a, b, n_a + 1) for (a, n_a), (b, _) in pairwise(bounds)
           if b > a]  # fmt: skip
    return out or None


def range_records(path: Path, encoding: str, rng: ByteRange
                  ) -> Iterator[CsvRecord | tuple[int, str]]:
    """:meth:`CsvFile.records` of one :class:`ByteRange` (see :func:`record_ranges`)."""
    return text_records(range_text(path, encoding, rng), rng.line)


def range_text(path: Path, encoding: str, rng: ByteRange) -> str:
    """The text of one :class:`ByteRange`, undecodable bytes kept as surrogate escapes."""
    with open(path, "rb") as fh:
        fh.seek(rng.start)
        data = fh.read(rng.end - rng.start)
    return data.decode(encoding, errors="surrogateescape")


def text_records(text: str, line: int) -> Iterator[CsvRecord | tuple[int, str]]:
    """:meth:`CsvFile.records` of whole lines of CSV ``text`` without quotes, the first
    being physical line ``line``."""
    try:
        # One C-level pass; each line is one record (no quotes, no lone CR), a blank one [].
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error:
        rows = None  # a NUL byte or an oversized field: record by record, to say which
    if rows is not None:
        for n, fields in enumerate(rows, line):
            if fields:
                yield CsvRecord(n, fields)
        return
    reader = csv.reader(io.StringIO(text, newline=""))
    first = line - 1
    while True:
        start = first + reader.line_num + 1
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield (start, f"malformed CSV: {exc}")
            continue
        if fields:
            yield CsvRecord(start, fields)
