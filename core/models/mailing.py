"""A mailing: one e-mail template sent, personalised, to an audience.

The audience is a saved segment of people, the people of a case, or a hand-picked
list. What each person got is in the outbox and on their timeline, not here.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UTCDateTime, utcnow
from core.models.mixins import JSONType

AUDIENCES = ("segment", "case", "people")
# active: a recurring mailing between its rounds.
STATES = ("draft", "scheduled", "queuing", "sending", "active", "done", "cancelled")


class Mailing(Base):
    __tablename__ = "mailings"
    record_type: ClassVar[str] = "mailing"
    scoped: ClassVar[bool] = False  # managed with core.send_mailings

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    template_id: Mapped[int | None] = mapped_column(
        ForeignKey("document_templates.id", ondelete="SET NULL"))
    # marketing: needs a valid consent to purpose_key and carries an unsubscribe link;
    # service: mail a person needs for what they asked for (an enrolment confirmation).
    kind: Mapped[str] = mapped_column(String(10), default="marketing")
    purpose_key: Mapped[str | None] = mapped_column(String(64))
    audience: Mapped[str] = mapped_column(String(10))
    segment_id: Mapped[int | None] = mapped_column(
        ForeignKey("segments.id", ondelete="SET NULL"))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="SET NULL"))
    person_ids: Mapped[list] = mapped_column(JSONType, default=list)
    # Attachments sent to everyone, and a document template made for each recipient.
    attachment_ids: Mapped[list] = mapped_column(JSONType, default=list)
    own_document_template_id: Mapped[int | None] = mapped_column(
        ForeignKey("document_templates.id", ondelete="SET NULL"))
    state: Mapped[str] = mapped_column(String(10), default="draft")
    # Keeps going: every hour it also reaches whoever joined the audience since (a
    # reminder to a segment "training in 3 days"); each person gets it once.
    recurring: Mapped[bool] = mapped_column(default=False)
    scheduled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"))
    # People the audience held who were left out, by reason ({"no_consent": 12, ...}).
    left_out: Mapped[dict] = mapped_column(JSONType, default=dict)
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"))
