"""Files that hold personal data or secrets: created with mode 0600, never wider."""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

CsvWriter = Any  # the csv module exposes no public writer type


@contextmanager
def private_csv(path: Path | None, header: list[str]) -> Iterator[CsvWriter | None]:
    """A UTF-8 CSV only its owner can read; yields None when no path is given."""
    if path is None:
        yield None
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # an existing file keeps its old mode through O_CREAT
    # Undecodable input bytes show as \udcXX escapes rather than failing the write.
    handle: IO[str] = os.fdopen(fd, "w", encoding="utf-8", errors="backslashreplace", newline="")
    with handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        yield writer
