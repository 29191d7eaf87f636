"""Tables of the activities module: activities, the records they are linked to, the users
taking part, and the rules of an activity's states."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from loopcrm.platform.db import Base, Record, SoftDeletable, new_id, utc_now

MAX_SUBJECT_LENGTH = 300
# Another module's record ids are opaque to us; UUIDv7 strings need 36, leave room for others.
MAX_SUBJECT_ID_LENGTH = 64
MAX_SUBJECT_TYPE_LENGTH = 32


class ActivityKind(StrEnum):
    """What kind of interaction an activity records."""

    NOTE = "note"  # a written remark about a record: rich text, sanitised to a safe subset
    CALL = "call"  # a phone call that happened: direction, duration, outcome
    MEETING = "meeting"  # a meeting, held or planned: start (occurred_at), end, place, attendees
    EMAIL = "email"  # an email: logged after the fact, or sent from LoopCRM over SMTP
    TASK = "task"  # something an assignee must do by a due time (occurred_at), with a reminder


class CallDirection(StrEnum):
    """Who placed a call."""

    INBOUND = "inbound"  # the customer called us
    OUTBOUND = "outbound"  # we called the customer


class CallOutcome(StrEnum):
    """How a call ended."""

    CONNECTED = "connected"  # someone answered and we talked
    NO_ANSWER = "no_answer"  # it rang out without an answer
    BUSY = "busy"  # the line was busy
    VOICEMAIL = "voicemail"  # we reached voicemail (and may have left a message)
    WRONG_NUMBER = "wrong_number"  # the number does not belong to the person we wanted


class EmailDelivery(StrEnum):
    """Where an email activity stands with respect to sending."""

    LOGGED = "logged"  # it happened outside LoopCRM and was recorded afterwards; nothing is sent
    QUEUED = "queued"  # LoopCRM sends it over SMTP: the send job is waiting or retrying
    SENT = "sent"  # the SMTP server accepted it at sent_at
    FAILED = "failed"  # every attempt to send failed; the activity keeps the last error


class TaskPriority(StrEnum):
    """How urgent a task is."""

    LOW = "low"  # when there is time
    NORMAL = "normal"  # the usual
    HIGH = "high"  # before normal work
    URGENT = "urgent"  # drop other work


class TaskStatus(StrEnum):
    """Where a task is in its life."""

    OPEN = "open"  # not started; reminders and the due notification still fire
    IN_PROGRESS = "in_progress"  # started, not finished; reminders still fire
    DONE = "done"  # finished at completed_at; no more reminders
    CANCELLED = "cancelled"  # will not be done; no more reminders


# A task in one of these statuses still needs doing: it shows in "my tasks", can be overdue and
# gets its reminder and due notification.
UNFINISHED_TASK_STATUSES = frozenset({TaskStatus.OPEN, TaskStatus.IN_PROGRESS})


class ParticipantRole(StrEnum):
    """How a user takes part in an activity besides owning it or being its task's assignee."""

    ATTENDEE = "attendee"  # attends the meeting; it shows in their calendar
    MENTIONED = "mentioned"  # was @mentioned in the note and notified


class Activity(Record, SoftDeletable, Base):
    """One interaction. Columns of the other kinds stay ``None``.

    ``occurred_at`` orders the timeline: when a note, call or email happened, when a meeting
    starts, when a task is due. The owner is the user who logged it; permissions on the
    ``activity`` object type apply to the owner (and team).
    """

    __tablename__ = "activities"

    kind: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(String(MAX_SUBJECT_LENGTH))
    body: Mapped[str] = mapped_column(Text, default="")
    occurred_at: Mapped[datetime] = mapped_column()
    owner_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    team_id: Mapped[str | None] = mapped_column(ForeignKey("teams.id"), default=None)

    call_direction: Mapped[str | None] = mapped_column(String(16), default=None)
    call_duration_seconds: Mapped[int | None] = mapped_column(Integer, default=None)
    call_outcome: Mapped[str | None] = mapped_column(String(20), default=None)

    meeting_ends_at: Mapped[datetime | None] = mapped_column(default=None)
    meeting_location: Mapped[str | None] = mapped_column(String(300), default=None)

    email_from: Mapped[str | None] = mapped_column(String(320), default=None)
    email_to: Mapped[list[str]] = mapped_column(JSON, default=list)
    email_cc: Mapped[list[str]] = mapped_column(JSON, default=list)
    email_delivery: Mapped[str | None] = mapped_column(String(16), default=None)
    email_sent_at: Mapped[datetime | None] = mapped_column(default=None)
    email_message_id: Mapped[str | None] = mapped_column(String(255), default=None)
    email_error: Mapped[str | None] = mapped_column(String(1000), default=None)

    task_assignee_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), default=None)
    task_priority: Mapped[str | None] = mapped_column(String(16), default=None)
    task_status: Mapped[str | None] = mapped_column(String(16), default=None)
    task_reminder_at: Mapped[datetime | None] = mapped_column(default=None)
    task_completed_at: Mapped[datetime | None] = mapped_column(default=None)

    __table_args__ = (
        # Lists of the activities in the reader's scope, newest first (API pages by id).
        Index("ix_activities_owner_id", "owner_id", "id"),
        # "My tasks" and overdue tasks: an assignee's unfinished tasks by due time.
        Index("ix_activities_assignee_status_due", "task_assignee_id", "task_status", "occurred_at"),
        # The calendar: what a user owns in a window of time.
        Index("ix_activities_owner_occurred", "owner_id", "occurred_at"),
    )

    @property
    def is_task_unfinished(self) -> bool:
        return self.kind == ActivityKind.TASK and self.task_status in UNFINISHED_TASK_STATUSES


class ActivityLink(Base):
    """An activity is about a record ``(subject_type, subject_id)``, such as ``("contact", id)``.

    ``occurred_at`` and ``kind`` repeat the activity's, so a record's timeline is one range of
    ``ix_activity_links_timeline`` read newest first, without touching the activities that do not
    make the page. The same pair may appear twice for one activity after a merge moved links
    onto a record the activity was already linked to; the timeline shows the activity once, and
    undoing the merge moves exactly the moved link back.
    """

    __tablename__ = "activity_links"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    activity_id: Mapped[str] = mapped_column(ForeignKey("activities.id"))
    subject_type: Mapped[str] = mapped_column(String(MAX_SUBJECT_TYPE_LENGTH))
    subject_id: Mapped[str] = mapped_column(String(MAX_SUBJECT_ID_LENGTH))
    occurred_at: Mapped[datetime] = mapped_column()
    kind: Mapped[str] = mapped_column(String(16))
    is_attendee: Mapped[bool] = mapped_column(Boolean, default=False)  # a contact attending the meeting
    created_at: Mapped[datetime] = mapped_column(default=utc_now)

    __table_args__ = (
        Index("ix_activity_links_timeline", "subject_type", "subject_id", "occurred_at", "activity_id"),
        Index("ix_activity_links_activity_id", "activity_id"),
    )


class ActivityParticipant(Base):
    """A user attending a meeting or mentioned in a note; they may read the activity."""

    __tablename__ = "activity_participants"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    activity_id: Mapped[str] = mapped_column(ForeignKey("activities.id"))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    role: Mapped[str] = mapped_column(String(16))

    __table_args__ = (
        Index("ix_activity_participants_activity", "activity_id", "role", "user_id", unique=True),
        Index("ix_activity_participants_user", "user_id", "role", "activity_id"),
    )


def json_list(value: Any) -> list[str]:
    """A JSON list column's value as a list of strings (``None`` from an old row becomes ``[]``)."""
    return [str(item) for item in value] if value else []
