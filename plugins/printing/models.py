"""The printing plugin's tables: the customer's print files of a project (PR-9)."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, UTCDateTime
from core.models import Attachment
from core.models.mixins import Tracked

# A file is received (on upload, and again when a rejected one is replaced), then
# checked by prepress or rejected with a reason the customer is told.
STATUSES = ("received", "checked", "rejected")


class PrintFile(Tracked, Base):
    """A graphics file the customer sent for a print project (a core case of
    ``printing.project``), with what prepress needs to know of it: the format, the
    resolution, the colour profile and the bleed. The bytes are the case's attachment
    (``attachment_id``); a replacement after a rejection points at the new one, and
    the old one stays on the case. ``revision`` counts the uploads."""

    __tablename__ = "printing_print_files"
    record_type: ClassVar[str] = "printing_print_file"
    scoped: ClassVar[bool] = False  # who sees and changes it follows its project

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"),
                                         index=True)
    attachment_id: Mapped[int] = mapped_column(
        ForeignKey("attachments.id", ondelete="RESTRICT"), index=True)
    revision: Mapped[int] = mapped_column(default=1)
    # The final size of the print, without the bleed.
    width_mm: Mapped[int] = mapped_column()
    height_mm: Mapped[int] = mapped_column()
    dpi: Mapped[int] = mapped_column()
    colour_profile: Mapped[str] = mapped_column(String(100))
    bleed_mm: Mapped[int] = mapped_column(default=0)
    notes: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(10), default="received")
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"))
    # Who checked or rejected it last, and when; cleared when a replacement arrives.
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reviewed_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"))
    rejection_reason: Mapped[str] = mapped_column(Text, default="")

    attachment: Mapped[Attachment] = relationship()

    @property
    def filename(self) -> str:
        """The name the customer gave the file: what the audit trail calls the record."""
        return self.attachment.filename if self.attachment is not None else ""
