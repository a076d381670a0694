"""Benchmark the matcher's normalisers on one core and print the peer-corpus accuracy.

    .venv/bin/python bench/normalize.py [--nja-sample 200]

Prints parse_address addresses/s (uncached, after warm-up) side by side with
normalize-japanese-address 0.0.13 on the same inputs (install the ``bench`` extra), then
normalize_name names/s, then pref+city+town and city accuracy on ../shared/peer/nja_cases.jsonl.
"""

from __future__ import annotations

import argparse
import json
import re
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from matcher import normalize_name, parse_address

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "peer" / "nja_cases.jsonl"
_AZA = re.compile(r"^(?:大字|字)")


def fold(v: str | None) -> str:
    return _AZA.sub("", v or "").replace("ヶ", "ケ")


def rate(fn: Callable[[str], Any], items: Sequence[str], min_seconds: float = 2.0) -> float:
    """Calls per second over whole passes of ``items``, after one warm-up pass."""
    for x in items:
        fn(x)
    n, start = 0, time.perf_counter()
    while True:
        for x in items:
            fn(x)
        n += len(items)
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds:
            return n / elapsed


def sample_names() -> list[str]:
    from importlib import resources

    text = resources.files("matcher.data").joinpath("surnames.tsv").read_text("utf-8")
    rows = [line.split("\t") for line in text.splitlines() if line and not line.startswith("#")]
    given = ["太郎", "花子", "一郎", "陽菜", "蓮", "さくら", "翔太", "美咲"]
    given_kana = ["タロウ", "ハナコ", "イチロウ", "ヒナ"]
    out: list[str] = []
    for i, (kanji, kana) in enumerate(rows):
        g = given[i % len(given)]
        gk = given_kana[i % len(given_kana)]
        out += [f"{kanji} {g}", f"{kanji}{g}", f"{kana} {gk}", f"{kana}{gk}"]
    out += ["髙橋 一郎", "渡邊健", "齋藤 花子様", "Yamada Taro", "TARO YAMADA", "ﾔﾏﾀﾞ ﾀﾛｳ"]
    return out


def accuracy(cases: list[dict[str, Any]]) -> tuple[int, int, int, int]:
    town_ok = town_n = city_ok = city_n = 0
    for c in cases:
        a = parse_address(c["input"])
        if isinstance(c.get("town"), str) and c["town"]:
            town_n += 1
            good = fold(a.town) == fold(c["town"])
            if "city" in c:
                good = good and fold(a.city) == fold(c["city"] or "")
            if "pref" in c:
                good = good and a.pref == (c["pref"] or "")
            town_ok += good
        if "city" in c and c["city"] is not None:
            city_n += 1
            city_ok += fold(a.city) == fold(c["city"])
    return town_ok, town_n, city_ok, city_n


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument(
        "--nja-sample",
        type=int,
        default=200,
        help="addresses to time normalize-japanese-address on (it is slow)",
    )
    ap.add_argument("--seconds", type=float, default=2.0)
    args = ap.parse_args(argv)

    if not CORPUS.exists():
        raise SystemExit(f"peer corpus not found at {CORPUS}")
    cases = [json.loads(line) for line in CORPUS.read_text("utf-8").splitlines() if line]
    inputs = list(dict.fromkeys(str(c["input"]) for c in cases))

    uncached_address = parse_address.__wrapped__  # time the parser, not the lru_cache
    ours = rate(uncached_address, inputs, args.seconds)
    print(f"parse_address                   {ours:>10,.0f} addresses/s  ({len(inputs)} inputs)")
    try:
        from normalize_japanese_address import normalize as nja  # type: ignore[import-untyped]
    except ImportError:
        print("normalize-japanese-address      not installed (pip install -e '.[bench]')")
    else:
        sample = inputs[: args.nja_sample]
        theirs = rate(nja, sample, args.seconds)
        print(
            f"normalize-japanese-address 0.0.13 {theirs:>8,.1f} addresses/s"
            f"  ({len(sample)} inputs)  -> x{ours / theirs:,.0f}"
        )

    names = sample_names()
    uncached_name = normalize_name.__wrapped__
    print(
        f"normalize_name                  {rate(uncached_name, names, args.seconds):>10,.0f}"
        f" names/s  ({len(names)} inputs)"
    )

    town_ok, town_n, city_ok, city_n = accuracy(cases)
    print(
        f"peer corpus pref+city+town      {town_ok}/{town_n} = {town_ok / town_n:.2%}"
        "  (target >= 99%)"
    )
    print(
        f"peer corpus city                {city_ok}/{city_n} = {city_ok / city_n:.2%}"
        "  (target >= 99.8%)"
    )


if __name__ == "__main__":
    main()
