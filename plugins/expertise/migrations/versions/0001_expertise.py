"""Specialisations, departments, experts with their absences and conflicts, and what an
inquiry adds to its case: routing, court, deadline, parties and the experts' hours.

Revision ID: 0001_expertise
Revises:
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001_expertise"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "expertise_specialisations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("archived", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_expertise_specialisations")),
        sa.UniqueConstraint("name", name=op.f("uq_expertise_specialisations_name")),
    )
    op.create_table(
        "expertise_departments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("manager_id", sa.Integer(), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
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
            name=op.f("fk_expertise_departments_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["manager_id"],
            ["users.id"],
            name=op.f("fk_expertise_departments_manager_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_id"],
            ["users.id"],
            name=op.f("fk_expertise_departments_updated_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_expertise_departments")),
    )
    with op.batch_alter_table("expertise_departments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_expertise_departments_deleted_at"), ["deleted_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_expertise_departments_manager_id"), ["manager_id"], unique=False
        )

    op.create_table(
        "expertise_department_specialisations",
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("specialisation_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["expertise_departments.id"],
            name=op.f(
                "fk_expertise_department_specialisations_department_id_expertise_departments"
            ),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["specialisation_id"],
            ["expertise_specialisations.id"],
            name=op.f(
                "fk_expertise_department_specialisations_specialisation_id_expertise_specialisations"
            ),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "department_id",
            "specialisation_id",
            name=op.f("pk_expertise_department_specialisations"),
        ),
    )
    with op.batch_alter_table("expertise_department_specialisations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_expertise_department_specialisations_specialisation_id"),
            ["specialisation_id"],
            unique=False,
        )

    op.create_table(
        "expertise_experts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("internal", sa.Boolean(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("hourly_rate", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
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
            name=op.f("fk_expertise_experts_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["expertise_departments.id"],
            name=op.f("fk_expertise_experts_department_id_expertise_departments"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            name=op.f("fk_expertise_experts_person_id_people"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_id"],
            ["users.id"],
            name=op.f("fk_expertise_experts_updated_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_expertise_experts")),
        sa.UniqueConstraint("person_id", name=op.f("uq_expertise_experts_person_id")),
    )
    with op.batch_alter_table("expertise_experts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_expertise_experts_deleted_at"), ["deleted_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_expertise_experts_department_id"), ["department_id"], unique=False
        )

    op.create_table(
        "expertise_absences",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("expert_id", sa.Integer(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("reason", sa.String(length=300), nullable=False),
        sa.ForeignKeyConstraint(
            ["expert_id"],
            ["expertise_experts.id"],
            name=op.f("fk_expertise_absences_expert_id_expertise_experts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_expertise_absences")),
    )
    with op.batch_alter_table("expertise_absences", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_expertise_absences_expert_id"), ["expert_id"], unique=False
        )

    op.create_table(
        "expertise_assignments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("expert_id", sa.Integer(), nullable=False),
        sa.Column("hours", sa.Numeric(precision=8, scale=2), nullable=False),
        sa.Column("rate", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_expertise_assignments_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["expert_id"],
            ["expertise_experts.id"],
            name=op.f("fk_expertise_assignments_expert_id_expertise_experts"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_expertise_assignments")),
        sa.UniqueConstraint("case_id", "expert_id", name=op.f("uq_expertise_assignments_case_id")),
    )
    with op.batch_alter_table("expertise_assignments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_expertise_assignments_case_id"), ["case_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_expertise_assignments_expert_id"), ["expert_id"], unique=False
        )

    op.create_table(
        "expertise_conflicts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("expert_id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=True),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=300), nullable=False),
        sa.ForeignKeyConstraint(
            ["expert_id"],
            ["expertise_experts.id"],
            name=op.f("fk_expertise_conflicts_expert_id_expertise_experts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_expertise_conflicts_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            name=op.f("fk_expertise_conflicts_person_id_people"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_expertise_conflicts")),
    )
    with op.batch_alter_table("expertise_conflicts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_expertise_conflicts_expert_id"), ["expert_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_expertise_conflicts_organisation_id"), ["organisation_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_expertise_conflicts_person_id"), ["person_id"], unique=False
        )

    op.create_table(
        "expertise_expert_specialisations",
        sa.Column("expert_id", sa.Integer(), nullable=False),
        sa.Column("specialisation_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["expert_id"],
            ["expertise_experts.id"],
            name=op.f("fk_expertise_expert_specialisations_expert_id_expertise_experts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["specialisation_id"],
            ["expertise_specialisations.id"],
            name=op.f(
                "fk_expertise_expert_specialisations_specialisation_id_expertise_specialisations"
            ),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "expert_id", "specialisation_id", name=op.f("pk_expertise_expert_specialisations")
        ),
    )
    with op.batch_alter_table("expertise_expert_specialisations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_expertise_expert_specialisations_specialisation_id"),
            ["specialisation_id"],
            unique=False,
        )

    op.create_table(
        "expertise_inquiries",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("specialisation_id", sa.Integer(), nullable=True),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("court_id", sa.Integer(), nullable=True),
        sa.Column("court_reference", sa.String(length=100), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("travel_cost", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("materials_cost", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_expertise_inquiries_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["court_id"],
            ["organisations.id"],
            name=op.f("fk_expertise_inquiries_court_id_organisations"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["expertise_departments.id"],
            name=op.f("fk_expertise_inquiries_department_id_expertise_departments"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["specialisation_id"],
            ["expertise_specialisations.id"],
            name=op.f("fk_expertise_inquiries_specialisation_id_expertise_specialisations"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_expertise_inquiries")),
    )
    with op.batch_alter_table("expertise_inquiries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_expertise_inquiries_department_id"), ["department_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_expertise_inquiries_due_on"), ["due_on"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_expertise_inquiries_specialisation_id"),
            ["specialisation_id"],
            unique=False,
        )

    op.create_table(
        "expertise_parties",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=True),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("role", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_expertise_parties_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_expertise_parties_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            name=op.f("fk_expertise_parties_person_id_people"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_expertise_parties")),
    )
    with op.batch_alter_table("expertise_parties", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_expertise_parties_case_id"), ["case_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("expertise_parties", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_expertise_parties_case_id"))

    op.drop_table("expertise_parties")
    with op.batch_alter_table("expertise_inquiries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_expertise_inquiries_specialisation_id"))
        batch_op.drop_index(batch_op.f("ix_expertise_inquiries_due_on"))
        batch_op.drop_index(batch_op.f("ix_expertise_inquiries_department_id"))

    op.drop_table("expertise_inquiries")
    with op.batch_alter_table("expertise_expert_specialisations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_expertise_expert_specialisations_specialisation_id"))

    op.drop_table("expertise_expert_specialisations")
    with op.batch_alter_table("expertise_conflicts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_expertise_conflicts_person_id"))
        batch_op.drop_index(batch_op.f("ix_expertise_conflicts_organisation_id"))
        batch_op.drop_index(batch_op.f("ix_expertise_conflicts_expert_id"))

    op.drop_table("expertise_conflicts")
    with op.batch_alter_table("expertise_assignments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_expertise_assignments_expert_id"))
        batch_op.drop_index(batch_op.f("ix_expertise_assignments_case_id"))

    op.drop_table("expertise_assignments")
    with op.batch_alter_table("expertise_absences", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_expertise_absences_expert_id"))

    op.drop_table("expertise_absences")
    with op.batch_alter_table("expertise_experts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_expertise_experts_department_id"))
        batch_op.drop_index(batch_op.f("ix_expertise_experts_deleted_at"))

    op.drop_table("expertise_experts")
    with op.batch_alter_table("expertise_department_specialisations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_expertise_department_specialisations_specialisation_id"))

    op.drop_table("expertise_department_specialisations")
    with op.batch_alter_table("expertise_departments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_expertise_departments_manager_id"))
        batch_op.drop_index(batch_op.f("ix_expertise_departments_deleted_at"))

    op.drop_table("expertise_departments")
    op.drop_table("expertise_specialisations")
