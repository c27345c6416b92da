"""The register of processing purposes and the consents people gave or withdrew.

Consents are an append-only history: a withdrawal (or a renewal) is a new row, and the
state for a person and purpose is their newest row, by time and then by id.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, UTCDateTime, utcnow
from core.models.mixins import JSONType

# The lawful bases of GDPR art. 6(1), a to f.
LEGAL_BASES = ("consent", "contract", "legal_obligation", "vital_interests", "public_task",
               "legitimate_interest")
STATES = ("given", "withdrawn")
SOURCES = ("form", "import", "staff", "portal", "api", "email")  # email: a link in one


class ProcessingPurpose(Base):
    """Why personal data is processed: the data protection officer's register."""

    __tablename__ = "processing_purposes"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    legal_basis: Mapped[str] = mapped_column(String(30))
    description: Mapped[str] = mapped_column(Text, default="")
    # How long data may be kept after a person's newest consent row for the purpose;
    # None: while a consent stands, without a limit.
    retention_days: Mapped[int | None]
    data_categories: Mapped[list] = mapped_column(JSONType, default=list)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Consent(Base):
    """One consent given or withdrawn by one person for one purpose."""

    __tablename__ = "consents"
    # The newest row of a person and purpose is read along this index.
    __table_args__ = (Index("ix_consents_newest", "person_id", "purpose_id", "at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    purpose_id: Mapped[int] = mapped_column(ForeignKey("processing_purposes.id"), index=True)
    state: Mapped[str] = mapped_column(String(10))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    source: Mapped[str] = mapped_column(String(10))
    # The exact wording the person agreed to (or how they withdrew).
    evidence: Mapped[str] = mapped_column(Text, default="")
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    note: Mapped[str] = mapped_column(Text, default="")

    purpose: Mapped[ProcessingPurpose] = relationship()
