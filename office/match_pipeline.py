"""The watchlist CSV read and normalised in worker processes, range by range, for `match`.

Building the index is most of a `leakwatch match` run from CSV files. Here each worker
reads its own byte range of the watchlist (:func:`store.csv_input.record_ranges`), checks
the records and normalises the persons column by column; only the normalised columns travel
back. Meanwhile this process reads and normalises the listing, then files the workers'
columns into the index in order, so the index is the one a single process would build.

A quoted file is cut where the CSV parser says records end (one more parsing pass here);
a file that cannot be cut safely (a lone carriage return, a record the parser refuses,
UTF-16) gets no ranges from :func:`parallel_ranges`, and the caller reads it in one process.
"""

from __future__ import annotations

import gc
import multiprocessing as mp
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from matcher import PERSON_FIELDS, PersonChunk, WatchlistIndex, load_tables, watchlist_chunk
from store.csv_input import (
    ByteRange,
    CsvRecord,
    has_undecodable,
    plain_columns,
    range_text,
    record_ranges,
    text_records,
)

Reject = tuple[int, str, list[str]]  # line, reason, raw fields
RANGE_BYTES = 2 << 20  # about 12,000 persons a range: enough ranges to keep every core busy


@dataclass
class WatchlistFile:
    """What the workers need to know of the watchlist (set before they are forked)."""

    path: Path
    encoding: str
    header: list[str]
    key_at: int  # the record id's column (the last of that name); each record needs one
    # Why a record is bad, None if good; the flag: it is known to hold no undecodable bytes.
    check: Callable[[list[str], bool], str | None]


@dataclass
class ParallelBuild:
    """A running build: ``finish`` waits for the workers and gives the index; ``close``
    stops them (safe to call again, and after ``finish``)."""

    pool: mp.pool.Pool
    chunks: Iterator[tuple[PersonChunk, list[Reject], int]]
    ranges: int
    switch_interval: float
    rejects: list[Reject] = field(default_factory=list)

    def finish(self, progress: Callable[[int, int], None] | None = None) -> WatchlistIndex:
        """The index, once every range is in; ``progress(ranges done, ranges)``."""
        index = WatchlistIndex()

        def chunks() -> Iterator[PersonChunk]:
            for done, (chunk, rejects, _) in enumerate(self.chunks, 1):
                self.rejects.extend(rejects)
                if progress is not None:
                    progress(done, self.ranges)
                yield chunk

        try:
            index.add_chunks(chunks())
        finally:
            self.close()
        self.rejects.sort(key=lambda r: r[0])
        return index

    def close(self) -> None:
        self.pool.terminate()
        self.pool.join()
        sys.setswitchinterval(self.switch_interval)


_FILE: WatchlistFile | None = None  # inherited by the forked workers


def parallel_ranges(file: WatchlistFile, workers: int) -> list[ByteRange] | None:
    """Ranges to build from in parallel, or None (one process: a small file, one core, no
    fork, or a file that cannot be cut safely; see :func:`store.csv_input.record_ranges`)."""
    size = file.path.stat().st_size
    if workers <= 1 or size < 2 * RANGE_BYTES or "fork" not in mp.get_all_start_methods():
        return None
    parts = max(workers * 2, size // RANGE_BYTES)
    return record_ranges(file.path, file.encoding, parts)


def start(file: WatchlistFile, ranges: list[ByteRange], workers: int) -> ParallelBuild:
    """Fork ``workers`` processes and start reading ``ranges``; returns at once."""
    global _FILE
    load_tables()
    _FILE = file  # the pool forks its workers here, and they keep it
    # Frozen, what the workers inherit is never scanned by their cyclic GC, whose visits
    # would also copy every page they touch.
    gc.freeze()
    try:
        # The workers make hundreds of thousands of small acyclic objects and live for one
        # build: their cyclic GC would find nothing, so it is off.
        pool = mp.get_context("fork").Pool(workers, initializer=gc.disable)
    finally:
        _FILE = None
        gc.unfreeze()
    # A worker's result (megabytes) comes through a pipe of 64 KiB, read by a thread of this
    # process that needs the GIL after each read; while this process normalises the listing
    # it would wait the whole switch interval (5 ms) each time, and the worker with it.
    interval = sys.getswitchinterval()
    sys.setswitchinterval(min(interval, 0.0002))
    return ParallelBuild(pool, pool.imap(_read_range, ranges), len(ranges), interval)


def _read_range(rng: ByteRange) -> tuple[PersonChunk, list[Reject], int]:
    """In a worker: one range's good records normalised (a chunk for the index), its
    rejects, and how many records were good."""
    file = _FILE
    assert file is not None, "forked without the watchlist file"
    # Columns by name (the last of a repeated name, as a row dict would keep).
    at = {h: i for i, h in enumerate(file.header)}
    text = range_text(file.path, file.encoding, rng)
    decoded = not has_undecodable(text)  # one scan of the range, not one per record
    plain = plain_columns(text, len(file.header)) if decoded else None
    if plain is not None and all(map(str.strip, plain[file.key_at])):
        # Every record good (right width, decodable, keyed): no record-by-record checks.
        n = len(plain[0])
        return watchlist_chunk({k: plain[at[k]] for k in PERSON_FIELDS if k in at}, n), [], n
    good: list[list[str]] = []
    rejects: list[Reject] = []
    for rec in text_records(text, rng.line):
        if not isinstance(rec, CsvRecord):
            rejects.append((rec[0], rec[1], []))
            continue
        reason = file.check(rec.fields, decoded)
        if reason is not None:
            rejects.append((rec.line, reason, rec.fields))
            continue
        good.append(rec.fields)
    by_column = list(zip(*good, strict=True)) if good else []
    columns = {k: list(by_column[at[k]]) for k in PERSON_FIELDS if k in at and by_column}
    return watchlist_chunk(columns, len(good)), rejects, len(good)
