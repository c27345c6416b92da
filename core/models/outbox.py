"""The outbox: every e-mail Kartoteka sends, written in the transaction that causes it.

A message moves queued -> claimed (a worker took it) -> sending (recorded just before
the hand-over to the SMTP server) -> sent. A worker that dies between "sending" and
"sent" leaves a message whose fate is unknown: it becomes ``uncertain`` (bulk mail is
not sent again) or is queued again with the same Message-ID (service mail). Messages
that must not go out any more (consent withdrawn) end as ``skipped``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UTCDateTime, utcnow
from core.models.mixins import JSONType

STATES = ("queued", "claimed", "sending", "sent", "failed", "uncertain", "skipped")
FINAL = ("sent", "failed", "uncertain", "skipped")
KINDS = ("marketing", "service")


class OutboxMessage(Base):
    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "state", "next_attempt_at"),
        Index("ix_outbox_sent_at", "sent_at"),
        # A mailing reaches a person once, however often its queueing job is retried.
        UniqueConstraint("mailing_id", "person_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(10))  # marketing | service
    # The consent purpose a marketing message needs at the moment it is sent.
    purpose_key: Mapped[str | None] = mapped_column(String(64))
    mailing_id: Mapped[int | None] = mapped_column(
        ForeignKey("mailings.id", ondelete="SET NULL"))
    person_id: Mapped[int | None] = mapped_column(
        ForeignKey("people.id", ondelete="SET NULL"), index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="SET NULL"))
    activity_id: Mapped[int | None] = mapped_column(
        ForeignKey("activities.id", ondelete="SET NULL"))
    to_address: Mapped[str] = mapped_column(String(320))
    to_name: Mapped[str] = mapped_column(String(300), default="")
    subject: Mapped[str] = mapped_column(String(300))
    text_body: Mapped[str] = mapped_column(Text, default="")
    html_body: Mapped[str] = mapped_column(Text, default="")
    headers: Mapped[dict] = mapped_column(JSONType, default=dict)
    # Attachment ids of files kept in Kartoteka, shared or this recipient's own.
    attachments: Mapped[list] = mapped_column(JSONType, default=list)
    state: Mapped[str] = mapped_column(String(10), default="queued")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_by: Mapped[str] = mapped_column(String(100), default="")
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Why it failed, was skipped or is uncertain, as the SMTP server or the rule said.
    error: Mapped[str] = mapped_column(Text, default="")
    # The consent the message went out under: {"purpose", "consent_id", "given_at"}.
    consent: Mapped[dict] = mapped_column(JSONType, default=dict)
    # When the recipient used this message's unsubscribe link.
    unsubscribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"))


class Suppression(Base):
    """An address that never gets marketing mail: unsubscribed elsewhere (imported from
    another mailing system) or bouncing for good."""

    __tablename__ = "mail_suppressions"

    address: Mapped[str] = mapped_column(String(320), primary_key=True)  # lower case
    reason: Mapped[str] = mapped_column(String(20))  # import | bounce | unsubscribe
    note: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"))
