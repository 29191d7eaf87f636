"""REST routes of the signed-in user's notifications (``/api/v1/notifications``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from loopcrm.platform.http.dependencies import DEFAULT_PAGE_SIZE, CurrentActor, Cursor, Limit, Uow
from loopcrm.platform.notifications import service as notifications
from loopcrm.platform.notifications.schemas import MarkedRead, NotificationOut, UnreadCount
from loopcrm.platform.pagination import Page

router = APIRouter(prefix="/notifications", tags=["notifications"])


@router.get("", response_model=Page[NotificationOut])
def list_notifications(
    actor: CurrentActor,
    uow: Uow,
    unread: Annotated[bool, Query(description="only notifications not yet read")] = False,
    limit: Limit = DEFAULT_PAGE_SIZE,
    cursor: Cursor = None,
) -> Page[NotificationOut]:
    """Your notifications, newest first. Nobody sees anyone else's."""
    return notifications.list_notifications(uow, actor, unread_only=unread, limit=limit, cursor=cursor)


@router.get("/unread-count", response_model=UnreadCount)
def count_unread(actor: CurrentActor, uow: Uow) -> UnreadCount:
    return UnreadCount(unread=notifications.unread_count(uow, actor))


@router.post("/read-all", response_model=MarkedRead)
def mark_all_read(actor: CurrentActor, uow: Uow) -> MarkedRead:
    return MarkedRead(marked=notifications.mark_all_read(uow, actor))


@router.get("/{notification_id}", response_model=NotificationOut)
def read_notification(notification_id: str, actor: CurrentActor, uow: Uow) -> NotificationOut:
    return notifications.get_notification(uow, actor, notification_id)


@router.post("/{notification_id}/read", response_model=NotificationOut)
def mark_read(notification_id: str, actor: CurrentActor, uow: Uow) -> NotificationOut:
    return notifications.mark_read(uow, actor, notification_id)
