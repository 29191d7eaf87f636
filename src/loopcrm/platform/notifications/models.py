"""The notification table: one row per message to one user."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from loopcrm.platform.db import Base, new_id, utc_now

MAX_MESSAGE_LENGTH = 500
MAX_PATH_LENGTH = 500


class NotificationKind(StrEnum):
    """Why a user is told something; new kinds are added here as modules need them."""

    ASSIGNED_TO_YOU = "assigned_to_you"  # someone made you responsible for a record or a task
    TASK_DUE = "task_due"  # a task assigned to you has reached its due time and is still open
    TASK_REMINDER = "task_reminder"  # the reminder time of an open task assigned to you has come
    MENTIONED = "mentioned"  # someone @mentioned you in a note


class Notification(Base):
    """One message to one user. ``message`` is an English msgid; ``params`` fill its placeholders
    when it is shown; ``path`` is the page it is about (a local path), if any."""

    __tablename__ = "notifications"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    recipient_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(32))
    message: Mapped[str] = mapped_column(String(MAX_MESSAGE_LENGTH))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    path: Mapped[str | None] = mapped_column(String(MAX_PATH_LENGTH), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    read_at: Mapped[datetime | None] = mapped_column(default=None)

    __table_args__ = (
        # The bell's unread count and the "unread" list: one range of this index per user.
        Index("ix_notifications_recipient_unread", "recipient_id", "read_at", "id"),
        # The notification page: a user's notifications newest first.
        Index("ix_notifications_recipient", "recipient_id", "id"),
    )

    @property
    def is_read(self) -> bool:
        return self.read_at is not None
