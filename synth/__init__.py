"""Synthetic watchlists and listings with ground truth, for the demo, tests and benchmarks."""

from synth.csvio import read_csv
from synth.listing import TRUTH_COLUMNS, generate_demo, generate_listing
from synth.variations import LISTING_COLUMNS
from synth.watchlist import WATCHLIST_COLUMNS, generate_seeds, generate_watchlist, write_csv

__all__ = [
    "LISTING_COLUMNS",
    "TRUTH_COLUMNS",
    "WATCHLIST_COLUMNS",
    "generate_demo",
    "generate_listing",
    "generate_seeds",
    "generate_watchlist",
    "read_csv",
    "write_csv",
]
