"""Matching listing rows against the watchlist index: the public entry point.

``Matcher(index).match(rows)`` normalises the rows, finds candidates through the blocking
keys, infers each listing's as-of date (so ages and grades become birth intervals), compares,
re-estimates the model by EM on the batch, keeps the best record per household, puts each
candidate in its row's context (``context``: locating evidence, rival households) for a
calibrated score — the probability that the row is that person — and decides:

* ``match`` — score ≥ ``thresholds.match``, with locating evidence (the same lot or flat,
  a compatible phone, the same e-mail, the guardian's name with the child's), first in its
  row and no other located household clearing the bar on its own;
* ``review`` — score ≥ ``thresholds.review``, or a candidate the model alone would match but
  a rule above caps (no locating evidence: a namesake with the same birth date at another
  address is ``review``, never ``match``; another household about as likely);
* ``nonmatch`` — otherwise (reported only above ``thresholds.report``).

People who moved are matched through what they kept (a mobile phone, an e-mail). At most one
record per household and per (row, record) is reported: a child's row never matches the
parent or a sibling. Seed records are ordinary records here. ``Matcher.learn`` refines the
model and its calibration from reviewers' labels.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np

from matcher.asof import feasible, infer_as_of
from matcher.batch import (
    ListingBatch,
    candidates,
    make_batch,
    plausible,
    row_keys,
    sorted_unique,
)
from matcher.compare import FIELDS, LEVELS, Comparison, compare
from matcher.context import RowGroups, final_bits, household_best, locating
from matcher.explain import Explanation, FieldEvidence
from matcher.features import Features, birth_from_age_or_grade, listing_features
from matcher.gcpause import gc_paused
from matcher.index import WatchlistIndex
from matcher.model import Model, probability

Progress = Callable[[str, int, int], None]
BIRTH_EXACT = LEVELS["birth"].index("exact")
NEAR_BITS = 4.0  # a household within 16x the odds of the row's best is a real alternative
RIVAL_SHOWN = 0.01  # bits: weaker rivals are shown as "none"


@dataclass(frozen=True, slots=True)
class Thresholds:
    match: float = 0.95
    # The score is a calibrated probability: a one-in-five chance that a leaked record is in
    # circulation is worth a reviewer's look (seed 5: 746 pairs to review, 40 % of them true;
    # 0.5 would show 497 and miss a third of those true ones, 0.1 would show 1,306).
    review: float = 0.2
    report: float = 0.05  # weaker candidates are not reported at all
    max_per_row: int = 3

    def __post_init__(self) -> None:
        if not 0.0 <= self.report <= self.review <= self.match <= 1.0:
            raise ValueError("thresholds must satisfy 0 <= report <= review <= match <= 1")


@dataclass(slots=True)  # not frozen: built by the thousand, frozen init is slow
class Candidate:
    row: int  # position of the row in the input
    row_id: str
    record_id: str
    position: int  # in the index
    score: float
    decision: str  # match | review | nonmatch
    explanation: Explanation


@dataclass
class MatchResult:
    candidates: list[Candidate]
    as_of: dict[str, tuple[date, date] | None] = field(default_factory=dict)
    model: Model = field(default_factory=Model)
    pairs: int = 0
    rows: int = 0
    seconds: dict[str, float] = field(default_factory=dict)  # per stage
    # Every compared pair (rows as positions in the input): what Matcher.learn refits on.
    comparison: Comparison | None = field(default=None, repr=False)

    def counts(self) -> dict[str, int]:
        out = {"match": 0, "review": 0, "nonmatch": 0}
        for c in self.candidates:
            out[c.decision] += 1
        return out


class Matcher:
    def __init__(
        self,
        index: WatchlistIndex,
        thresholds: Thresholds | None = None,
        model: Model | None = None,
        *,
        em: bool = True,
        workers: int = 0,
    ) -> None:
        """``workers`` > 1: normalise the listing rows in that many forked processes (the
        rest of matching stays in this one)."""
        self.index = index
        self.workers = workers
        self.thresholds = thresholds or Thresholds()
        self.model = model or Model()
        self.em = em

    def match(
        self,
        rows: Sequence[Mapping[str, str]],
        as_of: Mapping[str, date] | None = None,
        progress: Progress | None = None,
        features: Sequence[Features] | None = None,
    ) -> MatchResult:
        """Score ``rows`` (data-contract listing columns). ``as_of`` may give known list
        dates by listing_id; the others are inferred. ``features``: the rows already
        normalised by :func:`matcher.listing_features` (say, while the index was built); they
        are the run's own, as they would be otherwise (an age's birth range is filled in)."""
        if features is not None and len(features) != len(rows):
            raise ValueError(f"{len(features)} features for {len(rows)} rows")
        # Tens of thousands of small acyclic objects (features, candidates, explanations):
        # with a big heap around (a watchlist in memory) the cyclic GC would rescan it over
        # and over — a third of the matching time at 1M persons.
        with gc_paused():
            return self._match(rows, as_of, progress, features)

    def _match(
        self,
        rows: Sequence[Mapping[str, str]],
        as_of: Mapping[str, date] | None,
        progress: Progress | None,
        features: Sequence[Features] | None,
    ) -> MatchResult:
        index = self.index
        total = len(rows)
        clock = _Clock()
        feats = list(features) if features is not None else _normalise(
            rows, self.workers, progress
        )
        if progress is not None:
            progress("normalise", total, total)
        if not feats or not len(index):
            return MatchResult([], rows=total)
        listing_of = [(r.get("listing_id") or "") for r in rows]
        clock.lap("normalise")
        batch = make_batch(index, feats)
        r1, p1 = candidates(index, row_keys(index, batch))
        clock.lap("block")
        # Pass 1 (light, only rows with an age or grade): anchors for the as-of dates.
        undated = np.array([not f.birth_lo and (f.age >= 0 or bool(f.grade)) for f in feats])
        sel = undated[r1]
        light = compare(index, batch, r1[sel], p1[sel], light=True)
        dates = self._as_of(batch, light, listing_of, as_of or {})
        waiting = self._apply_as_of(batch, listing_of, dates)
        if waiting:
            r2, p2 = candidates(index, row_keys(index, batch, waiting))
            pairs = sorted_unique(np.concatenate([(r1 << 32) | p1, (r2 << 32) | p2]))
            r1, p1 = pairs >> 32, pairs & 0xFFFFFFFF
        keep = plausible(index, batch, r1, p1)
        r1, p1 = r1[keep], p1[keep]
        clock.lap("as-of")
        cmp = compare(index, batch, r1, p1)
        clock.lap("compare")
        if progress is not None:
            progress("compare", total, total)
        model = self.model.em(cmp) if self.em else self.model
        clock.lap("em")
        found = self._decide(cmp, model, rows)
        clock.lap("decide")
        if progress is not None:
            progress("decide", total, total)
        return MatchResult(found, dates, model, len(cmp), total, clock.laps, cmp)

    def learn(
        self,
        result: MatchResult,
        rows: Sequence[Mapping[str, str]],
        labels: Mapping[tuple[str, str], bool],
        *,
        reviewed_rows: Collection[str] = (),
        refit_m: bool = True,
    ) -> Model:
        """A model refined from reviewers' labels on the pairs of ``result`` (a match of
        ``rows``). ``labels``: (row_id, record_id) → confirmed (True) or rejected (False).
        A confirmed pair also rejects the other records of its row (a row is one person);
        unlabelled pairs still count as rivals — or as rejected in ``reviewed_rows`` (rows
        a reviewer went through completely, or synthetic ground truth). Starts from the model
        ``result`` was scored with."""
        cmp = result.comparison
        if cmp is None or not len(cmp):
            return result.model
        row_ids = [(r.get("row_id") or str(i)) for i, r in enumerate(rows)]
        pair_rows = [row_ids[i] for i in cmp.rows.tolist()]
        pair_records = [self.index.record_id(p) for p in cmp.pos.tolist()]
        confirmed_rows = {r for (r, _), ok in labels.items() if ok}
        reviewed = set(reviewed_rows)
        y = np.full(len(cmp), np.nan)
        for k, (r, rec) in enumerate(zip(pair_rows, pair_records, strict=True)):
            label = labels.get((r, rec))
            if label is not None:
                y[k] = 1.0 if label else 0.0
            elif r in confirmed_rows or r in reviewed:
                y[k] = 0.0
        households = self.index.cols["hh"][cmp.pos].astype(np.int64)
        return result.model.learn_from_labels(cmp, y, households, refit_m=refit_m)

    # --- as-of dates --------------------------------------------------------------------------

    def _as_of(
        self,
        batch: ListingBatch,
        cmp: Comparison,
        listing_of: list[str],
        known: Mapping[str, date],
    ) -> dict[str, tuple[date, date] | None]:
        anchors: dict[str, list[tuple[date, date]]] = defaultdict(list)
        for r, f in enumerate(batch.feats):
            if f.birth_precision == "day" and (f.age >= 0 or f.grade):
                iv = feasible(date.fromordinal(f.birth_lo), f.age, f.grade)
                if iv:
                    anchors[listing_of[r]].append(iv)
        lv = cmp.levels
        strong = (
            (lv["family_name"] >= 4) & (lv["given_name"] >= 4)
            & ((lv["phone"] >= 2) | (lv["place"] >= 5) | (lv["email"] == 2))
        )  # fmt: skip
        births = self.index.cols["birth"]
        for r, pos in zip(cmp.rows[strong].tolist(), cmp.pos[strong].tolist(), strict=True):
            f = batch.feats[r]
            b = int(births[pos])
            if f.birth_lo or not b or (f.age < 0 and not f.grade):
                continue
            iv = feasible(date.fromordinal(b), f.age, f.grade)
            if iv:
                anchors[listing_of[r]].append(iv)
        out: dict[str, tuple[date, date] | None] = {}
        for lid in set(listing_of):
            if lid in known:
                out[lid] = (known[lid], known[lid])
            else:
                out[lid] = infer_as_of(anchors.get(lid, []))
        return out

    @staticmethod
    def _apply_as_of(
        batch: ListingBatch, listing_of: list[str], dates: Mapping[str, tuple[date, date] | None]
    ) -> list[int]:
        waiting: list[int] = []
        for r, f in enumerate(batch.feats):
            if f.birth_lo or (f.age < 0 and not f.grade):
                continue
            iv = dates.get(listing_of[r])
            if iv is None:
                continue
            lo, hi = birth_from_age_or_grade(f, iv[0], iv[1])
            if lo:
                f.birth_lo, f.birth_hi, f.birth_precision = lo, hi, "range"
                batch.cols["birth_lo"][r], batch.cols["birth_hi"][r] = lo, hi
                waiting.append(r)
        return waiting

    # --- decisions ----------------------------------------------------------------------------

    def _decide(
        self, cmp: Comparison, model: Model, rows: Sequence[Mapping[str, str]]
    ) -> list[Candidate]:
        if not len(cmp):
            return []
        t = self.thresholds
        located = locating(cmp)
        # raw: the model alone, uncalibrated (also what the review floor asks)
        weights, loc_bits, raw, face = model.calibrated(cmp, located)
        prior = model.prior_bits()
        adjusted = prior + np.sum(list(weights.values()), axis=0) + loc_bits
        best = household_best(cmp.rows, self.index.cols["hh"][cmp.pos], adjusted)
        best = best[np.argsort(cmp.rows[best], kind="stable")]
        groups = RowGroups(cmp.rows[best])  # sorted by row: its groups are runs in this order
        share = groups.share_bits(face[best])
        final_b = final_bits(adjusted[best], share)
        # Within each row: located candidates first (a namesake elsewhere never outranks
        # the person found at the row's address or phone), most likely first.
        order = np.lexsort((-final_b, ~located[best], cmp.rows[best]))
        best, share, final_b = best[order], share[order], final_b[order]
        rows_b = cmp.rows[best]
        rival = final_b - adjusted[best]
        sc_b, loc_b = probability(final_b), located[best]
        alone = probability(raw[best]) >= t.match  # what the model alone would call a match
        # Rank within the row; how far each candidate trails the row's most likely one.
        n = len(best)
        starts, lengths = groups.starts, groups.lengths
        rank = np.arange(n) - np.repeat(starts, lengths)
        trail = np.repeat(np.maximum.reduceat(final_b, starts), lengths) - final_b
        code = np.zeros(n, dtype=np.int8)  # 0 nonmatch, 1 review, 2 match
        code[sc_b >= t.review] = 1
        # The same full name and birth date stays in front of a reviewer, however low the
        # calibrated score, unless another household of the row is far more likely: a
        # namesake with the same birth date elsewhere is `review`, never `match` nor dropped.
        lv = cmp.levels
        same_person = (
            (lv["family_name"][best] >= 4) & (lv["given_name"][best] >= 4)
            & (lv["birth"][best] == BIRTH_EXACT)
        )  # fmt: skip
        code[alone & same_person & (trail < NEAR_BITS)] = 1
        # Two located households that each clear the bar on their own, neither far more
        # plausibly the row's household: the model's odds are least trustworthy exactly there
        # (its fields are not independent), so a reviewer decides, whatever the rivals term
        # leaves of the weaker one.
        clear = (probability(adjusted[best]) >= t.match) & loc_b & (share > -NEAR_BITS)
        contested = np.repeat(np.add.reduceat(clear, starts), lengths) > 1
        # A match names a person: something about the person must agree, not only the
        # household (a nameless record — an unborn child — at the row's address is not the
        # row's adult).
        personal = (
            (lv["given_name"][best] >= 2) | (lv["birth"][best] >= 3) | (lv["email"][best] == 2)
        )  # fmt: skip
        code[(sc_b >= t.match) & loc_b & (rank == 0) & ~contested & personal] = 2
        why = np.zeros(n, dtype=np.int8)  # why a candidate the model alone matches is not one
        capped = alone & (code < 2)
        why[capped & ~personal] = 4
        why[capped & (contested | (rival < -1.0))] = 3
        why[capped & ~loc_b] = 2
        why[capped & (rank > 0) & (trail >= NEAR_BITS)] = 1
        keep = (rank < t.max_per_row) & ((sc_b >= t.report) | (code > 0))
        sel = np.flatnonzero(keep)
        chosen = list(zip(
            rows_b[sel].tolist(), best[sel].tolist(),
            [_DECISIONS[c] for c in code[sel].tolist()],
            [_NOTES[w] for w in why[sel].tolist()], strict=True,
        ))  # fmt: skip
        if not chosen:
            return []
        idx = np.array([c[1] for c in chosen], dtype=np.int64)
        # Gather once, then build plain tuples: cheap even for many candidates.
        names = [*FIELDS, "household", "location", "rivals"]
        lv_names = [*(LEVELS[f] for f in FIELDS), ("not_established", "counted_once"),
                    ("located", "not_located"), ("none", "other_households")]
        lv_cols = [lv[f][idx].tolist() for f in FIELDS]
        lv_cols.append((weights["household"][idx] != 0).astype(np.int64).tolist())
        lv_cols.append((~located[idx]).astype(np.int64).tolist())
        lv_cols.append((rival[sel] < -RIVAL_SHOWN).astype(np.int64).tolist())
        w_cols = [weights[f][idx].tolist() for f in (*FIELDS, "household")]
        w_cols += [loc_bits[idx].tolist(), rival[sel].tolist()]
        logits = final_b[sel].tolist()
        scores = sc_b[sel].tolist()
        positions = cmp.pos[idx].tolist()
        packed = self.index.record_ids
        offs = packed.offsets
        data = packed.data
        record_ids = [
            data[a:b].decode("utf-8")
            for a, b in zip(offs[cmp.pos[idx]].tolist(), offs[cmp.pos[idx] + 1].tolist(),
                            strict=True)
        ]  # fmt: skip
        row_ids = [(r.get("row_id") or "") for r in rows]
        # Field by field, then transposed: one C-level zip instead of a generator per row.
        new = tuple.__new__
        by_field = [
            [new(FieldEvidence, (n, ln[c], w)) for c, w in zip(lc, wc, strict=True)]
            for n, ln, lc, wc in zip(names, lv_names, lv_cols, w_cols, strict=True)
        ]
        out: list[Candidate] = []
        for j, ((r, _i, decision, notes), fields) in enumerate(
            zip(chosen, zip(*by_field, strict=True), strict=True)
        ):
            expl = Explanation(prior, fields, logits[j], scores[j], notes)
            pos = positions[j]
            out.append(
                Candidate(
                    r, row_ids[r] or str(r), record_ids[j], pos, scores[j], decision, expl
                )
            )
        return out


# Rows handed to forked workers by inheritance: only (start, stop) ranges travel.
_ROWS: Sequence[Mapping[str, str]] = ()
_PARALLEL_MIN = 5000  # fewer rows are normalised here: a pool costs more than it saves
_CHUNK = 2000


def _features_of_range(span: tuple[int, int]) -> list[Features]:
    return [listing_features(r) for r in _ROWS[span[0]:span[1]]]


def _normalise(
    rows: Sequence[Mapping[str, str]], workers: int, progress: Progress | None
) -> list[Features]:
    global _ROWS
    import multiprocessing as mp

    total = len(rows)
    feats: list[Features] = []
    if workers > 1 and total >= _PARALLEL_MIN and "fork" in mp.get_all_start_methods():
        from matcher.address import load_tables

        load_tables()
        _ROWS = rows
        try:
            with mp.get_context("fork").Pool(workers) as pool:
                spans = ((i, min(i + _CHUNK, total)) for i in range(0, total, _CHUNK))
                for part in pool.imap(_features_of_range, spans):
                    feats.extend(part)
                    if progress is not None:
                        progress("normalise", len(feats), total)
        finally:
            _ROWS = ()
        return feats
    for i, row in enumerate(rows):
        feats.append(listing_features(row))
        if progress is not None and (i + 1) % 2000 == 0:
            progress("normalise", i + 1, total)
    return feats


_DECISIONS = ("nonmatch", "review", "match")
_NOTES: tuple[tuple[str, ...], ...] = (
    (),
    ("another record in another household scores higher",),
    ("no locating evidence (address, phone or e-mail): could be a namesake",),
    ("another household is about as likely",),
    ("only the household agrees: nothing about the person (name, birth date, e-mail)",),
)  # for candidates the model alone would call a match


class _Clock:
    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self._t = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = now - self._t
        self._t = now


def score_listing(
    index: WatchlistIndex,
    rows: Sequence[Mapping[str, str]],
    thresholds: Thresholds | None = None,
    *,
    as_of: Mapping[str, date] | None = None,
    model: Model | None = None,
    em: bool = True,
) -> list[Candidate]:
    """Convenience: the candidates of :meth:`Matcher.match`."""
    return Matcher(index, thresholds, model, em=em).match(rows, as_of).candidates


__all__ = ["Candidate", "MatchResult", "Matcher", "Thresholds", "score_listing"]


