"""The Fellegi–Sunter model: m- and u-probabilities per comparison level, the prior, EM.

A pair's evidence is ``prior + Σ_field log2(m(level) / u)`` bits, where ``u`` is the
pair's own term-frequency u-probability when the comparison gave one (a common surname agrees
by chance far more often than a rare one) and the level's u otherwise. m-probabilities start
from documented priors and are re-estimated without labels by EM on each batch's candidate
pairs (MAP-EM: the priors act as pseudo-counts, so a small or one-sided batch cannot drag them
anywhere absurd); reviewers' labels refine them further (:meth:`Model.learn_from_labels`).
The model's logit is then calibrated — affinely, so explanations stay additive — with one
line for pairs with locating evidence and one for pairs without (see ``DEFAULT_SCALE``).

Some levels share one m ("the birth date is inside the interval the row gives", whether a day
or an age; "the phone is compatible", whether full or masked): the row decides the
precision, the pair's u captures how telling it is.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace

import numpy as np
import numpy.typing as npt

from matcher.compare import Comparison
from matcher.context import (
    RowGroups,
    fit_in_context,
    household_best,
    locating,
    unlocated_bits,
)
from matcher.levels import FIELD_LEVELS, FIELDS, Guardian, m_classes, m_priors

F64 = npt.NDArray[np.float64]


@dataclass(frozen=True)
class FieldSpec:
    """One field's model parameters, as its level table (``levels``) gives them: the
    m-class of each level (-1: the null level, never evidence), the m prior of each class,
    the u of each level (used when the pair has no term-frequency u), and the u between two
    members of one household (only for the fields that tell members apart)."""

    classes: tuple[int, ...]
    m_prior: tuple[float, ...]
    u: tuple[float, ...]
    within_u: tuple[float, ...] | None


def _field_spec(field: str) -> FieldSpec:
    levels = FIELD_LEVELS[field]
    within = [lv.spec.within_u for lv in levels if lv.spec.within_u is not None]
    return FieldSpec(m_classes(levels), m_priors(levels), tuple(lv.spec.u for lv in levels),
                     tuple(within) if len(within) == len(levels) else None)  # fmt: skip


SPEC: dict[str, FieldSpec] = {f: _field_spec(f) for f in FIELDS}
PRIOR_MATCH = 0.1  # share of candidate pairs that are true matches, before EM

# Fields that describe a household (shared by parents, children and twins alike) and fields
# that tell its members apart. When the household fields establish the household, counting
# them all at face value would make every member a match; instead they count once, as "one of
# this household's members" (HOUSEHOLD_MEMBER_BITS), and the identity fields are judged
# against the household's *other members* (their levels' ``within_u``): a twin shares the
# birthday, a sibling the surname, address and phone, no one the given name. The identity
# fields are those whose levels have a within-household u.
IDENTITY_FIELDS = tuple(f for f in FIELDS if SPEC[f].within_u is not None)
HOUSEHOLD_FIELDS = tuple(f for f in FIELDS if f not in IDENTITY_FIELDS)
HOUSEHOLD_MEMBER_BITS = -1.0  # log2 odds that a row from a household is one given member
HOUSEHOLD_RAMP = (8.0, 16.0)  # household evidence (bits) from which the household is established
PSEUDO_COUNTS = 2000.0  # strength of the m priors in MAP-EM
# The calibration before any reviewer's label: logit' = SCALE · logit + SHIFT for pairs with
# locating evidence, UNLOCATED_SCALE · logit + UNLOCATED_SHIFT, softly capped at
# UNLOCATED_CAP, for pairs without (``context``; two lines because the two groups are different
# populations: located pairs separate sharply, while name and birth date alone rise slowly to a
# ceiling — past some point more agreement cannot tell a person who moved from a namesake).
# Fitted on the fully labelled synthetic benchmark of seed 5 (`bench/match.py --fit-seed 5`),
# never on the seed the benchmark reports; reviewers' labels replace them (learn_from_labels).
DEFAULT_SCALE = 1.45
DEFAULT_SHIFT = -1.42
UNLOCATED_SCALE = 0.79
UNLOCATED_SHIFT = -14.95
UNLOCATED_CAP = -0.35  # bits: the most an unlocated pair can reach (soft; see context)


@dataclass
class Model:
    m: dict[str, list[float]] = field(
        default_factory=lambda: {f: list(SPEC[f].m_prior) for f in FIELDS}
    )
    prior: float = PRIOR_MATCH  # P(match) for a candidate pair
    # Calibration (see DEFAULT_SCALE): logit' = scale * logit + shift, by locating evidence
    scale: float = DEFAULT_SCALE
    shift: float = DEFAULT_SHIFT
    unlocated_scale: float = UNLOCATED_SCALE
    unlocated_shift: float = UNLOCATED_SHIFT
    unlocated_cap: float = UNLOCATED_CAP

    # --- weights ------------------------------------------------------------------------------

    def prior_bits(self) -> float:
        """The prior as shown in explanations (the located calibration's)."""
        return self.scale * self._prior0() + self.shift

    def _prior0(self) -> float:
        return math.log2(self.prior / (1 - self.prior))

    def location_bits(self, located: npt.NDArray[np.bool_], raw: F64) -> F64:
        """What being unlocated changes, given the uncalibrated logits ``raw``: the pair's
        unlocated calibration minus the prior and scaled weights its explanation shows."""
        p0 = self._prior0()
        shown = self.scale * p0 + self.shift + self.unlocated_scale * (raw - p0)
        own = unlocated_bits(raw, self.unlocated_scale, self.unlocated_shift, self.unlocated_cap)
        return np.asarray(np.where(located, 0.0, own - shown), dtype=np.float64)

    def uncalibrated(self) -> Model:
        return Model(
            {f: list(v) for f, v in self.m.items()}, self.prior, 1.0, 0.0, 1.0, 0.0, float("inf")
        )

    def _field(self, f: str, cmp: Comparison, within: bool = False) -> F64:
        spec = SPEC[f]
        cat = spec.classes
        lv = cmp.levels[f].astype(np.int64)
        m_lv = np.array([self.m[f][c] if c >= 0 else 1.0 for c in cat])
        if within:
            assert spec.within_u is not None
            w = np.log2(m_lv[lv]) - np.log2(np.array(spec.within_u))[lv]
        else:
            u_lv = np.log2(np.array(spec.u, dtype=np.float64))
            lu = cmp.log2u[f]
            w = np.log2(m_lv[lv]) - np.where(np.isnan(lu), u_lv[lv], lu)
        w[np.array(cat)[lv] < 0] = 0.0
        return np.asarray(w, dtype=np.float64)

    def _raw_weights(self, cmp: Comparison) -> dict[str, F64]:
        """Per-field log2 Bayes factors plus the ``household`` correction, uncalibrated."""
        out = {f: self._field(f, cmp) for f in FIELDS}
        # "is the guardian" speaks about identity, not about the household.
        g_self = cmp.levels["guardian"] == Guardian.IS_THE_GUARDIAN
        hh = np.sum([out[f] for f in HOUSEHOLD_FIELDS], axis=0) - np.where(
            g_self, out["guardian"], 0.0
        )
        lo, hi = HOUSEHOLD_RAMP
        s = np.clip((hh - lo) / (hi - lo), 0.0, 1.0)
        cap = HOUSEHOLD_MEMBER_BITS - self._prior0()
        adj = (cap - hh) + np.sum(
            [self._field(f, cmp, within=True) - out[f] for f in IDENTITY_FIELDS], axis=0
        )
        out["household"] = s * adj
        return out

    def _scaled(self, raw: dict[str, F64], located: npt.NDArray[np.bool_] | None) -> dict[str, F64]:
        if located is None:
            return {f: self.scale * w for f, w in raw.items()}
        scale = np.where(located, self.scale, self.unlocated_scale)
        return {f: scale * w for f, w in raw.items()}

    def weights(
        self, cmp: Comparison, located: npt.NDArray[np.bool_] | None = None
    ) -> dict[str, F64]:
        """Per-field log2 Bayes factors plus the ``household`` correction, scaled by the
        calibration (by ``located`` when given, else the located one); with the prior and
        :meth:`location_bits` they add up to the logit."""
        return self._scaled(self._raw_weights(cmp), located)

    def calibrated(
        self, cmp: Comparison, located: npt.NDArray[np.bool_]
    ) -> tuple[dict[str, F64], F64, F64, F64]:
        """In one pass over the fields: the scaled weights, the location bits, the
        uncalibrated logits they came from, and those logits without the household
        correction (how strongly the row points at the record's household: ``context``)."""
        raw_w, raw, face = self._raw_logits(cmp)
        return self._scaled(raw_w, located), self.location_bits(located, raw), raw, face

    def _raw_logits(self, cmp: Comparison) -> tuple[dict[str, F64], F64, F64]:
        """The raw weights, the uncalibrated logits, and those logits without the household
        correction."""
        raw_w = self._raw_weights(cmp)
        raw = np.asarray(self._prior0() + np.sum(list(raw_w.values()), axis=0),
                         dtype=np.float64)  # fmt: skip
        return raw_w, raw, raw - raw_w["household"]

    def logits(self, cmp: Comparison, located: npt.NDArray[np.bool_] | None = None) -> F64:
        if located is None:
            w = self.weights(cmp)
            return np.asarray(self.prior_bits() + np.sum(list(w.values()), axis=0),
                              dtype=np.float64)  # fmt: skip
        w, loc_bits, _, _ = self.calibrated(cmp, located)
        return np.asarray(self.prior_bits() + np.sum(list(w.values()), axis=0) + loc_bits,
                          dtype=np.float64)  # fmt: skip

    # --- estimation ---------------------------------------------------------------------------

    def em(
        self, cmp: Comparison, iterations: int = 8, mask: npt.NDArray[np.bool_] | None = None
    ) -> Model:
        """MAP-EM of the m-probabilities and the prior on unlabelled candidate pairs."""
        if not len(cmp):
            return self
        sub = cmp if mask is None else cmp.take(mask)
        if not len(sub):
            return self
        cats = {f: np.array(SPEC[f].classes)[sub.levels[f].astype(np.int64)] for f in FIELDS}
        model = self.uncalibrated()
        for _ in range(iterations):
            logit = model.logits(sub) * math.log(2)
            post = 1.0 / (1.0 + np.exp(-np.clip(logit, -60, 60)))
            total = float(post.sum())
            model.prior = float(np.clip((total + 1) / (len(post) + 2), 1e-4, 0.9))
            for f in FIELDS:
                prior_m = np.array(self.m[f])  # the current model: refined m stay refined
                cat = cats[f]
                seen = cat >= 0
                counts = np.bincount(cat[seen], weights=post[seen], minlength=len(prior_m))
                mass = counts + PSEUDO_COUNTS * prior_m
                model.m[f] = list(mass / mass.sum())
        return replace(self, m=model.m, prior=model.prior)  # the calibration stays

    def learn_from_labels(
        self,
        cmp: Comparison,
        labels: npt.NDArray[np.bool_] | npt.NDArray[np.float64],
        households: npt.NDArray[np.int64] | None = None,
        *,
        refit_m: bool = True,
    ) -> Model:
        """Refine with reviewers' decisions: m from confirmed matches, then the calibration
        (located and unlocated scale and shift, unlocated cap) fitted on the final, in-context
        score.

        ``labels`` per pair of ``cmp``: True/False, or 1/0/NaN where NaN is "not labelled"
        (such a pair still counts as a rival of its row's labelled pairs). ``households``
        per pair (the record's household) picks the best pair per household, as matching
        does; without it every record is its own household. ``refit_m=False`` fits the
        calibration alone (how the defaults were chosen)."""
        y = np.asarray(labels, dtype=np.float64)
        model = self.uncalibrated()
        pos = y == 1
        if refit_m and pos.sum() >= 10:
            for f in FIELDS:
                prior_m = np.array(self.m[f])
                cat = np.array(SPEC[f].classes)[cmp.levels[f][pos].astype(np.int64)]
                counts = np.bincount(cat[cat >= 0], minlength=len(prior_m))
                mass = counts + PSEUDO_COUNTS * prior_m
                model.m[f] = list(mass / mass.sum())
        _, raw, face = model._raw_logits(cmp)  # uncalibrated: the fit finds the calibration
        hh = households if households is not None else cmp.pos
        best = household_best(cmp.rows, hh, raw)
        unlocated = ~locating(cmp)[best]
        share = RowGroups(cmp.rows[best]).share_bits(face[best])
        start = (
            self.scale,
            self.shift,
            self.unlocated_scale,
            self.unlocated_shift,
            self.unlocated_cap,
        )
        a, b, au, bu, cap = fit_in_context(raw[best], unlocated, share, y[best], start)
        return replace(
            self,
            m=model.m,
            scale=a,
            shift=b,
            unlocated_scale=au,
            unlocated_shift=bu,
            unlocated_cap=cap,
        )

    # --- persistence --------------------------------------------------------------------------

    def to_json(self) -> str:
        """The parameters; each field's m-probabilities with the labels of their m-classes
        (``m_classes``), so that a model saved before the level tables changed is read by
        name, or refused, never misread."""
        return json.dumps({"m": self.m, "m_classes": {f: class_labels(f) for f in FIELDS},
                           "prior": self.prior, "scale": self.scale, "shift": self.shift,
                           "unlocated_scale": self.unlocated_scale,
                           "unlocated_shift": self.unlocated_shift,
                           "unlocated_cap": self.unlocated_cap})  # fmt: skip

    @classmethod
    def from_json(cls, text: str) -> Model:
        """A model from :meth:`to_json` (one without ``m_classes``: in today's class order);
        ValueError when its m-classes are not the level tables' (learn it again)."""
        d = json.loads(text)
        return cls({f: _m_by_class(f, d["m"][f], d.get("m_classes", {}).get(f))
                    for f in FIELDS},
                   d["prior"], d["scale"], d["shift"], d["unlocated_scale"],
                   d["unlocated_shift"], d["unlocated_cap"])  # fmt: skip


def class_labels(field: str) -> list[str]:
    """The labels of ``field``'s m-classes, in class order (each class by the level that
    declares its m)."""
    return [lv.label for lv in FIELD_LEVELS[field] if lv.spec.m is not None]


def _m_by_class(field: str, values: list[float], saved: list[str] | None) -> list[float]:
    if saved is None:
        return list(values)
    by_label = dict(zip(saved, values, strict=True))
    want = class_labels(field)
    if set(by_label) != set(want):
        raise ValueError(f"a model for other {field} levels ({', '.join(saved)}; now "
                         f"{', '.join(want)}): learn it again")  # fmt: skip
    return [float(by_label[c]) for c in want]


def probability(logit_bits: F64 | float) -> F64:
    """log2 odds → probability."""
    return 1.0 / (1.0 + np.exp2(-np.clip(np.asarray(logit_bits, dtype=np.float64), -60, 60)))


__all__ = ["SPEC", "FieldSpec", "Model", "probability"]
