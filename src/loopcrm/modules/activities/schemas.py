"""Contracts of the activities module: what its service and API accept and return.

One input schema, :class:`ActivityCreate`, logs any kind of activity: ``kind`` says which, and
the details of that kind go in the field of the same name (``call``, ``meeting``, ``email``,
``task``; a note has none). The service refuses details of another kind, so a client never
wonders which fields count.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, Field

from loopcrm.modules.activities.models import (
    MAX_SUBJECT_ID_LENGTH,
    MAX_SUBJECT_LENGTH,
    MAX_SUBJECT_TYPE_LENGTH,
    ActivityKind,
    CallDirection,
    CallOutcome,
    EmailDelivery,
    TaskPriority,
    TaskStatus,
)
from loopcrm.platform.auth.schemas import Input
from loopcrm.platform.timestamps import IsoDateTime

# Bodies are notes and emails people write, not documents; 100,000 characters is a long letter.
MAX_BODY_LENGTH = 100_000
# Enough for an account with its key contacts; a bigger fan-out belongs to a campaign, not a note.
MAX_LINKS = 50
MAX_RECIPIENTS = 50
# A day on the phone is the longest call we record.
MAX_CALL_SECONDS = 24 * 60 * 60


def _trimmed(value: str) -> str:
    return value.strip()


Subject = Annotated[
    str, Field(min_length=1, max_length=MAX_SUBJECT_LENGTH, pattern=r"\S"), AfterValidator(_trimmed)
]
Body = Annotated[str, Field(max_length=MAX_BODY_LENGTH)]
Location = Annotated[str, Field(max_length=300), AfterValidator(_trimmed)]
SubjectType = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MAX_SUBJECT_TYPE_LENGTH,
        pattern=r"^[a-z][a-z0-9_]*$",
        description='the kind of record, e.g. "account" or "contact"',
    ),
]
SubjectId = Annotated[
    str, Field(min_length=1, max_length=MAX_SUBJECT_ID_LENGTH, pattern=r"^[A-Za-z0-9_.:-]+$")
]
UserId = Annotated[str, Field(min_length=1, max_length=36)]


class SubjectLink(Input):
    """A record an activity is about: ``("contact", "<id>")``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    subject_type: SubjectType
    subject_id: SubjectId

    @property
    def key(self) -> tuple[str, str]:
        return (self.subject_type, self.subject_id)


class LinkOut(BaseModel):
    """A record an activity is linked to, as its reader sees it.

    A record the reader may not read is ``hidden``: its kind shows that the activity is linked to
    something, but neither its id nor its name says what (an id alone would confirm that a record
    exists and let the reader follow it elsewhere).
    """

    model_config = ConfigDict(frozen=True)

    subject_type: SubjectType
    subject_id: str | None = Field(default=None, description="empty when hidden")
    hidden: bool = Field(default=False, description="a record you may not read")

    @property
    def key(self) -> tuple[str, str | None]:
        return (self.subject_type, self.subject_id)


# ------------------------------------------------------------------ input: details per kind


class CallDetails(Input):
    direction: CallDirection
    duration_seconds: int | None = Field(default=None, ge=0, le=MAX_CALL_SECONDS)
    outcome: CallOutcome


class MeetingDetails(Input):
    """A meeting starts at the activity's ``occurred_at`` and ends at ``ends_at``."""

    ends_at: IsoDateTime
    location: Location = ""
    attendee_user_ids: list[UserId] = Field(default_factory=list, max_length=MAX_RECIPIENTS)
    attendee_records: list[SubjectLink] = Field(
        default_factory=list, max_length=MAX_RECIPIENTS, description="contacts attending"
    )


class EmailDetails(Input):
    """An email that happened outside LoopCRM, logged afterwards (to send one, use ``send_email``)."""

    from_address: EmailStr
    to: list[EmailStr] = Field(min_length=1, max_length=MAX_RECIPIENTS)
    cc: list[EmailStr] = Field(default_factory=list, max_length=MAX_RECIPIENTS)


class TaskDetails(Input):
    """A task is due at the activity's ``occurred_at``; ``reminder_at`` notifies the assignee earlier."""

    assignee_id: UserId
    priority: TaskPriority = TaskPriority.NORMAL
    status: TaskStatus = TaskStatus.OPEN
    reminder_at: IsoDateTime | None = None


class ActivityCreate(Input):
    """Log any activity. ``occurred_at`` is when it happened (default: now), a meeting's start or a
    task's due time (both required). ``body`` is rich text for a note (sanitised to a safe subset
    of HTML) and plain text otherwise. In a note, ``@`` followed by a user's email mentions them."""

    kind: ActivityKind
    subject: Subject | None = Field(default=None, description="required, except for a note (its first words)")
    body: Body = ""
    occurred_at: IsoDateTime | None = None
    links: list[SubjectLink] = Field(default_factory=list, max_length=MAX_LINKS)
    call: CallDetails | None = None
    meeting: MeetingDetails | None = None
    email: EmailDetails | None = None
    task: TaskDetails | None = None


class EmailSend(Input):
    """An email LoopCRM sends over SMTP and logs as an activity. It goes out from the
    installation's address with Reply-To set to the sender, once the request has committed."""

    subject: Subject
    body: Body = Field(min_length=1)
    to: list[EmailStr] = Field(min_length=1, max_length=MAX_RECIPIENTS)
    cc: list[EmailStr] = Field(default_factory=list, max_length=MAX_RECIPIENTS)
    links: list[SubjectLink] = Field(default_factory=list, max_length=MAX_LINKS)


# ------------------------------------------------------------------ input: changes


class CallChanges(Input):
    direction: CallDirection | None = None
    duration_seconds: int | None = Field(default=None, ge=0, le=MAX_CALL_SECONDS)
    outcome: CallOutcome | None = None


class MeetingChanges(Input):
    ends_at: IsoDateTime | None = None
    location: Location | None = None
    attendee_user_ids: list[UserId] | None = Field(default=None, max_length=MAX_RECIPIENTS)
    attendee_records: list[SubjectLink] | None = Field(default=None, max_length=MAX_RECIPIENTS)


class EmailChanges(Input):
    """Only a logged email's addresses can change; a sent one is history."""

    from_address: EmailStr | None = None
    to: list[EmailStr] | None = Field(default=None, min_length=1, max_length=MAX_RECIPIENTS)
    cc: list[EmailStr] | None = Field(default=None, max_length=MAX_RECIPIENTS)


class TaskChanges(Input):
    """``reminder_at: null`` removes the reminder; an absent field stays as it is."""

    assignee_id: UserId | None = None
    priority: TaskPriority | None = None
    status: TaskStatus | None = None
    reminder_at: IsoDateTime | None = None


class ActivityUpdate(Input):
    """Fields to change; absent fields stay. ``links`` replaces the records the activity is about
    among those the actor may read; links to records the actor may not read stay as they are, and so
    do a meeting's ``attendee_records`` of that kind."""

    subject: Subject | None = None
    body: Body | None = None
    occurred_at: IsoDateTime | None = None
    links: list[SubjectLink] | None = Field(default=None, max_length=MAX_LINKS)
    call: CallChanges | None = None
    meeting: MeetingChanges | None = None
    email: EmailChanges | None = None
    task: TaskChanges | None = None


# ------------------------------------------------------------------ output


class CallOut(BaseModel):
    direction: CallDirection
    duration_seconds: int | None
    outcome: CallOutcome


class MeetingOut(BaseModel):
    ends_at: datetime
    location: str
    attendee_user_ids: list[str]
    attendee_records: list[LinkOut]


class EmailOut(BaseModel):
    delivery: EmailDelivery
    from_address: str | None
    to: list[str]
    cc: list[str]
    sent_at: datetime | None
    message_id: str | None
    error: str | None


class TaskOut(BaseModel):
    assignee_id: str
    priority: TaskPriority
    status: TaskStatus
    reminder_at: datetime | None
    completed_at: datetime | None
    is_unfinished: bool = Field(description="open or in progress")


class ActivityOut(BaseModel):
    id: str
    kind: ActivityKind
    subject: str
    body: str = Field(description="sanitised HTML for a note, plain text otherwise")
    occurred_at: datetime
    owner_id: str
    team_id: str | None
    links: list[LinkOut]
    mentioned_user_ids: list[str]
    call: CallOut | None
    meeting: MeetingOut | None
    email: EmailOut | None
    task: TaskOut | None
    masked_fields: list[str] = Field(
        default_factory=list,
        description="fields above your clearance, left empty: `email_addresses` (from, to and cc)",
    )
    created_at: datetime
    updated_at: datetime
    version: int


class ActivityFilter(Input):
    """Filters of the activity list. ``subject`` is ``<type>:<id>``, e.g. ``contact:0190…``."""

    subject: str | None = Field(default=None, max_length=100, pattern=r"^[a-z][a-z0-9_]*:[A-Za-z0-9_.:-]+$")
    kind: ActivityKind | None = None
    owner_id: str | None = Field(default=None, max_length=36)
    status: TaskStatus | None = Field(default=None, description="tasks in this status")


# ------------------------------------------------------------------ timeline and calendar


class TimelinePosition(BaseModel):
    """Where a page of the timeline ends: entries strictly older than this come next.

    Entries are ordered by ``occurred_at`` then ``id``, both descending, across every source.
    """

    model_config = ConfigDict(frozen=True)

    occurred_at: datetime
    id: str


class TimelineEntry(BaseModel):
    """One line of a record's timeline: an activity, or an entry of another module's source
    (an order, a ticket, an event). ``activity`` is set for activities only."""

    id: str
    source: str = Field(description='"activities", or the name another module registered its source under')
    kind: str = Field(description="an activity kind, or the source's own kind such as order")
    occurred_at: datetime
    title: str
    summary: str = Field(default="", description="plain text, short")
    path: str | None = Field(default=None, description="the entry's web page")
    actor_name: str | None = Field(default=None, description="who logged or did it")
    activity: ActivityOut | None = None

    @property
    def position(self) -> TimelinePosition:
        return TimelinePosition(occurred_at=self.occurred_at, id=self.id)


class CalendarItem(BaseModel):
    """A meeting, or a task at its due time, in the calendar. ``day`` is the day it starts in the
    reader's time zone; ``ends_at`` is ``None`` for a task."""

    activity_id: str
    kind: ActivityKind
    subject: str
    starts_at: datetime
    ends_at: datetime | None
    day: date
    task_status: TaskStatus | None = None
    is_overdue: bool = False
    location: str | None = None
