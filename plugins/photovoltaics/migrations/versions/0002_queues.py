"""The sales queues (PV-6): the reps with their working hours and travel areas, the
rules that route new leads, and the queues' entries: calls and meetings.

Revision ID: 0002_queues
Revises: 0001_photovoltaics
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002_queues"
down_revision = "0001_photovoltaics"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "photovoltaics_reps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("calls", sa.Boolean(), nullable=False),
        sa.Column("meetings", sa.Boolean(), nullable=False),
        sa.Column("weekdays", JSON, nullable=False),
        sa.Column("day_starts", sa.Integer(), nullable=False),
        sa.Column("day_ends", sa.Integer(), nullable=False),
        sa.Column("base_town", sa.String(length=100), nullable=False),
        sa.Column("travel_km", sa.Integer(), nullable=False),
        sa.Column("call_minutes", sa.Integer(), nullable=False),
        sa.Column("meeting_minutes", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("custom", JSON, nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_photovoltaics_reps_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_id"],
            ["users.id"],
            name=op.f("fk_photovoltaics_reps_updated_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_photovoltaics_reps_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_photovoltaics_reps")),
        sa.UniqueConstraint("user_id", name=op.f("uq_photovoltaics_reps_user_id")),
    )
    with op.batch_alter_table("photovoltaics_reps", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_photovoltaics_reps_deleted_at"), ["deleted_at"], unique=False
        )

    op.create_table(
        "photovoltaics_queue_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("queue", sa.String(length=10), nullable=False),
        sa.Column("rep_id", sa.Integer(), nullable=True),
        sa.Column("weight", sa.Integer(), nullable=False),
        sa.Column("sources", JSON, nullable=False),
        sa.Column("priorities", JSON, nullable=False),
        sa.Column("region", sa.String(length=100), nullable=False),
        sa.Column("town", sa.String(length=100), nullable=False),
        sa.Column("within_km", sa.Integer(), nullable=True),
        sa.Column("min_age_days", sa.Integer(), nullable=True),
        sa.Column("max_age_days", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("custom", JSON, nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_photovoltaics_queue_rules_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["rep_id"],
            ["photovoltaics_reps.id"],
            name=op.f("fk_photovoltaics_queue_rules_rep_id_photovoltaics_reps"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_id"],
            ["users.id"],
            name=op.f("fk_photovoltaics_queue_rules_updated_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_photovoltaics_queue_rules")),
    )
    with op.batch_alter_table("photovoltaics_queue_rules", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_photovoltaics_queue_rules_deleted_at"), ["deleted_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_photovoltaics_queue_rules_rep_id"), ["rep_id"], unique=False
        )

    op.create_table(
        "photovoltaics_queue_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("rule_id", sa.Integer(), nullable=True),
        sa.Column("for_rep_id", sa.Integer(), nullable=True),
        sa.Column("rep_id", sa.Integer(), nullable=True),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("not_before", sa.DateTime(timezone=True), nullable=True),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("travel_minutes", sa.Integer(), nullable=True),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("done_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("custom", JSON, nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_photovoltaics_queue_entries_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_photovoltaics_queue_entries_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["done_by_id"],
            ["users.id"],
            name=op.f("fk_photovoltaics_queue_entries_done_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["calendar_events.id"],
            name=op.f("fk_photovoltaics_queue_entries_event_id_calendar_events"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["for_rep_id"],
            ["photovoltaics_reps.id"],
            name=op.f("fk_photovoltaics_queue_entries_for_rep_id_photovoltaics_reps"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["rep_id"],
            ["photovoltaics_reps.id"],
            name=op.f("fk_photovoltaics_queue_entries_rep_id_photovoltaics_reps"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["rule_id"],
            ["photovoltaics_queue_rules.id"],
            name=op.f("fk_photovoltaics_queue_entries_rule_id_photovoltaics_queue_rules"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_id"],
            ["users.id"],
            name=op.f("fk_photovoltaics_queue_entries_updated_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_photovoltaics_queue_entries")),
    )
    with op.batch_alter_table("photovoltaics_queue_entries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_photovoltaics_queue_entries_case_id"), ["case_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_photovoltaics_queue_entries_deleted_at"), ["deleted_at"], unique=False
        )
        batch_op.create_index(
            "ix_photovoltaics_queue_entries_rep", ["rep_id", "starts_at"], unique=False
        )
        batch_op.create_index(
            "ix_photovoltaics_queue_entries_status", ["status", "starts_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("photovoltaics_queue_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_photovoltaics_queue_entries_status")
        batch_op.drop_index("ix_photovoltaics_queue_entries_rep")
        batch_op.drop_index(batch_op.f("ix_photovoltaics_queue_entries_deleted_at"))
        batch_op.drop_index(batch_op.f("ix_photovoltaics_queue_entries_case_id"))

    op.drop_table("photovoltaics_queue_entries")
    with op.batch_alter_table("photovoltaics_queue_rules", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_photovoltaics_queue_rules_rep_id"))
        batch_op.drop_index(batch_op.f("ix_photovoltaics_queue_rules_deleted_at"))

    op.drop_table("photovoltaics_queue_rules")
    with op.batch_alter_table("photovoltaics_reps", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_photovoltaics_reps_deleted_at"))

    op.drop_table("photovoltaics_reps")
