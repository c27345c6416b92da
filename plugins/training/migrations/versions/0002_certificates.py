"""The certificate of attendance made for each attendee.

Revision ID: 0002_certificates
Revises: 0001_training
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_certificates"
down_revision = "0001_training"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("training_enrolments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("certificate_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_training_enrolments_certificate_id_documents"), "documents",
            ["certificate_id"], ["id"], ondelete="SET NULL")


def downgrade() -> None:
    with op.batch_alter_table("training_enrolments", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_training_enrolments_certificate_id_documents"), type_="foreignkey")
        batch_op.drop_column("certificate_id")
