"""Telling users things: any module's :func:`notify`, and each user's own list, count and read marks.

Permissions are simple and fixed: a user reads and marks only notifications addressed to them
(another user's notification is "not found", so ids are not confirmed). The system actor has no
inbox. A read-only API token may read notifications but not mark them read.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from sqlalchemy import CursorResult, func, select, update

from loopcrm.platform.audit.service import json_value
from loopcrm.platform.db import utc_now
from loopcrm.platform.errors import NotFound, PermissionDenied
from loopcrm.platform.i18n import translator
from loopcrm.platform.notifications.models import (
    MAX_MESSAGE_LENGTH,
    MAX_PATH_LENGTH,
    Notification,
    NotificationKind,
)
from loopcrm.platform.notifications.schemas import NotificationOut
from loopcrm.platform.pagination import Page, paginate
from loopcrm.platform.permissions import Actor, TokenScope
from loopcrm.platform.unit_of_work import UnitOfWork


def notify(
    uow: UnitOfWork,
    recipient_user_id: str,
    kind: NotificationKind,
    message: str,
    params: Mapping[str, Any] | None = None,
    path: str | None = None,
) -> str:
    """Add a notification for one user to the caller's open unit of work; returns its id.

    Call it inside a service's or a job handler's ``with uow:`` block, before its commit: the
    notification then exists exactly when the caller's change does. ``message`` is an English
    msgid marked with ``N_`` in the calling module (its catalogue translates it); ``params`` must
    be JSON values; ``path`` a page of this site such as ``/activities/<id>``.
    """
    if not message or len(message) > MAX_MESSAGE_LENGTH:
        raise ValueError(f"a notification message is 1 to {MAX_MESSAGE_LENGTH} characters")
    if path is not None and (
        not path.startswith("/") or path.startswith("//") or len(path) > MAX_PATH_LENGTH
    ):
        raise ValueError(f"a notification's path is a local path such as /activities/1, not {path!r}")
    notification = Notification(
        recipient_id=recipient_user_id,
        kind=NotificationKind(kind).value,
        message=message,
        params=json_value(dict(params or {})),
        path=path,
        created_at=utc_now(),
        read_at=None,
    )
    uow.session.add(notification)
    uow.session.flush()
    return notification.id


def _recipient(actor: Actor) -> str:
    if actor.user_id is None:
        raise PermissionDenied("Only users have notifications")
    return actor.user_id


def _may_mark(actor: Actor) -> str:
    if actor.token_scope is TokenScope.READ:
        raise PermissionDenied("A read-only API token cannot mark notifications read")
    return _recipient(actor)


def _out(actor: Actor, notification: Notification) -> NotificationOut:
    return NotificationOut(
        id=notification.id,
        kind=NotificationKind(notification.kind),
        message=notification.message,
        params=dict(notification.params or {}),
        text=translator(actor.locale).message(notification.message, notification.params),
        path=notification.path,
        created_at=notification.created_at,
        read_at=notification.read_at,
        is_read=notification.is_read,
    )


def list_notifications(
    uow: UnitOfWork, actor: Actor, *, unread_only: bool = False, limit: int, cursor: str | None
) -> Page[NotificationOut]:
    """The actor's notifications, newest first; ``unread_only`` leaves out those already read."""
    recipient_id = _recipient(actor)
    with uow:
        statement = select(Notification).where(Notification.recipient_id == recipient_id)
        if unread_only:
            statement = statement.where(Notification.read_at.is_(None))
        return paginate(
            uow.session,
            statement,
            Notification.id,
            limit=limit,
            cursor=cursor,
            convert=lambda notification: _out(actor, notification),
        )


def unread_count(uow: UnitOfWork, actor: Actor) -> int:
    """How many of the actor's notifications are unread (the number on the bell)."""
    recipient_id = _recipient(actor)
    with uow:
        found = uow.session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(Notification.recipient_id == recipient_id, Notification.read_at.is_(None))
        )
        return int(found or 0)


def get_notification(uow: UnitOfWork, actor: Actor, notification_id: str) -> NotificationOut:
    recipient_id = _recipient(actor)
    with uow:
        return _out(actor, _own(uow, recipient_id, notification_id))


def mark_read(uow: UnitOfWork, actor: Actor, notification_id: str) -> NotificationOut:
    """Mark one of the actor's notifications read; marking it again keeps the first time."""
    recipient_id = _may_mark(actor)
    with uow:
        notification = _own(uow, recipient_id, notification_id)
        if notification.read_at is None:
            notification.read_at = utc_now()
            uow.session.flush()
        result = _out(actor, notification)
        uow.commit()
        return result


def mark_all_read(uow: UnitOfWork, actor: Actor) -> int:
    """Mark every unread notification of the actor read; returns how many there were."""
    recipient_id = _may_mark(actor)
    with uow:
        result = uow.session.execute(
            update(Notification)
            .where(Notification.recipient_id == recipient_id, Notification.read_at.is_(None))
            .values(read_at=utc_now())
            .execution_options(synchronize_session=False)
        )
        uow.commit()
        return cast(CursorResult[Any], result).rowcount


def _own(uow: UnitOfWork, recipient_id: str, notification_id: str) -> Notification:
    notification = uow.session.get(Notification, notification_id)
    if notification is None or notification.recipient_id != recipient_id:
        raise NotFound("Notification not found")
    return notification
