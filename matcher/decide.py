"""Decisions on a compared batch: each row's candidates ranked, decided and explained.

The best pair per (row, household) is kept — a child's row never matches the parent or a
sibling — and scored in its row's context (``context``: locating evidence, rival
households). Then each candidate is

* ``match`` — score ≥ ``thresholds.match``, with locating evidence (the same lot or flat,
  a compatible phone, the same e-mail, the guardian's name with the child's), first in its
  row, no other located household clearing the bar on its own, and something about the
  person (given name, birth date, e-mail) agreeing;
* ``review`` — score ≥ ``thresholds.review``, or a candidate the model alone would match but
  a rule above caps (no locating evidence: a namesake with the same birth date at another
  address is ``review``, never ``match``; another household about as likely);
* ``nonmatch`` — otherwise (reported only above ``thresholds.report``).

A capped candidate's explanation says why (:class:`Cap`). Everything is computed column by
column; Python objects are made only for the candidates reported.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import IntEnum

import numpy as np
import numpy.typing as npt

from matcher.compare import Comparison
from matcher.context import RowGroups, final_bits, household_best, locating
from matcher.explain import Explanation, FieldEvidence
from matcher.levels import (
    CONTEXT_TERMS,
    FIELD_LEVELS,
    FIELDS,
    Birth,
    Email,
    FamilyName,
    GivenName,
    HouseholdTerm,
    LocationTerm,
    RivalsTerm,
    labels,
    term_labels,
)
from matcher.model import Model, probability
from matcher.reader import IndexReader

F64 = npt.NDArray[np.float64]
I8 = npt.NDArray[np.int8]
I64 = npt.NDArray[np.int64]
Bool = npt.NDArray[np.bool_]

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


class Verdict(IntEnum):
    """A candidate's decision; ``Candidate.decision`` is its name in lower case."""

    NONMATCH = 0
    REVIEW = 1
    MATCH = 2


class Cap(IntEnum):
    """Why a candidate the model alone would match is not one (the last that applies)."""

    NONE = 0
    OUTSCORED = 1
    NOT_LOCATED = 2
    CONTESTED = 3
    NOTHING_PERSONAL = 4


CAP_NOTES = {
    Cap.OUTSCORED: "another record in another household scores higher",
    Cap.NOT_LOCATED: "no locating evidence (address, phone or e-mail): could be a namesake",
    Cap.CONTESTED: "another household is about as likely",
    Cap.NOTHING_PERSONAL:
        "only the household agrees: nothing about the person (name, birth date, e-mail)",
}  # fmt: skip
_VERDICTS = tuple(v.name.lower() for v in Verdict)
_NOTES = tuple((CAP_NOTES[c],) if c in CAP_NOTES else () for c in Cap)


@dataclass
class _Scored:
    """Every pair's weights (scaled), location bits, uncalibrated logit (``raw``: the model
    alone), logit without the household correction (``face``) and calibrated logit before
    the rivals term (``adjusted``)."""

    located: Bool
    weights: dict[str, F64]
    location: F64
    raw: F64
    face: F64
    prior: float
    adjusted: F64


@dataclass
class _Ranked:
    """The best pair of each (row, household) (``best``: positions in the comparison),
    grouped by row, located candidates first and most likely first within a row; with the
    rivals term, the final logit and score, the rank in the row and how far each trails
    the row's most likely candidate."""

    best: I64
    groups: RowGroups
    share: F64
    final: F64
    rival: F64
    score: F64
    rank: I64
    trail: F64


def decide(cmp: Comparison, model: Model, index: IndexReader, thresholds: Thresholds,
           rows: Sequence[Mapping[str, str]]) -> list[Candidate]:  # fmt: skip
    """The reported candidates of the compared pairs ``cmp`` (of ``rows``), explained."""
    if not len(cmp):
        return []
    scored = _score(cmp, model)
    ranked = _rank(cmp, scored, index.column("hh", cmp.pos))
    verdict, cap = _verdicts(cmp, scored, ranked, thresholds)
    keep = (ranked.rank < thresholds.max_per_row) & (
        (ranked.score >= thresholds.report) | (verdict > Verdict.NONMATCH)
    )
    sel = np.flatnonzero(keep)
    if not len(sel):
        return []
    return _explained(cmp, scored, ranked, (sel, verdict[sel], cap[sel]), index, rows)


def _score(cmp: Comparison, model: Model) -> _Scored:
    located = locating(cmp)
    weights, location, raw, face = model.calibrated(cmp, located)
    prior = model.prior_bits()
    adjusted = prior + np.sum(list(weights.values()), axis=0) + location
    return _Scored(located, weights, location, raw, face, prior, adjusted)


def _rank(cmp: Comparison, scored: _Scored, households: I64) -> _Ranked:
    best = household_best(cmp.rows, households, scored.adjusted)
    best = best[np.argsort(cmp.rows[best], kind="stable")]
    groups = RowGroups(cmp.rows[best])  # sorted by row: its groups are runs in this order
    share = groups.share_bits(scored.face[best])
    final = final_bits(scored.adjusted[best], share)
    # Within each row: located candidates first (a namesake elsewhere never outranks the
    # person found at the row's address or phone), most likely first.
    order = np.lexsort((-final, ~scored.located[best], cmp.rows[best]))
    best, share, final = best[order], share[order], final[order]
    starts, lengths = groups.starts, groups.lengths
    rank = np.arange(len(best)) - np.repeat(starts, lengths)
    trail = np.repeat(np.maximum.reduceat(final, starts), lengths) - final
    return _Ranked(best, groups, share, final, final - scored.adjusted[best],
                   probability(final), rank, trail)  # fmt: skip


def _verdicts(cmp: Comparison, scored: _Scored, ranked: _Ranked, t: Thresholds) -> tuple[I8, I8]:
    """Each ranked candidate's :class:`Verdict` and :class:`Cap`."""
    best, score = ranked.best, ranked.score
    starts, lengths = ranked.groups.starts, ranked.groups.lengths
    located = scored.located[best]
    alone = probability(scored.raw[best]) >= t.match  # what the model alone would match
    verdict = np.zeros(len(best), dtype=np.int8)
    verdict[score >= t.review] = Verdict.REVIEW
    # The same full name and birth date stays in front of a reviewer, however low the
    # calibrated score, unless another household of the row is far more likely: a namesake
    # with the same birth date elsewhere is `review`, never `match` nor dropped.
    family, given, birth, email = (
        cmp.levels[f][best] for f in ("family_name", "given_name", "birth", "email")
    )
    same_person = (
        (family >= FamilyName.READING) & (given >= GivenName.READING) & (birth == Birth.EXACT)
    )
    verdict[alone & same_person & (ranked.trail < NEAR_BITS)] = Verdict.REVIEW
    # Two located households that each clear the bar on their own, neither far more
    # plausibly the row's household: the model's odds are least trustworthy exactly there
    # (its fields are not independent), so a reviewer decides, whatever the rivals term
    # leaves of the weaker one.
    clear = (probability(scored.adjusted[best]) >= t.match) & located & (ranked.share > -NEAR_BITS)
    contested = np.repeat(np.add.reduceat(clear, starts), lengths) > 1
    # A match names a person: something about the person must agree, not only the
    # household (a nameless record — an unborn child — at the row's address is not the
    # row's adult).
    personal = (given >= GivenName.FUZZY) | (birth >= Birth.RANGE) | (email == Email.AGREE)
    verdict[(score >= t.match) & located & (ranked.rank == 0) & ~contested & personal] = (
        Verdict.MATCH
    )
    cap = np.zeros(len(best), dtype=np.int8)  # later reasons win: the most telling one
    capped = alone & (verdict < Verdict.MATCH)
    cap[capped & ~personal] = Cap.NOTHING_PERSONAL
    cap[capped & (contested | (ranked.rival < -1.0))] = Cap.CONTESTED
    cap[capped & ~located] = Cap.NOT_LOCATED
    cap[capped & (ranked.rank > 0) & (ranked.trail >= NEAR_BITS)] = Cap.OUTSCORED
    return verdict, cap


# The explanation's rows: the fields, then the context terms, each with its level labels.
_EXPLAINED = (*FIELDS, *CONTEXT_TERMS)
_LABELS = (*(labels(FIELD_LEVELS[f]) for f in FIELDS),
           *(term_labels(t) for t in CONTEXT_TERMS.values()))  # fmt: skip


def _explained(cmp: Comparison, scored: _Scored, ranked: _Ranked,
               chosen: tuple[I64, I8, I8], index: IndexReader,
               rows: Sequence[Mapping[str, str]]) -> list[Candidate]:  # fmt: skip
    """Candidates for the ranked pairs ``chosen`` (where in ``ranked``, verdicts, caps)."""
    sel, verdict, cap = chosen
    idx = ranked.best[sel]
    weights = scored.weights
    # Gather once, column by column, then build plain tuples: cheap even for many candidates.
    level_cols = [cmp.levels[f][idx].tolist() for f in FIELDS]
    level_cols += [
        np.where(weights["household"][idx] != 0, HouseholdTerm.COUNTED_ONCE,
                 HouseholdTerm.NOT_ESTABLISHED).tolist(),
        np.where(scored.located[idx], LocationTerm.LOCATED, LocationTerm.NOT_LOCATED).tolist(),
        np.where(ranked.rival[sel] < -RIVAL_SHOWN, RivalsTerm.OTHER_HOUSEHOLDS,
                 RivalsTerm.NONE).tolist(),
    ]  # fmt: skip
    weight_cols = [weights[f][idx].tolist() for f in (*FIELDS, "household")]
    weight_cols += [scored.location[idx].tolist(), ranked.rival[sel].tolist()]
    # Field by field, then transposed: one C-level zip instead of a generator per row.
    new = tuple.__new__
    by_field = [
        [new(FieldEvidence, (name, names[c], w)) for c, w in zip(lc, wc, strict=True)]
        for name, names, lc, wc in zip(_EXPLAINED, _LABELS, level_cols, weight_cols,
                                       strict=True)
    ]  # fmt: skip
    row_at = cmp.rows[idx].tolist()
    row_ids = [(r.get("row_id") or "") for r in rows]
    prior, logits, scores = scored.prior, ranked.final[sel].tolist(), ranked.score[sel].tolist()
    record_ids = index.record_ids_at(cmp.pos[idx])
    out: list[Candidate] = []
    for j, (r, position, v, c, fields) in enumerate(zip(
        row_at, cmp.pos[idx].tolist(), verdict.tolist(), cap.tolist(), zip(*by_field, strict=True),
        strict=True,
    )):  # fmt: skip
        expl = Explanation(prior, fields, logits[j], scores[j], _NOTES[c])
        out.append(Candidate(r, row_ids[r] or str(r), record_ids[j], position, scores[j],
                             _VERDICTS[v], expl))  # fmt: skip
    return out


__all__ = ["CAP_NOTES", "Candidate", "Cap", "Thresholds", "Verdict", "decide"]
