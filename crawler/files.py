"""Records from files: delimited text (CSV, TSV, ``;``, ``|``) in any Japanese encoding, and XLSX
workbooks. Which reader a body gets is ``crawler.readers``' choice, made on its content.

Files are hostile too: the byte size is already bounded by the downloader; an XLSX is a zip,
so its declared uncompressed size is checked before openpyxl (which parses with defusedxml)
reads it, and rows, columns and cells are capped like any table.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections import Counter
from datetime import date, datetime

from crawler.encoding import decode
from crawler.tables import MAX_COLUMNS, MAX_ROWS, Record, read_grid, records_from_grid

MAX_XLSX_UNCOMPRESSED = 64 * 1024 * 1024
MAX_XLSX_RATIO = 200  # a zip bomb expands far more than a real sheet does

DELIMITERS = ",\t;|"
SNIFF_LINES = 200


class FileRefused(Exception):
    """The file is not read (too large uncompressed, not a workbook…); the reason is recorded."""


def is_xlsx(body: bytes) -> bool:
    """An Office Open XML workbook, by its bytes: a zip holding ``xl/workbook.xml``."""
    if body[:4] != b"PK\x03\x04":
        return False
    try:
        with zipfile.ZipFile(io.BytesIO(body)) as zf:
            return any(n.startswith("xl/workbook") for n in zf.namelist()[:2000])
    except zipfile.BadZipFile:
        return False


def sniff_delimiter(text: str) -> str | None:
    """The delimiter that cuts the first lines into the same number (2 or more) of cells, or
    None when no delimiter makes a table (prose, ``label: value`` blocks).

    A title or a footer line may differ: 80 % of the lines must agree. On a tie the delimiter
    giving more columns wins (a comma inside tab-separated values does not split every line).
    """
    lines = [ln for ln in text.splitlines()[: SNIFF_LINES * 2] if ln.strip()][:SNIFF_LINES]
    if len(lines) < 2:
        return None
    best: tuple[float, int, str] | None = None
    for delimiter in DELIMITERS:
        try:
            widths = [len(row) for row in csv.reader(lines, delimiter=delimiter)]
        except csv.Error:
            continue
        width, agree = Counter(widths).most_common(1)[0]
        share = agree / len(widths)
        if width >= 2 and share >= 0.8 and (best is None or (share, width) > best[:2]):
            best = (share, width, delimiter)
    return best[2] if best is not None else None


def read_delimited(
    text: str, where: str, column_map: dict[str, str] | None = None
) -> tuple[list[Record], bool]:
    """(records, header found) of delimited text, delimiter sniffed; ([], False) if none."""
    delimiter = sniff_delimiter(text)
    if delimiter is None:
        return [], False
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows: list[list[str]] = []
    try:
        for row in reader:
            rows.append(row[:MAX_COLUMNS])
            if len(rows) > MAX_ROWS:
                break
    except csv.Error:
        pass  # keep what parsed before the damage
    return read_grid(rows, where, column_map)


def records_from_csv(body: bytes, content_type: str | None, where: str) -> list[Record]:
    """Records of a delimited file in any Japanese encoding (delimiter and header sniffed)."""
    text, _ = decode(body, content_type)
    return read_delimited(text, where)[0]


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else str(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def records_from_xlsx(body: bytes, where: str) -> list[Record]:
    from openpyxl import load_workbook

    try:
        with zipfile.ZipFile(io.BytesIO(body)) as zf:
            total = sum(i.file_size for i in zf.infolist())
    except zipfile.BadZipFile as exc:
        raise FileRefused(f"not a valid XLSX (zip): {exc}") from None
    if total > MAX_XLSX_UNCOMPRESSED or total > MAX_XLSX_RATIO * max(1, len(body)):
        raise FileRefused(f"XLSX expands to {total} bytes: refused as a possible zip bomb")
    try:
        wb = load_workbook(io.BytesIO(body), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds on a damaged workbook
        raise FileRefused(f"unreadable XLSX: {type(exc).__name__}") from None
    out: list[Record] = []
    try:
        for ws in wb.worksheets:
            rows = []
            for row in ws.iter_rows(values_only=True, max_col=MAX_COLUMNS):
                rows.append([_cell(v) for v in row])
                if len(rows) > MAX_ROWS:
                    break
            out.extend(records_from_grid(rows, f"{where}/{ws.title[:40]}"))
    finally:
        wb.close()
    return out[:MAX_ROWS]
