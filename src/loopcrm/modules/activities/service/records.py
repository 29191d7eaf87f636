"""Use cases of single activities: log, read, list, change, complete, delete, and send an email."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import or_, select

from loopcrm.modules.activities.models import (
    Activity,
    ActivityKind,
    ActivityLink,
    ActivityParticipant,
    EmailDelivery,
    ParticipantRole,
    TaskStatus,
)
from loopcrm.modules.activities.schemas import (
    ActivityCreate,
    ActivityFilter,
    ActivityOut,
    ActivityUpdate,
    EmailSend,
    LinkOut,
)
from loopcrm.modules.activities.service import content, scheduling
from loopcrm.modules.activities.service.registry import ACTIVITY, may_read_subject, resolve_subject
from loopcrm.modules.activities.service.storage import (
    activity_path,
    audit_snapshot,
    check_subject_types,
    check_users,
    check_version,
    flush,
    links_after_update,
    load_visible,
    masked_for,
    output,
    outputs,
    raise_if_any,
    resolve_all,
    sync_links,
    sync_participants,
    team_of,
    user_references,
    users_by_email,
    users_by_id,
)
from loopcrm.platform.audit.models import AuditAction
from loopcrm.platform.audit.service import diff, record_change
from loopcrm.platform.db import utc_now
from loopcrm.platform.errors import FieldError, PermissionDenied, ValidationFailed
from loopcrm.platform.i18n import N_
from loopcrm.platform.notifications.models import NotificationKind
from loopcrm.platform.notifications.service import notify
from loopcrm.platform.pagination import Page, paginate
from loopcrm.platform.permissions import (
    Action,
    Actor,
    can_reach_record,
    require,
    require_record_access,
    scope_condition,
)
from loopcrm.platform.unit_of_work import UnitOfWork

ASSIGNED_MESSAGE = N_("{actor} assigned a task to you: {subject}")
MENTIONED_MESSAGE = N_("{actor} mentioned you in a note: {subject}")
# A note without a subject is titled with its first words.
NOTE_TITLE_LENGTH = 80

_DETAIL_FIELDS = {
    ActivityKind.CALL: "call",
    ActivityKind.MEETING: "meeting",
    ActivityKind.EMAIL: "email",
    ActivityKind.TASK: "task",
}
_MISSING_DETAILS = {
    ActivityKind.CALL: ("call", N_("Give the call's direction and outcome")),
    ActivityKind.MEETING: ("meeting.ends_at", N_("Give the meeting's end time")),
    ActivityKind.EMAIL: ("email", N_("Give the email's sender and recipients")),
    ActivityKind.TASK: ("task.assignee_id", N_("A task needs an assignee")),
}


def _actor_user_id(actor: Actor) -> str:
    if actor.user_id is None:
        raise PermissionDenied("Activities are logged by users, not by the system")
    return actor.user_id


def _detail_errors(
    kind: ActivityKind, given: dict[str, bool], *, require_own: bool = True
) -> list[FieldError]:
    """Details of another kind are refused; a new activity (``require_own``) must have its own."""
    errors = [
        FieldError(name, "These details do not belong to this kind of activity", "not_allowed")
        for other, name in _DETAIL_FIELDS.items()
        if other is not kind and given[name]
    ]
    if require_own and kind in _MISSING_DETAILS and not given[_DETAIL_FIELDS[kind]]:
        field_path, message = _MISSING_DETAILS[kind]
        errors.append(FieldError(field_path, message, "required"))
    return errors


def _time_errors(kind: ActivityKind, occurred_at: datetime | None, activity: Activity) -> list[FieldError]:
    errors: list[FieldError] = []
    if occurred_at is None:
        return errors
    ends_at, reminder_at = activity.meeting_ends_at, activity.task_reminder_at
    if kind is ActivityKind.MEETING and ends_at is not None and ends_at <= occurred_at:
        errors.append(
            FieldError("meeting.ends_at", "The meeting must end after it starts", "ends_before_start")
        )
    if kind is ActivityKind.TASK and reminder_at is not None and reminder_at > occurred_at:
        errors.append(
            FieldError("task.reminder_at", "The reminder must not come after the due time", "after_due")
        )
    return errors


def _note_body(body: str) -> str:
    return content.sanitize_note_html(
        body if content.looks_like_html(body) else content.plain_text_to_note_html(body)
    )


def _mention(uow: UnitOfWork, actor: Actor, activity: Activity) -> list[str]:
    """Record the users a note mentions; the newly mentioned ones (other than the author) are notified."""
    if activity.kind != ActivityKind.NOTE:
        return []
    mentioned = users_by_email(uow.session, content.mentioned_emails(activity.body))
    added = sync_participants(
        uow.session, activity, ParticipantRole.MENTIONED, [user.id for user in mentioned.values()]
    )
    for user_id in added:
        if user_id != actor.user_id:
            notify(
                uow,
                user_id,
                NotificationKind.MENTIONED,
                MENTIONED_MESSAGE,
                {"actor": _actor_name(actor), "subject": activity.subject},
                activity_path(activity.id),
            )
    return added


def _actor_name(actor: Actor) -> str:
    return actor.display_name or actor.label


def _notify_assignee(uow: UnitOfWork, actor: Actor, activity: Activity) -> None:
    if activity.task_assignee_id and activity.task_assignee_id != actor.user_id:
        notify(
            uow,
            activity.task_assignee_id,
            NotificationKind.ASSIGNED_TO_YOU,
            ASSIGNED_MESSAGE,
            {"actor": _actor_name(actor), "subject": activity.subject},
            activity_path(activity.id),
        )


def log_activity(uow: UnitOfWork, actor: Actor, data: ActivityCreate) -> ActivityOut:
    """Log a note, call, meeting, email (after the fact) or task linked to records.

    Each linked record must exist and be readable by the actor (checked by the resolver its
    module registered): otherwise :class:`~loopcrm.platform.errors.NotFound`, so nobody learns of
    records they may not see. A task with a reminder or a future due time gets its jobs; a note's
    @mentions and a task's assignee (when someone else) are notified. Nothing is written when
    anything is refused.
    """
    require(actor, ACTIVITY.key, Action.CREATE)
    owner_id = _actor_user_id(actor)
    kind = data.kind
    given = {name: getattr(data, name) is not None for name in _DETAIL_FIELDS.values()}
    errors = _detail_errors(kind, given)
    errors += check_subject_types(data.links, "links")
    if data.meeting is not None:
        errors += check_subject_types(data.meeting.attendee_records, "meeting.attendee_records")
    subject = data.subject
    body = _note_body(data.body) if kind is ActivityKind.NOTE else data.body.strip()
    if subject is None:
        if kind is ActivityKind.NOTE and body:
            subject = content.summary(content.html_to_text(body), NOTE_TITLE_LENGTH)
        else:
            errors.append(FieldError("subject", "This field is required", "required"))
    if data.occurred_at is None and kind in (ActivityKind.MEETING, ActivityKind.TASK):
        message = (
            N_("Give the meeting's start time")
            if kind is ActivityKind.MEETING
            else N_("Give the task's due time")
        )
        errors.append(FieldError("occurred_at", message, "required"))
    occurred_at = data.occurred_at or utc_now()
    activity = Activity(
        kind=kind.value,
        subject=subject or "",
        body=body,
        occurred_at=occurred_at,
        owner_id=owner_id,
        created_by=owner_id,
        updated_by=owner_id,
        email_to=[],
        email_cc=[],
    )
    _apply_create_details(activity, data)
    errors += _time_errors(kind, data.occurred_at, activity)
    with uow:
        session = uow.session
        errors += check_users(
            session,
            user_references(
                data.task.assignee_id if data.task is not None else None,
                data.meeting.attendee_user_ids if data.meeting is not None else None,
            ),
        )
        raise_if_any(errors)
        attendees = data.meeting.attendee_records if data.meeting is not None else []
        resolve_all(uow, actor, [*data.links, *attendees])
        activity.team_id = team_of(session, owner_id)
        session.add(activity)
        flush(session)
        sync_links(session, activity, data.links, attendees)
        if data.meeting is not None:
            sync_participants(session, activity, ParticipantRole.ATTENDEE, data.meeting.attendee_user_ids)
        _mention(uow, actor, activity)
        _notify_assignee(uow, actor, activity)
        scheduling.schedule_task_jobs(uow, activity, reminder_changed=True, due_changed=True)
        return _commit_creation(uow, actor, activity)


def _commit_creation(uow: UnitOfWork, actor: Actor, activity: Activity) -> ActivityOut:
    """Audit a new activity with every field it was given, commit, and answer as the actor sees it."""
    flush(uow.session)
    result = output(uow.session, activity)
    record_change(
        uow,
        actor,
        AuditAction.CREATE,
        ACTIVITY.key,
        activity.id,
        {name: [None, value] for name, value in audit_snapshot(result).items()},
    )
    uow.commit()
    return masked_for(actor, result)


def _apply_create_details(activity: Activity, data: ActivityCreate) -> None:
    if data.kind is ActivityKind.CALL and data.call is not None:
        activity.call_direction = data.call.direction.value
        activity.call_duration_seconds = data.call.duration_seconds
        activity.call_outcome = data.call.outcome.value
    elif data.kind is ActivityKind.MEETING and data.meeting is not None:
        activity.meeting_ends_at = data.meeting.ends_at
        activity.meeting_location = data.meeting.location or None
    elif data.kind is ActivityKind.EMAIL and data.email is not None:
        activity.email_delivery = EmailDelivery.LOGGED.value
        activity.email_from = str(data.email.from_address)
        activity.email_to = [str(address) for address in data.email.to]
        activity.email_cc = [str(address) for address in data.email.cc]
    elif data.kind is ActivityKind.TASK and data.task is not None:
        activity.task_assignee_id = data.task.assignee_id
        activity.task_priority = data.task.priority.value
        activity.task_status = data.task.status.value
        activity.task_reminder_at = data.task.reminder_at
        if data.task.status is TaskStatus.DONE:
            activity.task_completed_at = utc_now()


def send_email(uow: UnitOfWork, actor: Actor, data: EmailSend) -> ActivityOut:
    """Send an email over SMTP from LoopCRM and log it on the linked records.

    The activity is committed as *queued* together with the send job (enqueued inside this unit
    of work, so it exists exactly when the activity does); a worker sends it and marks it
    *sent* (see :mod:`~loopcrm.modules.activities.service.scheduling` for retries and the
    at-least-once limit). The message goes out from the installation's address with Reply-To
    set to the sender's, so answers reach the sender.
    """
    require(actor, ACTIVITY.key, Action.CREATE)
    owner_id = _actor_user_id(actor)
    raise_if_any(check_subject_types(data.links, "links"))
    with uow:
        session = uow.session
        resolve_all(uow, actor, data.links)
        sender = users_by_id(session, [owner_id]).get(owner_id)
        if sender is None:
            raise PermissionDenied()
        now = utc_now()
        activity = Activity(
            kind=ActivityKind.EMAIL.value,
            subject=data.subject,
            body=data.body.strip(),
            occurred_at=now,
            owner_id=owner_id,
            team_id=team_of(session, owner_id),
            email_delivery=EmailDelivery.QUEUED.value,
            email_from=sender.email,
            email_to=[str(address) for address in data.to],
            email_cc=[str(address) for address in data.cc],
            created_by=owner_id,
            updated_by=owner_id,
        )
        session.add(activity)
        flush(session)
        sync_links(session, activity, data.links, [])
        scheduling.enqueue_email_delivery(uow, activity, reply_to=sender.email)
        return _commit_creation(uow, actor, activity)


def get_activity(uow: UnitOfWork, actor: Actor, activity_id: str) -> ActivityOut:
    """One activity, if the actor may read it (see the module's visibility rules)."""
    with uow:
        return _shown_to(uow, actor, [output(uow.session, load_visible(uow, actor, activity_id), actor)])[0]


def list_activities(
    uow: UnitOfWork, actor: Actor, filters: ActivityFilter, *, limit: int, cursor: str | None
) -> Page[ActivityOut]:
    """Activities newest first (by id).

    With ``subject``, every activity linked to that record, if the actor may read the record
    (else :class:`NotFound`). Without, those the ``activity`` grants let the actor read plus
    the ones it is assigned to or takes part in; activities visible only through a record are
    listed per record.
    """
    with uow:
        session = uow.session
        statement = select(Activity).where(Activity.deleted_at.is_(None))
        if filters.subject:
            subject_type, _, subject_id = filters.subject.partition(":")
            resolve_subject(uow, actor, subject_type, subject_id)
            statement = statement.where(
                Activity.id.in_(
                    select(ActivityLink.activity_id).where(
                        ActivityLink.subject_type == subject_type, ActivityLink.subject_id == subject_id
                    )
                )
            )
        else:
            reachable = [
                Activity.task_assignee_id == actor.user_id,
                Activity.id.in_(
                    select(ActivityParticipant.activity_id).where(
                        ActivityParticipant.user_id == actor.user_id
                    )
                ),
            ]
            if actor.can(ACTIVITY.key, Action.READ):
                reachable.append(
                    scope_condition(
                        actor,
                        ACTIVITY.key,
                        Action.READ,
                        owner_column=Activity.owner_id,
                        team_column=Activity.team_id,
                    )
                )
            statement = statement.where(or_(*reachable))
        if filters.kind:
            statement = statement.where(Activity.kind == filters.kind.value)
        if filters.owner_id:
            statement = statement.where(Activity.owner_id == filters.owner_id)
        if filters.status:
            statement = statement.where(
                Activity.kind == ActivityKind.TASK.value, Activity.task_status == filters.status.value
            )
        page = paginate(session, statement, Activity.id, limit=limit, cursor=cursor, convert=lambda row: row)
        items = _shown_to(uow, actor, outputs(session, page.items, actor))
        return Page[ActivityOut](items=items, next_cursor=page.next_cursor)


def _shown_to(uow: UnitOfWork, actor: Actor, activities: list[ActivityOut]) -> list[ActivityOut]:
    """``activities`` with each link to a record the actor may not read hidden: its kind stays, its
    id goes (the page shows no name either). Each distinct record is checked once."""
    readable: dict[tuple[str, str | None], bool] = {}

    def shown(links: list[LinkOut]) -> list[LinkOut]:
        result = []
        for link in links:
            if link.subject_id is not None and link.key not in readable:
                readable[link.key] = may_read_subject(uow, actor, link.subject_type, link.subject_id)
            visible = link.subject_id is not None and readable[link.key]
            result.append(link if visible else LinkOut(subject_type=link.subject_type, hidden=True))
        return result

    return [
        activity.model_copy(
            update={
                "links": shown(activity.links),
                "meeting": activity.meeting
                and activity.meeting.model_copy(
                    update={"attendee_records": shown(activity.meeting.attendee_records)}
                ),
            }
        )
        for activity in activities
    ]


def update_activity(
    uow: UnitOfWork,
    actor: Actor,
    activity_id: str,
    data: ActivityUpdate,
    *,
    expected_version: int | None = None,
) -> ActivityOut:
    """Change an activity; absent fields stay. Changing needs ``activity`` update scope on the
    owner (reps: their own). A changed reminder or due time schedules its job; a new assignee
    and newly @mentioned users are notified.

    ``links`` and ``meeting.attendee_records`` replace the records the actor may read; links to
    records the actor may not read stay as they are (they see them only as hidden, so they can
    neither name nor remove them; see :func:`links_after_update`)."""
    with uow:
        session = uow.session
        activity = load_visible(uow, actor, activity_id, for_update=True)
        require_record_access(
            actor, ACTIVITY.key, Action.UPDATE, owner_id=activity.owner_id, team_id=activity.team_id
        )
        check_version(activity, expected_version)
        kind = ActivityKind(activity.kind)
        before = output(session, activity)
        changes = data.model_dump(exclude_unset=True)
        given = {name: changes.get(name) is not None for name in _DETAIL_FIELDS.values()}
        errors = _detail_errors(kind, given, require_own=False)
        if given["email"] and activity.email_delivery != EmailDelivery.LOGGED:
            errors.append(FieldError("email", "An email sent from LoopCRM cannot be changed", "sent"))
        links = data.links
        attendees = data.meeting.attendee_records if data.meeting is not None else None
        errors += check_subject_types(links or [], "links")
        errors += check_subject_types(attendees or [], "meeting.attendee_records")
        errors += check_users(
            session,
            user_references(
                data.task.assignee_id if data.task is not None else None,
                data.meeting.attendee_user_ids if data.meeting is not None else None,
            ),
        )
        raise_if_any(errors)
        old_reminder, old_due, old_assignee = (
            activity.task_reminder_at,
            activity.occurred_at,
            activity.task_assignee_id,
        )
        _apply_changes(activity, changes)
        errors = _time_errors(kind, activity.occurred_at, activity)
        if data.subject is None and "subject" in changes:
            errors.append(FieldError("subject", "This field is required", "required"))
        raise_if_any(errors)
        linked_before = {link.key for link in before.links}
        new_subjects, new_attendees = links_after_update(uow, actor, activity, links, attendees)
        resolve_all(
            uow, actor, [link for link in [*new_subjects, *new_attendees] if link.key not in linked_before]
        )
        sync_links(session, activity, new_subjects, new_attendees)
        if data.meeting is not None and data.meeting.attendee_user_ids is not None:
            sync_participants(session, activity, ParticipantRole.ATTENDEE, data.meeting.attendee_user_ids)
        if "body" in changes:
            _mention(uow, actor, activity)
        if activity.task_assignee_id != old_assignee:
            _notify_assignee(uow, actor, activity)
        scheduling.schedule_task_jobs(
            uow,
            activity,
            reminder_changed=activity.task_reminder_at != old_reminder,
            due_changed=activity.occurred_at != old_due,
        )
        after = output(session, activity)
        change_log = diff(audit_snapshot(before), audit_snapshot(after))
        if change_log:
            activity.updated_by = actor.user_id
            activity.updated_at = utc_now()
            flush(session)
            record_change(uow, actor, AuditAction.UPDATE, ACTIVITY.key, activity.id, change_log)
            after = output(session, activity)
        shown = _shown_to(uow, actor, [masked_for(actor, after)])[0]
        uow.commit()
        return shown


def _apply_changes(activity: Activity, changes: dict[str, Any]) -> None:
    if changes.get("subject") is not None:
        activity.subject = changes["subject"]
    if changes.get("body") is not None:
        body = changes["body"]
        activity.body = _note_body(body) if activity.kind == ActivityKind.NOTE else body.strip()
    if changes.get("occurred_at") is not None:
        activity.occurred_at = changes["occurred_at"]
    call = changes.get("call") or {}
    for name, column in (("direction", "call_direction"), ("outcome", "call_outcome")):
        if call.get(name) is not None:
            setattr(activity, column, str(call[name]))
    if "duration_seconds" in call:
        activity.call_duration_seconds = call["duration_seconds"]
    meeting = changes.get("meeting") or {}
    if meeting.get("ends_at") is not None:
        activity.meeting_ends_at = meeting["ends_at"]
    if "location" in meeting:
        activity.meeting_location = meeting["location"] or None
    email = changes.get("email") or {}
    if email.get("from_address") is not None:
        activity.email_from = str(email["from_address"])
    for name, column in (("to", "email_to"), ("cc", "email_cc")):
        if email.get(name) is not None:
            setattr(activity, column, [str(address) for address in email[name]])
    task = changes.get("task") or {}
    if task.get("assignee_id") is not None:
        activity.task_assignee_id = task["assignee_id"]
    if task.get("priority") is not None:
        activity.task_priority = str(task["priority"])
    if "reminder_at" in task:
        activity.task_reminder_at = task["reminder_at"]
    if task.get("status") is not None:
        _set_task_status(activity, TaskStatus(task["status"]))


def _set_task_status(activity: Activity, status: TaskStatus) -> None:
    if status is TaskStatus.DONE and activity.task_status != TaskStatus.DONE:
        activity.task_completed_at = utc_now()
    elif status is not TaskStatus.DONE:
        activity.task_completed_at = None
    activity.task_status = status.value


def complete_task(
    uow: UnitOfWork, actor: Actor, activity_id: str, *, expected_version: int | None = None
) -> ActivityOut:
    """Mark a task done. Its assignee may, as may whoever may change the task; its reminder and
    due notification no longer fire. Completing a done task changes nothing."""
    with uow:
        session = uow.session
        activity = load_visible(uow, actor, activity_id, for_update=True)
        if activity.kind != ActivityKind.TASK:
            raise ValidationFailed.single("kind", "Only a task can be completed", "not_a_task")
        if activity.task_assignee_id != actor.user_id:
            require_record_access(
                actor, ACTIVITY.key, Action.UPDATE, owner_id=activity.owner_id, team_id=activity.team_id
            )
        check_version(activity, expected_version)
        if activity.task_status != TaskStatus.DONE:
            before = activity.task_status
            _set_task_status(activity, TaskStatus.DONE)
            activity.updated_by = actor.user_id
            flush(session)
            record_change(
                uow,
                actor,
                AuditAction.UPDATE,
                ACTIVITY.key,
                activity.id,
                {"task.status": [before, TaskStatus.DONE]},
            )
        shown = _shown_to(uow, actor, [output(session, activity, actor)])[0]
        uow.commit()
        return shown


def delete_activity(
    uow: UnitOfWork, actor: Actor, activity_id: str, *, expected_version: int | None = None
) -> None:
    """Hide an activity (soft delete, audited): it leaves every timeline, list and calendar, its
    reminders no longer fire, and the row stays so the deletion can be investigated or undone."""
    with uow:
        session = uow.session
        activity = load_visible(uow, actor, activity_id, for_update=True)
        require_record_access(
            actor, ACTIVITY.key, Action.DELETE, owner_id=activity.owner_id, team_id=activity.team_id
        )
        check_version(activity, expected_version)
        activity.deleted_at = utc_now()
        activity.updated_by = actor.user_id
        flush(session)
        record_change(
            uow,
            actor,
            AuditAction.DELETE,
            ACTIVITY.key,
            activity.id,
            {"deleted_at": [None, activity.deleted_at]},
        )
        uow.commit()


def may_change(actor: Actor, activity: ActivityOut) -> bool:
    """Whether the actor may edit (and delete) the activity: for pages deciding what to offer."""
    return can_reach_record(
        actor, ACTIVITY.key, Action.UPDATE, owner_id=activity.owner_id, team_id=activity.team_id
    )


def may_complete(actor: Actor, activity: ActivityOut) -> bool:
    """Whether the actor may mark the task done: its assignee, or whoever may change it."""
    if activity.task is None or not activity.task.is_unfinished:
        return False
    return activity.task.assignee_id == actor.user_id or may_change(actor, activity)


__all__ = [
    "complete_task",
    "delete_activity",
    "get_activity",
    "list_activities",
    "log_activity",
    "may_change",
    "may_complete",
    "send_email",
    "update_activity",
]
