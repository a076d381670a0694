"""Throughput of the synthetic watchlist generator: persons per second for 1,000,000 persons.

Run from the repository root: .venv/bin/python bench/synth.py [persons] [seed]
(or .venv/bin/python -m bench.synth).
"""

from __future__ import annotations

import importlib
import random
import sys
import time
from pathlib import Path


def _synth_package() -> object:
    # Run as a script, this file's folder comes first on sys.path and its name would shadow
    # the synth package; drop the folder so the real package is imported.
    here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != here]
    sys.modules.pop("synth", None)
    return importlib.import_module("synth")


def main() -> None:
    persons = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    _synth_package()
    places = importlib.import_module("synth.places")
    watchlist = importlib.import_module("synth.watchlist")

    t0 = time.perf_counter()
    places.sample_town(random.Random(0))  # load the postal table once, outside the timed loop
    load = time.perf_counter() - t0
    t1 = time.perf_counter()
    n = sum(1 for _ in watchlist.generate_watchlist(persons, seed))
    took = time.perf_counter() - t1
    print(f"postal table load: {load:.2f} s")
    print(f"{n:,} persons in {took:.1f} s: {n / took:,.0f} persons/s (one core)")


if __name__ == "__main__":
    main()
