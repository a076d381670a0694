"""`leakwatch match`: match a listing CSV against the watchlist (a CSV, or a saved index).

This module parses the options, shows the progress and the summary; the run itself —
reading, the index, matching, every file written — is :func:`store.match_files.match_files`.
It also decides the run's garbage-collector policy, for the whole process (see
``match_cmd``). And the `native` commands: the compiled normalisers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from matcher import MatchResult, Thresholds, gc_paused, native
from office.console import ExitPlan, console, err_console, fail
from store.csv_input import InputError
from store.keyring import KeyError_
from store.match_files import Bar, Bars, MatchRun, match_files
from store.private_files import OutputError


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), TaskProgressColumn(),
        TimeElapsedColumn(), console=err_console, transient=False,
    )  # fmt: skip


def _bars(progress: Progress | None) -> Bars | None:
    """A new bar on ``progress`` per stage: ``bar(label)`` gives its ``(done, total)``."""
    if progress is None:
        return None

    def bar(label: str) -> Bar:
        task = progress.add_task(label, total=None)
        return lambda done, total: progress.update(task, completed=done, total=total)

    return bar


_EM = typer.Option(help="Re-estimate the model by EM on this listing.")
_MODEL = typer.Option("--model", help="Score with a model from `leakwatch model export` "
                                      "(refined from reviewers' labels).")  # fmt: skip
_SERVER = typer.Option("--server", help=(
    "Match on the resident matcher (`leakwatch matcher serve`): the store's watchlist, no "
    "index loaded here; --watchlist or --index if none runs."))  # fmt: skip


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
    em: Annotated[bool, _EM] = True,
    explain: Annotated[
        bool, typer.Option(help="Add an explanation column (levels and weights).")
    ] = False,
    model: Annotated[Path | None, _MODEL] = None,
    server: Annotated[bool, _SERVER] = False,
) -> None:
    """Find watchlist persons in a published listing; write row_id, record_id, score,
    decision (match / review / nonmatch) for each candidate pair."""
    try:
        thresholds = Thresholds(match_threshold, review_threshold, report_threshold)
    except ValueError as exc:
        raise fail(str(exc)) from None
    progress = _progress()
    # The cyclic GC stays off for the run and until the summary is out. A run makes millions
    # of small acyclic objects (rows, features, chunks) beside a big heap (the gazetteer, the
    # index), which the GC would rescan over and over for nothing (0.4 s of a 5 s run on the
    # benchmark); turned back on after the run, its first collection would walk everything
    # made meanwhile (0.1 s at 200,000 persons) just before the process ends anyway. Forked
    # helpers inherit the setting.
    with gc_paused():
        try:
            with progress:
                run = match_files(
                    listing, out, watchlist=watchlist, index_path=index, save_index=save_index,
                    thresholds=thresholds, em=em, explain=explain, model_path=model,
                    bars=_bars(progress), server=server,
                )  # fmt: skip
        except (InputError, OutputError, KeyError_) as exc:
            raise fail(str(exc)) from None
        _summary(run, out)
        # Every file is closed and every worker joined.
        ExitPlan.end_now()


def native_build() -> None:
    """Compile the normalisation modules (needs mypy and a C compiler); used from then on,
    until a source changes."""
    try:
        folder = native.build()
    except native.NativeBuildError as exc:
        raise fail(str(exc)) from None
    console.print(f"compiled normalisers built in {folder}")


def native_status() -> None:
    """Whether compiled normalisers are in use."""
    folder = native.usable()
    console.print(f"compiled normalisers in use: {folder}" if folder is not None else
                  "pure-Python normalisers (no build for these sources: "
                  "`leakwatch native build`)")  # fmt: skip


def register(app: typer.Typer) -> None:
    """Add the `match` and `native` commands to the `leakwatch` CLI."""
    app.command("match")(match_cmd)
    native_app = typer.Typer(
        no_args_is_help=True,
        help=("Compiled normalisers (mypyc): the same code, about a tenth off `match` from CSV."),
    )
    app.add_typer(native_app, name="native")
    native_app.command("build")(native_build)
    native_app.command("status")(native_status)


def _summary(run: MatchRun, out: Path) -> None:
    res = run.result
    counts = res.counts()
    rows_matched = len({c.row_id for c in res.candidates if c.decision == "match"})
    table = Table(title=f"matches → {out}", show_header=False)
    for label, value in (
        ("matched by", run.matcher),
        ("watchlist persons", f"{run.persons:,}"),
        ("listing rows", f"{res.rows:,} ({len(run.listing.rejects):,} rejected)"),
        ("candidate pairs compared", f"{res.pairs:,}"),
        ("rows matched", f"{rows_matched:,}"),
        (
            "lines written",
            f"{run.lines_out:,} (match {counts['match']:,}, review "
            f"{counts['review']:,}, nonmatch {counts['nonmatch']:,})",
        ),
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
        console.print(
            f"[yellow]rejected[/] e.g. line {line}: {reason} (all in {out.name}.rejects.csv)"
        )
    example = next((c for c in res.candidates if c.decision == "match"), None)
    if example is not None:
        console.print(
            f"example: row {example.row_id} → {example.record_id}: {example.explanation.summary()}"
        )


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
