"""Reading and writing the UTF-8, header-first CSV files of the data contract."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path


def write_csv(
    rows: Iterable[Mapping[str, str]], path: str | Path, columns: list[str] | None = None
) -> int:
    """Write ``rows`` (streamed) to ``path`` with a header; returns the number of rows.

    The header is ``columns`` or, when omitted, the keys of the first row.
    """
    count = 0
    with Path(path).open("w", encoding="utf-8", newline="") as f:
        it = iter(rows)
        first = next(it, None)
        header = columns or (list(first) if first is not None else [])
        writer = csv.DictWriter(f, fieldnames=header, extrasaction="raise")
        writer.writeheader()
        if first is None:
            return 0
        writer.writerow(first)
        count = 1
        for row in it:
            writer.writerow(row)
            count += 1
    return count


def read_csv(path: str | Path) -> Iterator[dict[str, str]]:
    """Stream the rows of a UTF-8 CSV file with a header (a BOM is tolerated)."""
    with Path(path).open(encoding="utf-8-sig", newline="") as f:
        yield from csv.DictReader(f)
