"""Japanese name tables and weighted name sampling for synthetic people.

Owns the curated surname and given-name tables under ``synth/data``, the long tail of composed
surnames, and the variant-kanji forms (髙橋 for 高橋) that some people register.
"""

from __future__ import annotations

import csv
import random
import zlib
from bisect import bisect
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from itertools import accumulate
from typing import Literal

from synth.kana import to_romaji

Sex = Literal["M", "F"]
Generation = Literal["guardian", "child"]

# Japan's population is ~125 million; the curated list holds ~67 million bearers and the
# composed tail gets the rest, so the top ten surnames cover the real ~10 %.
_POPULATION_THOUSANDS = 125_000


@dataclass(frozen=True, slots=True)
class Name:
    """One surname or given name with its katakana reading and plain Hepburn romaji."""

    kanji: str
    kana: str
    romaji: str
    weight: float


def _rows(filename: str) -> Iterator[dict[str, str]]:
    text = resources.files("synth").joinpath("data", filename).read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    yield from csv.DictReader(lines, delimiter="\t")


@cache
def curated_surnames() -> tuple[Name, ...]:
    """The curated common surnames, most common first."""
    return tuple(
        Name(r["surname"], r["kana"], r["romaji"], float(r["thousands"]))
        for r in _rows("surnames.tsv")
    )


@cache
def tail_surnames() -> tuple[Name, ...]:
    """Composed surnames (head + tail part) standing in for the real long tail."""
    heads = [r for r in _rows("surname_parts.tsv") if r["position"] == "head"]
    tails = [r for r in _rows("surname_parts.tsv") if r["position"] == "tail"]
    known = {n.kanji for n in curated_surnames()}
    composed: list[tuple[str, str]] = []
    for h in heads:
        for t in tails:
            kanji = h["part"] + t["part"]
            if kanji in known or h["part"] == t["part"]:
                continue
            # Rendaku is lexical; a stable hash picks it so a name always reads the same way.
            voiced = t["voiced"] and zlib.crc32(kanji.encode()) % 3 != 0
            composed.append((kanji, h["kana"] + (t["voiced"] if voiced else t["kana"])))
    remaining = _POPULATION_THOUSANDS - sum(n.weight for n in curated_surnames())
    n = len(composed)
    # A gently falling weight (the tail is not flat), normalised to the remaining population.
    raw = [1.0 - 0.7 * (zlib.crc32(k.encode()) % 1000) / 1000 for k, _ in composed]
    scale = remaining / sum(raw) if n else 0.0
    return tuple(
        Name(k, kana, to_romaji(kana).capitalize(), w * scale)
        for (k, kana), w in zip(composed, raw, strict=True)
    )


@cache
def given_names(generation: Generation, sex: Sex) -> tuple[Name, ...]:
    """Given names for people of one birth generation and sex."""
    return tuple(
        Name(r["name"], r["kana"], r["romaji"], float(r["weight"]))
        for r in _rows("given_names.tsv")
        if r["generation"] == generation and r["sex"] == sex
    )


@cache
def variant_kanji() -> dict[str, tuple[str, ...]]:
    """Standard kanji -> the variant forms people register instead (高 -> 髙)."""
    return {r["standard"]: tuple(r["variants"].split()) for r in _rows("variant_kanji.tsv")}


@cache
def _standard_of() -> dict[str, str]:
    return {v: std for std, vs in variant_kanji().items() for v in vs}


def variant_forms(name: str) -> list[str]:
    """Every spelling of ``name`` with one character replaced by a registered variant."""
    table = variant_kanji()
    return [name[:i] + v + name[i + 1 :] for i, c in enumerate(name) for v in table.get(c, ())]


def standard_form(name: str) -> str:
    """``name`` with every variant kanji replaced by its standard form (髙橋 -> 高橋)."""
    std = _standard_of()
    return "".join(std.get(c, c) for c in name)


class WeightedPicker:
    """Weighted choice over a fixed sequence via one bisect on cumulative weights."""

    __slots__ = ("_cum", "_items", "_total")

    def __init__(self, items: Sequence[Name]) -> None:
        self._items = tuple(items)
        self._cum = list(accumulate(i.weight for i in items))
        self._total = self._cum[-1]

    def pick(self, rng: random.Random) -> Name:
        return self._items[bisect(self._cum, rng.random() * self._total)]

    @property
    def items(self) -> tuple[Name, ...]:
        return self._items


@cache
def surname_picker() -> WeightedPicker:
    """All surnames, weighted by how many people bear them."""
    return WeightedPicker(curated_surnames() + tail_surnames())


@cache
def rare_surname_picker() -> WeightedPicker:
    """Uncommon surnames only (the tail), for decoy identities that should be unambiguous."""
    return WeightedPicker(tail_surnames())


@cache
def given_picker(generation: Generation, sex: Sex) -> WeightedPicker:
    """Given names of one generation and sex, weighted by popularity."""
    return WeightedPicker(given_names(generation, sex))


@cache
def rare_given_picker(generation: Generation, sex: Sex) -> WeightedPicker:
    """The less popular half of a generation's names, equally weighted."""
    names = sorted(given_names(generation, sex), key=lambda n: n.weight)
    rare = names[: max(1, len(names) // 2)]
    return WeightedPicker([Name(n.kanji, n.kana, n.romaji, 1.0) for n in rare])
