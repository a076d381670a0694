"""`leakwatch match`: match a listing CSV against the watchlist (a CSV, or a saved index).

Reads both files per the data contract (any of UTF-8, CP932, EUC-JP; unknown columns kept,
bad rows written to a reject file with line and reason), builds or loads the match index,
scores every row, and writes ``row_id, record_id, score, decision`` — at most one line per
pair — with a progress bar and a summary. Saved indexes are encrypted under a key derived
from the store's master key (``MasterKey.index_key``).
"""

from __future__ import annotations

import csv
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

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
from office import match_pipeline
from office.console import ExitPlan, console, err_console, fail
from store.csv_input import CsvFile, InputError, RecordCheck
from store.keyring import KeyError_
from store.private_files import private_csv

OUT_COLUMNS = ["row_id", "record_id", "score", "decision"]


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


def write_rejects(path: Path, header: list[str], rejects: list[tuple[int, str, list[str]]]
                  ) -> None:
    with private_csv(path, ["line", "reason", *header]) as w:  # rejected rows may hold PII
        assert w is not None
        for line, reason, fields in rejects:
            w.writerow([line, reason, *fields])


def write_matches(path: Path, result: MatchResult, explain: bool) -> int:
    seen: set[tuple[str, str]] = set()
    n = 0
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(OUT_COLUMNS + (["explanation"] if explain else []))
        for c in result.candidates:
            if (c.row_id, c.record_id) in seen:
                continue
            seen.add((c.row_id, c.record_id))
            line = [c.row_id, c.record_id, f"{c.score:.6f}", c.decision]
            w.writerow(line + ([c.explanation.summary()] if explain else []))
            n += 1
    return n


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
    if not path.exists():
        raise InputError(f"{path}: no such index file")
    last: Exception | None = None
    for key in index_keys():
        try:
            return WatchlistIndex.load(path, key)
        except IndexKeyError as exc:
            last = exc
        except IndexFormatError as exc:
            raise InputError(f"{path}: {exc}") from None
    raise InputError(f"{path}: {last}")


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
    times: dict[str, float] = {}
    t0 = time.perf_counter()

    def bar(label: str) -> Callable[[int, int], None]:
        if progress is None:
            return lambda done, total: None
        task = progress.add_task(label, total=None)
        return lambda done, total: progress.update(task, completed=done, total=total)

    model = read_model(model_path) if model_path is not None else None
    workers = min(os.cpu_count() or 1, 8)
    w_rejects = 0
    building: match_pipeline.ParallelBuild | None = None
    index: WatchlistIndex | None = None
    if index_path is not None:
        index = load_index(index_path)
        times["load index"] = time.perf_counter() - t0
    elif watchlist is None:
        raise InputError("give --watchlist W.csv or --index IDX")
    else:
        with open_csv(watchlist, ("record_id", "name")) as f:
            file = match_pipeline.WatchlistFile(
                watchlist, RecordCheck(f.header, "record_id", f.encoding)
            )
        ranges = match_pipeline.parallel_ranges(file, workers)
        if ranges is not None:
            # Workers read and normalise the watchlist while this process does the listing.
            building = match_pipeline.start(file, ranges, workers)
        else:
            index, w_rejects = _build_in_one_read(watchlist, bar, workers)
        times["read + build index"] = time.perf_counter() - t0
    try:
        t = time.perf_counter()
        lst = read_csv(listing, ("name",), "name", bar(f"read {listing.name}"))
        for i, r in enumerate(lst.rows):
            r.setdefault("row_id", str(i + 1))
            if not r["row_id"]:
                r["row_id"] = str(i + 1)
        if lst.rejects:
            write_rejects(out.with_name(out.name + ".rejects.csv"), lst.header, lst.rejects)
        times["read listing"] = time.perf_counter() - t
        feats = None
        if building is not None:
            t = time.perf_counter()
            normalising = bar("normalise listing")
            feats = []
            for i, r in enumerate(lst.rows):
                feats.append(listing_features(r))
                if i % 2000 == 0:
                    normalising(i, len(lst.rows))
            normalising(len(lst.rows), len(lst.rows))
            times["normalise listing"] = time.perf_counter() - t
            t = time.perf_counter()
            index = building.finish(bar("read + build index"))
            assert watchlist is not None
            w_rejects = len(building.rejects)
            if building.rejects:
                write_rejects(watchlist.with_name(watchlist.name + ".rejects.csv"),
                              file.check.header, building.rejects)
            times["read + build index"] += time.perf_counter() - t
        assert index is not None
        if save_index is not None:
            t = time.perf_counter()
            index.save(save_index, index_keys()[0])
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


def _build_in_one_read(watchlist: Path, bar: Callable[[str], Callable[[int, int], None]],
                       workers: int) -> tuple[WatchlistIndex, int]:
    """The watchlist read here, then normalised (over the cores if it is big)."""
    w = read_csv(watchlist, ("record_id", "name"), "record_id", bar(f"read {watchlist.name}"))
    if w.rejects:
        write_rejects(watchlist.with_name(watchlist.name + ".rejects.csv"), w.header, w.rejects)
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
            except (InputError, KeyError_) as exc:
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
    for lid, iv in sorted(res.as_of.items()):
        if iv is not None:
            table.add_row(f"listing {lid or '(none)'} as of", f"{iv[0]} .. {iv[1]} (inferred)")
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
