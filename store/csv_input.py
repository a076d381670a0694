"""Opening CSV files from the outside world: encoding detection, limits, clear errors.

Japanese files arrive as UTF-8, UTF-8 with BOM, CP932 (Shift_JIS) or EUC-JP. We sniff a
prefix; bytes that still do not decode are kept as surrogate escapes so one bad row can be
rejected with its line number while the rest of the file loads.
"""

from __future__ import annotations

import _csv  # the reader's type (csv.reader returns a _csv.Reader)
import codecs
import csv
import io
import re
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass
from itertools import pairwise, repeat
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

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
        return _records(self._reader, 0)

    def close(self) -> None:
        self._raw.close()

    def __enter__(self) -> CsvFile:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


class RecordCheck:
    """Why a CSV record of a file with ``header`` is bad (None if it is good): the wrong
    number of fields, bytes not valid in the file's encoding, or an empty ``key`` column."""

    def __init__(self, header: list[str], key: str, encoding: str) -> None:
        self.header, self.key, self.encoding = header, key, encoding
        self.width = len(header)
        # The last column of that name, as a row built by dict(zip(header, fields)) keeps.
        self.key_at = max((i for i, h in enumerate(header) if h == key), default=-1)

    def __call__(self, fields: list[str], decoded: bool = False) -> str | None:
        """``decoded``: the caller knows the record has no undecodable bytes."""
        if len(fields) != self.width:
            return f"expected {self.width} fields, found {len(fields)}"
        # One scan of the whole record; the column is looked for only in a bad one.
        if not decoded and has_undecodable("".join(fields)):
            bad = [h for h, v in zip(self.header, fields, strict=True) if has_undecodable(v)]
            return f"column {bad[0]}: bytes that are not {self.encoding}"
        if self.key_at < 0 or not fields[self.key_at].strip():
            return f"column {self.key}: empty"
        return None


# --- reading one file in parallel -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ByteRange:
    """Whole lines of a CSV file: bytes [start, end), the first being physical line ``line``."""

    start: int
    end: int
    line: int


_SCAN = 8 << 20  # bytes per scanning step (the file is never read whole into memory)


def record_ranges(path: Path, encoding: str, parts: int) -> list[ByteRange] | None:
    """The records after the header in about ``parts`` ranges of whole records, for worker
    processes to read side by side; None when that cannot be done safely: the encoding's
    bytes can contain a newline byte (UTF-16), the file has a lone carriage return, or the
    CSV parser itself refuses a record (a quoted file is cut where the parser says records
    end, and a refused record could end anywhere)."""
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
                # A quoted field may hold a line break: only the CSV parser knows where
                # records end.
                return _quoted_ranges(path, encoding, parts)
            if _lone_cr(carry + block[:1], block):
                return None
            # Where this block's newlines are (a vector scan: bytes.count is ten times
            # slower, and the cuts need the count before each of them).
            newlines = _newlines(block)
            if header_end < 0 and len(newlines):
                header_end = pos + int(newlines[0]) + 1
            while targets and targets[0] < pos + len(block):
                k = int(newlines.searchsorted(max(targets[0] - pos, 0)))
                if k == len(newlines):
                    break
                cut = pos + int(newlines[k]) + 1
                cuts.append((cut, lines + k + 1))
                targets = [t for t in targets if t >= cut]
            lines += len(newlines)
            carry = block[-1:]
            pos += len(block)
    if header_end < 0:
        return None  # no record after the header
    bounds = [(header_end, 1)] + [(c, n) for c, n in cuts if c > header_end] + [(size, lines)]
    out = [ByteRange(a, b, n_a + 1) for (a, n_a), (b, _) in pairwise(bounds)
           if b > a]  # fmt: skip
    return out or None


def _quoted_ranges(path: Path, encoding: str, parts: int) -> list[ByteRange] | None:
    """:func:`record_ranges` of a file with quotes: one pass of the CSV parser notes the
    physical line each record ends on, a byte scan turns the cut lines into offsets."""
    lines, lone_cr = _count_newlines(path)
    if lone_cr:  # the parser ends a line there, the byte scan would not
        return None
    targets = [lines * i // parts for i in range(1, parts)]
    cut_lines: list[int] = []  # a record ends on this physical line (its newline included)
    with open(path, "rb") as raw:
        text = io.TextIOWrapper(raw, encoding=encoding, errors="surrogateescape", newline="")
        reader = csv.reader(text)
        try:
            next(reader)
            header_lines = reader.line_num
            for _ in reader:
                if targets and reader.line_num >= targets[0]:
                    cut_lines.append(reader.line_num)
                    targets = [t for t in targets if t > reader.line_num]
        except (csv.Error, StopIteration):
            return None
    # A cut is a byte offset just after the n-th newline; the last record may lack one.
    cuts = sorted({n for n in cut_lines if header_lines < n <= lines})
    if header_lines > lines:
        return None  # no record after the header
    offsets = _newline_offsets(path, [header_lines, *cuts])
    bounds = [(offsets[0], header_lines), *zip(offsets[1:], cuts, strict=True),
              (path.stat().st_size, lines)]  # fmt: skip
    out = [ByteRange(a, b, n_a + 1) for (a, n_a), (b, _) in pairwise(bounds) if b > a]
    return out or None


def _lone_cr(before: bytes, data: bytes) -> bool:
    """A carriage return not followed by a newline: ``before`` is the last byte of the
    previous block (if any) and the first of ``data``, which it may end with; a carriage
    return ending ``data`` is for the next call, which gets it as ``before``."""
    if before[:1] == b"\r" and before[1:2] not in (b"\n", b""):
        return True
    if b"\r" not in data:
        return False
    import numpy as np  # here: store imports no numpy otherwise

    arr = np.frombuffer(data, dtype=np.uint8)
    after = np.flatnonzero(arr[:-1] == 13) + 1
    return bool(np.any(arr[after] != 10))


def _newlines(data: bytes) -> npt.NDArray[np.intp]:
    """The offsets of the newline bytes in ``data``."""
    import numpy as np

    return np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 10)


def _count_newlines(path: Path) -> tuple[int, bool]:
    """(newline bytes in the file, whether it has a carriage return not followed by one)."""
    lines, lone_cr, carry = 0, False, b""
    with open(path, "rb") as fh:
        while block := fh.read(_SCAN):
            lines += len(_newlines(block))
            lone_cr = lone_cr or _lone_cr(carry + block[:1], block)
            carry = block[-1:]
    return lines, lone_cr


def _newline_offsets(path: Path, counts: list[int]) -> list[int]:
    """For each n of the ascending ``counts``, the byte offset just after the n-th newline."""
    out: list[int] = []
    seen, pos = 0, 0
    wanted = list(counts)
    with open(path, "rb") as fh:
        while wanted and (block := fh.read(_SCAN)):
            at = _newlines(block)
            while wanted and wanted[0] <= seen + len(at):
                out.append(pos + int(at[wanted.pop(0) - seen - 1]) + 1)
            seen += len(at)
            pos += len(block)
    return out


def range_records(
    path: Path, encoding: str, rng: ByteRange
) -> Iterator[CsvRecord | tuple[int, str]]:
    """:meth:`CsvFile.records` of one :class:`ByteRange` (see :func:`record_ranges`)."""
    return text_records(range_text(path, encoding, rng), rng.line)


def range_text(path: Path, encoding: str, rng: ByteRange) -> str:
    """The text of one :class:`ByteRange`, undecodable bytes kept as surrogate escapes."""
    with open(path, "rb") as fh:
        fh.seek(rng.start)
        data = fh.read(rng.end - rng.start)
    return data.decode(encoding, errors="surrogateescape")


def plain_columns(text: str, width: int) -> list[list[str]] | None:
    """The columns of whole CSV records ``text`` when it is plain: no quote, no NUL, no lone
    carriage return, no blank line, every record ``width`` fields and none over the field
    limit. Then a record is a line and a field is what lies between commas, so two C-level
    splits do what the CSV parser would, several times faster. None otherwise: the caller
    parses record by record (:func:`text_records`), which says what is wrong and where."""
    if '"' in text or "\x00" in text or width < 1:
        return None
    if "\r" in text:
        if text.count("\r") != text.count("\r\n"):
            return None
        text = text.replace("\r\n", "\n")
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()  # the newline ending the last record
    if not lines or max(map(len, lines)) > csv.field_size_limit():
        return None
    if set(map(str.count, lines, repeat(",", len(lines)))) != {width - 1}:
        return None  # a blank line or a record of the wrong width
    fields = ",".join(lines).split(",")
    return [fields[i::width] for i in range(width)]


def text_records(text: str, line: int) -> Iterator[CsvRecord | tuple[int, str]]:
    """:meth:`CsvFile.records` of whole records of CSV ``text``, the first starting on
    physical line ``line``."""
    rows: list[list[str]] | None = None
    # A NUL byte or an oversized field stops the fast pass: record by record, to say which.
    with suppress(csv.Error):
        if '"' not in text:
            # One C-level pass; each line is one record (no quotes, no lone CR), a blank [].
            rows = list(csv.reader(io.StringIO(text, newline="")))
    if rows is not None:
        for n, fields in enumerate(rows, line):
            if fields:
                yield CsvRecord(n, fields)
        return
    yield from _records(csv.reader(io.StringIO(text, newline="")), line - 1)


def _records(reader: _csv.Reader, lines_before: int) -> Iterator[CsvRecord | tuple[int, str]]:
    """``reader``'s records (blank lines skipped), or (line, reason) for one the CSV parser
    rejects; ``lines_before``: physical lines of the file before the reader's text."""
    while True:
        start = lines_before + reader.line_num + 1
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield (start, f"malformed CSV: {exc}")
            continue
        if fields:
            yield CsvRecord(start, fields)
