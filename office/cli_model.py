"""`leakwatch review` and `leakwatch model`: reviewers' labels on candidate matches, and the
matcher model refined from them.

A reviewer confirms or rejects a candidate (``review label``); ``model learn`` refits the
matcher's model and calibration from every label so far and stores it (audited); every later
match run scores with it. ``model show`` prints what is in use; ``model export`` writes it
for ``leakwatch match --model`` on files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import select

from office.console import cli_actor, console, fail
from store import audit
from store.models import CandidateMatch, MatchModel, ReviewState
from store.runtime import Store

review_app = typer.Typer(help="Reviewers' decisions on candidate matches.", no_args_is_help=True)
model_app = typer.Typer(help="The matcher model learned from reviewers' labels.",
                        no_args_is_help=True)  # fmt: skip


@review_app.command("label")
def label_cmd(
    candidate: Annotated[int, typer.Argument(help="Candidate match id.")],
    state: Annotated[ReviewState, typer.Argument(help="confirmed, rejected, unsure or pending.")],
    note: Annotated[str | None, typer.Option(help="Why (kept with the label).")] = None,
) -> None:
    """Record a reviewer's decision on one candidate match."""
    with Store.open() as store, store.sessions() as s:
        c = s.get(CandidateMatch, candidate)
        if c is None:
            raise fail(f"no candidate match {candidate}")
        before = c.review_state
        c.review_state, c.review_note = state, note
        audit.record(
            s, cli_actor(), "candidate.reviewed", object_type="candidate_match",
            object_id=candidate, details={"from": before.value, "to": state.value},
        )  # fmt: skip
        s.commit()
    console.print(f"candidate {candidate}: {before.value} -> {state.value}")


@model_app.command("learn")
def learn_cmd() -> None:
    """Refit the matcher from every confirmed and rejected candidate; later runs use it."""
    from store.matching import NotEnoughLabels, learn_from_reviews

    with Store.open() as store:
        try:
            result = learn_from_reviews(store, actor=cli_actor())
        except NotEnoughLabels as exc:
            raise fail(str(exc)) from None
    table = Table("calibration", "before", "after", title=f"model {result.model_id}: learned "
                  f"from {result.confirmed:,} confirmed and {result.rejected:,} rejected pairs")
    for name in ("scale", "shift", "unlocated_scale", "unlocated_shift", "unlocated_cap",
                 "prior"):
        table.add_row(name, f"{getattr(result.before, name):.4f}",
                      f"{getattr(result.after, name):.4f}")  # fmt: skip
    console.print(table)


@model_app.command("show")
def show_cmd() -> None:
    """The model new matches are scored with."""
    from store.matching import current_model

    with Store.open() as store, store.sessions() as s:
        model = current_model(store)
        latest = s.scalars(select(MatchModel).order_by(MatchModel.id.desc()).limit(1)).first()
        origin = (
            f"model {latest.id}, learned {latest.created_at:%Y-%m-%d %H:%M} UTC by "
            f"{latest.created_by} from {latest.confirmed:,} confirmed and "
            f"{latest.rejected:,} rejected pairs"
            if latest else "the matcher's defaults (no labels learned from yet)"
        )
    console.print(origin)
    console.print(f"located: logit x {model.scale:.4f} {model.shift:+.4f} bits; unlocated: "
                  f"logit x {model.unlocated_scale:.4f} {model.unlocated_shift:+.4f} bits, "
                  f"at most {model.unlocated_cap:+.2f} bits")


@model_app.command("export")
def export_cmd(
    out: Annotated[Path, typer.Option("--out", help="Where to write the model (JSON).")],
) -> None:
    """Write the model in use, for `leakwatch match --model` on files outside the store.
    Numbers only (probabilities and calibration), no personal data."""
    from store.matching import current_model

    with Store.open() as store:
        model = current_model(store)
    out.write_text(model.to_json() + "\n", encoding="utf-8")
    console.print(f"model written to {out}")


def register(app: typer.Typer) -> None:
    app.add_typer(review_app, name="review")
    app.add_typer(model_app, name="model")
