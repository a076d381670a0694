"""`leakwatch match` below the terminal: a listing CSV matched against a watchlist CSV or a
saved index, and every file such a run reads and writes.

:func:`match_files` reads both files per the data contract (any of UTF-8, CP932, EUC-JP;
unknown columns kept, bad rows written to a reject file with line and reason), builds the
index (:mod:`store.match_build`: over the cores for a big watchlist, while the listing is
read here) or loads a saved one, matches every row, and writes ``row_id, record_id, score,
decision`` — at most one line per pair. Every file it may write is checked before any work
starts and written whole or not at all (:mod:`store.private_files`); rejected rows and a
saved index are private (0600).

Saved indexes are sealed under a key derived from the store's master key
(``MasterKey.index_key``): :func:`save_index_file` and :func:`read_index_file` are the one
file format for the CLI and the store (``store.matching``) alike.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from matcher import (
    IndexFormatError,
    IndexKeyError,
    Matcher,
    MatchResult,
    Model,
    Thresholds,
    WatchlistIndex,
    listing_features,
)
from matcher.contract import MATCH_COLUMNS
from matcher.features import Features
from matcher.index import read_index
from matcher.sealing import MAGIC, MAGIC_STREAM
from store import match_build
from store.csv_input import CsvFile, InputError, RecordCheck
from store.private_files import check_outputs, replacing, write_csv

Bar = Callable[[int, int], None]  # a progress bar's update: (done, total)
Bars = Callable[[str], Bar]  # a new bar for a stage, by its label
Reject = tuple[int, str, list[str]]  # line, reason, raw fields
BIG_WATCHLIST = 50_000  # persons from which a watchlist read in one go is normalised in parallel


@dataclass
class CsvRows:
    rows: list[dict[str, str]]
    rejects: list[Reject]
    header: list[str]
    encoding: str


@dataclass
class MatchRun:
    result: MatchResult
    listing: CsvRows
    watchlist_rejects: int = 0
    persons: int = 0
    lines_out: int = 0
    seconds: dict[str, float] = field(default_factory=dict)
    matcher: str = "this process"  # who matched: the resident matcher or this process


def match_files(
    listing: Path,
    out: Path,
    *,
    watchlist: Path | None = None,
    index_path: Path | None = None,
    save_index: Path | None = None,
    thresholds: Thresholds | None = None,
    em: bool = True,
    explain: bool = False,
    model_path: Path | None = None,
    bars: Bars | None = None,
    server: bool = False,
) -> MatchRun:
    """Match ``listing`` against ``watchlist`` (or the index at ``index_path``; or, with
    ``server``, the resident matcher's, falling back to those when none runs) and write
    ``out``; InputError, OutputError or KeyError_ for what the user can fix. ``bars``
    makes a progress bar per stage."""
    check_run_files(listing, out, watchlist=watchlist, index_path=index_path,
                    save_index=save_index, model_path=model_path, server=server)  # fmt: skip
    bar = bars or _no_bar
    clock = _Stages()
    model = read_model(model_path) if model_path is not None else None
    fallback = ""
    if server:
        run, fallback = _on_server(listing, out, bar, clock, (thresholds, model, em, explain))
        if run is not None:
            return run
        if watchlist is None and index_path is None:
            raise InputError(f"{fallback} (or give --watchlist W.csv or --index IDX)")
    return _match_here(listing, out, (watchlist, index_path, save_index), bar, clock,
                       (thresholds, model, em, explain), fallback)  # fmt: skip


def _match_here(
    listing: Path,
    out: Path,
    paths: tuple[Path | None, Path | None, Path | None],
    bar: Bars,
    clock: _Stages,
    scoring: tuple[Thresholds | None, Model | None, bool, bool],
    fallback: str,
) -> MatchRun:
    """``match_files`` in this process: the index loaded or built here."""
    watchlist, index_path, save_index = paths
    thresholds, model, em, explain = scoring
    workers = min(os.cpu_count() or 1, 8)
    with clock.stage("load index" if index_path is not None else "read + build index"):
        index, building, w_rejects = _open_index(watchlist, index_path, bar, workers)
    try:
        with clock.stage("read listing"):
            lst = _read_listing(listing, out, bar)
        feats = None
        if building is not None:
            with clock.stage("normalise listing"):
                feats = _normalise_listing(lst.rows, bar)
            with clock.stage("read + build index"):
                index, w_rejects = _finish_build(building, bar)
        assert index is not None
        if save_index is not None:
            with clock.stage("save index"):
                save_index_file(save_index, index, index_keys()[0])
        with clock.stage("match"):
            stage = bar("match")
            # Normalising the rows is most of matching: over the cores for a big listing.
            result = Matcher(index, thresholds, model, em=em, workers=workers).match(
                lst.rows, progress=lambda _s, done, total: stage(done, total), features=feats
            )
    finally:
        if building is not None:
            building.close()
    with clock.stage("write"):
        lines = write_matches(out, result, explain)
    clock.seconds["total"] = time.perf_counter() - clock.started
    return MatchRun(
        result,
        lst,
        w_rejects,
        len(index),
        lines,
        clock.seconds,
        "this process" + (f" ({fallback})" if fallback else ""),
    )


def _on_server(listing: Path, out: Path, bar: Bars, clock: _Stages,
               scoring: tuple[Thresholds | None, Model | None, bool, bool]
               ) -> tuple[MatchRun | None, str]:  # fmt: skip
    """The run done by the resident matcher, or None and why it could not be."""
    from store.matcher_client import NotServing, connect
    from store.settings import load_settings

    thresholds, model, em, explain = scoring
    try:
        client = connect(load_settings().home, index_keys()[0])
    except NotServing as exc:
        return None, str(exc)
    with client:
        with clock.stage("read listing"):
            lst = _read_listing(listing, out, bar)
        with clock.stage("match (resident matcher)"):
            try:
                status = client.status()
                result = client.match(lst.rows, thresholds=thresholds, model=model, em=em)
            except NotServing as exc:
                return None, str(exc)
    with clock.stage("write"):
        lines = write_matches(out, result, explain)
    clock.seconds["total"] = time.perf_counter() - clock.started
    label = f"resident matcher at {client.address} ({status['source']})"
    return MatchRun(result, lst, 0, int(status["persons"]), lines, clock.seconds, label), ""


def check_run_files(listing: Path, out: Path, *, watchlist: Path | None,
                    index_path: Path | None, save_index: Path | None,
                    model_path: Path | None, server: bool = False) -> None:  # fmt: skip
    """What a run needs before it starts: a watchlist or an index (or the resident
    matcher), a key if the index is to be saved, and every file it may write writable
    without harm (:func:`check_outputs`)."""
    if index_path is None and watchlist is None and not server:
        raise InputError("give --watchlist W.csv or --index IDX")
    outputs = [("--out", out), ("the listing's reject file", rejects_path(out))]
    deferred: list[Path] = []
    if save_index is not None:
        outputs.append(("--save-index", save_index))
        index_keys()  # no key: say so now, not once the index is built
    if watchlist is not None and index_path is None:
        deferred.append(rejects_path(watchlist))
        outputs.append(("the watchlist's reject file", deferred[-1]))
    inputs = [p for p in (listing, watchlist, index_path, model_path) if p is not None]
    check_outputs(outputs, inputs, deferred=deferred)


# --- the stages of a run ----------------------------------------------------------------------


def _no_bar(_label: str) -> Bar:
    return lambda done, total: None


class _Stages:
    """Seconds per stage of a run (a stage met twice adds up), in the order first met."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.started = time.perf_counter()

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        t = time.perf_counter()
        yield
        self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - t


def _open_index(
    watchlist: Path | None, index_path: Path | None, bar: Bars, workers: int
) -> tuple[WatchlistIndex | None, match_build.ParallelBuild | None, int]:
    """The saved index; or the watchlist's, built here; or its build started in helper
    processes (finished by :func:`_finish_build`). With the watchlist's rejects count."""
    if index_path is not None:
        return load_index(index_path), None, 0
    assert watchlist is not None
    with open_csv(watchlist, ("record_id", "name")) as f:
        file = match_build.WatchlistFile(watchlist, RecordCheck(f.header, "record_id", f.encoding))
    ranges = match_build.parallel_ranges(file, workers)
    if ranges is not None:
        # Workers read and normalise the watchlist while this process does the listing.
        return None, match_build.start(file, ranges, workers), 0
    index, rejects = _build_in_one_read(watchlist, bar, workers)
    return index, None, rejects


def _read_listing(listing: Path, out: Path, bar: Bars) -> CsvRows:
    """The listing's good rows, each with a row_id; the bad ones written beside ``out``."""
    lst = read_csv(listing, ("name",), "name", bar(f"read {listing.name}"))
    for i, r in enumerate(lst.rows):
        r.setdefault("row_id", str(i + 1))
        if not r["row_id"]:
            r["row_id"] = str(i + 1)
    if lst.rejects:
        write_rejects(rejects_path(out), lst.header, lst.rejects)
    return lst


def _normalise_listing(rows: list[dict[str, str]], bar: Bars) -> list[Features]:
    normalising = bar("normalise listing")
    feats = []
    for i, r in enumerate(rows):
        feats.append(listing_features(r))
        if i % 2000 == 0:
            normalising(i, len(rows))
    normalising(len(rows), len(rows))
    return feats


def _finish_build(building: match_build.ParallelBuild, bar: Bars) -> tuple[WatchlistIndex, int]:
    """The helpers' index, once they are done; the watchlist's rejects written."""
    index = building.finish(bar("read + build index"))
    if building.rejects:
        write_rejects(rejects_path(building.file.path), building.file.check.header,
                      building.rejects)  # fmt: skip
    return index, len(building.rejects)


def _build_in_one_read(watchlist: Path, bar: Bars, workers: int) -> tuple[WatchlistIndex, int]:
    """The watchlist read here, then normalised (over the cores if it is big)."""
    w = read_csv(watchlist, ("record_id", "name"), "record_id", bar(f"read {watchlist.name}"))
    if w.rejects:
        write_rejects(rejects_path(watchlist), w.header, w.rejects)
    build = bar("build index")
    total = len(w.rows)
    index = WatchlistIndex.build(w.rows, progress=lambda n: build(n, total),
                                 workers=workers if total >= BIG_WATCHLIST else 0)  # fmt: skip
    build(total, total)
    return index, len(w.rejects)


# --- CSV files --------------------------------------------------------------------------------


def open_csv(path: Path, required: tuple[str, ...]) -> CsvFile:
    """``path`` opened, its encoding and header read; InputError if it is missing, not a file,
    or lacks a ``required`` column."""
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a directory, not a CSV file")
    f = CsvFile(path)
    missing = [c for c in required if c not in f.header]
    if missing:
        f.close()
        raise InputError(
            f"{path}, line 1: missing column(s) {', '.join(missing)} "
            f"(header: {', '.join(f.header[:15])})"
        )
    return f


def read_csv(
    path: Path, required: tuple[str, ...], key: str, progress: Bar | None = None
) -> CsvRows:
    """All good rows of ``path``; bad ones as (line, reason, fields). Raises InputError when
    the file as a whole is unusable (missing, empty, no such column)."""
    with open_csv(path, required) as f:
        rows: list[dict[str, str]] = []
        rejects: list[Reject] = []
        check = RecordCheck(f.header, key, f.encoding)
        for n, rec in enumerate(f.records()):
            if isinstance(rec, tuple):
                rejects.append((rec[0], rec[1], []))
                continue
            reason = check(rec.fields)
            if reason is not None:
                rejects.append((rec.line, reason, rec.fields))
                continue
            rows.append(dict(zip(f.header, rec.fields, strict=True)))
            if progress is not None and n % 5000 == 0:
                progress(f.bytes_read, f.size)
        if progress is not None:
            progress(f.size, f.size)
        return CsvRows(rows, rejects, f.header, f.encoding)


def rejects_path(path: Path) -> Path:
    """Where the rejected rows of ``path`` (a listing's, beside --out; a watchlist's, beside
    it) go."""
    return path.with_name(path.name + ".rejects.csv")


def write_rejects(path: Path, header: list[str], rejects: list[Reject]) -> None:
    """The rejected rows with their line and reason, private (they may hold personal data)."""
    lines = ([str(line), reason, *fields] for line, reason, fields in rejects)
    write_csv(path, [["line", "reason", *header], *lines], durable=True)


def write_matches(path: Path, result: MatchResult, explain: bool) -> int:
    """The candidates, at most one line per (row, record); how many lines. The file keeps
    the mode of the one it replaces."""

    def lines() -> Iterable[list[str]]:
        yield list(MATCH_COLUMNS) + (["explanation"] if explain else [])
        seen: set[tuple[str, str]] = set()
        for c in result.candidates:
            if (c.row_id, c.record_id) in seen:
                continue
            seen.add((c.row_id, c.record_id))
            line = [c.row_id, c.record_id, f"{c.score:.6f}", c.decision]
            yield line + ([c.explanation.summary()] if explain else [])

    return write_csv(path, lines(), mode=None, durable=True) - 1


def read_model(path: Path) -> Model:
    """A model exported with `leakwatch model export` (reviewers' calibration)."""
    try:
        return Model.from_json(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: no such model file") from None
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        raise InputError(f"{path}: not a LeakWatch model ({type(exc).__name__})") from None


# --- index files ------------------------------------------------------------------------------


def index_keys() -> list[bytes]:
    """The current index key first, then those of older master keys (to read old indexes)."""
    # Imported here: pydantic settings are a fifth of a second of start-up, and a watchlist
    # CSV matched without --save-index needs no key.
    from store.keyring import load_key_ring
    from store.settings import load_settings

    settings = load_settings()
    ring = load_key_ring(settings.leakwatch_key, settings.key_file)
    return [k.index_key for k in ring.keys]


def save_index_file(path: Path, index: WatchlistIndex, key: bytes) -> None:
    """The index sealed under ``key`` (an index key, 32 bytes), only for this user to read,
    written whole or not at all; streamed, segment by segment, from the index's arrays."""
    with replacing(path, durable=True) as handle:
        index.write_sealed(handle, key)


def read_index_file(path: Path, keys: Sequence[bytes]) -> WatchlistIndex:
    """An index saved by :func:`save_index_file`, opened with whichever of ``keys`` sealed
    it, decrypted into its arrays segment by segment. InputError when the file is missing or
    unreadable; IndexKeyError when it is not an index or none of the keys opens it;
    IndexFormatError when another LeakWatch version saved it (build it again)."""
    _check_index_path(path)
    try:
        return read_index(path, keys)
    except IndexFormatError as exc:
        raise IndexFormatError(f"{path}: {exc}") from None
    except IndexKeyError as exc:
        if "not a LeakWatch index" in str(exc):
            raise IndexKeyError(f"{path}: not a LeakWatch index file") from None
        raise IndexKeyError(
            f"{path}: none of the keys in the key ring opens this index: it was saved under "
            "a key that is no longer in the ring (rotated away by `leakwatch rotate-key`) or "
            "under another store's key (or the file was altered). Build it again from the "
            "watchlist with --watchlist W.csv --save-index"
        ) from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None


def load_index(path: Path) -> WatchlistIndex:
    """An index saved with --save-index, opened with whichever key of the ring sealed it;
    every problem an InputError saying what to do."""
    _check_index_path(path)
    if not _looks_like_index(path):  # a file that is no index is said before a missing key
        raise InputError(f"{path}: not a LeakWatch index file")
    try:
        return read_index_file(path, index_keys())
    except (IndexKeyError, IndexFormatError) as exc:
        raise InputError(str(exc)) from None


def _check_index_path(path: Path) -> None:
    if not path.exists():
        raise InputError(f"{path}: no such index file")
    if path.is_dir():
        raise InputError(f"{path}: is a directory, not an index file")


def _looks_like_index(path: Path) -> bool:
    try:
        with path.open("rb") as f:
            return f.read(len(MAGIC_STREAM)) in (MAGIC, MAGIC_STREAM)
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None


__all__ = [
    "Bar",
    "Bars",
    "CsvRows",
    "MatchRun",
    "check_run_files",
    "index_keys",
    "load_index",
    "match_files",
    "open_csv",
    "read_csv",
    "read_index_file",
    "read_model",
    "rejects_path",
    "save_index_file",
    "write_matches",
    "write_rejects",
]
