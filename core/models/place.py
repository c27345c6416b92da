"""A place of the gazetteer: a town or village with its coordinates, so that records can
be chosen by their distance from a town (``core.places``)."""

from __future__ import annotations

from sqlalchemy import Boolean, Float, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base


class Place(Base):
    __tablename__ = "places"
    __table_args__ = (Index("ix_places_name_key_principal", "name_key", "principal"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)  # GeoNames id
    country: Mapped[str] = mapped_column(String(2), index=True)
    name: Mapped[str] = mapped_column(String(200))
    name_key: Mapped[str] = mapped_column(String(200))  # the name in lower case
    region_code: Mapped[str] = mapped_column(String(20), default="")
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    # Kilometres per degree of longitude at this latitude: distances stay plain
    # arithmetic, the same on SQLite (no trigonometry) and PostgreSQL.
    longitude_km: Mapped[float] = mapped_column(Float)
    population: Mapped[int] = mapped_column(Integer, default=0)
    # The most populous place of its name in its country: the one a town's name means.
    principal: Mapped[bool] = mapped_column(Boolean, default=False)
