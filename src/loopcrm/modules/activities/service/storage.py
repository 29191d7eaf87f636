"""Reading and writing activity rows for the use cases: loading with their links and participants,
the output schema, the audit snapshot, checks of users and linked records, and who may read what.

Everything here runs inside a unit of work the calling use case has opened.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from loopcrm.modules.activities.models import (
    Activity,
    ActivityKind,
    ActivityLink,
    ActivityParticipant,
    CallDirection,
    CallOutcome,
    EmailDelivery,
    ParticipantRole,
    TaskPriority,
    TaskStatus,
    json_list,
)
from loopcrm.modules.activities.schemas import (
    ActivityOut,
    CallOut,
    EmailOut,
    LinkOut,
    MeetingOut,
    SubjectLink,
    TaskOut,
)
from loopcrm.modules.activities.service.registry import (
    ACTIVITY,
    EMAIL_ADDRESSES,
    is_known_subject_type,
    may_read_subject,
    resolve_subject,
)
from loopcrm.platform.auth.models import TeamMembership, User
from loopcrm.platform.errors import FieldError, NotFound, StaleVersion, ValidationFailed
from loopcrm.platform.permissions import Action, Actor, can_reach_record, mask_fields
from loopcrm.platform.unit_of_work import UnitOfWork

ACTIVITY_PATH = "/activities/{activity_id}"


def activity_path(activity_id: str) -> str:
    return ACTIVITY_PATH.format(activity_id=activity_id)


def flush(session: Session) -> None:
    """Write pending changes now; a concurrent edit of the same activity becomes :class:`StaleVersion`."""
    try:
        session.flush()
    except StaleDataError:
        raise StaleVersion() from None


def check_version(activity: Activity, expected_version: int | None) -> None:
    if expected_version is not None and activity.version != expected_version:
        raise StaleVersion()


# ------------------------------------------------------------------ loading


def links_of(session: Session, activity_ids: Sequence[str]) -> dict[str, list[ActivityLink]]:
    found: dict[str, list[ActivityLink]] = {activity_id: [] for activity_id in activity_ids}
    if activity_ids:
        for link in session.scalars(
            select(ActivityLink)
            .where(ActivityLink.activity_id.in_(list(activity_ids)))
            .order_by(ActivityLink.created_at, ActivityLink.id)
        ):
            found[link.activity_id].append(link)
    return found


def participants_of(session: Session, activity_ids: Sequence[str]) -> dict[str, list[ActivityParticipant]]:
    found: dict[str, list[ActivityParticipant]] = {activity_id: [] for activity_id in activity_ids}
    if activity_ids:
        for participant in session.scalars(
            select(ActivityParticipant)
            .where(ActivityParticipant.activity_id.in_(list(activity_ids)))
            .order_by(ActivityParticipant.id)
        ):
            found[participant.activity_id].append(participant)
    return found


def outputs(
    session: Session, activities: Sequence[Activity], reader: Actor | None = None
) -> list[ActivityOut]:
    """Activities as the API shows them, with their links and participants loaded in two queries.

    For a ``reader``, the fields above their clearance are masked (an email's addresses); without
    one, the whole activity, as the audit log records it.
    """
    ids = [activity.id for activity in activities]
    links = links_of(session, ids)
    participants = participants_of(session, ids)
    shown = [to_out(activity, links[activity.id], participants[activity.id]) for activity in activities]
    return shown if reader is None else [masked_for(reader, out) for out in shown]


def output(session: Session, activity: Activity, reader: Actor | None = None) -> ActivityOut:
    return outputs(session, [activity], reader)[0]


def masked_for(reader: Actor, out: ActivityOut) -> ActivityOut:
    """``out`` without what ``reader`` may not see: an email's from, to and cc addresses."""
    if out.email is None:
        return out
    masked = mask_fields(reader, ACTIVITY.key, {EMAIL_ADDRESSES: True})
    if not masked.masked:
        return out
    email = out.email.model_copy(update={"from_address": None, "to": [], "cc": []})
    return out.model_copy(update={"email": email, "masked_fields": list(masked.masked)})


def _distinct_keys(links: Iterable[ActivityLink], *, attendees_only: bool = False) -> list[SubjectLink]:
    seen: dict[tuple[str, str], SubjectLink] = {}
    for link in links:
        if attendees_only and not link.is_attendee:
            continue
        key = (link.subject_type, link.subject_id)
        if key not in seen:
            seen[key] = SubjectLink(subject_type=link.subject_type, subject_id=link.subject_id)
    return list(seen.values())


def _shown_links(links: Iterable[SubjectLink]) -> list[LinkOut]:
    """Links as output, all visible; a reader's service call hides the records it may not read."""
    return [LinkOut(subject_type=link.subject_type, subject_id=link.subject_id) for link in links]


def _user_ids(participants: Iterable[ActivityParticipant], role: ParticipantRole) -> list[str]:
    return sorted({participant.user_id for participant in participants if participant.role == role})


def to_out(
    activity: Activity, links: Sequence[ActivityLink], participants: Sequence[ActivityParticipant]
) -> ActivityOut:
    kind = ActivityKind(activity.kind)
    call = meeting = email = task = None
    if kind is ActivityKind.CALL:
        call = CallOut(
            direction=CallDirection(activity.call_direction or CallDirection.OUTBOUND),
            duration_seconds=activity.call_duration_seconds,
            outcome=CallOutcome(activity.call_outcome or CallOutcome.CONNECTED),
        )
    elif kind is ActivityKind.MEETING:
        meeting = MeetingOut(
            ends_at=activity.meeting_ends_at or activity.occurred_at,
            location=activity.meeting_location or "",
            attendee_user_ids=_user_ids(participants, ParticipantRole.ATTENDEE),
            attendee_records=_shown_links(_distinct_keys(links, attendees_only=True)),
        )
    elif kind is ActivityKind.EMAIL:
        email = EmailOut(
            delivery=EmailDelivery(activity.email_delivery or EmailDelivery.LOGGED),
            from_address=activity.email_from,
            to=json_list(activity.email_to),
            cc=json_list(activity.email_cc),
            sent_at=activity.email_sent_at,
            message_id=activity.email_message_id,
            error=activity.email_error,
        )
    elif kind is ActivityKind.TASK:
        task = TaskOut(
            assignee_id=activity.task_assignee_id or activity.owner_id,
            priority=TaskPriority(activity.task_priority or TaskPriority.NORMAL),
            status=TaskStatus(activity.task_status or TaskStatus.OPEN),
            reminder_at=activity.task_reminder_at,
            completed_at=activity.task_completed_at,
            is_unfinished=activity.is_task_unfinished,
        )
    return ActivityOut(
        id=activity.id,
        kind=kind,
        subject=activity.subject,
        body=activity.body,
        occurred_at=activity.occurred_at,
        owner_id=activity.owner_id,
        team_id=activity.team_id,
        links=_shown_links(_distinct_keys(links)),
        mentioned_user_ids=_user_ids(participants, ParticipantRole.MENTIONED),
        call=call,
        meeting=meeting,
        email=email,
        task=task,
        created_at=activity.created_at,
        updated_at=activity.updated_at,
        version=activity.version,
    )


def audit_snapshot(out: ActivityOut) -> dict[str, Any]:
    """The fields the audit log compares before and after a change."""
    values = out.model_dump(
        mode="json",
        exclude={"id", "created_at", "updated_at", "version", "team_id"},
        exclude_none=True,
    )
    return values


# ------------------------------------------------------------------ who may read and change


def is_participant(session: Session, activity: Activity, user_id: str | None) -> bool:
    if user_id is None:
        return False
    if activity.task_assignee_id == user_id or activity.owner_id == user_id:
        return True
    return (
        session.scalar(
            select(ActivityParticipant.id)
            .where(ActivityParticipant.activity_id == activity.id, ActivityParticipant.user_id == user_id)
            .limit(1)
        )
        is not None
    )


def may_read(uow: UnitOfWork, actor: Actor, activity: Activity) -> bool:
    """Whether the actor may read the activity: through the ``activity`` grants on its owner, as
    its assignee or a participant, or because it may read a record the activity is linked to."""
    if can_reach_record(
        actor, ACTIVITY.key, Action.READ, owner_id=activity.owner_id, team_id=activity.team_id
    ):
        return True
    if is_participant(uow.session, activity, actor.user_id):
        return True
    return any(
        may_read_subject(uow, actor, link.subject_type, link.subject_id)
        for link in _distinct_keys(links_of(uow.session, [activity.id])[activity.id])
    )


def load_visible(uow: UnitOfWork, actor: Actor, activity_id: str, *, for_update: bool = False) -> Activity:
    """The activity if it exists, is not deleted and the actor may read it; else :class:`NotFound`."""
    statement = select(Activity).where(Activity.id == activity_id)
    if for_update:
        statement = statement.with_for_update()
    activity = uow.session.scalar(statement)
    if activity is None or activity.is_deleted or not may_read(uow, actor, activity):
        raise NotFound("Activity not found")
    return activity


# ------------------------------------------------------------------ checks of referenced users and records


def user_references(
    assignee_id: str | None, attendee_user_ids: Sequence[str] | None
) -> list[tuple[str, str]]:
    """The ``(field path, user id)`` pairs of a task's assignee and a meeting's attendees, as given."""
    references: list[tuple[str, str]] = []
    if assignee_id is not None:
        references.append(("task.assignee_id", assignee_id))
    references += [
        (f"meeting.attendee_user_ids.{index}", user_id)
        for index, user_id in enumerate(attendee_user_ids or [])
    ]
    return references


def check_users(session: Session, references: Sequence[tuple[str, str]]) -> list[FieldError]:
    """Errors for ``(field path, user id)`` pairs whose id names no active user."""
    wanted = sorted({user_id for _, user_id in references})
    active = (
        set(session.scalars(select(User.id).where(User.id.in_(wanted), User.is_active.is_(True))))
        if wanted
        else set()
    )
    return [
        FieldError(field_path, "Unknown user {user_id}", "unknown_user", {"user_id": user_id})
        for field_path, user_id in references
        if user_id not in active
    ]


def check_subject_types(links: Sequence[SubjectLink], field_path: str) -> list[FieldError]:
    """Errors for links to kinds of records no module registered."""
    return [
        FieldError(
            f"{field_path}.{index}.subject_type",
            "Activities cannot be linked to records of kind {subject_type}",
            "unknown_subject_type",
            {"subject_type": link.subject_type},
        )
        for index, link in enumerate(links)
        if not is_known_subject_type(link.subject_type)
    ]


def resolve_all(uow: UnitOfWork, actor: Actor, links: Iterable[SubjectLink]) -> None:
    """Each record must exist and be readable by the actor; otherwise :class:`NotFound`, the
    same answer for both, so nobody learns that a record they may not see exists."""
    for link in dict.fromkeys(links):
        resolve_subject(uow, actor, link.subject_type, link.subject_id)


def raise_if_any(errors: list[FieldError]) -> None:
    if errors:
        raise ValidationFailed(errors)


def team_of(session: Session, user_id: str) -> str | None:
    """The owner's team, for team scope and reports: the first of their teams, if any."""
    return session.scalar(
        select(TeamMembership.team_id)
        .where(TeamMembership.user_id == user_id)
        .order_by(TeamMembership.team_id)
    )


def users_by_id(session: Session, user_ids: Iterable[str]) -> dict[str, User]:
    ids = sorted({user_id for user_id in user_ids if user_id})
    if not ids:
        return {}
    return {user.id: user for user in session.scalars(select(User).where(User.id.in_(ids)))}


def users_by_email(session: Session, emails: Iterable[str]) -> dict[str, User]:
    wanted = sorted({email.lower() for email in emails})
    if not wanted:
        return {}
    return {
        user.email: user
        for user in session.scalars(select(User).where(User.email.in_(wanted), User.is_active.is_(True)))
    }


# ------------------------------------------------------------------ links and participants


def sync_links(
    session: Session,
    activity: Activity,
    subjects: Sequence[SubjectLink],
    attendees: Sequence[SubjectLink],
) -> None:
    """Make the activity's links exactly ``subjects`` ∪ ``attendees`` (attendees flagged).

    Rows of pairs that stay are kept with their ids (a merge may have moved them and will move
    them back); pairs that go lose their rows; new pairs get one row each.
    """
    wanted: dict[tuple[str, str], bool] = {}
    for link in subjects:
        wanted.setdefault(link.key, False)
    for link in attendees:
        wanted[link.key] = True
    existing = links_of(session, [activity.id])[activity.id]
    present: set[tuple[str, str]] = set()
    for row in existing:
        key = (row.subject_type, row.subject_id)
        if key not in wanted:
            session.delete(row)
            continue
        present.add(key)
        row.is_attendee = wanted[key]
        row.occurred_at = activity.occurred_at
        row.kind = activity.kind
    for (subject_type, subject_id), is_attendee in wanted.items():
        if (subject_type, subject_id) not in present:
            session.add(
                ActivityLink(
                    activity_id=activity.id,
                    subject_type=subject_type,
                    subject_id=subject_id,
                    occurred_at=activity.occurred_at,
                    kind=activity.kind,
                    is_attendee=is_attendee,
                )
            )


def current_links(session: Session, activity: Activity) -> tuple[list[SubjectLink], list[SubjectLink]]:
    """(subject links, attendee links) as stored; a pair that is both counts as an attendee."""
    rows = links_of(session, [activity.id])[activity.id]
    return (
        [link for link in _distinct_keys(rows) if link not in _distinct_keys(rows, attendees_only=True)],
        _distinct_keys(rows, attendees_only=True),
    )


def links_after_update(
    uow: UnitOfWork,
    actor: Actor,
    activity: Activity,
    subjects: Sequence[SubjectLink] | None,
    attendees: Sequence[SubjectLink] | None,
) -> tuple[list[SubjectLink], list[SubjectLink]]:
    """(subject links, attendee links) an update leaves the activity with: those given (``None``:
    as stored) among the records the actor may read, plus every stored link to a record the actor
    may not read, unchanged.

    The actor sees such a link only as hidden, without its id, so the list they send back cannot
    name it: replacing the whole list would silently drop links other users made and rely on. So
    the actor can neither see nor remove them, and adds or removes links only among the records
    they may read (a link they send to a record they may not read is refused by the caller).
    """
    stored_subjects, stored_attendees = current_links(uow.session, activity)
    unreadable = {
        link.key
        for link in [*stored_subjects, *stored_attendees]
        if not may_read_subject(uow, actor, link.subject_type, link.subject_id)
    }

    def kept(given: Sequence[SubjectLink] | None, stored: list[SubjectLink]) -> list[SubjectLink]:
        wanted = stored if given is None else given
        return [
            *(link for link in wanted if link.key not in unreadable),
            *(link for link in stored if link.key in unreadable),
        ]

    return kept(subjects, stored_subjects), kept(attendees, stored_attendees)


def sync_participants(
    session: Session, activity: Activity, role: ParticipantRole, user_ids: Sequence[str]
) -> list[str]:
    """Make the users of ``role`` exactly ``user_ids``; returns the ones added."""
    wanted = list(dict.fromkeys(user_ids))
    existing = {
        participant.user_id: participant
        for participant in session.scalars(
            select(ActivityParticipant).where(
                ActivityParticipant.activity_id == activity.id, ActivityParticipant.role == role.value
            )
        )
    }
    for user_id, participant in existing.items():
        if user_id not in wanted:
            session.delete(participant)
    added = [user_id for user_id in wanted if user_id not in existing]
    for user_id in added:
        session.add(ActivityParticipant(activity_id=activity.id, user_id=user_id, role=role.value))
    try:
        session.flush()
    except IntegrityError:  # two requests adding the same participant at once
        raise StaleVersion() from None
    return added
