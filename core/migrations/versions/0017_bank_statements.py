"""Bank statements: how each bank's files are read (bank profiles with their remembered
column mapping), the statements imported and their lines, matched to invoices or
waiting for review.

Revision ID: 0017_bank_statements
Revises: 0016_billing
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0017_bank_statements"
down_revision = "0016_billing"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bank_profiles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("format", sa.String(length=10), nullable=False),
        sa.Column("encoding", sa.String(length=10), nullable=False),
        sa.Column("delimiter", sa.String(length=5), nullable=False),
        sa.Column("decimal_separator", sa.String(length=1), nullable=False),
        sa.Column("date_format", sa.String(length=20), nullable=False),
        sa.Column("skip_rows", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column(
            "columns", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_bank_profiles_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bank_profiles")),
        sa.UniqueConstraint("name", name=op.f("uq_bank_profiles_name")),
    )
    op.create_table(
        "bank_statements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("profile_id", sa.Integer(), nullable=True),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("format", sa.String(length=10), nullable=False),
        sa.Column("encoding", sa.String(length=10), nullable=False),
        sa.Column("account", sa.String(length=40), nullable=False),
        sa.Column("checksum", sa.String(length=64), nullable=False),
        sa.Column(
            "counts", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("imported_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["imported_by_id"],
            ["users.id"],
            name=op.f("fk_bank_statements_imported_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["profile_id"],
            ["bank_profiles.id"],
            name=op.f("fk_bank_statements_profile_id_bank_profiles"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bank_statements")),
    )
    with op.batch_alter_table("bank_statements", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bank_statements_checksum"), ["checksum"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_bank_statements_profile_id"), ["profile_id"], unique=False
        )

    op.create_table(
        "bank_statement_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("statement_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("booked_on", sa.Date(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("payer", sa.String(length=300), nullable=False),
        sa.Column("account", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("reason", sa.String(length=30), nullable=False),
        sa.Column(
            "details", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column("organisation_id", sa.Integer(), nullable=True),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("invoice_id", sa.Integer(), nullable=True),
        sa.Column("payment_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["decided_by_id"],
            ["users.id"],
            name=op.f("fk_bank_statement_lines_decided_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["invoices.id"],
            name=op.f("fk_bank_statement_lines_invoice_id_invoices"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_bank_statement_lines_organisation_id_organisations"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"],
            ["payments.id"],
            name=op.f("fk_bank_statement_lines_payment_id_payments"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            name=op.f("fk_bank_statement_lines_person_id_people"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["statement_id"],
            ["bank_statements.id"],
            name=op.f("fk_bank_statement_lines_statement_id_bank_statements"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bank_statement_lines")),
    )
    with op.batch_alter_table("bank_statement_lines", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_bank_statement_lines_account"), ["account"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_bank_statement_lines_external_id"), ["external_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_bank_statement_lines_invoice_id"), ["invoice_id"], unique=False
        )
        batch_op.create_index(
            "ix_bank_statement_lines_open", ["status", "statement_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_bank_statement_lines_organisation_id"), ["organisation_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_bank_statement_lines_payment_id"), ["payment_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_bank_statement_lines_person_id"), ["person_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_bank_statement_lines_statement_id"), ["statement_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("bank_statement_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bank_statement_lines_statement_id"))
        batch_op.drop_index(batch_op.f("ix_bank_statement_lines_person_id"))
        batch_op.drop_index(batch_op.f("ix_bank_statement_lines_payment_id"))
        batch_op.drop_index(batch_op.f("ix_bank_statement_lines_organisation_id"))
        batch_op.drop_index("ix_bank_statement_lines_open")
        batch_op.drop_index(batch_op.f("ix_bank_statement_lines_invoice_id"))
        batch_op.drop_index(batch_op.f("ix_bank_statement_lines_external_id"))
        batch_op.drop_index(batch_op.f("ix_bank_statement_lines_account"))

    op.drop_table("bank_statement_lines")
    with op.batch_alter_table("bank_statements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bank_statements_profile_id"))
        batch_op.drop_index(batch_op.f("ix_bank_statements_checksum"))

    op.drop_table("bank_statements")
    op.drop_table("bank_profiles")
