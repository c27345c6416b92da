"""Public forms that open a case of a process, and the case each submission opened.

Revision ID: 0023_form_cases
Revises: 0022_calculations
"""

import sqlalchemy as sa
from alembic import op

revision = "0023_form_cases"
down_revision = "0022_calculations"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("form_submissions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("case_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_form_submissions_case_id_cases"),
            "cases",
            ["case_id"],
            ["id"],
            ondelete="SET NULL",
        )

    with op.batch_alter_table("public_forms", schema=None) as batch_op:
        batch_op.add_column(sa.Column("process_key", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("public_forms", schema=None) as batch_op:
        batch_op.drop_column("process_key")

    with op.batch_alter_table("form_submissions", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_form_submissions_case_id_cases"), type_="foreignkey"
        )
        batch_op.drop_column("case_id")
