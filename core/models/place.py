"""A name of a place of the gazetteer: a town or village with its coordinates, so that
records can be chosen by their distance from a town (``core.places``). A place has a row
for its name and one for each other name it is known by (Warszawa for Warsaw)."""

from __future__ import annotations

from sqlalchemy import Boolean, Float, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base


class Place(Base):
    __tablename__ = "places"
    __table_args__ = (Index("ix_places_name_key_principal", "name_key", "principal"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    place_id: Mapped[int] = mapped_column(Integer, index=True)  # GeoNames id of the place
    country: Mapped[str] = mapped_column(String(2), index=True)
    name: Mapped[str] = mapped_column(String(200))  # the place's main name
    name_key: Mapped[str] = mapped_column(String(200))  # this name, in lower case
    region_code: Mapped[str] = mapped_column(String(20), default="")
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    # Kilometres per degree of longitude at this latitude: distances stay plain
    # arithmetic, the same on SQLite (no trigonometry) and PostgreSQL.
    longitude_km: Mapped[float] = mapped_column(Float)
    population: Mapped[int] = mapped_column(Integer, default=0)
    # The place a name means in its country: where it is a place's main name, the most
    # populous of those; else the most populous place also known by it.
    principal: Mapped[bool] = mapped_column(Boolean, default=False)
