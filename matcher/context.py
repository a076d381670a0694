"""A candidate in its row's context: locating evidence, rival households, the final score.

The model (``model``) weighs each (row, record) pair on its own. Two facts about the pair's
*row* change what that weight means, and each enters the score as one more additive term in
bits, shown in the explanation like any field:

* ``location``: the pair has no locating evidence (the same lot or flat, a compatible phone,
  the same e-mail, or the household's guardian named with the child's name and birth date).
  Name and birth date alone cannot tell a person who moved from a namesake born the same day,
  and unsupervised EM cannot learn how often each happens: such pairs get a calibration of
  their own (``Model.unlocated_scale``, ``unlocated_shift`` and a ceiling, ``unlocated_cap``,
  fitted on labelled pairs by :func:`fit_in_context`); the term is the difference to the
  located calibration.
* ``rivals``: a listing row is about one person at most, and from one household at most.
  Each candidate household's share of the row is ``F_h / Σ_k F_k``, where ``F`` are the odds
  of its best pair *before* the household correction (everything the row shares with that
  household: address, phone, surname, guardian, and who in it fits); the probability that
  the row is record ``i`` of household ``h`` is ``σ(o_i) · F_h / Σ_k F_k``. The term is that
  probability's logit minus ``o_i``. A runner-up behind a certain match gets a low score; two
  equally good households share the probability; and a household found at the row's address
  is never outscored by a household elsewhere that only shares names (the correction that
  stops siblings matching one another applies within a household, not between them).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from matcher.compare import Comparison
from matcher.levels import Birth, Email, FamilyName, GivenName, Guardian, Phone, Place

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
Bool = npt.NDArray[np.bool_]

GUARDIAN_BIRTH = Birth.RANGE  # birth level from which a named guardian helps locate a child
# A child's name, birth date (or school year) and the guardian's given name locate a household
# only if another household sharing all three is unlikely: at most 2**GUARDIAN_RARITY_BITS
# expected in the whole watchlist, from the fields' term frequencies. 佐藤 悠真 in 中1 with a
# mother named ともみ is not rare enough; 白垣 明美's child with her exact birth date is.
GUARDIAN_RARITY_BITS = -7.0


def locating(cmp: Comparison) -> Bool:
    """Pairs with evidence that the row is about the record's *household*, not a namesake.

    An e-mail locates with the surname and a birth date that fits, or none (families share
    one address book entry, and name-made handles recur).
    The household's guardian named as the row's guardian locates a child only together with
    the child's own name and birth date, and only when that combination is rare (a namesake's
    parent rarely shares a name, but common names in the same school year do)."""
    lv = cmp.levels
    family, birth = lv["family_name"], lv["birth"]
    # The same lot or a masked number is shared by whole buildings and blocks of numbers: it
    # locates a household only when the surname does not contradict it (another family at the
    # address, a stranger whose number fits the mask). The same flat or the full number does.
    weak = ((lv["place"] == Place.BLOCK) | (lv["phone"] == Phone.MASKED_COMPATIBLE)) & (
        family != FamilyName.DISAGREE
    )
    # The same flat or full number with both surname and birth date contradicting it is
    # whoever has that flat or number now (a new tenant, a reassigned mobile).
    strong = ((lv["place"] >= Place.UNIT) | (lv["phone"] == Phone.EXACT)) & ~(
        (family == FamilyName.DISAGREE) & (birth == Birth.DISAGREE)
    )
    guardian = (
        (lv["guardian"] == Guardian.AGREE)
        & (birth >= GUARDIAN_BIRTH)
        & (lv["given_name"] >= GivenName.READING)
    )
    if guardian.any():
        lu = cmp.log2u
        # Without a frequency (a typo'd surname) a field counts as telling nothing.
        shared = cmp.log2n + sum(
            (np.nan_to_num(lu[f], nan=0.0) for f in ("family_name", "given_name", "birth",
                                                     "guardian")), np.zeros(len(cmp))
        )  # fmt: skip
        guardian &= shared <= GUARDIAN_RARITY_BITS
    email = (
        (lv["email"] == Email.AGREE)
        & (family >= FamilyName.READING)
        & (birth != Birth.DISAGREE)
        & (birth != Birth.NEAR)
    )
    located = weak | strong | email | guardian
    return np.asarray(located, dtype=np.bool_)


def household_best(rows: I64, households: I64, bits: F64) -> I64:
    """Positions of the best pair per (row, household): a child's row never matches the
    parent or a sibling, only the member that fits best."""
    order = np.lexsort((-bits, households, rows))
    r, h = rows[order], households[order]
    first = np.ones(len(order), dtype=np.bool_)
    first[1:] = (r[1:] != r[:-1]) | (h[1:] != h[:-1])
    return np.asarray(order[first], dtype=np.int64)


class RowGroups:
    """Pairs grouped by row, computed once: shares of "the candidates of my row"."""

    def __init__(self, rows: I64) -> None:
        self.order = np.argsort(rows, kind="stable")
        sorted_rows = rows[self.order]
        n = len(rows)
        if n:
            self.starts = np.flatnonzero(np.r_[True, sorted_rows[1:] != sorted_rows[:-1]])
        else:
            self.starts = np.zeros(0, dtype=np.int64)
        self.lengths = np.diff(np.r_[self.starts, n])

    def share_bits(self, face: F64) -> F64:
        """``log2(2**face_i / Σ_j 2**face_j)`` over the pairs of each pair's row (0 when alone)."""
        out = np.zeros(len(face), dtype=np.float64)
        if not len(face):
            return out
        b = face[self.order]
        total = np.repeat(np.logaddexp2.reduceat(b, self.starts), self.lengths)
        out[self.order] = np.minimum(b - total, 0.0)
        return out


def final_bits(adjusted: F64, share: F64) -> F64:
    """The logit of ``σ(adjusted) · 2**share``: a pair's own odds, times its household's
    share of the row (:meth:`RowGroups.share_bits`); ``adjusted`` where the share is whole."""
    a = np.clip(adjusted, -60.0, 60.0)
    log2p = -np.logaddexp2(0.0, -a) + share
    with np.errstate(divide="ignore"):
        log2q = np.log2(-np.expm1(log2p * math.log(2)))  # log2(1 - p), accurate near p = 1
    return np.asarray(np.where(share < 0, log2p - log2q, adjusted), dtype=np.float64)


def unlocated_bits(raw_bits: F64, scale: float, shift: float, cap: float) -> F64:
    """The unlocated calibration: ``scale·raw + shift``, softly capped at ``cap`` bits
    (``-log2(2^-z + 2^-cap)``: smooth, so it can be fitted; ≈ min(z, cap))."""
    z = scale * raw_bits + shift
    return np.asarray(-np.logaddexp2(-z, -cap), dtype=np.float64)


def fit_in_context(
    raw_bits: F64,
    unlocated: Bool,
    share: F64,
    labels: F64,
    start: tuple[float, float, float, float, float],
    spread: tuple[float, float, float, float, float] = (0.5, 4.0, 0.5, 4.0, 20.0),
) -> tuple[float, float, float, float, float]:
    """(scale, shift, unlocated scale, unlocated shift, unlocated cap) maximising the labels'
    likelihood under the final score ``sigmoid2(f)``: ``f = a·raw + b`` for located pairs,
    :func:`unlocated_bits` for unlocated ones, with each household's ``share`` of its row
    (:meth:`RowGroups.share_bits`; it does not depend on the calibration).

    ``labels``: 1 / 0 for labelled pairs, NaN for the others (they still count as rivals).
    A Gaussian prior around ``start`` with ``spread`` keeps a handful of labels from
    dragging the parameters anywhere absurd (MAP, like the model's EM)."""
    known = ~np.isnan(labels)
    y = labels[known]
    theta0 = np.array([min(v, 60.0) for v in start], dtype=np.float64)
    if known.sum() < 20 or y.min() == y.max():
        return start
    sd = np.array(spread, dtype=np.float64)
    ln2 = math.log(2)

    def loss(theta: F64) -> float:
        a, b, au, bu, cap = theta
        adjusted = np.where(unlocated, unlocated_bits(raw_bits, au, bu, cap), a * raw_bits + b)
        f = final_bits(adjusted, share)[known] * ln2
        # -log p = log(1 + e^-f); -log(1-p) = log(1 + e^f)
        nll = np.sum(np.where(y > 0, np.logaddexp(0.0, -f), np.logaddexp(0.0, f)))
        return float(nll + 0.5 * np.sum(((theta - theta0) / sd) ** 2))

    a, b, au, bu, cap = _minimise(loss, theta0).tolist()
    return a, b, au, bu, cap


def _minimise(fun: Callable[[F64], float], theta: F64, iterations: int = 60) -> F64:
    """Damped Newton with finite differences: three smooth parameters, no solver needed."""
    n = len(theta)
    h = 1e-4
    eye = np.eye(n)
    value = fun(theta)
    for _ in range(iterations):
        grad = np.array([(fun(theta + h * e) - fun(theta - h * e)) / (2 * h) for e in eye])
        hess = np.empty((n, n))
        for i in range(n):
            for j in range(i, n):
                ei, ej = h * eye[i], h * eye[j]
                hess[i, j] = hess[j, i] = (
                    fun(theta + ei + ej) - fun(theta + ei - ej)
                    - fun(theta - ei + ej) + fun(theta - ei - ej)
                ) / (4 * h * h)  # fmt: skip
        try:
            step = np.linalg.solve(hess + 1e-6 * eye, grad)
        except np.linalg.LinAlgError:
            step = grad
        if not np.all(np.isfinite(step)) or np.dot(step, grad) <= 0:
            step = grad / max(float(np.abs(grad).max()), 1.0)  # not convex here: descend
        t = 1.0
        while t > 1e-4:
            trial = theta - t * step
            v = fun(trial)
            if v < value:
                break
            t /= 2
        else:
            break
        converged = abs(value - v) < 1e-7 * max(1.0, abs(value))
        theta, value = trial, v
        if converged:
            break
    return theta


__all__ = [
    "RowGroups",
    "final_bits",
    "fit_in_context",
    "household_best",
    "locating",
    "unlocated_bits",
]
