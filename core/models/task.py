"""Tasks: what someone has to do, by when, about which records."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, UTCDateTime
from core.models.mixins import Tracked

PRIORITIES = {1: "low", 2: "normal", 3: "high", 4: "urgent"}
STATUSES = ("open", "done", "cancelled")


class Task(Tracked, Base):
    __tablename__ = "tasks"
    __table_args__ = (Index("ix_tasks_open_due", "status", "due_at"),)
    record_type: ClassVar[str] = "task"
    owner_columns: ClassVar[tuple[str, ...]] = ("assignee_id",)  # whose task it is

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    assignee_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"),
                                                index=True)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    priority: Mapped[int] = mapped_column(Integer, default=2)
    status: Mapped[str] = mapped_column(String(20), default="open")
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    remind_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    links: Mapped[list[TaskLink]] = relationship(cascade="all, delete-orphan")


class TaskLink(Base):
    __tablename__ = "task_links"
    __table_args__ = (Index("ix_task_links_record", "record_type", "record_id"),)

    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"),
                                         primary_key=True)
    record_type: Mapped[str] = mapped_column(String(50), primary_key=True)
    record_id: Mapped[int] = mapped_column(primary_key=True)
