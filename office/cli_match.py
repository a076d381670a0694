"""`leakwatch match`: match a listing CSV against the watchlist (a CSV, or a saved index).

Reads both files per the data contract (any of UTF-8, CP932, EUC-JP; unknown columns kept,
bad rows written to a reject file with line and reason), builds or loads the match index,
scores every row, and writes ``row_id, record_id, score, decision`` — at most one line per
pair — with a progress bar and a summary. Saved indexes are encrypted under a key derived
from the store's master key (``MasterKey.index_key``).

Every file the run writes (the matches, the reject files, a saved index) is checked before
any work starts — its folder exists and takes files, it is not a folder or a device, it is
none of the inputs nor another output — and written under a temporary name beside it, then
renamed into place: a failure (a full disk) never leaves half a file nor destroys the one
that was there, and ends with one line naming the file and the reason.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Annotated, TypeVar

import typer
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from matcher import (
    IndexFormatError,
    IndexKeyError,
    Matcher,
    MatchResult,
    Model,
    Thresholds,
    WatchlistIndex,
    gc_paused,
    listing_features,
    native,
)
from matcher.features import Features
from matcher.sealing import MAGIC, open_blob, seal_blob
from office import match_pipeline
from office.console import ExitPlan, console, err_console, fail
from store.csv_input import CsvFile, InputError, RecordCheck
from store.keyring import KeyError_
from store.private_files import OutputError

OUT_COLUMNS = ["row_id", "record_id", "score", "decision"]
T = TypeVar("T")


@dataclass
class CsvRows:
    rows: list[dict[str, str]]
    rejects: list[tuple[int, str, list[str]]]  # line, reason, raw fields
    header: list[str]
    encoding: str


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
    path: Path,
    required: tuple[str, ...],
    key: str,
    progress: Callable[[int, int], None] | None = None,
) -> CsvRows:
    """All good rows of ``path``; bad ones as (line, reason, fields). Raises InputError when
    the file as a whole is unusable (missing, empty, no such column)."""
    with open_csv(path, required) as f:
        rows: list[dict[str, str]] = []
        rejects: list[tuple[int, str, list[str]]] = []
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


def _same_file(a: Path, b: Path) -> bool:
    """Whether ``a`` and ``b`` name one file (links of any kind included)."""
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet): where they would resolve to
        return os.path.realpath(a) == os.path.realpath(b)


def check_outputs(outputs: Iterable[tuple[str, Path]], inputs: Iterable[Path],
                  deferred: Iterable[Path] = ()) -> None:
    """Refuse, before any work, outputs (label, path) that could not be written or would
    destroy an input or each other: OutputError naming the first such. The folder of a
    ``deferred`` output (the watchlist's reject file, needed only if a row is bad) is not
    required to take files now."""
    ins = list(inputs)
    later = list(deferred)
    seen: list[tuple[str, Path]] = []
    for label, path in outputs:
        real = Path(os.path.realpath(path))  # a symlink's target is what gets written
        folder = real.parent
        if real.is_dir():
            raise OutputError(f"{path}: is a folder; give a file path for {label}")
        if real.exists() and not real.is_file():
            raise OutputError(f"{path}: not a regular file (a device or a pipe); "
                              f"give a file path for {label}")  # fmt: skip
        if not folder.is_dir():
            raise OutputError(f"{path}: folder {folder} does not exist")
        if path not in later and not os.access(folder, os.W_OK | os.X_OK):
            raise OutputError(f"{path}: cannot write in folder {folder} (permission denied)")
        for inp in ins:
            if _same_file(path, inp):
                raise OutputError(f"{path}: {label} would overwrite the input {inp}")
        for other_label, other in seen:
            if _same_file(path, other):
                raise OutputError(f"{path}: {label} and {other_label} are the same file")
        seen.append((label, path))


def write_replacing(path: Path, write: Callable[[IO[bytes]], T], mode: int | None = None
                    ) -> T:
    """``write(file)`` into a temporary file beside ``path`` (beside a symlink's target),
    flushed to disk and then renamed over ``path``: whole or not at all. ``mode``: the new
    file's permissions (default: those of the file it replaces, else what the umask
    allows). On failure the temporary file is removed and ``path`` is left as it was; an
    OSError becomes an OutputError naming ``path`` and the reason."""
    target = Path(os.path.realpath(path))
    if target.exists() and not target.is_file():
        # Never renamed over: a device (/dev/full) or a pipe would be replaced by a file.
        raise OutputError(f"{path}: not a regular file (a device or a pipe)")
    tmp: str | None = None
    try:
        if mode is None:
            mode = target.stat().st_mode & 0o777 if target.is_file() else 0o666 & ~_umask()
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial",
                                   dir=target.parent)  # fmt: skip
        with os.fdopen(fd, "wb") as fh:
            got = write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
        tmp = None
        return got
    except OSError as exc:
        raise OutputError(f"{path}: cannot write: {exc.strerror or exc}") from None
    finally:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)


def _umask() -> int:
    mask = os.umask(0o077)  # read by setting it: set it back at once
    os.umask(mask)
    return mask


def _csv_into(fh: IO[bytes], rows: Iterable[list[str]]) -> int:
    """``rows`` as UTF-8 CSV into ``fh``; how many (a header included)."""
    # Undecodable input bytes show as \udcXX escapes rather than failing the write.
    text = io.TextIOWrapper(fh, encoding="utf-8", errors="backslashreplace", newline="")
    try:
        w = csv.writer(text)
        n = 0
        for row in rows:
            w.writerow(row)
            n += 1
        text.flush()
        return n
    finally:
        text.detach()  # the caller closes fh


def write_rejects(path: Path, header: list[str], rejects: list[tuple[int, str, list[str]]]
                  ) -> None:
    lines = ([str(line), reason, *fields] for line, reason, fields in rejects)
    # 0600: rejected rows may hold personal data.
    write_replacing(path, lambda fh: _csv_into(fh, [["line", "reason", *header], *lines]),
                    0o600)  # fmt: skip


def write_matches(path: Path, result: MatchResult, explain: bool) -> int:
    """The candidates, at most one line per (row, record); how many lines."""

    def lines() -> Iterable[list[str]]:
        yield OUT_COLUMNS + (["explanation"] if explain else [])
        seen: set[tuple[str, str]] = set()
        for c in result.candidates:
            if (c.row_id, c.record_id) in seen:
                continue
            seen.add((c.row_id, c.record_id))
            line = [c.row_id, c.record_id, f"{c.score:.6f}", c.decision]
            yield line + ([c.explanation.summary()] if explain else [])

    return write_replacing(path, lambda fh: _csv_into(fh, lines())) - 1


def save_index_file(path: Path, index: WatchlistIndex) -> None:
    """The index encrypted under the current index key, only for this user to read."""
    blob = seal_blob(index.to_bytes(), index_keys()[0])
    write_replacing(path, lambda fh: fh.write(blob), 0o600)


def index_keys() -> list[bytes]:
    """The current index key first, then those of older master keys (to read old indexes)."""
    # Imported here: pydantic settings are a fifth of a second of start-up, and a watchlist
    # CSV matched without --save-index needs no key.
    from store.keyring import load_key_ring
    from store.settings import load_settings

    settings = load_settings()
    ring = load_key_ring(settings.leakwatch_key, settings.key_file)
    return [k.index_key for k in ring.keys]


def load_index(path: Path) -> WatchlistIndex:
    """An index saved with --save-index, opened with whichever key of the ring sealed it."""
    if not path.exists():
        raise InputError(f"{path}: no such index file")
    if path.is_dir():
        raise InputError(f"{path}: is a directory, not an index file")
    try:
        blob = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if not blob.startswith(MAGIC):
        raise InputError(f"{path}: not a LeakWatch index file")
    for key in index_keys():
        try:
            data = open_blob(blob, key)
        except IndexKeyError:
            continue
        try:
            return WatchlistIndex.from_bytes(data)
        except IndexFormatError as exc:
            raise InputError(f"{path}: {exc}") from None
    raise InputError(
        f"{path}: none of the keys in the key ring opens this index: it was saved under a "
        "key that is no longer in the ring (rotated away by `leakwatch rotate-key`) or "
        "under another store's key (or the file was altered). Build it again from the "
        "watchlist with --watchlist W.csv --save-index"
    )


def read_model(path: Path) -> Model:
    """A model exported with `leakwatch model export` (reviewers' calibration)."""
    try:
        return Model.from_json(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: no such model file") from None
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        raise InputError(f"{path}: not a LeakWatch model ({type(exc).__name__})") from None


@dataclass
class MatchRun:
    result: MatchResult
    listing: CsvRows
    watchlist_rejects: int = 0
    persons: int = 0
    lines_out: int = 0
    seconds: dict[str, float] = field(default_factory=dict)


# A run makes millions of small acyclic objects (rows, features, chunks) beside a big heap
# (the gazetteer, the index), which the cyclic GC would rescan over and over for nothing:
# 0.4 s of a 5 s run on the benchmark.
@gc_paused()
def run_match(
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
    progress: Progress | None = None,
) -> MatchRun:
    """Match ``listing`` against ``watchlist`` (or the index at ``index_path``) and write
    ``out``; InputError, OutputError or KeyError_ for what the user can fix."""
    check_run_files(listing, out, watchlist=watchlist, index_path=index_path,
                    save_index=save_index, model_path=model_path)  # fmt: skip
    times: dict[str, float] = {}
    t0 = time.perf_counter()
    bar = _bars(progress)
    model = read_model(model_path) if model_path is not None else None
    workers = min(os.cpu_count() or 1, 8)
    index, building, w_rejects = _open_index(watchlist, index_path, bar, workers)
    times["load index" if index_path is not None else "read + build index"] = (
        time.perf_counter() - t0
    )
    try:
        t = time.perf_counter()
        lst = _read_listing(listing, out, bar)
        times["read listing"] = time.perf_counter() - t
        feats = None
        if building is not None:
            t = time.perf_counter()
            feats = _normalise_listing(lst.rows, bar)
            times["normalise listing"] = time.perf_counter() - t
            t = time.perf_counter()
            index, w_rejects = _finish_build(building, bar)
            times["read + build index"] += time.perf_counter() - t
        assert index is not None
        if save_index is not None:
            t = time.perf_counter()
            save_index_file(save_index, index)
            times["save index"] = time.perf_counter() - t
        t = time.perf_counter()
        stage = bar("match")
        # Normalising the rows is most of matching: spread it over the cores for big listings.
        m_workers = workers if len(lst.rows) >= 5000 else 0
        result = Matcher(index, thresholds, model, em=em, workers=m_workers).match(
            lst.rows, progress=lambda _s, done, total: stage(done, total), features=feats
        )
        times["match"] = time.perf_counter() - t
    finally:
        if building is not None:
            building.close()
    t = time.perf_counter()
    lines = write_matches(out, result, explain)
    times["write"] = time.perf_counter() - t
    times["total"] = time.perf_counter() - t0
    return MatchRun(result, lst, w_rejects, len(index), lines, times)


Bars = Callable[[str], Callable[[int, int], None]]


def _bars(progress: Progress | None) -> Bars:
    """A new progress bar per stage: ``bar(label)`` gives its ``(done, total)`` update."""

    def bar(label: str) -> Callable[[int, int], None]:
        if progress is None:
            return lambda done, total: None
        task = progress.add_task(label, total=None)
        return lambda done, total: progress.update(task, completed=done, total=total)

    return bar


def check_run_files(listing: Path, out: Path, *, watchlist: Path | None,
                    index_path: Path | None, save_index: Path | None,
                    model_path: Path | None) -> None:
    """What a run needs before it starts: a watchlist or an index, a key if the index is
    to be saved, and every file it may write writable without harm (:func:`check_outputs`)."""
    if index_path is None and watchlist is None:
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
    check_outputs(outputs, inputs, deferred)


def _open_index(watchlist: Path | None, index_path: Path | None, bar: Bars, workers: int
                ) -> tuple[WatchlistIndex | None, match_pipeline.ParallelBuild | None, int]:
    """The saved index; or the watchlist's, built here; or its build started in helper
    processes (finished by :func:`_finish_build`). With the watchlist's rejects count."""
    if index_path is not None:
        return load_index(index_path), None, 0
    assert watchlist is not None
    with open_csv(watchlist, ("record_id", "name")) as f:
        file = match_pipeline.WatchlistFile(
            watchlist, RecordCheck(f.header, "record_id", f.encoding)
        )
    ranges = match_pipeline.parallel_ranges(file, workers)
    if ranges is not None:
        # Workers read and normalise the watchlist while this process does the listing.
        return None, match_pipeline.start(file, ranges, workers), 0
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


def _finish_build(building: match_pipeline.ParallelBuild, bar: Bars
                  ) -> tuple[WatchlistIndex, int]:
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
                                 workers=workers if total >= 50_000 else 0)  # fmt: skip
    build(total, total)
    return index, len(w.rejects)


def register(app: typer.Typer) -> None:
    """Add the `match` and `native` commands to the `leakwatch` CLI."""

    @app.command("match")
    def match_cmd(
        listing: Annotated[Path, typer.Option("--listing", help="Listing CSV (data contract).")],
        out: Annotated[Path, typer.Option("--out", help="Where to write the matches CSV.")],
        watchlist: Annotated[
            Path | None, typer.Option("--watchlist", help="Watchlist CSV (data contract).")
        ] = None,
        index: Annotated[
            Path | None,
            typer.Option("--index", help="Reuse an index saved with --save-index (no CSV read)."),
        ] = None,
        save_index: Annotated[
            Path | None,
            typer.Option("--save-index", help="Save the index, encrypted with the store's key."),
        ] = None,
        match_threshold: Annotated[float, typer.Option(help="Score for `match`.")] = 0.95,
        review_threshold: Annotated[
            float, typer.Option(help="Score for `review` (the score is a probability).")
        ] = 0.2,
        report_threshold: Annotated[
            float, typer.Option(help="Weaker candidates are not written at all.")
        ] = 0.05,
        em: Annotated[bool, typer.Option(help="Re-estimate the model by EM on this listing.")
                      ] = True,
        explain: Annotated[
            bool, typer.Option(help="Add an explanation column (levels and weights).")
        ] = False,
        model: Annotated[
            Path | None,
            typer.Option("--model", help="Score with a model from `leakwatch model export` "
                                         "(refined from reviewers' labels)."),
        ] = None,
    ) -> None:
        """Find watchlist persons in a published listing; write row_id, record_id, score,
        decision (match / review / nonmatch) for each candidate pair."""
        try:
            thresholds = Thresholds(match_threshold, review_threshold, report_threshold)
        except ValueError as exc:
            raise fail(str(exc)) from None
        progress = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), TaskProgressColumn(),
            TimeElapsedColumn(), console=err_console, transient=False,
        )  # fmt: skip
        # The cyclic GC stays off until the summary is out: turned back on after the run,
        # its first collection would walk everything made meanwhile (0.1 s at 200,000
        # persons) just before the process ends anyway.
        with gc_paused():
            try:
                with progress:
                    run = run_match(
                        listing, out, watchlist=watchlist, index_path=index,
                        save_index=save_index, thresholds=thresholds, em=em,
                        explain=explain, model_path=model, progress=progress,
                    )  # fmt: skip
            except (InputError, OutputError, KeyError_) as exc:
                raise fail(str(exc)) from None
            _summary(run, out)
            # Every file is closed and every worker joined.
            ExitPlan.end_now()

    native_app = typer.Typer(no_args_is_help=True, help=(
        "Compiled normalisers (mypyc): the same code, about a tenth off `match` from CSV."))
    app.add_typer(native_app, name="native")

    @native_app.command("build")
    def native_build() -> None:
        """Compile the normalisation modules (needs mypy and a C compiler); used from then
        on, until a source changes."""
        try:
            folder = native.build()
        except native.NativeBuildError as exc:
            raise fail(str(exc)) from None
        console.print(f"compiled normalisers built in {folder}")

    @native_app.command("status")
    def native_status() -> None:
        """Whether compiled normalisers are in use."""
        folder = native.usable()
        console.print(f"compiled normalisers in use: {folder}" if folder is not None else
                      "pure-Python normalisers (no build for these sources: "
                      "`leakwatch native build`)")  # fmt: skip


def _summary(run: MatchRun, out: Path) -> None:
    res = run.result
    counts = res.counts()
    rows_matched = len({c.row_id for c in res.candidates if c.decision == "match"})
    table = Table(title=f"matches → {out}", show_header=False)
    for label, value in (
        ("watchlist persons", f"{run.persons:,}"),
        ("listing rows", f"{res.rows:,} ({len(run.listing.rejects):,} rejected)"),
        ("candidate pairs compared", f"{res.pairs:,}"),
        ("rows matched", f"{rows_matched:,}"),
        ("lines written", f"{run.lines_out:,} (match {counts['match']:,}, review "
                          f"{counts['review']:,}, nonmatch {counts['nonmatch']:,})"),
    ):
        table.add_row(label, value)
    for lid, when in as_of_lines(res, run.listing.rows):
        table.add_row(f"listing {lid or '(none)'} as of", when)
    for stage, sec in run.seconds.items():
        table.add_row(f"time: {stage}", f"{sec:.2f} s")
    if res.rows and run.seconds.get("match"):
        table.add_row("matching speed", f"{res.rows / run.seconds['match']:,.0f} rows/s")
    console.print(table)
    if run.listing.rejects:
        line, reason, _ = run.listing.rejects[0]
        console.print(f"[yellow]rejected[/] e.g. line {line}: {reason} "
                      f"(all in {out.name}.rejects.csv)")
    example = next((c for c in res.candidates if c.decision == "match"), None)
    if example is not None:
        console.print(f"example: row {example.row_id} → {example.record_id}: "
                      f"{example.explanation.summary()}")


def as_of_lines(result: MatchResult, rows: list[dict[str, str]]) -> list[tuple[str, str]]:
    """(listing id, what its as-of date is) for every listing of the run, in id order: the
    inferred interval, or why there is none."""
    dated = {r.get("listing_id") or "" for r in rows if r.get("age") or r.get("grade")}
    out = []
    for lid, iv in sorted(result.as_of.items()):
        if iv is not None:
            out.append((lid, f"{iv[0]} .. {iv[1]} (inferred)"))
        elif lid in dated:
            out.append((lid, "not inferred (too few rows agree on birth dates): ages and "
                             "grades not used"))  # fmt: skip
        else:
            out.append((lid, "not needed (no row gives an age or a grade)"))
    return out
