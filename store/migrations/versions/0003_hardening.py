"""hardening: work runs, store keys, undelivered login keys

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06 12:29:47
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import store.models.base

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "store_key",
        sa.Column("key_id", sa.String(length=8), nullable=False, comment="hex key id"),
        sa.Column(
            "check_mac", sa.LargeBinary(length=32), nullable=False, comment="HMAC under the key"
        ),
        sa.Column("added_at", store.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key_id", name=op.f("pk_store_key")),
    )
    op.create_table(
        "work_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "watchlist.import",
                "key.rotate",
                "codes.export",
                name="run_kind",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "running",
                "finished",
                "failed",
                "interrupted",
                name="run_status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=True, comment="file name or key id"),
        sa.Column("host", sa.String(length=100), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", store.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", store.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_work_run")),
    )
    with op.batch_alter_table("work_run", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_work_run_kind"), ["kind"], unique=False)
    with op.batch_alter_table("household", schema=None) as batch_op:
        batch_op.add_column(sa.Column("login_key_sealed", sa.LargeBinary(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "key_delivered_at", store.models.base.UTCDateTime(timezone=True), nullable=True
            )
        )
        batch_op.create_index(
            "ix_household_undelivered",
            ["id"],
            unique=False,
            sqlite_where=sa.text("login_key_sealed IS NOT NULL"),
            postgresql_where=sa.text("login_key_sealed IS NOT NULL"),
        )


def downgrade() -> None:
    with op.batch_alter_table("household", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_household_undelivered",
            sqlite_where=sa.text("login_key_sealed IS NOT NULL"),
            postgresql_where=sa.text("login_key_sealed IS NOT NULL"),
        )
        batch_op.drop_column("key_delivered_at")
        batch_op.drop_column("login_key_sealed")
    with op.batch_alter_table("work_run", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_work_run_kind"))
    op.drop_table("work_run")
    op.drop_table("store_key")
