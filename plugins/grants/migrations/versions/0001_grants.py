"""Calls for proposals, applications and their checklists, the schedules offered on
opportunities, payment requests, indicators and durability reports.

Revision ID: 0001_grants
Revises:
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001_grants"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "grants_calls",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("reference", sa.String(length=100), nullable=False),
        sa.Column("programme", sa.String(length=300), nullable=False),
        sa.Column("grantor_id", sa.Integer(), nullable=True),
        sa.Column("opens_on", sa.Date(), nullable=True),
        sa.Column("deadline", sa.Date(), nullable=False),
        sa.Column("budget", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("max_rate", sa.Numeric(precision=5, scale=2), nullable=True),
        sa.Column(
            "required_attachments",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "custom",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_grants_calls_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["grantor_id"],
            ["organisations.id"],
            name=op.f("fk_grants_calls_grantor_id_organisations"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_id"],
            ["users.id"],
            name=op.f("fk_grants_calls_updated_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grants_calls")),
    )
    with op.batch_alter_table("grants_calls", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_grants_calls_deadline"), ["deadline"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_grants_calls_deleted_at"), ["deleted_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_grants_calls_grantor_id"), ["grantor_id"], unique=False
        )

    op.create_table(
        "grants_applications",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["call_id"],
            ["grants_calls.id"],
            name=op.f("fk_grants_applications_call_id_grants_calls"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_grants_applications_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_grants_applications")),
    )
    with op.batch_alter_table("grants_applications", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_grants_applications_call_id"), ["call_id"], unique=False
        )

    op.create_table(
        "grants_checklist_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("attachment_id", sa.Integer(), nullable=True),
        sa.Column("ready_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ready_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["attachment_id"],
            ["attachments.id"],
            name=op.f("fk_grants_checklist_items_attachment_id_attachments"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_grants_checklist_items_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["ready_by_id"],
            ["users.id"],
            name=op.f("fk_grants_checklist_items_ready_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grants_checklist_items")),
        sa.UniqueConstraint("case_id", "position", name=op.f("uq_grants_checklist_items_case_id")),
    )
    with op.batch_alter_table("grants_checklist_items", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_grants_checklist_items_case_id"), ["case_id"], unique=False
        )

    op.create_table(
        "grants_durability_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("delivered_on", sa.Date(), nullable=True),
        sa.Column("document_id", sa.Integer(), nullable=True),
        sa.Column("reminded_on", sa.Date(), nullable=True),
        sa.Column("escalated_on", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "custom",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_grants_durability_reports_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_grants_durability_reports_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_grants_durability_reports_document_id_documents"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_id"],
            ["users.id"],
            name=op.f("fk_grants_durability_reports_updated_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grants_durability_reports")),
        sa.UniqueConstraint(
            "case_id", "position", name=op.f("uq_grants_durability_reports_case_id")
        ),
    )
    with op.batch_alter_table("grants_durability_reports", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_grants_durability_reports_case_id"), ["case_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_grants_durability_reports_deleted_at"), ["deleted_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_grants_durability_reports_due_on"), ["due_on"], unique=False
        )

    op.create_table(
        "grants_indicators",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("unit", sa.String(length=50), nullable=False),
        sa.Column("baseline", sa.Numeric(precision=14, scale=4), nullable=False),
        sa.Column("target", sa.Numeric(precision=14, scale=4), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_grants_indicators_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grants_indicators")),
        sa.UniqueConstraint("case_id", "position", name=op.f("uq_grants_indicators_case_id")),
    )
    with op.batch_alter_table("grants_indicators", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_grants_indicators_case_id"), ["case_id"], unique=False)

    op.create_table(
        "grants_offer_instalments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("description", sa.String(length=300), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("milestone", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_grants_offer_instalments_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grants_offer_instalments")),
        sa.UniqueConstraint(
            "case_id", "position", name=op.f("uq_grants_offer_instalments_case_id")
        ),
    )
    with op.batch_alter_table("grants_offer_instalments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_grants_offer_instalments_case_id"), ["case_id"], unique=False
        )

    op.create_table(
        "grants_payment_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=True),
        sa.Column("period_end", sa.Date(), nullable=True),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("submitted_on", sa.Date(), nullable=True),
        sa.Column("approved_amount", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("paid_on", sa.Date(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=True),
        sa.Column("reminded_on", sa.Date(), nullable=True),
        sa.Column("escalated_on", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "custom",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_grants_payment_requests_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_grants_payment_requests_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_grants_payment_requests_document_id_documents"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_id"],
            ["users.id"],
            name=op.f("fk_grants_payment_requests_updated_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grants_payment_requests")),
        sa.UniqueConstraint("case_id", "position", name=op.f("uq_grants_payment_requests_case_id")),
    )
    with op.batch_alter_table("grants_payment_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_grants_payment_requests_case_id"), ["case_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_grants_payment_requests_deleted_at"), ["deleted_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_grants_payment_requests_due_on"), ["due_on"], unique=False
        )

    op.create_table(
        "grants_indicator_values",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("indicator_id", sa.Integer(), nullable=False),
        sa.Column("value", sa.Numeric(precision=14, scale=4), nullable=False),
        sa.ForeignKeyConstraint(
            ["indicator_id"],
            ["grants_indicators.id"],
            name=op.f("fk_grants_indicator_values_indicator_id_grants_indicators"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["grants_durability_reports.id"],
            name=op.f("fk_grants_indicator_values_report_id_grants_durability_reports"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grants_indicator_values")),
        sa.UniqueConstraint(
            "report_id", "indicator_id", name=op.f("uq_grants_indicator_values_report_id")
        ),
    )
    with op.batch_alter_table("grants_indicator_values", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_grants_indicator_values_indicator_id"), ["indicator_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_grants_indicator_values_report_id"), ["report_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("grants_indicator_values", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_grants_indicator_values_report_id"))
        batch_op.drop_index(batch_op.f("ix_grants_indicator_values_indicator_id"))

    op.drop_table("grants_indicator_values")
    with op.batch_alter_table("grants_payment_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_grants_payment_requests_due_on"))
        batch_op.drop_index(batch_op.f("ix_grants_payment_requests_deleted_at"))
        batch_op.drop_index(batch_op.f("ix_grants_payment_requests_case_id"))

    op.drop_table("grants_payment_requests")
    with op.batch_alter_table("grants_offer_instalments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_grants_offer_instalments_case_id"))

    op.drop_table("grants_offer_instalments")
    with op.batch_alter_table("grants_indicators", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_grants_indicators_case_id"))

    op.drop_table("grants_indicators")
    with op.batch_alter_table("grants_durability_reports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_grants_durability_reports_due_on"))
        batch_op.drop_index(batch_op.f("ix_grants_durability_reports_deleted_at"))
        batch_op.drop_index(batch_op.f("ix_grants_durability_reports_case_id"))

    op.drop_table("grants_durability_reports")
    with op.batch_alter_table("grants_checklist_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_grants_checklist_items_case_id"))

    op.drop_table("grants_checklist_items")
    with op.batch_alter_table("grants_applications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_grants_applications_call_id"))

    op.drop_table("grants_applications")
    with op.batch_alter_table("grants_calls", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_grants_calls_grantor_id"))
        batch_op.drop_index(batch_op.f("ix_grants_calls_deleted_at"))
        batch_op.drop_index(batch_op.f("ix_grants_calls_deadline"))

    op.drop_table("grants_calls")
