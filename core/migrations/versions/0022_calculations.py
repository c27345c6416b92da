"""Price lists and the calculations of cases, each change a version of its own.

Revision ID: 0022_calculations
Revises: 0021_places
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0022_calculations"
down_revision = "0021_places"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "price_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("list_key", sa.String(length=64), nullable=False),
        sa.Column("code", sa.String(length=50), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=False),
        sa.Column("unit", sa.String(length=20), nullable=False),
        sa.Column("net_price", sa.Numeric(precision=16, scale=4), nullable=False),
        sa.Column("vat_rate", sa.String(length=2), nullable=False),
        sa.Column(
            "details", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "custom", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_price_items_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_id"],
            ["users.id"],
            name=op.f("fk_price_items_updated_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_price_items")),
    )
    with op.batch_alter_table("price_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_price_items_deleted_at"), ["deleted_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_price_items_list_key"), ["list_key"], unique=False)

    op.create_table(
        "calculations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("markup", sa.Numeric(precision=7, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("cost", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("net", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("vat", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("gross", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "custom", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_calculations_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_calculations_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_id"],
            ["users.id"],
            name=op.f("fk_calculations_updated_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calculations")),
        sa.UniqueConstraint("case_id", "number", name=op.f("uq_calculations_case_id")),
    )
    with op.batch_alter_table("calculations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_calculations_case_id"), ["case_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_calculations_deleted_at"), ["deleted_at"], unique=False
        )

    op.create_table(
        "calculation_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("calculation_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("price_item_id", sa.Integer(), nullable=True),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=False),
        sa.Column("quantity", sa.Numeric(precision=14, scale=4), nullable=False),
        sa.Column("unit", sa.String(length=20), nullable=False),
        sa.Column("unit_cost", sa.Numeric(precision=16, scale=4), nullable=False),
        sa.Column("unit_price", sa.Numeric(precision=16, scale=4), nullable=False),
        sa.Column("vat_rate", sa.String(length=2), nullable=False),
        sa.Column("net", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("vat", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("gross", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.ForeignKeyConstraint(
            ["calculation_id"],
            ["calculations.id"],
            name=op.f("fk_calculation_lines_calculation_id_calculations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["price_item_id"],
            ["price_items.id"],
            name=op.f("fk_calculation_lines_price_item_id_price_items"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calculation_lines")),
        sa.UniqueConstraint(
            "calculation_id", "position", name=op.f("uq_calculation_lines_calculation_id")
        ),
    )
    with op.batch_alter_table("calculation_lines", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_calculation_lines_calculation_id"), ["calculation_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("calculation_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_calculation_lines_calculation_id"))

    op.drop_table("calculation_lines")
    with op.batch_alter_table("calculations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_calculations_deleted_at"))
        batch_op.drop_index(batch_op.f("ix_calculations_case_id"))

    op.drop_table("calculations")
    with op.batch_alter_table("price_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_price_items_list_key"))
        batch_op.drop_index(batch_op.f("ix_price_items_deleted_at"))

    op.drop_table("price_items")
