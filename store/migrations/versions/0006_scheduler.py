"""scheduler: its job store (APScheduler's table layout) and its job runs as work runs

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 16:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD = ("watchlist.import", "key.rotate", "codes.export")
NEW = (*OLD, "scheduler.job")


def _kind(values: tuple[str, ...]) -> sa.Enum:
    return sa.Enum(*values, name="run_kind", native_enum=False, create_constraint=True)


def _rekind(old: tuple[str, ...], new: tuple[str, ...]) -> None:
    """Loosen the kind column to text, then constrain it to ``new`` (as 0005 re-statuses)."""
    with op.batch_alter_table("work_run", schema=None) as batch_op:
        batch_op.alter_column("kind", existing_type=_kind(old), type_=sa.String(16),
                              existing_nullable=False)  # fmt: skip
    with op.batch_alter_table("work_run", schema=None) as batch_op:
        batch_op.alter_column("kind", existing_type=sa.String(16), type_=_kind(new),
                              existing_nullable=False)  # fmt: skip


def upgrade() -> None:
    op.create_table(
        "scheduler_jobs",
        sa.Column("id", sa.Unicode(length=191), nullable=False),
        sa.Column("next_run_time", sa.Float(precision=25), nullable=True),
        sa.Column("job_state", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scheduler_jobs")),
    )
    with op.batch_alter_table("scheduler_jobs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_scheduler_jobs_next_run_time"), ["next_run_time"],
                              unique=False)  # fmt: skip
    _rekind(OLD, NEW)


def downgrade() -> None:
    op.execute(sa.text("DELETE FROM work_run WHERE kind = 'scheduler.job'"))
    _rekind(NEW, OLD)
    with op.batch_alter_table("scheduler_jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_scheduler_jobs_next_run_time"))
    op.drop_table("scheduler_jobs")
