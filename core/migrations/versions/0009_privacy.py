"""Privacy: the register of processing purposes and people's consents, given or withdrawn.

Revision ID: 0009_privacy
Revises: 0008_accounts_roles
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0009_privacy"
down_revision = "0008_accounts_roles"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "processing_purposes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("legal_basis", sa.String(length=30), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("retention_days", sa.Integer(), nullable=True),
        sa.Column("data_categories", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
                  nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_processing_purposes")),
        sa.UniqueConstraint("key", name=op.f("uq_processing_purposes_key")),
    )
    op.create_table(
        "consents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("purpose_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.id"], name=op.f("fk_consents_actor_id_users"),
            ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_consents_person_id_people"),
            ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["purpose_id"], ["processing_purposes.id"],
            name=op.f("fk_consents_purpose_id_processing_purposes")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consents")),
    )
    with op.batch_alter_table("consents", schema=None) as batch_op:
        batch_op.create_index("ix_consents_newest", ["person_id", "purpose_id", "at", "id"],
                              unique=False)
        batch_op.create_index(batch_op.f("ix_consents_purpose_id"), ["purpose_id"],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table("consents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consents_purpose_id"))
        batch_op.drop_index("ix_consents_newest")

    op.drop_table("consents")
    op.drop_table("processing_purposes")
