"""Requests for a password reset e-mail, and the single-use links they send.

Every request is a row, whether or not an account has the address typed, so that
requests are throttled without telling anyone which addresses have accounts. A request
for an active account also holds the link's token, as its SHA-256 only.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UTCDateTime, utcnow


class PasswordReset(Base):
    __tablename__ = "password_resets"
    __table_args__ = (Index("ix_password_resets_email", "email", "created_at"),
                      Index("ix_password_resets_ip", "ip", "created_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    email: Mapped[str] = mapped_column(String(254))  # as typed, in lower case
    ip: Mapped[str] = mapped_column(String(45), default="")
    # The account mailed, with the link's token; None: no active account has the address.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                                index=True)
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the link was used, or made void by another change of the password.
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
