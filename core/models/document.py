"""Document templates with their history, number series, and the documents made from them.

A template's text is never changed in place: each edit is a new ``TemplateVersion``,
and the template points at the one in use, so every document says which version made
it and going back is choosing an older one again.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, UTCDateTime, utcnow


class DocumentTemplate(Base):
    __tablename__ = "document_templates"
    record_type: ClassVar[str] = "template"
    scoped: ClassVar[bool] = False  # managed with core.manage_templates

    id: Mapped[int] = mapped_column(primary_key=True)
    # '<owner>.<name>': a plugin's default ("printing.offer") or an administrator's
    # ("local.thank_you").
    key: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(64))  # email, letter, contract, offer...
    # The type of record it is filled from: organisation, person, case.
    subject_type: Mapped[str] = mapped_column(String(64))
    name_pl: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    # The number series documents made from it take their numbers from, if any.
    series_key: Mapped[str | None] = mapped_column(String(64))
    current_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("template_versions.id", use_alter=True, ondelete="SET NULL"))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TemplateVersion(Base):
    """One text of a template, as it was saved: kept for good."""

    __tablename__ = "template_versions"
    __table_args__ = (UniqueConstraint("template_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    template_id: Mapped[int] = mapped_column(
        ForeignKey("document_templates.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column()  # 1, 2, 3... within the template
    subject: Mapped[str] = mapped_column(String(300), default="")  # e-mails' subject line
    body: Mapped[str] = mapped_column(Text)  # HTML
    text_body: Mapped[str] = mapped_column(Text, default="")  # e-mails' plain text
    note: Mapped[str] = mapped_column(String(300), default="")  # what changed, and why
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id",
                                                                 ondelete="SET NULL"))

    template: Mapped[DocumentTemplate] = relationship(foreign_keys=[template_id])


RESETS = ("yearly", "monthly", "never")


class NumberSeries(Base):
    """How documents of a kind are numbered: ``UM/{year}/{seq:04}``, reset yearly."""

    __tablename__ = "number_series"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    pattern: Mapped[str] = mapped_column(String(100))
    reset: Mapped[str] = mapped_column(String(10), default="yearly")


class NumberCounter(Base):
    """The last number issued in a series for one period ("2026", "2026-03", "")."""

    __tablename__ = "number_counters"

    series_key: Mapped[str] = mapped_column(
        ForeignKey("number_series.key", ondelete="CASCADE"), primary_key=True)
    period: Mapped[str] = mapped_column(String(7), primary_key=True)
    last: Mapped[int] = mapped_column(default=0)


class Document(Base):
    """A document made from a template for a record: its file is an attachment of the
    record, never changed; making it again is a new document."""

    __tablename__ = "documents"
    __table_args__ = (Index("ix_documents_record", "record_type", "record_id"),
                      UniqueConstraint("series_key", "number"))

    id: Mapped[int] = mapped_column(primary_key=True)
    template_id: Mapped[int | None] = mapped_column(
        ForeignKey("document_templates.id", ondelete="SET NULL"), index=True)
    template_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("template_versions.id", ondelete="SET NULL"))
    record_type: Mapped[str] = mapped_column(String(50))
    record_id: Mapped[int] = mapped_column()
    # Unique within its series: two series may well both write "1/2026".
    series_key: Mapped[str | None] = mapped_column(String(64))
    number: Mapped[str | None] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(300))
    attachment_id: Mapped[int | None] = mapped_column(
        ForeignKey("attachments.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id",
                                                                 ondelete="SET NULL"))
