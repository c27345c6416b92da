"""A counter per kind of configuration; every process compares it to reload its cache."""

from __future__ import annotations

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base


class ConfigStamp(Base):
    __tablename__ = "config_stamps"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0)
