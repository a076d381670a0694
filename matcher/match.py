"""Matching listing rows against the watchlist index: the public entry point.

``Matcher(index).match(rows)`` normalises the rows (``features``; over several processes for
a big listing: ``workers``), finds candidates through the blocking keys (``batch``), infers
each listing's as-of date (``asof``: so ages and grades become birth intervals), compares
(``compare``), re-estimates the model by EM on the batch (``model``), and decides
(``decide``: the best record per household, in its row's context, scored — the probability
that the row is that person — and ``match``, ``review`` or ``nonmatch``, explained).

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
from matcher.compare import Comparison, compare
from matcher.decide import Candidate, Thresholds, decide
from matcher.features import Features, birth_from_age_or_grade, listing_features
from matcher.levels import Email, FamilyName, GivenName, Phone, Place
from matcher.model import Model
from matcher.reader import IndexReader
from matcher.workers import in_order, spans

Progress = Callable[[str, int, int], None]


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
        index: IndexReader,
        thresholds: Thresholds | None = None,
        model: Model | None = None,
        *,
        em: bool = True,
        workers: int = 0,
    ) -> None:
        """``workers`` > 1: normalise a big listing's rows in that many processes (this
        one and forked helpers; the rest of matching stays in this one)."""
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
        index = self.index
        total = len(rows)
        clock = _Clock()
        feats = list(features) if features is not None else _normalise(rows, self.workers, progress)
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
        found = decide(cmp, model, index, self.thresholds, rows)
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
        pair_records = self.index.record_ids_at(cmp.pos)
        confirmed_rows = {r for (r, _), ok in labels.items() if ok}
        reviewed = set(reviewed_rows)
        y = np.full(len(cmp), np.nan)
        for k, (r, rec) in enumerate(zip(pair_rows, pair_records, strict=True)):
            label = labels.get((r, rec))
            if label is not None:
                y[k] = 1.0 if label else 0.0
            elif r in confirmed_rows or r in reviewed:
                y[k] = 0.0
        households = self.index.column("hh", cmp.pos).astype(np.int64)
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
            (lv["family_name"] >= FamilyName.READING) & (lv["given_name"] >= GivenName.READING)
            & ((lv["phone"] >= Phone.MASKED_COMPATIBLE) | (lv["place"] >= Place.BLOCK)
               | (lv["email"] == Email.AGREE))
        )  # fmt: skip
        births = self.index.column("birth", cmp.pos[strong]).tolist()
        for r, b in zip(cmp.rows[strong].tolist(), births, strict=True):
            f = batch.feats[r]
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


_PARALLEL_MIN = 5000  # fewer rows are normalised here: forking costs more than it saves
_CHUNK = 2000


def _normalise(
    rows: Sequence[Mapping[str, str]], workers: int, progress: Progress | None
) -> list[Features]:
    """The rows' features, in order; over ``workers`` processes for a big listing."""
    total = len(rows)
    feats: list[Features] = []
    if workers > 1 and total >= _PARALLEL_MIN:
        from matcher.address import load_tables

        load_tables()  # before the fork: the helpers share one copy
        chunks = spans(total, _CHUNK)

        def normalised(i: int) -> list[Features]:
            start, stop = chunks[i]
            return [listing_features(r) for r in rows[start:stop]]

        for part in in_order(normalised, len(chunks), workers, name="chunk of listing rows"):
            feats.extend(part)
            if progress is not None:
                progress("normalise", len(feats), total)
        return feats
    for i, row in enumerate(rows):
        feats.append(listing_features(row))
        if progress is not None and (i + 1) % 2000 == 0:
            progress("normalise", i + 1, total)
    return feats


class _Clock:
    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self._t = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = now - self._t
        self._t = now


def score_listing(
    index: IndexReader,
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
