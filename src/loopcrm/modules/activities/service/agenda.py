"""A user's own work: their tasks (open, overdue) and a calendar of their meetings and tasks."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select

from loopcrm.modules.activities.models import (
    UNFINISHED_TASK_STATUSES,
    Activity,
    ActivityKind,
    ActivityParticipant,
    ParticipantRole,
    TaskStatus,
)
from loopcrm.modules.activities.schemas import ActivityOut, CalendarItem, TimelinePosition
from loopcrm.modules.activities.service.storage import outputs
from loopcrm.modules.activities.service.timeline import decode_position, encode_position
from loopcrm.platform.db import utc_now
from loopcrm.platform.errors import PermissionDenied, ValidationFailed
from loopcrm.platform.pagination import DEFAULT_PAGE_SIZE, Page, check_limit
from loopcrm.platform.permissions import Actor
from loopcrm.platform.timestamps import time_zone
from loopcrm.platform.unit_of_work import UnitOfWork

# A calendar shows a month and the days around it; longer windows are reports, not calendars.
MAX_CALENDAR_DAYS = 62
# Far more than a person's month holds; a runaway import cannot make the page unbounded.
MAX_CALENDAR_ITEMS = 2000


def _user(actor: Actor) -> str:
    if actor.user_id is None:
        raise PermissionDenied("Only users have tasks and calendars")
    return actor.user_id


def my_tasks(
    uow: UnitOfWork,
    actor: Actor,
    *,
    status: Collection[TaskStatus] | None = None,
    due_before: datetime | None = None,
    limit: int = DEFAULT_PAGE_SIZE,
    cursor: str | None = None,
) -> Page[ActivityOut]:
    """Tasks assigned to the actor, soonest due first; by default the unfinished ones (open or
    in progress). ``due_before`` keeps tasks due before that moment (overdue: now)."""
    user_id = _user(actor)
    check_limit(limit)
    statuses = sorted(status if status is not None else UNFINISHED_TASK_STATUSES)
    with uow:
        statement = select(Activity).where(
            Activity.task_assignee_id == user_id,
            Activity.kind == ActivityKind.TASK.value,
            Activity.task_status.in_([TaskStatus(value).value for value in statuses]),
            Activity.deleted_at.is_(None),
        )
        if due_before is not None:
            statement = statement.where(Activity.occurred_at < due_before)
        if cursor:
            last = decode_position(cursor)
            statement = statement.where(
                or_(
                    Activity.occurred_at > last.occurred_at,
                    and_(Activity.occurred_at == last.occurred_at, Activity.id > last.id),
                )
            )
        rows = uow.session.scalars(
            statement.order_by(Activity.occurred_at, Activity.id).limit(limit + 1)
        ).all()
        page = list(rows[:limit])
        next_cursor = (
            encode_position(TimelinePosition(occurred_at=page[-1].occurred_at, id=page[-1].id))
            if len(rows) > limit
            else None
        )
        return Page[ActivityOut](items=outputs(uow.session, page, actor), next_cursor=next_cursor)


def overdue_tasks(
    uow: UnitOfWork,
    actor: Actor,
    *,
    now: datetime | None = None,
    limit: int = DEFAULT_PAGE_SIZE,
    cursor: str | None = None,
) -> Page[ActivityOut]:
    """The actor's unfinished tasks whose due time has passed, the longest overdue first."""
    return my_tasks(uow, actor, due_before=now or utc_now(), limit=limit, cursor=cursor)


def calendar(uow: UnitOfWork, actor: Actor, *, start: datetime, end: datetime) -> list[CalendarItem]:
    """The actor's meetings (owned or attended) overlapping ``[start, end)`` and their tasks
    (assigned, not cancelled) due in it, in time order. ``day`` of each item is the day it
    starts in the actor's time zone, so a page can lay out the week or month it shows."""
    user_id = _user(actor)
    if start.tzinfo is None or end.tzinfo is None:
        raise ValidationFailed.single("start", "Give times with their time zone", "naive_time")
    if end <= start:
        raise ValidationFailed.single("end", "The end must come after the start", "end_before_start")
    if end - start > timedelta(days=MAX_CALENDAR_DAYS):
        raise ValidationFailed.single(
            "end", "A calendar shows at most {days} days", "too_long", days=MAX_CALENDAR_DAYS
        )
    reader_zone = time_zone(actor.timezone)
    now = utc_now()
    with uow:
        attended = select(ActivityParticipant.activity_id).where(
            ActivityParticipant.user_id == user_id, ActivityParticipant.role == ParticipantRole.ATTENDEE.value
        )
        meetings = and_(
            Activity.kind == ActivityKind.MEETING.value,
            or_(Activity.owner_id == user_id, Activity.id.in_(attended)),
            Activity.occurred_at < end,
            # Meetings are short; looking a day back finds one that started before the window.
            Activity.occurred_at >= start - timedelta(days=1),
        )
        tasks = and_(
            Activity.kind == ActivityKind.TASK.value,
            Activity.task_assignee_id == user_id,
            Activity.task_status != TaskStatus.CANCELLED.value,
            Activity.occurred_at >= start,
            Activity.occurred_at < end,
        )
        rows = uow.session.scalars(
            select(Activity)
            .where(or_(meetings, tasks), Activity.deleted_at.is_(None))
            .order_by(Activity.occurred_at, Activity.id)
            .limit(MAX_CALENDAR_ITEMS)
        ).all()
        items = []
        for activity in rows:
            ends_at = activity.meeting_ends_at if activity.kind == ActivityKind.MEETING else None
            if ends_at is not None and ends_at <= start:
                continue
            status = TaskStatus(activity.task_status) if activity.task_status else None
            items.append(
                CalendarItem(
                    activity_id=activity.id,
                    kind=ActivityKind(activity.kind),
                    subject=activity.subject,
                    starts_at=activity.occurred_at,
                    ends_at=ends_at,
                    day=activity.occurred_at.astimezone(reader_zone).date(),
                    task_status=status,
                    is_overdue=activity.is_task_unfinished and activity.occurred_at < now,
                    location=activity.meeting_location,
                )
            )
        return items
