"""The `leakwatch synth` commands: write a synthetic watchlist, or a listing with ground truth."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from synth import (
    LISTING_COLUMNS,
    TRUTH_COLUMNS,
    WATCHLIST_COLUMNS,
    generate_listing,
    generate_seeds,
    generate_watchlist,
    read_csv,
)
from synth.csvio import write_csv

app = typer.Typer(
    help="Synthetic data with ground truth: watchlists (with seed records) and broker listings.",
    no_args_is_help=True,
)
_console = Console(soft_wrap=True)  # the summary stays on one line whatever the terminal width


@app.command()
def watchlist(
    persons: Annotated[int, typer.Option(min=1, help="Ordinary persons (rows) to generate.")],
    out: Annotated[Path, typer.Option(help="Watchlist CSV to write (UTF-8, header row).")],
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same file.")] = 1,
    seeds: Annotated[
        int, typer.Option(min=0, help="Seed (decoy) records to plant among the ordinary ones.")
    ] = 0,
    seeds_out: Annotated[
        Path | None,
        typer.Option(help="Where to write the seed records (the seed register); needs --seeds."),
    ] = None,
) -> None:
    """Write a synthetic watchlist of families (a guardian and 1-4 children each)."""
    started = time.perf_counter()
    n = write_csv(generate_watchlist(persons, seed, seeds=seeds), out, WATCHLIST_COLUMNS)
    if seeds and seeds_out is not None:
        write_csv(generate_seeds(seeds, seed), seeds_out, WATCHLIST_COLUMNS)
    took = time.perf_counter() - started
    _console.print(
        f"[green]wrote[/] {n:,} persons ({seeds:,} seeds) to [bold]{out}[/] in {took:.1f} s"
    )


@app.command()
def listing(
    watchlist: Annotated[
        Path, typer.Option(exists=True, dir_okay=False, help="Watchlist CSV to draw people from.")
    ],
    rows: Annotated[int, typer.Option(min=1, help="Listing rows to generate.")],
    out: Annotated[Path, typer.Option(help="Listing CSV to write (the data-contract columns).")],
    truth: Annotated[
        Path, typer.Option(help="Ground-truth CSV: row_id, record_id, kind, detail, as_of.")
    ],
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same files.")] = 1,
    positive_share: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Share of rows that are watchlist persons.")
    ] = 0.5,
    listings: Annotated[
        int | None, typer.Option(min=1, help="Number of listings (default: one per ~300 rows).")
    ] = None,
) -> None:
    """Write broker listings made from a watchlist: re-keyed true matches and hard negatives."""
    started = time.perf_counter()
    people = list(read_csv(watchlist))
    if not people:
        raise typer.BadParameter(f"{watchlist} has no rows", param_hint="--watchlist")
    missing = [c for c in ("record_id", "household_id", "name") if c not in people[0]]
    if missing:
        raise typer.BadParameter(
            f"{watchlist}: missing column(s) {', '.join(missing)}", param_hint="--watchlist"
        )
    out_rows, truth_rows = generate_listing(people, rows, seed, positive_share, listings=listings)
    write_csv(out_rows, out, LISTING_COLUMNS)
    write_csv(truth_rows, truth, TRUTH_COLUMNS)
    positives = sum(1 for t in truth_rows if t["record_id"])
    n_listings = len({r["listing_id"] for r in out_rows})
    took = time.perf_counter() - started
    _console.print(
        f"[green]wrote[/] {len(out_rows):,} rows in {n_listings} listings to [bold]{out}[/] "
        f"({positives:,} true matches), truth to [bold]{truth}[/] in {took:.1f} s"
    )


def register(root: typer.Typer) -> None:
    """Add `leakwatch synth` to the `leakwatch` app."""
    root.add_typer(app, name="synth")
