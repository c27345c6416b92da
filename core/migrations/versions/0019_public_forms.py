"""Public forms an administrator builds from fields, and their submissions.

Revision ID: 0019_public_forms
Revises: 0018_contracts
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0019_public_forms"
down_revision = "0018_contracts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "public_forms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("intro", sa.Text(), nullable=False),
        sa.Column(
            "fields", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column("consent_text", sa.Text(), nullable=False),
        sa.Column("purpose_id", sa.Integer(), nullable=True),
        sa.Column("tags", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("thank_you", sa.Text(), nullable=False),
        sa.Column(
            "notify_user_ids",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            nullable=False,
        ),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_public_forms_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["purpose_id"],
            ["processing_purposes.id"],
            name=op.f("fk_public_forms_purpose_id_processing_purposes"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_public_forms")),
        sa.UniqueConstraint("key", name=op.f("uq_public_forms_key")),
    )
    op.create_table(
        "form_submissions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("form_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("data", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("address", sa.String(length=45), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["form_id"],
            ["public_forms.id"],
            name=op.f("fk_form_submissions_form_id_public_forms"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            name=op.f("fk_form_submissions_person_id_people"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_form_submissions")),
    )
    with op.batch_alter_table("form_submissions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_form_submissions_address", ["address", "created_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_form_submissions_form_id"), ["form_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_form_submissions_person_id"), ["person_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("form_submissions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_form_submissions_person_id"))
        batch_op.drop_index(batch_op.f("ix_form_submissions_form_id"))
        batch_op.drop_index("ix_form_submissions_address")

    op.drop_table("form_submissions")
    op.drop_table("public_forms")
