"""Synthetic broker listings with ground truth, made from a watchlist.

Owns the composition of a call's output: how many listings, which rows are true matches (a
watchlist person, re-keyed with variations) and which are hard negatives, the order of rows,
and the ground-truth table (with each listing's hidden as-of date).
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence

from synth.negatives import BUILDERS, NEGATIVE_KINDS, NEGATIVE_SHARES
from synth.subject import Subject, WatchlistIndex
from synth.variations import (
    LISTING_COLUMNS,
    ListingStyle,
    apply_move,
    apply_typo,
    apply_variant_kanji,
    random_style,
    render_row,
)
from synth.watchlist import generate_seeds, generate_watchlist

TRUTH_COLUMNS = ["row_id", "record_id", "kind", "detail", "listing_id", "as_of"]
POSITIVE = "positive"

__all__ = [
    "LISTING_COLUMNS",
    "POSITIVE",
    "TRUTH_COLUMNS",
    "generate_demo",
    "generate_listing",
]


def _kind_plan(rng: random.Random, rows: int, positive_share: float) -> list[str]:
    """Exactly round(rows * share) positives; negatives split by share, every kind present."""
    n_pos = round(rows * positive_share)
    n_neg = rows - n_pos
    plan = [POSITIVE] * n_pos
    counts = {k: int(n_neg * NEGATIVE_SHARES[k]) for k in NEGATIVE_KINDS}
    # Hand out what rounding left over, one per kind, rarest-served first.
    left = n_neg - sum(counts.values())
    for k in sorted(NEGATIVE_KINDS, key=lambda k: (counts[k], NEGATIVE_KINDS.index(k))):
        if left == 0:
            break
        counts[k] += 1
        left -= 1
    for k in NEGATIVE_KINDS:
        plan += [k] * counts[k]
    rng.shuffle(plan)
    return plan


def _listing_sizes(rng: random.Random, rows: int, listings: int) -> list[int]:
    # Uneven sizes, as real lists are, but every listing gets at least one row.
    weights = [rng.uniform(0.3, 1.7) for _ in range(listings)]
    total = sum(weights)
    sizes = [max(1, int(rows * w / total)) for w in weights]
    while sum(sizes) > rows:
        sizes[sizes.index(max(sizes))] -= 1
    sizes[-1] += rows - sum(sizes)
    return sizes


def _positive(
    rng: random.Random, idx: WatchlistIndex, style: ListingStyle
) -> tuple[Subject, str, list[str]]:
    for _ in range(1000):
        row = idx.rows[rng.randrange(len(idx.rows))]
        if row["name"]:
            break
    else:  # pragma: no cover - a watchlist of only unborn children
        raise ValueError("the watchlist has no named person")
    s = idx.subject(row)
    tags: list[str] = []
    if style.name.startswith("kanji") and rng.random() < 0.1:
        s, tag = apply_variant_kanji(s, rng)
        tags += [tag] if tag else []
    if rng.random() < 0.06:
        s, tag = apply_typo(rng, s, style)
        tags += [tag] if tag else []
    if rng.random() < 0.1:
        s, t = apply_move(rng, s)
        tags += t
    return s, row["record_id"], tags


def generate_listing(
    watchlist: Sequence[Mapping[str, str]],
    rows: int,
    seed: int,
    positive_share: float = 0.5,
    *,
    listings: int | None = None,
) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """Listing rows and their ground truth, made from ``watchlist`` (deterministic by seed).

    About ``positive_share`` of the rows are watchlist persons as a broker would publish them
    (re-keyed names, other date, address and phone forms, a move since the leak, typos); the
    rest are hard negatives of the kinds in :data:`synth.negatives.NEGATIVE_KINDS`. Rows are
    spread over ``listings`` lists (by default one per ~300 rows, 3 to 20), each formatted
    consistently and dated by a hidden as-of day given in the truth.

    Truth columns: row_id, record_id (empty for negatives), kind ("positive" or a negative
    kind), detail (";"-separated: ``of=<record_id>`` for negatives made from a registered
    person, then the variation tags applied), listing_id, as_of.
    """
    out, truth, _ = _generate(watchlist, rows, seed, positive_share, listings)
    return out, truth


def _generate(
    watchlist: Sequence[Mapping[str, str]],
    rows: int,
    seed: int,
    positive_share: float,
    listings: int | None,
) -> tuple[list[dict[str, str]], list[dict[str, str]], list[ListingStyle]]:
    if rows < 0 or not 0.0 <= positive_share <= 1.0:
        raise ValueError("rows must be >= 0 and positive_share within 0..1")
    if not watchlist and rows:
        raise ValueError("the watchlist is empty")
    rng = random.Random(seed)
    idx = WatchlistIndex(watchlist)
    n_listings = listings if listings is not None else min(20, max(3, rows // 300))
    n_listings = max(1, min(n_listings, rows or 1))
    styles = [random_style(rng, f"L{seed % 1000:03d}-{i + 1:02d}") for i in range(n_listings)]
    plan = _kind_plan(rng, rows, positive_share)
    out: list[dict[str, str]] = []
    truth: list[dict[str, str]] = []
    pos = 0
    for style, size in zip(styles, _listing_sizes(rng, rows, n_listings), strict=True):
        for kind in plan[pos : pos + size]:
            row_id = f"R{len(out) + 1:07d}"
            record_id, detail = _make_row(rng, idx, style, kind, row_id, out)
            truth.append(
                {
                    "row_id": row_id,
                    "record_id": record_id,
                    "kind": kind,
                    "detail": detail,
                    "listing_id": style.listing_id,
                    "as_of": style.as_of.isoformat(),
                }
            )
        pos += size
    return out, truth, styles


def _make_row(
    rng: random.Random,
    idx: WatchlistIndex,
    style: ListingStyle,
    kind: str,
    row_id: str,
    out: list[dict[str, str]],
) -> tuple[str, str]:
    if kind == POSITIVE:
        subject, record_id, tags = _positive(rng, idx, style)
        row, fmt = render_row(subject, style, row_id)
        out.append(row)
        return record_id, ";".join(tags + fmt)
    builder = BUILDERS[kind]
    for _ in range(100):
        built = builder(rng, idx, style.as_of)
        if built is not None:
            break
    else:
        # Tiny watchlists may have no child or guardian to build from: fall back to a stranger.
        built = BUILDERS["random"](rng, idx, style.as_of)
        if built is None:  # pragma: no cover
            raise RuntimeError(f"could not build a {kind} negative")
    subject, of = built
    row, fmt = render_row(subject, style, row_id)
    out.append(row)
    return "", ";".join(([f"of={of}"] if of else []) + fmt)


def generate_demo(
    persons: int = 2000, rows: int = 400, seed: int = 2014, seeds: int = 6
) -> tuple[list[dict[str, str]], list[dict[str, str]], list[dict[str, str]], list[str]]:
    """A small, complete demo set: (watchlist, listing rows, truth, seed record ids).

    The watchlist has ``seeds`` seed records planted among ``persons`` ordinary ones, and the
    first listing republishes two of them, as a list copied from the leak would.
    """
    watchlist = list(generate_watchlist(persons, seed, seeds=seeds))
    seed_ids = [r["record_id"] for r in generate_seeds(seeds, seed)]
    listing, truth, styles = _generate(watchlist, rows, seed, 0.5, None)
    by_id = {r["record_id"]: r for r in watchlist}
    planted = [by_id[i] for i in seed_ids if by_id[i]["name"]][:2]
    if planted and listing:
        idx = WatchlistIndex(watchlist)
        style = styles[0]  # the first list's own habits and date, so the seeds blend in
        for rec in planted:
            row_id = f"R{len(listing) + 1:07d}"
            row, fmt = render_row(idx.subject(rec), style, row_id)
            listing.append(row)
            truth.append(
                {
                    "row_id": row_id,
                    "record_id": rec["record_id"],
                    "kind": POSITIVE,
                    "detail": ";".join(["seed", *fmt]),
                    "listing_id": style.listing_id,
                    "as_of": style.as_of.isoformat(),
                }
            )
    return watchlist, listing, truth, seed_ids
