"""The Fellegi–Sunter model: m- and u-probabilities per comparison level, the prior, EM.

A pair's evidence is ``prior + Σ_field log2(m(level) / u)`` bits, where ``u`` is the
pair's own term-frequency u-probability when the comparison gave one (a common surname agrees
by chance far more often than a rare one) and the level's u otherwise. m-probabilities start
from documented priors and are re-estimated without labels by EM on each batch's candidate
pairs (MAP-EM: the priors act as pseudo-counts, so a small or one-sided batch cannot drag them
anywhere absurd); reviewers' labels refine them further (:meth:`Model.learn_from_labels`).

Some levels share one m ("the birth date is inside the interval the row gives", whether a day
or an age; "the phone is compatible", whether full or masked): the row decides the
precision, the pair's u captures how telling it is.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from matcher.compare import FIELDS, LEVELS, Comparison

F64 = npt.NDArray[np.float64]

# For each field: category of each level (-1 = missing, never evidence), m prior per category,
# u per level (used when the pair has no term-frequency u).
SPEC: dict[str, tuple[tuple[int, ...], tuple[float, ...], tuple[float, ...]]] = {
    "family_name": ((-1, 0, 1, 2, 3, 4, 5), (0.02, 0.01, 0.02, 0.05, 0.85, 0.05),
                    (1, 0.97, 0.01, 5e-4, 0.002, 0.005, 1e-4)),
    "given_name": ((-1, 0, 1, 2, 3, 4), (0.02, 0.02, 0.03, 0.05, 0.88),
                   (1, 0.985, 0.01, 5e-4, 0.002, 0.005)),
    "birth": ((-1, 0, 1, 2, 2), (0.02, 0.02, 0.96), (1, 0.9, 0.05, 0.05, 1e-4)),
    "gender": ((-1, 0, 1), (0.02, 0.98), (1, 0.5, 0.5)),
    "place": ((-1, 0, 1, 2, 3, 4, 5), (0.12, 0.02, 0.03, 0.01, 0.32, 0.50),
              (1, 0.98, 0.01, 1e-3, 1e-6, 1e-5, 1e-6)),
    "phone": ((-1, 0, 1, 1), (0.12, 0.88), (1, 0.999, 1e-4, 1e-6)),
    "email": ((-1, 0, 1), (0.05, 0.95), (1, 0.9999, 1e-6)),
    "guardian": ((-1, 0, 1, 2), (0.001, 0.05, 0.949), (1, 0.15, 0.85, 0.02)),
}  # fmt: skip
PRIOR_MATCH = 0.1  # share of candidate pairs that are true matches, before EM

# Fields that describe a household (shared by parents, children and twins alike) and fields
# that tell its members apart. When the household fields establish the household, counting
# them all at face value would make every member a match; instead they count once, as "one of
# this household's members" (HOUSEHOLD_MEMBER_BITS), and the identity fields are judged
# against the household's *other members* (WITHIN_U): a twin shares the birthday, a sibling
# the surname, address and phone, no one the given name.
HOUSEHOLD_FIELDS = ("family_name", "place", "phone", "guardian")
IDENTITY_FIELDS = ("given_name", "birth", "gender", "email")
HOUSEHOLD_MEMBER_BITS = -1.0  # log2 odds that a row from a household is one given member
HOUSEHOLD_RAMP = (8.0, 16.0)  # household evidence (bits) from which the household is established
WITHIN_U: dict[str, tuple[float, ...]] = {
    "given_name": (1, 0.93, 0.01, 0.0005, 0.01, 0.01),
    "birth": (1, 0.55, 0.3, 0.2, 0.02),
    "gender": (1, 0.5, 0.5),
    "email": (1, 0.9, 0.05),
}
PSEUDO_COUNTS = 2000.0  # strength of the m priors in MAP-EM


@dataclass
class Model:
    m: dict[str, list[float]] = field(
        default_factory=lambda: {f: list(SPEC[f][1]) for f in FIELDS}
    )
    prior: float = PRIOR_MATCH  # P(match) for a candidate pair
    # Platt refinement from reviewers' labels: logit' = a * logit + b (identity by default)
    scale: float = 1.0
    shift: float = 0.0

    # --- weights ------------------------------------------------------------------------------

    def prior_bits(self) -> float:
        return self.scale * math.log2(self.prior / (1 - self.prior)) + self.shift

    def _field(self, f: str, cmp: Comparison, within: bool = False) -> F64:
        cat, _, u = SPEC[f]
        lv = cmp.levels[f].astype(np.int64)
        m_lv = np.array([self.m[f][c] if c >= 0 else 1.0 for c in cat])
        if within:
            w = np.log2(m_lv[lv]) - np.log2(np.array(WITHIN_U[f]))[lv]
        else:
            u_lv = np.log2(np.array(u, dtype=np.float64))
            lu = cmp.log2u[f]
            w = np.log2(m_lv[lv]) - np.where(np.isnan(lu), u_lv[lv], lu)
        w[np.array(cat)[lv] < 0] = 0.0
        return np.asarray(w, dtype=np.float64)

    def weights(self, cmp: Comparison) -> dict[str, F64]:
        """Per-field log2 Bayes factors plus the ``household`` correction (all scaled by the
        calibration); with the prior they add up to the logit."""
        out = {f: self._field(f, cmp) for f in FIELDS}
        prior = math.log2(self.prior / (1 - self.prior))
        # "is the guardian" speaks about identity, not about the household.
        g_self = cmp.levels["guardian"] == 1
        hh = np.sum([out[f] for f in HOUSEHOLD_FIELDS], axis=0) - np.where(
            g_self, out["guardian"], 0.0
        )
        lo, hi = HOUSEHOLD_RAMP
        s = np.clip((hh - lo) / (hi - lo), 0.0, 1.0)
        cap = HOUSEHOLD_MEMBER_BITS - prior
        adj = (cap - hh) + np.sum(
            [self._field(f, cmp, within=True) - out[f] for f in IDENTITY_FIELDS], axis=0
        )
        out["household"] = s * adj
        return {f: self.scale * w for f, w in out.items()}

    def logits(self, cmp: Comparison) -> F64:
        w = self.weights(cmp)
        return np.asarray(self.prior_bits() + np.sum(list(w.values()), axis=0), dtype=np.float64)

    # --- estimation ---------------------------------------------------------------------------

    def em(self, cmp: Comparison, iterations: int = 8, mask: npt.NDArray[np.bool_] | None = None
           ) -> Model:
        """MAP-EM of the m-probabilities and the prior on unlabelled candidate pairs."""
        if not len(cmp):
            return self
        sub = cmp if mask is None else cmp.take(mask)
        if not len(sub):
            return self
        cats = {f: np.array(SPEC[f][0])[sub.levels[f].astype(np.int64)] for f in FIELDS}
        model = Model({f: list(v) for f, v in self.m.items()}, self.prior, 1.0, 0.0)
        for _ in range(iterations):
            logit = model.logits(sub) * math.log(2)
            post = 1.0 / (1.0 + np.exp(-np.clip(logit, -60, 60)))
            total = float(post.sum())
            model.prior = float(np.clip((total + 1) / (len(post) + 2), 1e-4, 0.9))
            for f in FIELDS:
                prior_m = np.array(SPEC[f][1])
                cat = cats[f]
                seen = cat >= 0
                counts = np.bincount(cat[seen], weights=post[seen], minlength=len(prior_m))
                mass = counts + PSEUDO_COUNTS * prior_m
                model.m[f] = list(mass / mass.sum())
        model.scale, model.shift = self.scale, self.shift
        return model

    def learn_from_labels(self, cmp: Comparison, labels: npt.NDArray[np.bool_]) -> Model:
        """Refine with reviewers' decisions: m from confirmed matches, then Platt scaling."""
        model = Model({f: list(v) for f, v in self.m.items()}, self.prior)
        pos = labels.astype(bool)
        if pos.sum() >= 10:
            for f in FIELDS:
                prior_m = np.array(SPEC[f][1])
                cat = np.array(SPEC[f][0])[cmp.levels[f][pos].astype(np.int64)]
                counts = np.bincount(cat[cat >= 0], minlength=len(prior_m))
                mass = counts + PSEUDO_COUNTS * prior_m
                model.m[f] = list(mass / mass.sum())
            model.prior = float(np.clip(pos.mean(), 1e-4, 0.9))
        from matcher.calibrate import platt

        model.scale, model.shift = platt(model.logits(cmp), labels)
        return model

    # --- persistence --------------------------------------------------------------------------

    def to_json(self) -> str:
        return json.dumps({"m": self.m, "prior": self.prior, "scale": self.scale,
                           "shift": self.shift})

    @classmethod
    def from_json(cls, text: str) -> Model:
        d = json.loads(text)
        return cls({f: list(d["m"][f]) for f in FIELDS}, d["prior"], d["scale"], d["shift"])


def probability(logit_bits: F64 | float) -> F64:
    """log2 odds → probability."""
    return 1.0 / (1.0 + np.exp2(-np.clip(np.asarray(logit_bits, dtype=np.float64), -60, 60)))


__all__ = ["LEVELS", "SPEC", "Model", "probability"]
