"""REST routes of activities (``/api/v1/activities``), the timeline, the reader's tasks and calendar.

Conventions of ADR 0005: problem documents, ``ETag`` with the activity's version and ``If-Match``
on PATCH and DELETE, cursor pages, ``Idempotency-Key`` on POST (the middleware's).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from loopcrm.modules.activities import service as activities
from loopcrm.modules.activities.models import TaskStatus
from loopcrm.modules.activities.schemas import (
    ActivityCreate,
    ActivityFilter,
    ActivityOut,
    ActivityUpdate,
    CalendarItem,
    EmailSend,
    TimelineEntry,
)
from loopcrm.platform.http.concurrency import expected_version, with_etag
from loopcrm.platform.http.dependencies import DEFAULT_PAGE_SIZE, CurrentActor, Cursor, IfMatch, Limit, Uow
from loopcrm.platform.pagination import Page
from loopcrm.platform.timestamps import IsoDateTime

router = APIRouter()

Subjects = Annotated[
    list[str],
    Query(
        alias="subject",
        min_length=1,
        max_length=activities.MAX_TIMELINE_SUBJECTS,
        description="a record as kind:id, e.g. contact:0190…; repeat for several",
    ),
]
Kinds = Annotated[
    list[str], Query(alias="kind", max_length=20, description="keep only these kinds; repeatable")
]


@router.get("/activities", response_model=Page[ActivityOut], tags=["activities"])
def list_activities(
    actor: CurrentActor,
    uow: Uow,
    filters: Annotated[ActivityFilter, Depends()],
    limit: Limit = DEFAULT_PAGE_SIZE,
    cursor: Cursor = None,
) -> Page[ActivityOut]:
    """Activities newest first. With ``subject=contact:<id>``: all of that record's (404 if you may
    not read it); without: those you own (or your role's scope reaches), are assigned or attend."""
    return activities.list_activities(uow, actor, filters, limit=limit, cursor=cursor)


@router.post(
    "/activities", response_model=ActivityOut, status_code=status.HTTP_201_CREATED, tags=["activities"]
)
def log_activity(data: ActivityCreate, actor: CurrentActor, uow: Uow, response: Response) -> ActivityOut:
    """Log a note, call, meeting, email (after the fact) or task; ``kind`` says which and its
    details go in the field of that name."""
    return with_etag(response, activities.log_activity(uow, actor, data), created_in="/api/v1/activities")


@router.post(
    "/activities/emails",
    response_model=ActivityOut,
    status_code=status.HTTP_202_ACCEPTED,
    tags=["activities"],
)
def send_email(data: EmailSend, actor: CurrentActor, uow: Uow, response: Response) -> ActivityOut:
    """Send an email over SMTP and log it; it is queued now and sent by a worker (202)."""
    return with_etag(response, activities.send_email(uow, actor, data), created_in="/api/v1/activities")


@router.get("/activities/{activity_id}", response_model=ActivityOut, tags=["activities"])
def read_activity(activity_id: str, actor: CurrentActor, uow: Uow, response: Response) -> ActivityOut:
    return with_etag(response, activities.get_activity(uow, actor, activity_id))


@router.patch("/activities/{activity_id}", response_model=ActivityOut, tags=["activities"])
def update_activity(
    activity_id: str,
    data: ActivityUpdate,
    actor: CurrentActor,
    uow: Uow,
    response: Response,
    if_match: IfMatch = None,
) -> ActivityOut:
    """Change the fields sent; ``links`` replace the records you may read, links to others stay."""
    activity = activities.update_activity(
        uow, actor, activity_id, data, expected_version=expected_version(if_match)
    )
    return with_etag(response, activity)


@router.delete("/activities/{activity_id}", status_code=status.HTTP_204_NO_CONTENT, tags=["activities"])
def delete_activity(activity_id: str, actor: CurrentActor, uow: Uow, if_match: IfMatch = None) -> None:
    activities.delete_activity(uow, actor, activity_id, expected_version=expected_version(if_match))


@router.post("/activities/{activity_id}/complete", response_model=ActivityOut, tags=["activities"])
def complete_task(
    activity_id: str, actor: CurrentActor, uow: Uow, response: Response, if_match: IfMatch = None
) -> ActivityOut:
    """Mark a task done (its assignee may, as may whoever may change it)."""
    activity = activities.complete_task(uow, actor, activity_id, expected_version=expected_version(if_match))
    return with_etag(response, activity)


@router.get("/timeline", response_model=Page[TimelineEntry], tags=["activities"])
def read_timeline(
    actor: CurrentActor,
    uow: Uow,
    subjects: Subjects,
    kinds: Kinds = [],  # noqa: B006 -- FastAPI copies defaults; an empty list means "every kind"
    limit: Limit = DEFAULT_PAGE_SIZE,
    cursor: Cursor = None,
) -> Page[TimelineEntry]:
    """Everything that happened with the records, newest first, each entry once. 404 when you
    may not read one of the records."""
    parsed = [activities.parse_subject(text) for text in subjects]
    return activities.record_timeline(uow, actor, parsed, kinds=kinds or None, limit=limit, cursor=cursor)


@router.get("/tasks/mine", response_model=Page[ActivityOut], tags=["activities"])
def my_tasks(
    actor: CurrentActor,
    uow: Uow,
    task_status: Annotated[
        list[TaskStatus], Query(alias="status", description="default: open and in progress")
    ] = [],  # noqa: B006 -- FastAPI copies defaults
    due_before: Annotated[IsoDateTime | None, Query()] = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
    cursor: Cursor = None,
) -> Page[ActivityOut]:
    """Tasks assigned to you, soonest due first."""
    return activities.my_tasks(
        uow, actor, status=task_status or None, due_before=due_before, limit=limit, cursor=cursor
    )


@router.get("/tasks/overdue", response_model=Page[ActivityOut], tags=["activities"])
def overdue_tasks(
    actor: CurrentActor, uow: Uow, limit: Limit = DEFAULT_PAGE_SIZE, cursor: Cursor = None
) -> Page[ActivityOut]:
    """Your unfinished tasks past their due time, the longest overdue first."""
    return activities.overdue_tasks(uow, actor, limit=limit, cursor=cursor)


@router.get("/calendar", response_model=Page[CalendarItem], tags=["activities"])
def read_calendar(
    actor: CurrentActor,
    uow: Uow,
    start: Annotated[IsoDateTime, Query()],
    end: Annotated[IsoDateTime, Query()],
) -> Page[CalendarItem]:
    """Your meetings and tasks between ``start`` and ``end`` (at most 62 days), in time order;
    ``day`` is each item's day in your time zone. One page holds the whole window."""
    return Page[CalendarItem](items=activities.calendar(uow, actor, start=start, end=end), next_cursor=None)
