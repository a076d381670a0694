"""The match index built from a watchlist CSV range by range, in this process and forked
helpers side by side (for `leakwatch match`, :mod:`store.match_files`).

Building the index is most of a `leakwatch match` run from CSV files. The file is cut into
byte ranges of whole records (:func:`store.csv_input.record_ranges`); the processes take
ranges in file order (:class:`matcher.workers.ForkedWork`: this one and one helper fewer
than the cores), and each reads its range, checks the records and normalises the persons
column by column: only the normalised columns travel back. Meanwhile this process reads and
normalises the listing, then takes ranges too until none is left. The chunks are filed into
the index in range order, so the index is the one a single process would build.

A quoted file is cut where the CSV parser says records end (one more parsing pass here);
a file that cannot be cut safely (a lone carriage return, a record the parser refuses,
UTF-16) gets no ranges from :func:`parallel_ranges`, and the caller reads it in one process.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from matcher import PERSON_FIELDS, PersonChunk, WatchlistIndex, load_tables, watchlist_chunk
from matcher.workers import ForkedWork, can_fork
from store.csv_input import (
    ByteRange,
    CsvRecord,
    RecordCheck,
    has_undecodable,
    plain_columns,
    range_text,
    record_ranges,
    text_records,
)

Reject = tuple[int, str, list[str]]  # line, reason, raw fields
Result = tuple[PersonChunk, list[Reject], int]  # a range's chunk, rejects, good records
RANGE_BYTES = 2 << 20  # a range's most: about 12,000 persons
# Ranges are joined from pieces this many times finer (see :func:`guided`).
PIECES = 8


@dataclass
class WatchlistFile:
    """What the helpers need to know of the watchlist (they inherit it when forked): where
    it is, and its header, encoding and record id column, as ``check`` holds them."""

    path: Path
    check: RecordCheck


@dataclass
class ParallelBuild:
    """A running build: ``finish`` computes ranges here too, waits for the helpers and gives
    the index; ``close`` stops the helpers (safe to call again, and after ``finish``)."""

    file: WatchlistFile
    work: ForkedWork[Result]
    rejects: list[Reject] = field(default_factory=list)

    def finish(self, progress: Callable[[int, int], None] | None = None) -> WatchlistIndex:
        """The index, once every range is in; ``progress(ranges done, ranges)``."""
        index = WatchlistIndex()
        try:
            index.add_chunks(self._chunks_in_order(progress))
        finally:
            self.close()
        self.rejects.sort(key=lambda r: r[0])
        return index

    def _chunks_in_order(
        self, progress: Callable[[int, int], None] | None
    ) -> Iterator[PersonChunk]:
        total = self.work.count
        for i, (chunk, rejects, _) in enumerate(self.work.in_order()):
            self.rejects.extend(rejects)
            if progress is not None:
                progress(i + 1, total)
            yield chunk

    def close(self) -> None:
        self.work.close()


def parallel_ranges(file: WatchlistFile, workers: int) -> list[ByteRange] | None:
    """Ranges to build from in parallel, or None (one process: a small file, one core, no
    fork, or a file that cannot be cut safely; see :func:`store.csv_input.record_ranges`)."""
    size = file.path.stat().st_size
    if workers <= 1 or size < 2 * RANGE_BYTES or not can_fork():
        return None
    parts = max(workers * 2, size * PIECES // RANGE_BYTES)
    pieces = record_ranges(file.path, file.check.encoding, parts)
    return None if pieces is None else guided(pieces, workers)


def guided(pieces: list[ByteRange], workers: int) -> list[ByteRange]:
    """Adjacent ``pieces`` joined into ranges of at most :data:`PIECES` pieces, smaller
    towards the end of the file (guided self-scheduling): the processes run out of work
    nearly together, not one idle while another reads a last full range (half a range of
    idle core on average, a tenth of a second)."""
    out: list[ByteRange] = []
    i = 0
    while i < len(pieces):
        take = max(1, min(PIECES, (len(pieces) - i) // (2 * workers)))
        out.append(ByteRange(pieces[i].start, pieces[i + take - 1].end, pieces[i].line))
        i += take
    return out


def start(file: WatchlistFile, ranges: list[ByteRange], workers: int) -> ParallelBuild:
    """Fork ``workers - 1`` helpers that start reading ``ranges``; returns at once (this
    process is the last worker: see :meth:`ParallelBuild.finish`)."""
    work = ForkedWork(lambda i: _read_range(file, ranges[i]), len(ranges), workers,
                      name="watchlist range")  # fmt: skip
    # The address tables are loaded here after the fork, not before it for the helpers to
    # share: each helper loads its own when it meets its first address, while this process
    # loads these. Time with the other cores idle becomes time on every core at once
    # (measured when loading took 0.3 s: a run 5% shorter, no more CPU in all).
    load_tables()
    return ParallelBuild(file, work)


def _read_range(file: WatchlistFile, rng: ByteRange) -> Result:
    """One range's good records normalised (a chunk for the index), its rejects, and how
    many records were good."""
    check = file.check
    # Columns by name (the last of a repeated name, as a row dict would keep).
    at = {h: i for i, h in enumerate(check.header)}
    text = range_text(file.path, check.encoding, rng)
    decoded = not has_undecodable(text)  # one scan of the range, not one per record
    plain = plain_columns(text, check.width) if decoded else None
    if plain is not None and all(map(str.strip, plain[check.key_at])):
        # Every record good (right width, decodable, keyed): no record-by-record checks.
        n = len(plain[0])
        return watchlist_chunk({k: plain[at[k]] for k in PERSON_FIELDS if k in at}, n), [], n
    good: list[list[str]] = []
    rejects: list[Reject] = []
    for rec in text_records(text, rng.line):
        if not isinstance(rec, CsvRecord):
            rejects.append((rec[0], rec[1], []))
            continue
        reason = check(rec.fields, decoded)
        if reason is not None:
            rejects.append((rec.line, reason, rec.fields))
            continue
        good.append(rec.fields)
    by_column = list(zip(*good, strict=True)) if good else []
    columns = {k: list(by_column[at[k]]) for k in PERSON_FIELDS if k in at and by_column}
    return watchlist_chunk(columns, len(good)), rejects, len(good)


__all__ = ["ParallelBuild", "WatchlistFile", "guided", "parallel_ranges", "start"]
