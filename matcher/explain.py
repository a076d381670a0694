"""Why a row matched: the per-field levels and weights that add up to its score.

``prior_bits + Σ weight == logit_bits`` and ``score == 1 / (1 + 2**-logit_bits)`` exactly
(up to float rounding); ``notes`` say why a decision was capped (no locating evidence,
another household just as likely). ``summary()`` is one line for a review screen or a
letter's evidence summary.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

from matcher.levels import SILENT


class FieldEvidence(NamedTuple):
    field: str
    level: str
    weight: float  # log2 Bayes factor (bits)


@dataclass(slots=True)  # not frozen: built by the thousand, frozen init is slow
class Explanation:
    prior_bits: float
    fields: tuple[FieldEvidence, ...]
    logit_bits: float
    score: float
    notes: tuple[str, ...] = field(default=())

    def total_bits(self) -> float:
        return self.prior_bits + sum(f.weight for f in self.fields)

    def to_dict(self) -> dict[str, Any]:
        return {
            "prior_bits": round(self.prior_bits, 4),
            "fields": [
                {"field": f.field, "level": f.level, "weight": round(f.weight, 4)}
                for f in self.fields
            ],
            "logit_bits": round(self.logit_bits, 4),
            "score": self.score,
            "notes": list(self.notes),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Explanation:
        return cls(
            d["prior_bits"],
            tuple(FieldEvidence(f["field"], f["level"], f["weight"]) for f in d["fields"]),
            d["logit_bits"],
            d["score"],
            tuple(d.get("notes", ())),
        )

    def summary(self) -> str:
        """One line: the fields that say something (missing values and context terms that
        changed nothing — located, no rivals — are left out)."""
        parts = [
            f"{f.field}={f.level} ({f.weight:+.1f})" for f in self.fields
            if f.level not in SILENT
        ]  # fmt: skip
        text = f"score {self.score:.3f} = prior {self.prior_bits:+.1f} bits; " + ", ".join(parts)
        return text + ("; " + "; ".join(self.notes) if self.notes else "")
