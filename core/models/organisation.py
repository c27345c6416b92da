"""Organisations (the card index's institutions) and their internal units."""

from __future__ import annotations

from typing import ClassVar

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base
from core.models.mixins import Tracked, owner_column


class OrganisationType(Base):
    """A type an administrator added; the core's and plugins' types come from hooks."""

    __tablename__ = "organisation_types"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    label_pl: Mapped[str] = mapped_column(String(100))
    label_en: Mapped[str] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(default=True)


class Organisation(Tracked, Base):
    __tablename__ = "organisations"
    record_type: ClassVar[str] = "organisation"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    # Lower case, no diacritics, punctuation or legal form: for duplicate detection.
    name_key: Mapped[str] = mapped_column(String(300), index=True, default="")
    short_name: Mapped[str] = mapped_column(String(100), default="")
    type_key: Mapped[str] = mapped_column(String(64), index=True)
    nip: Mapped[str] = mapped_column(String(10), index=True, default="")
    regon: Mapped[str] = mapped_column(String(14), index=True, default="")
    krs: Mapped[str] = mapped_column(String(10), index=True, default="")
    email: Mapped[str] = mapped_column(String(254), index=True, default="")
    phone: Mapped[str] = mapped_column(String(20), index=True, default="")
    website: Mapped[str] = mapped_column(String(300), default="")
    street: Mapped[str] = mapped_column(String(200), default="")
    postal_code: Mapped[str] = mapped_column(String(6), default="")
    city: Mapped[str] = mapped_column(String(100), index=True, default="")
    region: Mapped[str] = mapped_column(String(100), index=True, default="")
    country: Mapped[str] = mapped_column(String(2), default="PL")
    notes: Mapped[str] = mapped_column(Text, default="")
    owner_id: Mapped[int | None] = owner_column()
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))

    units: Mapped[list[OrgUnit]] = relationship(back_populates="organisation",
                                                order_by="OrgUnit.name")


class OrgUnit(Base):
    """A department, branch or office inside an organisation; units nest."""

    __tablename__ = "org_units"
    record_type: ClassVar[str] = "unit"
    scoped: ClassVar[bool] = False  # part of its organisation: reached through it

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(default=True)

    organisation: Mapped[Organisation] = relationship(back_populates="units")
