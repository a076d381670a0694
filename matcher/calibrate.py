"""Calibration: map model log-odds to probabilities that are right on average.

Platt scaling fitted on labelled pairs (reviewers' decisions, or a labelled synthetic set) as
``logit' = a · logit + b``. Being affine in the log-odds it keeps explanations additive: every
field weight is multiplied by ``a`` and ``b`` joins the prior. ``reliability`` reports, per
score bin, the mean score against the observed match rate.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]


def platt(
    logit_bits: F64, labels: npt.NDArray[np.bool_], iterations: int = 200
) -> tuple[float, float]:
    """(a, b) maximising the likelihood of ``labels`` under sigmoid2(a·x + b) (Newton)."""
    raw = np.clip(np.asarray(logit_bits, dtype=np.float64), -60, 60)
    y = np.asarray(labels, dtype=np.float64)
    if len(raw) < 10 or y.min() == y.max():
        return 1.0, 0.0
    # Fit on standardised scores (Newton is then well-conditioned), map back at the end.
    mu, sd = float(raw.mean()), float(raw.std()) or 1.0
    x = (raw - mu) / sd
    # Platt's smoothed targets avoid infinite weights on separable data.
    n_pos, n_neg = y.sum(), len(y) - y.sum()
    t = np.where(y > 0, (n_pos + 1) / (n_pos + 2), 1 / (n_neg + 2))
    a, b = 1.0, 0.0
    ln2 = math.log(2)
    for _ in range(iterations):
        z = np.clip((a * x + b) * ln2, -700, 700)
        p = 1 / (1 + np.exp(-z))
        g = np.array([np.sum((p - t) * x * ln2), np.sum((p - t) * ln2)])
        w = p * (1 - p) * ln2 * ln2
        h = np.array([[np.sum(w * x * x), np.sum(w * x)], [np.sum(w * x), np.sum(w)]])
        h += np.eye(2) * 1e-9
        step = np.clip(np.linalg.solve(h, g), -2.0, 2.0)  # damped: no overshoot
        a, b = a - step[0], b - step[1]
        if np.abs(step).max() < 1e-9:
            break
    return float(a / sd), float(b - a * mu / sd)


def reliability(
    scores: F64, labels: npt.NDArray[np.bool_], bins: int = 10
) -> list[tuple[float, float, float, int]]:
    """(bin low, mean score, observed rate, count) per score bin; and nothing for empty bins."""
    edges = np.linspace(0, 1, bins + 1)
    out: list[tuple[float, float, float, int]] = []
    which = np.clip(np.digitize(scores, edges) - 1, 0, bins - 1)
    for b in range(bins):
        sel = which == b
        if sel.any():
            out.append(
                (
                    float(edges[b]),
                    float(scores[sel].mean()),
                    float(np.mean(labels[sel])),
                    int(sel.sum()),
                )
            )
    return out


def expected_calibration_error(scores: F64, labels: npt.NDArray[np.bool_]) -> float:
    rel = reliability(scores, labels)
    total = sum(r[3] for r in rel)
    return sum(abs(r[1] - r[2]) * r[3] for r in rel) / max(total, 1)
