"""Records: organisations, people, memberships, activities, links, tags.

Revision ID: 0002_records
Revises: 0001_core_start
Create Date: 2026-11-22 16:21:03.523545
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002_records"
down_revision = "0001_core_start"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "organisation_types",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("label_pl", sa.String(length=100), nullable=False),
        sa.Column("label_en", sa.String(length=100), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_organisation_types")),
    )
    op.create_table(
        "tags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tags")),
        sa.UniqueConstraint("name", name=op.f("uq_tags_name")),
    )
    op.create_table(
        "activities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("event", sa.String(length=50), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("data", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_activities_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_activities")),
    )
    with op.batch_alter_table("activities", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_activities_kind"), ["kind"], unique=False)

    op.create_table(
        "organisations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("name_key", sa.String(length=300), nullable=False),
        sa.Column("short_name", sa.String(length=100), nullable=False),
        sa.Column("type_key", sa.String(length=64), nullable=False),
        sa.Column("nip", sa.String(length=10), nullable=False),
        sa.Column("regon", sa.String(length=14), nullable=False),
        sa.Column("krs", sa.String(length=10), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("website", sa.String(length=300), nullable=False),
        sa.Column("street", sa.String(length=200), nullable=False),
        sa.Column("postal_code", sa.String(length=6), nullable=False),
        sa.Column("city", sa.String(length=100), nullable=False),
        sa.Column("region", sa.String(length=100), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("merged_into_id", sa.Integer(), nullable=True),
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
            name=op.f("fk_organisations_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["merged_into_id"],
            ["organisations.id"],
            name=op.f("fk_organisations_merged_into_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["users.id"],
            name=op.f("fk_organisations_owner_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_id"],
            ["users.id"],
            name=op.f("fk_organisations_updated_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisations")),
    )
    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_organisations_city"), ["city"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_organisations_deleted_at"), ["deleted_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_organisations_email"), ["email"], unique=False)
        batch_op.create_index(batch_op.f("ix_organisations_krs"), ["krs"], unique=False)
        batch_op.create_index(batch_op.f("ix_organisations_name_key"), ["name_key"], unique=False)
        batch_op.create_index(batch_op.f("ix_organisations_nip"), ["nip"], unique=False)
        batch_op.create_index(batch_op.f("ix_organisations_owner_id"), ["owner_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_organisations_phone"), ["phone"], unique=False)
        batch_op.create_index(batch_op.f("ix_organisations_region"), ["region"], unique=False)
        batch_op.create_index(batch_op.f("ix_organisations_regon"), ["regon"], unique=False)
        batch_op.create_index(batch_op.f("ix_organisations_type_key"), ["type_key"], unique=False)

    op.create_table(
        "people",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("first_name", sa.String(length=100), nullable=False),
        sa.Column("last_name", sa.String(length=100), nullable=False),
        sa.Column("name_key", sa.String(length=200), nullable=False),
        sa.Column("pesel", sa.String(length=11), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("merged_into_id", sa.Integer(), nullable=True),
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
            name=op.f("fk_people_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["merged_into_id"], ["people.id"], name=op.f("fk_people_merged_into_id_people")
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_people_owner_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_id"],
            ["users.id"],
            name=op.f("fk_people_updated_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_people")),
    )
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_people_deleted_at"), ["deleted_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_people_name_key"), ["name_key"], unique=False)
        batch_op.create_index(batch_op.f("ix_people_owner_id"), ["owner_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_people_pesel"), ["pesel"], unique=False)

    op.create_table(
        "record_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_type", sa.String(length=50), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("target_type", sa.String(length=50), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("link_type", sa.String(length=50), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_record_links_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_record_links")),
        sa.UniqueConstraint(
            "source_type",
            "source_id",
            "target_type",
            "target_id",
            "link_type",
            name="uq_record_links_pair",
        ),
    )
    with op.batch_alter_table("record_links", schema=None) as batch_op:
        batch_op.create_index("ix_record_links_source", ["source_type", "source_id"], unique=False)
        batch_op.create_index("ix_record_links_target", ["target_type", "target_id"], unique=False)

    op.create_table(
        "taggings",
        sa.Column("tag_id", sa.Integer(), nullable=False),
        sa.Column("record_type", sa.String(length=50), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tag_id"], ["tags.id"], name=op.f("fk_taggings_tag_id_tags"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tag_id", "record_type", "record_id", name=op.f("pk_taggings")),
    )
    with op.batch_alter_table("taggings", schema=None) as batch_op:
        batch_op.create_index("ix_taggings_record", ["record_type", "record_id"], unique=False)

    op.create_table(
        "activity_links",
        sa.Column("activity_id", sa.Integer(), nullable=False),
        sa.Column("record_type", sa.String(length=50), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["activity_id"],
            ["activities.id"],
            name=op.f("fk_activity_links_activity_id_activities"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "activity_id", "record_type", "record_id", name=op.f("pk_activity_links")
        ),
    )
    with op.batch_alter_table("activity_links", schema=None) as batch_op:
        batch_op.create_index(
            "ix_activity_links_timeline",
            ["record_type", "record_id", "occurred_at", "activity_id"],
            unique=False,
        )

    op.create_table(
        "addresses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=50), nullable=False),
        sa.Column("street", sa.String(length=200), nullable=False),
        sa.Column("postal_code", sa.String(length=6), nullable=False),
        sa.Column("city", sa.String(length=100), nullable=False),
        sa.Column("region", sa.String(length=100), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            name=op.f("fk_addresses_person_id_people"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_addresses")),
    )
    with op.batch_alter_table("addresses", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_addresses_person_id"), ["person_id"], unique=False)

    op.create_table(
        "contact_points",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("value", sa.String(length=254), nullable=False),
        sa.Column("label", sa.String(length=50), nullable=False),
        sa.Column("is_primary", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            name=op.f("fk_contact_points_person_id_people"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_points")),
    )
    with op.batch_alter_table("contact_points", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_contact_points_person_id"), ["person_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_contact_points_value"), ["value"], unique=False)

    op.create_table(
        "org_units",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_org_units_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["org_units.id"], name=op.f("fk_org_units_parent_id_org_units")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_org_units")),
    )
    with op.batch_alter_table("org_units", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_org_units_organisation_id"), ["organisation_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_org_units_parent_id"), ["parent_id"], unique=False)

    op.create_table(
        "memberships",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("role", sa.String(length=150), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=True),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_memberships_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            name=op.f("fk_memberships_person_id_people"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["org_units.id"], name=op.f("fk_memberships_unit_id_org_units")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_memberships")),
    )
    with op.batch_alter_table("memberships", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_memberships_end_date"), ["end_date"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_memberships_organisation_id"), ["organisation_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_memberships_person_id"), ["person_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_memberships_unit_id"), ["unit_id"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("memberships", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_memberships_unit_id"))
        batch_op.drop_index(batch_op.f("ix_memberships_person_id"))
        batch_op.drop_index(batch_op.f("ix_memberships_organisation_id"))
        batch_op.drop_index(batch_op.f("ix_memberships_end_date"))

    op.drop_table("memberships")
    with op.batch_alter_table("org_units", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_org_units_parent_id"))
        batch_op.drop_index(batch_op.f("ix_org_units_organisation_id"))

    op.drop_table("org_units")
    with op.batch_alter_table("contact_points", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contact_points_value"))
        batch_op.drop_index(batch_op.f("ix_contact_points_person_id"))

    op.drop_table("contact_points")
    with op.batch_alter_table("addresses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_addresses_person_id"))

    op.drop_table("addresses")
    with op.batch_alter_table("activity_links", schema=None) as batch_op:
        batch_op.drop_index("ix_activity_links_timeline")

    op.drop_table("activity_links")
    with op.batch_alter_table("taggings", schema=None) as batch_op:
        batch_op.drop_index("ix_taggings_record")

    op.drop_table("taggings")
    with op.batch_alter_table("record_links", schema=None) as batch_op:
        batch_op.drop_index("ix_record_links_target")
        batch_op.drop_index("ix_record_links_source")

    op.drop_table("record_links")
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_people_pesel"))
        batch_op.drop_index(batch_op.f("ix_people_owner_id"))
        batch_op.drop_index(batch_op.f("ix_people_name_key"))
        batch_op.drop_index(batch_op.f("ix_people_deleted_at"))

    op.drop_table("people")
    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_organisations_type_key"))
        batch_op.drop_index(batch_op.f("ix_organisations_regon"))
        batch_op.drop_index(batch_op.f("ix_organisations_region"))
        batch_op.drop_index(batch_op.f("ix_organisations_phone"))
        batch_op.drop_index(batch_op.f("ix_organisations_owner_id"))
        batch_op.drop_index(batch_op.f("ix_organisations_nip"))
        batch_op.drop_index(batch_op.f("ix_organisations_name_key"))
        batch_op.drop_index(batch_op.f("ix_organisations_krs"))
        batch_op.drop_index(batch_op.f("ix_organisations_email"))
        batch_op.drop_index(batch_op.f("ix_organisations_deleted_at"))
        batch_op.drop_index(batch_op.f("ix_organisations_city"))

    op.drop_table("organisations")
    with op.batch_alter_table("activities", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_activities_kind"))

    op.drop_table("activities")
    op.drop_table("tags")
    op.drop_table("organisation_types")
