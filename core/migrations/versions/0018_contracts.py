"""Contracts that bill by themselves (recurring fees with their prices, payment
schedules, expected direct-debit payments) and billing runs, one per period; invoices
remember the run that made them.

Revision ID: 0018_contracts
Revises: 0017_bank_statements
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0018_contracts"
down_revision = "0017_bank_statements"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "billing_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column(
            "strategies", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column("issue", sa.Boolean(), nullable=False),
        sa.Column("issue_date", sa.Date(), nullable=True),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("made", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("holder", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("started_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name=op.f("fk_billing_runs_job_id_jobs"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["started_by_id"],
            ["users.id"],
            name=op.f("fk_billing_runs_started_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_runs")),
        sa.UniqueConstraint(
            "period_start", "period_end", name=op.f("uq_billing_runs_period_start")
        ),
    )
    op.create_table(
        "contracts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=True),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("description", sa.String(length=300), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("termination_reason", sa.Text(), nullable=False),
        sa.Column("period_months", sa.Integer(), nullable=True),
        sa.Column("billed", sa.String(length=10), nullable=False),
        sa.Column("unit", sa.String(length=20), nullable=False),
        sa.Column("vat_rate", sa.String(length=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("price_basis", sa.String(length=5), nullable=False),
        sa.Column("invoice_kind", sa.String(length=20), nullable=False),
        sa.Column("payment_days", sa.Integer(), nullable=False),
        sa.Column("collects", sa.String(length=10), nullable=False),
        sa.Column("collection_day", sa.Integer(), nullable=True),
        sa.Column("billed_through", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "(organisation_id IS NULL) <> (person_id IS NULL)", name=op.f("ck_contracts_one_party")
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_contracts_case_id_cases"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_contracts_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_contracts_organisation_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_contracts_person_id_people")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contracts")),
    )
    with op.batch_alter_table("contracts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_contracts_case_id"), ["case_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_contracts_organisation_id"), ["organisation_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_contracts_person_id"), ["person_id"], unique=False)

    op.create_table(
        "contract_instalments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contract_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("description", sa.String(length=300), nullable=False),
        sa.Column("unit_price", sa.Numeric(precision=16, scale=4), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("milestone", sa.String(length=200), nullable=False),
        sa.Column("reached_on", sa.Date(), nullable=True),
        sa.Column("billed_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["contract_id"],
            ["contracts.id"],
            name=op.f("fk_contract_instalments_contract_id_contracts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contract_instalments")),
        sa.UniqueConstraint(
            "contract_id", "position", name=op.f("uq_contract_instalments_contract_id")
        ),
    )
    with op.batch_alter_table("contract_instalments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_contract_instalments_contract_id"), ["contract_id"], unique=False
        )

    op.create_table(
        "contract_prices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contract_id", sa.Integer(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("unit_price", sa.Numeric(precision=16, scale=4), nullable=False),
        sa.ForeignKeyConstraint(
            ["contract_id"],
            ["contracts.id"],
            name=op.f("fk_contract_prices_contract_id_contracts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contract_prices")),
        sa.UniqueConstraint(
            "contract_id", "valid_from", name=op.f("uq_contract_prices_contract_id")
        ),
    )
    with op.batch_alter_table("contract_prices", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_contract_prices_contract_id"), ["contract_id"], unique=False
        )

    op.create_table(
        "expected_payments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contract_id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=True),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("payment_id", sa.Integer(), nullable=True),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["contract_id"],
            ["contracts.id"],
            name=op.f("fk_expected_payments_contract_id_contracts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_expected_payments_organisation_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"],
            ["payments.id"],
            name=op.f("fk_expected_payments_payment_id_payments"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_expected_payments_person_id_people")
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["billing_runs.id"],
            name=op.f("fk_expected_payments_run_id_billing_runs"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_expected_payments")),
        sa.UniqueConstraint(
            "contract_id", "period_start", name=op.f("uq_expected_payments_contract_id")
        ),
    )
    with op.batch_alter_table("expected_payments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_expected_payments_contract_id"), ["contract_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_expected_payments_due_on"), ["due_on"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_expected_payments_organisation_id"), ["organisation_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_expected_payments_person_id"), ["person_id"], unique=False
        )

    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("billing_run_id", sa.Integer(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_invoices_billing_run_id"), ["billing_run_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_invoices_billing_run_id_billing_runs"),
            "billing_runs",
            ["billing_run_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_invoices_billing_run_id_billing_runs"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_invoices_billing_run_id"))
        batch_op.drop_column("billing_run_id")

    with op.batch_alter_table("expected_payments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_expected_payments_person_id"))
        batch_op.drop_index(batch_op.f("ix_expected_payments_organisation_id"))
        batch_op.drop_index(batch_op.f("ix_expected_payments_due_on"))
        batch_op.drop_index(batch_op.f("ix_expected_payments_contract_id"))

    op.drop_table("expected_payments")
    with op.batch_alter_table("contract_prices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contract_prices_contract_id"))

    op.drop_table("contract_prices")
    with op.batch_alter_table("contract_instalments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contract_instalments_contract_id"))

    op.drop_table("contract_instalments")
    with op.batch_alter_table("contracts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contracts_person_id"))
        batch_op.drop_index(batch_op.f("ix_contracts_organisation_id"))
        batch_op.drop_index(batch_op.f("ix_contracts_case_id"))

    op.drop_table("contracts")
    op.drop_table("billing_runs")
