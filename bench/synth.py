"""Throughput of the synthetic watchlist generator: persons per second for 1,000,000 persons.

Run: .venv/bin/python bench/synth.py [persons] [seed]
"""

from __future__ import annotations

import sys
import time

from synth import generate_watchlist
from synth.places import sample_town


def main() -> None:
    persons = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    import random

    t0 = time.perf_counter()
    sample_town(random.Random(0))  # load the postal table once, outside the timed loop
    load = time.perf_counter() - t0
    t1 = time.perf_counter()
    n = sum(1 for _ in generate_watchlist(persons, seed))
    took = time.perf_counter() - t1
    print(f"postal table load: {load:.2f} s")
    print(f"{n:,} persons in {took:.1f} s: {n / took:,.0f} persons/s")


if __name__ == "__main__":
    main()
