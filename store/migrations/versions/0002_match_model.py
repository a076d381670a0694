"""match_model: matcher models refined from reviewers' labels; listing_row.matched_against

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 22:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import store.models.base

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "match_model",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", store.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column(
            "confirmed", sa.Integer(), nullable=False, comment="confirmed pairs it was learned from"
        ),
        sa.Column(
            "rejected", sa.Integer(), nullable=False, comment="rejected pairs it was learned from"
        ),
        sa.Column("params", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_match_model")),
    )
    with op.batch_alter_table("match_model", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_match_model_created_at"), ["created_at"], unique=False)
    with op.batch_alter_table("listing_row", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "matched_against",
                sa.String(length=16),
                nullable=True,
                comment="watchlist version this row was last matched against",
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("listing_row", schema=None) as batch_op:
        batch_op.drop_column("matched_against")
    with op.batch_alter_table("match_model", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_match_model_created_at"))
    op.drop_table("match_model")
