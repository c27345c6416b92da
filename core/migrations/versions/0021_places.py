"""The gazetteer of places, for choosing records by their distance from a town.

Revision ID: 0021_places
Revises: 0020_site_settings
"""

import sqlalchemy as sa
from alembic import op

revision = "0021_places"
down_revision = "0020_site_settings"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "places",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("place_id", sa.Integer(), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("name_key", sa.String(length=200), nullable=False),
        sa.Column("region_code", sa.String(length=20), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=False),
        sa.Column("longitude", sa.Float(), nullable=False),
        sa.Column("longitude_km", sa.Float(), nullable=False),
        sa.Column("population", sa.Integer(), nullable=False),
        sa.Column("principal", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_places")),
    )
    op.create_index(op.f("ix_places_country"), "places", ["country"])
    op.create_index(op.f("ix_places_place_id"), "places", ["place_id"])
    op.create_index("ix_places_name_key_principal", "places", ["name_key", "principal"])


def downgrade() -> None:
    op.drop_index("ix_places_name_key_principal", table_name="places")
    op.drop_index(op.f("ix_places_place_id"), table_name="places")
    op.drop_index(op.f("ix_places_country"), table_name="places")
    op.drop_table("places")
