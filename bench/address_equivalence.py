"""Address-parser equivalence: does a faster parser give exactly what the current one gives?

Builds a corpus of distinct (address, postal code) pairs (the synthetic benchmark watchlists
and listings of the given seeds, perturbed copies with other separators, spaces and widths,
and every line of the peer corpus), then either saves what ``parse_address`` and
``place_of`` make of each, or checks the current code against such a saved baseline.

    .venv/bin/python bench/address_equivalence.py --save var/address-baseline.pkl
    ... change the parser ...
    .venv/bin/python bench/address_equivalence.py --check var/address-baseline.pkl

The baseline is a pickle of our own values, written and read by this script only.
"""

from __future__ import annotations

import argparse
import gc
import pickle
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from matcher.address import parse_address  # noqa: E402
from matcher.features import place_of  # noqa: E402
from synth.listing import generate_listing  # noqa: E402
from synth.watchlist import generate_watchlist  # noqa: E402

_FULL_WIDTH = str.maketrans("0123456789-", "０１２３４５６７８９－")


def corpus(seeds: list[int], persons: int) -> list[tuple[str, str]]:
    items: set[tuple[str, str]] = set()
    for seed in seeds:
        wl = list(generate_watchlist(persons, seed))
        rows, _ = generate_listing(wl, persons // 10, seed + 7)
        for r in wl + rows:
            if r.get("address"):
                items.add((r["address"], r.get("postal_code", "")))
    for a, p in sorted(items)[:20_000]:
        items.add((a.replace("番地", "-").replace("番", "-").replace("号", ""), p))
        items.add((" ".join(a), ""))
        items.add((a.translate(_FULL_WIDTH), p))
    for f in sorted((ROOT.parent / "shared" / "peer").glob("*")):
        for line in f.read_text(encoding="utf-8", errors="replace").splitlines():
            line = line.strip().strip("\",'")
            if 4 < len(line) < 120:
                items.add((line, ""))
    return sorted(items)


def parse_all(items: list[tuple[str, str]]) -> tuple[dict[tuple[str, str], object], float]:
    gc.disable()
    # The functions without their caches: each pair is parsed here, twice.
    parse, place = parse_address.__wrapped__, place_of.__wrapped__
    t = time.perf_counter()
    out = {(a, p): (parse(a), place(a, p)) for a, p in items}
    return out, time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    what = ap.add_mutually_exclusive_group(required=True)
    what.add_argument("--save", type=Path, help="write the current parser's results here")
    what.add_argument("--check", type=Path, help="compare the current parser with this")
    ap.add_argument("--seeds", type=int, nargs="+", default=[5, 2014])
    ap.add_argument("--persons", type=int, default=200_000)
    args = ap.parse_args()
    items = corpus(args.seeds, args.persons)
    got, seconds = parse_all(items)
    print(
        f"{len(items):,} addresses parsed in {seconds:.2f} s "
        f"({seconds / len(items) * 1e6:.1f} µs each: parse_address and place_of)"
    )
    if args.save:
        args.save.parent.mkdir(parents=True, exist_ok=True)
        args.save.write_bytes(pickle.dumps(got, protocol=pickle.HIGHEST_PROTOCOL))
        print(f"baseline saved to {args.save}")
        return
    base = pickle.loads(args.check.read_bytes())  # our own file (see --save)
    diff = [k for k in items if k in base and base[k] != got[k]]
    missing = sum(1 for k in items if k not in base)
    for k in diff[:10]:
        print(f"DIFF {k!r}:\n  was {base[k]}\n  now {got[k]}")
    print(f"{len(diff):,} differences, {missing:,} addresses not in the baseline")
    sys.exit(1 if diff else 0)


if __name__ == "__main__":
    main()
