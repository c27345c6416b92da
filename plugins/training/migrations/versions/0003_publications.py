"""Announcements and publications for the member units' portal.

Revision ID: 0003_publications
Revises: 0002_certificates
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003_publications"
down_revision = "0002_certificates"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "training_publications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("unit_ids", JSON, nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("custom", JSON, nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"],
                                name=op.f("fk_training_publications_created_by_id_users"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["updated_by_id"], ["users.id"],
                                name=op.f("fk_training_publications_updated_by_id_users"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_publications")),
    )
    with op.batch_alter_table("training_publications", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_training_publications_deleted_at"),
                              ["deleted_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_training_publications_published_at"),
                              ["published_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("training_publications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_training_publications_published_at"))
        batch_op.drop_index(batch_op.f("ix_training_publications_deleted_at"))
    op.drop_table("training_publications")
