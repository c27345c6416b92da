"""The installation crews with their members, and their jobs: the parts of installations.

Revision ID: 0001_photovoltaics
Revises:
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001_photovoltaics"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "photovoltaics_crews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("subcontractor_id", sa.Integer(), nullable=True),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("base_town", sa.String(length=100), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("feed_token", sa.String(length=64), nullable=False),
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
            name=op.f("fk_photovoltaics_crews_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["subcontractor_id"],
            ["organisations.id"],
            name=op.f("fk_photovoltaics_crews_subcontractor_id_organisations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_id"],
            ["users.id"],
            name=op.f("fk_photovoltaics_crews_updated_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_photovoltaics_crews")),
        sa.UniqueConstraint("feed_token", name=op.f("uq_photovoltaics_crews_feed_token")),
    )
    with op.batch_alter_table("photovoltaics_crews", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_photovoltaics_crews_deleted_at"), ["deleted_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_photovoltaics_crews_subcontractor_id"),
            ["subcontractor_id"],
            unique=False,
        )

    op.create_table(
        "photovoltaics_assignments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("crew_id", sa.Integer(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reported_by", sa.String(length=200), nullable=False),
        sa.Column("report", sa.Text(), nullable=False),
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
            name=op.f("fk_photovoltaics_assignments_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_photovoltaics_assignments_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["crew_id"],
            ["photovoltaics_crews.id"],
            name=op.f("fk_photovoltaics_assignments_crew_id_photovoltaics_crews"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["calendar_events.id"],
            name=op.f("fk_photovoltaics_assignments_event_id_calendar_events"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_id"],
            ["users.id"],
            name=op.f("fk_photovoltaics_assignments_updated_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_photovoltaics_assignments")),
        sa.UniqueConstraint("case_id", name=op.f("uq_photovoltaics_assignments_case_id")),
    )
    with op.batch_alter_table("photovoltaics_assignments", schema=None) as batch_op:
        batch_op.create_index(
            "ix_photovoltaics_assignments_crew", ["crew_id", "starts_on"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_photovoltaics_assignments_deleted_at"), ["deleted_at"], unique=False
        )

    op.create_table(
        "photovoltaics_crew_members",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("crew_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column(
            "skills",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("leader", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["crew_id"],
            ["photovoltaics_crews.id"],
            name=op.f("fk_photovoltaics_crew_members_crew_id_photovoltaics_crews"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_photovoltaics_crew_members_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_photovoltaics_crew_members")),
    )
    with op.batch_alter_table("photovoltaics_crew_members", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_photovoltaics_crew_members_crew_id"), ["crew_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_photovoltaics_crew_members_user_id"), ["user_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("photovoltaics_crew_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_photovoltaics_crew_members_user_id"))
        batch_op.drop_index(batch_op.f("ix_photovoltaics_crew_members_crew_id"))

    op.drop_table("photovoltaics_crew_members")
    with op.batch_alter_table("photovoltaics_assignments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_photovoltaics_assignments_deleted_at"))
        batch_op.drop_index("ix_photovoltaics_assignments_crew")

    op.drop_table("photovoltaics_assignments")
    with op.batch_alter_table("photovoltaics_crews", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_photovoltaics_crews_subcontractor_id"))
        batch_op.drop_index(batch_op.f("ix_photovoltaics_crews_deleted_at"))

    op.drop_table("photovoltaics_crews")
