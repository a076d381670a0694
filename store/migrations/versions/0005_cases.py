"""cases: statuses open → noticed → complied/disputed/escalated → closed, closing by a second
investigator, business contact and merges, a decision per listing

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 15:15:46
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import store.models.base

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD = ("open", "notice_sent", "awaiting_verification", "escalated", "closed_removed",
       "closed_other")  # fmt: skip
NEW = ("open", "noticed", "complied", "disputed", "escalated", "closed")
# old status -> new (and back, for a downgrade)
FORWARD = {"notice_sent": "noticed", "awaiting_verification": "noticed",
           "closed_removed": "closed", "closed_other": "closed"}  # fmt: skip
BACK = {"noticed": "notice_sent", "complied": "awaiting_verification", "disputed": "escalated",
        "closed": "closed_other"}  # fmt: skip


def _status(values: tuple[str, ...]) -> sa.Enum:
    return sa.Enum(*values, name="case_status", native_enum=False, create_constraint=True)


def _restatus(old: tuple[str, ...], new: tuple[str, ...], mapping: dict[str, str]) -> None:
    """Loosen the status column to text, map its values, then constrain it to ``new``."""
    with op.batch_alter_table("case_file", schema=None) as batch_op:
        batch_op.alter_column("status", existing_type=_status(old), type_=sa.String(21),
                              existing_nullable=False)  # fmt: skip
    for before, after in mapping.items():
        op.execute(sa.text("UPDATE case_file SET status = :a WHERE status = :b")
                   .bindparams(a=after, b=before))  # fmt: skip
    with op.batch_alter_table("case_file", schema=None) as batch_op:
        batch_op.alter_column("status", existing_type=sa.String(21), type_=_status(new),
                              existing_nullable=False)  # fmt: skip


def upgrade() -> None:
    _restatus(OLD, NEW, FORWARD)
    with op.batch_alter_table("business", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("contact", sa.Text(), nullable=True, comment="how to reach it: phone, e-mail")
        )
        batch_op.add_column(
            sa.Column(
                "merged_into_id",
                sa.Integer(),
                nullable=True,
                comment="a duplicate, merged into this business",
            )
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_business_merged_into_id_business"),
            "business",
            ["merged_into_id"],
            ["id"],
        )
    with op.batch_alter_table("case_file", schema=None) as batch_op:
        batch_op.add_column(sa.Column("close_requested_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("close_request_reason", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("closed_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "closing_basis",
                sa.Enum(
                    "removed",
                    "approved",
                    name="closing_basis",
                    native_enum=False,
                    create_constraint=True,
                ),
                nullable=True,
            )
        )
        batch_op.add_column(sa.Column("closing_reason", sa.Text(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_case_file_closed_by_id_app_user"), "app_user", ["closed_by_id"], ["id"]
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_case_file_close_requested_by_id_app_user"),
            "app_user",
            ["close_requested_by_id"],
            ["id"],
        )
    with op.batch_alter_table("listing", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "decision",
                sa.Enum(
                    "from_the_leak",
                    "unrelated",
                    name="listing_decision",
                    native_enum=False,
                    create_constraint=True,
                ),
                nullable=True,
            )
        )
        batch_op.add_column(sa.Column("decision_reason", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("decided_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("decided_at", store.models.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_listing_decided_by_id_app_user"), "app_user", ["decided_by_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("listing", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_listing_decided_by_id_app_user"), type_="foreignkey"
        )
        batch_op.drop_constraint(batch_op.f("ck_listing_listing_decision"), type_="check")
        for column in ("decided_at", "decided_by_id", "decision_reason", "decision"):
            batch_op.drop_column(column)
    with op.batch_alter_table("case_file", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_case_file_close_requested_by_id_app_user"), type_="foreignkey"
        )
        batch_op.drop_constraint(
            batch_op.f("fk_case_file_closed_by_id_app_user"), type_="foreignkey"
        )
        batch_op.drop_constraint(batch_op.f("ck_case_file_closing_basis"), type_="check")
        for column in ("closing_reason", "closing_basis", "closed_by_id",
                       "close_request_reason", "close_requested_by_id"):  # fmt: skip
            batch_op.drop_column(column)
    with op.batch_alter_table("business", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_business_merged_into_id_business"), type_="foreignkey"
        )
        batch_op.drop_column("merged_into_id")
        batch_op.drop_column("contact")
    _restatus(NEW, OLD, BACK)
