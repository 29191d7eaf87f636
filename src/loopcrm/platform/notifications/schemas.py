"""What the notification API returns."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from loopcrm.platform.notifications.models import NotificationKind


class NotificationOut(BaseModel):
    """A notification as its recipient sees it. ``text`` is ``message`` translated into the
    reader's language with ``params`` filled in; clients that translate themselves use those two."""

    id: str
    kind: NotificationKind
    message: str = Field(description="English msgid with {placeholders}")
    params: dict[str, Any]
    text: str = Field(description="the message in the reader's language")
    path: str | None = Field(description="the web page the notification is about")
    created_at: datetime
    read_at: datetime | None
    is_read: bool


class UnreadCount(BaseModel):
    unread: int


class MarkedRead(BaseModel):
    marked: int = Field(description="how many notifications were unread and are read now")
