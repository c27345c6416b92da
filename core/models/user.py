"""Accounts: staff, and portal accounts bound to one organisation."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UTCDateTime, utcnow


class User(Base):
    __tablename__ = "users"
    record_type: ClassVar[str] = "user"
    scoped: ClassVar[bool] = False  # accounts are managed with core.manage_users

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    full_name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(200))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Secret part of the personal iCalendar feed URL; None: no feed.
    feed_token: Mapped[str | None] = mapped_column(String(64), unique=True)
    # "staff", or "portal": an external account that only ever sees its organisation.
    # (use_alter: organisations and people point back at users as owners.)
    kind: Mapped[str] = mapped_column(String(10), default="staff")
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE", use_alter=True), index=True)
    # The person a portal account stands for (a participant sees their own data).
    person_id: Mapped[int | None] = mapped_column(
        ForeignKey("people.id", ondelete="SET NULL", use_alter=True))
    # A portal account that maintains its organisation's people and enrolments.
    portal_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The staff organisation chart: whom this account answers to (approvals and
    # escalations go up this line).
    supervisor_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True)
    # Base32 TOTP secret once the second factor is confirmed; None: password only.
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    # The last accepted TOTP time step, so one code cannot be used twice.
    totp_last_step: Mapped[int] = mapped_column(Integer, default=0)

    @property
    def is_portal(self) -> bool:
        return self.kind == "portal"

    # Flask-Login's user protocol.
    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    # The server-side session this object was loaded through (core.auth_sessions): it,
    # not the id, is what the login cookie holds, so ending it on the server ends it.
    session_token = None

    def get_id(self) -> str | None:
        return self.session_token
