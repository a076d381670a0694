"""Records from linked sample files: CSV/TSV in any Japanese encoding, and XLSX workbooks.

Files are hostile too: the byte size is already bounded by the downloader; an XLSX is a zip,
so its declared uncompressed size is checked before openpyxl (which parses with defusedxml)
reads it, and rows, columns and cells are capped like any table.
"""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date, datetime

from crawler.encoding import decode
from crawler.tables import MAX_COLUMNS, MAX_ROWS, Record, records_from_grid

MAX_XLSX_UNCOMPRESSED = 64 * 1024 * 1024
MAX_XLSX_RATIO = 200  # a zip bomb expands far more than a real sheet does

CSV_TYPES = ("text/csv", "text/tab-separated-values", "application/csv")
XLSX_TYPES = (
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.ms-excel",
)


class FileRefused(Exception):
    """The file is not read (too large uncompressed, not a workbook…); the reason is recorded."""


def kind_of(url: str, content_type: str | None, body: bytes) -> str | None:
    """'csv', 'xlsx' or None, from the body's magic, the Content-Type and the URL."""
    ct = (content_type or "").split(";")[0].strip().lower()
    path = url.split("?")[0].lower()
    if body[:4] == b"PK\x03\x04" and (path.endswith(".xlsx") or ct in XLSX_TYPES):
        return "xlsx"
    if ct in CSV_TYPES or (path.endswith((".csv", ".tsv", ".txt")) and ct != "text/html"):
        return "csv"
    return None


def records_from_csv(body: bytes, content_type: str | None, where: str) -> list[Record]:
    text, _ = decode(body, content_type)
    sample = text[:8192]
    delimiter = max(",\t;|", key=sample.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows: list[list[str]] = []
    try:
        for row in reader:
            rows.append(row[:MAX_COLUMNS])
            if len(rows) > MAX_ROWS:
                break
    except csv.Error:
        pass  # keep what parsed before the damage
    return records_from_grid(rows, where)


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
