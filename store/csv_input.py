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
