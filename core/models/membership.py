"""Who worked where, in which role, from when to when.

A rotation or promotion ends one membership and starts another, so the history is
never overwritten.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base
from core.models.organisation import Organisation, OrgUnit
from core.models.person import Person


class Membership(Base):
    __tablename__ = "memberships"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"),
                                           index=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"), index=True)
    role: Mapped[str] = mapped_column(String(150), default="")
    start_date: Mapped[date | None]
    end_date: Mapped[date | None] = mapped_column(index=True)

    person: Mapped[Person] = relationship()
    organisation: Mapped[Organisation] = relationship()
    unit: Mapped[OrgUnit | None] = relationship()

    def is_current(self, on: date) -> bool:
        return (self.start_date is None or self.start_date <= on) and \
            (self.end_date is None or self.end_date >= on)
