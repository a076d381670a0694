"""`leakwatch review` and `leakwatch model`: reviewers' labels on candidate matches, and the
matcher model refined from them (the work is in ``casework.review``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from office.console import cli_actor, console, fail, open_store
from store.models import ReviewState

review_app = typer.Typer(help="Reviewers' decisions on candidate matches.", no_args_is_help=True)
model_app = typer.Typer(
    help="The matcher model learned from reviewers' labels.", no_args_is_help=True
)


@review_app.command("label")
def label_cmd(
    candidate: Annotated[int, typer.Argument(help="Candidate match id.")],
    state: Annotated[ReviewState, typer.Argument(help="confirmed, rejected, unsure or pending.")],
    note: Annotated[str | None, typer.Option(help="Why (kept with the label).")] = None,
) -> None:
    """Record a reviewer's decision on one candidate match."""
    from casework.review import UnknownCandidate, label_candidate

    with open_store() as store:
        try:
            label = label_candidate(store, candidate, state, actor=cli_actor(), note=note)
        except UnknownCandidate as exc:
            raise fail(str(exc)) from None
    console.print(f"candidate {candidate}: {label.before.value} -> {label.after.value}")


@model_app.command("learn")
def learn_cmd() -> None:
    """Refit the matcher from every confirmed and rejected candidate; later runs use it."""
    from casework.review import NotEnoughLabels, learn_from_reviews

    with open_store() as store:
        try:
            result = learn_from_reviews(store, actor=cli_actor())
        except NotEnoughLabels as exc:
            raise fail(str(exc)) from None
    table = Table(
        "calibration",
        "before",
        "after",
        title=f"model {result.model_id}: learned "
        f"from {result.confirmed:,} confirmed and {result.rejected:,} rejected pairs",
    )
    for name in ("scale", "shift", "unlocated_scale", "unlocated_shift", "unlocated_cap", "prior"):
        table.add_row(name, f"{getattr(result.before, name):.4f}",
                      f"{getattr(result.after, name):.4f}")  # fmt: skip
    console.print(table)


@model_app.command("show")
def show_cmd() -> None:
    """The model new matches are scored with."""
    from casework.review import model_in_use

    with open_store() as store:
        in_use = model_in_use(store)
    model, latest = in_use.model, in_use.learned
    console.print(
        f"model {latest.id}, learned {latest.created_at:%Y-%m-%d %H:%M} UTC by "
        f"{latest.created_by} from {latest.confirmed:,} confirmed and "
        f"{latest.rejected:,} rejected pairs"
        if latest
        else "the matcher's defaults (no labels learned from yet)"
    )
    console.print(
        f"located: logit x {model.scale:.4f} {model.shift:+.4f} bits; unlocated: "
        f"logit x {model.unlocated_scale:.4f} {model.unlocated_shift:+.4f} bits, "
        f"at most {model.unlocated_cap:+.2f} bits"
    )


@model_app.command("export")
def export_cmd(
    out: Annotated[Path, typer.Option("--out", help="Where to write the model (JSON).")],
) -> None:
    """Write the model in use, for `leakwatch match --model` on files outside the store.
    Numbers only (probabilities and calibration), no personal data."""
    from casework.review import export_model

    with open_store() as store:
        export_model(store, out)
    console.print(f"model written to {out}")


def register(app: typer.Typer) -> None:
    """Add the `review` and `model` commands to the `leakwatch` app."""
    app.add_typer(review_app, name="review")
    app.add_typer(model_app, name="model")
