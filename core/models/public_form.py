"""Public forms an administrator builds from fields (a donor sign-up, a registration),
and what was sent through them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UTCDateTime, utcnow
from core.models.mixins import JSONType

OUTCOMES = ("created", "matched", "spam")  # a new person, one known by e-mail, a bot


class PublicForm(Base):
    """A form anyone may fill in at ``/forms/<key>``; each submission adds a person and,
    with a process, opens a case about them."""

    __tablename__ = "public_forms"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    intro: Mapped[str] = mapped_column(Text, default="")
    # [{"field": "email", "custom.<key>" or "case.<key>", "required": bool}, ...] in
    # form order
    fields: Mapped[list] = mapped_column(JSONType, default=list)
    # Each submission opens a case of this process about the sender (a request for an
    # offer, a lead); None: it only adds the person.
    process_key: Mapped[str | None] = mapped_column(String(64))
    consent_text: Mapped[str] = mapped_column(Text)
    purpose_id: Mapped[int | None] = mapped_column(
        ForeignKey("processing_purposes.id", ondelete="SET NULL"))
    tags: Mapped[list] = mapped_column(JSONType, default=list)
    thank_you: Mapped[str] = mapped_column(Text, default="")
    notify_user_ids: Mapped[list] = mapped_column(JSONType, default=list)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id",
                                                                 ondelete="SET NULL"))


class FormSubmission(Base):
    """One sending of a public form: what was typed, from where, and whom it added."""

    __tablename__ = "form_submissions"
    __table_args__ = (Index("ix_form_submissions_address", "address", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    form_id: Mapped[int] = mapped_column(ForeignKey("public_forms.id", ondelete="CASCADE"),
                                         index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"),
                                                  index=True)
    outcome: Mapped[str] = mapped_column(String(20))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="SET NULL"))
    data: Mapped[dict] = mapped_column(JSONType, default=dict)
    address: Mapped[str] = mapped_column(String(45), default="")  # the sender's IP
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
