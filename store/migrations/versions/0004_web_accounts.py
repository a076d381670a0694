"""web accounts: sessions, API tokens, sign-in limits, report attachments and details,
erasure requests, notification opt-in

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06 13:57:28.088061
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import store.models.base

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sign_in_limit",
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_start", store.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("locked_until", store.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_sign_in_limit")),
    )
    op.create_table(
        "api_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("token_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("created_at", store.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", store.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", store.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["app_user.id"],
            name=op.f("fk_api_token_user_id_app_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_token")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_token_token_hash")),
    )
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_token_user_id"), ["user_id"], unique=False)

    op.create_table(
        "erasure_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "requested",
                "approved",
                "done",
                "refused",
                name="erasure_status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("requested_by", sa.String(length=100), nullable=False, comment="the audit actor"),
        sa.Column("requested_at", store.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", store.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["decided_by_id"],
            ["app_user.id"],
            name=op.f("fk_erasure_request_decided_by_id_app_user"),
        ),
        sa.ForeignKeyConstraint(
            ["household_id"],
            ["household.id"],
            name=op.f("fk_erasure_request_household_id_household"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_erasure_request")),
    )
    with op.batch_alter_table("erasure_request", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_erasure_request_household_id"), ["household_id"], unique=False
        )

    op.create_table(
        "web_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("household_id", sa.Integer(), nullable=True),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", store.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", store.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", store.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", store.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "(user_id IS NULL) <> (household_id IS NULL)", name=op.f("ck_web_session_one_principal")
        ),
        sa.ForeignKeyConstraint(
            ["household_id"],
            ["household.id"],
            name=op.f("fk_web_session_household_id_household"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["app_user.id"],
            name=op.f("fk_web_session_user_id_app_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_session")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_web_session_token_hash")),
    )
    with op.batch_alter_table("web_session", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_web_session_household_id"), ["household_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_web_session_user_id"), ["user_id"], unique=False)

    op.create_table(
        "report_attachment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column(
            "filename", sa.String(length=200), nullable=False, comment="cleaned; shown to staff"
        ),
        sa.Column(
            "content_type", sa.String(length=100), nullable=False, comment="sniffed from the bytes"
        ),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", store.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["customer_report.id"],
            name=op.f("fk_report_attachment_report_id_customer_report"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_attachment")),
    )
    with op.batch_alter_table("report_attachment", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_report_attachment_report_id"), ["report_id"], unique=False
        )

    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "last_sign_in_at", store.models.base.UTCDateTime(timezone=True), nullable=True
            )
        )

    with op.batch_alter_table("customer_report", schema=None) as batch_op:
        batch_op.add_column(sa.Column("details_sealed", sa.LargeBinary(), nullable=True))

    _business_name_keys()
    with op.batch_alter_table("household", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("notify_opt_in", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("notify_email_sealed", sa.LargeBinary(), nullable=True))


def _business_name_keys() -> None:
    """Indexed comparison keys for business names and aliases, filled for existing rows."""
    from store.business_names import name_key

    for table, source, column in (("business", "name", "name_key"),
                                  ("business_alias", "alias", "alias_key")):  # fmt: skip
        with op.batch_alter_table(table, schema=None) as batch_op:
            comment = "store.business_names.name_key(name)" if column == "name_key" else None
            batch_op.add_column(sa.Column(column, sa.String(length=300), nullable=False,
                                          server_default="", comment=comment))  # fmt: skip
            batch_op.create_index(batch_op.f(f"ix_{table}_{column}"), [column], unique=False)
        rows = sa.table(table, sa.column("id", sa.Integer), sa.column(source, sa.String),
                        sa.column(column, sa.String))  # fmt: skip
        conn = op.get_bind()
        for row_id, text in conn.execute(sa.select(rows.c.id, rows.c[source])).all():
            conn.execute(rows.update().where(rows.c.id == row_id)
                         .values({column: name_key(text)}))  # fmt: skip


def downgrade() -> None:
    for table, column in (("business", "name_key"), ("business_alias", "alias_key")):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f"ix_{table}_{column}"))
            batch_op.drop_column(column)
    with op.batch_alter_table("household", schema=None) as batch_op:
        batch_op.drop_column("notify_email_sealed")
        batch_op.drop_column("notify_opt_in")

    with op.batch_alter_table("customer_report", schema=None) as batch_op:
        batch_op.drop_column("details_sealed")

    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.drop_column("last_sign_in_at")

    with op.batch_alter_table("report_attachment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_report_attachment_report_id"))

    op.drop_table("report_attachment")
    with op.batch_alter_table("web_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_web_session_user_id"))
        batch_op.drop_index(batch_op.f("ix_web_session_household_id"))

    op.drop_table("web_session")
    with op.batch_alter_table("erasure_request", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_erasure_request_household_id"))

    op.drop_table("erasure_request")
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_token_user_id"))

    op.drop_table("api_token")
    op.drop_table("sign_in_limit")
