"""Background work of activities: task reminders, due-task notifications and outgoing email.

**Reminders and due times.** When a task gets a reminder time or a due time (on creation or
when either changes), a job is enqueued for that moment with the idempotency key
``activities.remind_task:<task id>:<time>`` (or ``activities.task_due:…``). The handler reads
the task again and acts only if it is still unfinished, not deleted, and its reminder (due) time
is still the job's time. So a moved reminder fires once, at its new time: the job of the old
time finds the times differ and does nothing, and one time has one job. Times already past when
they are set schedule nothing (logging an old task must not notify anyone).

**Notifying.** The assignee gets an in-app notification and an email in their own language. The
email is a job of its own whose payload holds the whole message, so its handler talks SMTP
before (and without) any query: on the embedded SQLite database a handler's transaction holds
the write lock from its first query.

**Sending an activity's email.** ``send_email`` commits the activity as *queued* with a send job.
The handler sends over SMTP first, then marks the activity *sent*. Delivery is at least once: a
worker that dies after the SMTP server accepted the message and before its commit sends it again
on the next attempt. The Message-ID is derived from the activity id, the same on every attempt,
so mail systems that deduplicate by Message-ID show it once. A failure before the server accepts
the message (refused connection, rejected recipient) sends nothing and is retried; when the last
attempt fails the activity is marked *failed* with the error.
"""

from __future__ import annotations

import logging
import smtplib
from datetime import datetime
from email.utils import parseaddr
from typing import Any

from babel import dates
from sqlalchemy import update

from loopcrm.modules.activities.models import Activity, ActivityKind, EmailDelivery
from loopcrm.modules.activities.service.storage import activity_path
from loopcrm.platform.audit.models import AuditAction
from loopcrm.platform.audit.service import record_change
from loopcrm.platform.auth.models import User
from loopcrm.platform.db import utc_now
from loopcrm.platform.i18n import N_, translator
from loopcrm.platform.jobs.registry import JobContext
from loopcrm.platform.jobs.service import enqueue
from loopcrm.platform.mail import Mailer, OutgoingEmail
from loopcrm.platform.notifications.models import NotificationKind
from loopcrm.platform.notifications.service import notify
from loopcrm.platform.permissions import system_actor
from loopcrm.platform.timestamps import time_zone
from loopcrm.platform.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

REMIND_TASK = "activities.remind_task"
TASK_DUE = "activities.task_due"
SEND_EMAIL = "activities.send_email"
NOTIFICATION_EMAIL = "activities.notification_email"

# Sending is retried for about an hour (2 + 4 + … + 1024 seconds ≈ 34 minutes of waiting over
# eleven attempts): long enough to ride out a mail server restart.
SEND_EMAIL_MAX_ATTEMPTS = 11
MAX_ERROR_LENGTH = 1000

REMINDER_MESSAGE = N_("Reminder: your task “{subject}” is due {due}")
DUE_MESSAGE = N_("Your task “{subject}” is due now")
REMINDER_EMAIL_SUBJECT = N_("Reminder: {subject}")
DUE_EMAIL_SUBJECT = N_("Task due: {subject}")
EMAIL_BODY = N_(
    "{message}\n\nOpen the task: {link}\n\nYou get this email because the task is assigned to you."
)


def _key(task_name: str, activity_id: str, moment: datetime) -> str:
    return f"{task_name}:{activity_id}:{moment.isoformat()}"


def schedule_task_jobs(
    uow: UnitOfWork,
    activity: Activity,
    *,
    reminder_changed: bool,
    due_changed: bool,
) -> None:
    """Enqueue the reminder and due jobs of a task whose reminder or due time was set or changed."""
    if activity.kind != ActivityKind.TASK or not activity.is_task_unfinished:
        return
    now = utc_now()
    if reminder_changed and activity.task_reminder_at is not None and activity.task_reminder_at > now:
        moment = activity.task_reminder_at
        enqueue(
            uow,
            REMIND_TASK,
            {"activity_id": activity.id, "at": moment.isoformat()},
            run_at=moment,
            idempotency_key=_key(REMIND_TASK, activity.id, moment),
        )
    if due_changed and activity.occurred_at > now:
        moment = activity.occurred_at
        enqueue(
            uow,
            TASK_DUE,
            {"activity_id": activity.id, "at": moment.isoformat()},
            run_at=moment,
            idempotency_key=_key(TASK_DUE, activity.id, moment),
        )


def _format_moment(moment: datetime, locale: str, timezone: str) -> str:
    reader_zone = time_zone(timezone)
    return dates.format_datetime(
        moment.astimezone(reader_zone), "medium", tzinfo=reader_zone, locale=translator(locale).babel_locale
    )


def run_task_notification(
    uow: UnitOfWork, payload: dict[str, Any], context: JobContext, *, kind: str
) -> bool:
    """The handler of a reminder (``kind`` = REMIND_TASK) or due job (TASK_DUE), in the worker's
    open unit of work. Returns whether the assignee was notified."""
    session = uow.session
    activity = session.get(Activity, payload["activity_id"])
    moment = datetime.fromisoformat(payload["at"])
    if activity is None or activity.is_deleted or not activity.is_task_unfinished:
        return False
    scheduled = activity.task_reminder_at if kind == REMIND_TASK else activity.occurred_at
    if scheduled != moment:
        return False  # the time moved: the job of the new time notifies
    assignee = session.get(User, activity.task_assignee_id) if activity.task_assignee_id else None
    if assignee is None or not assignee.is_active:
        return False
    path = activity_path(activity.id)
    if kind == REMIND_TASK:
        due = _format_moment(activity.occurred_at, assignee.locale, assignee.timezone)
        message, params = REMINDER_MESSAGE, {"subject": activity.subject, "due": due}
        notification_kind, email_subject = NotificationKind.TASK_REMINDER, REMINDER_EMAIL_SUBJECT
    else:
        message, params = DUE_MESSAGE, {"subject": activity.subject}
        notification_kind, email_subject = NotificationKind.TASK_DUE, DUE_EMAIL_SUBJECT
    notification_id = notify(uow, assignee.id, notification_kind, message, params, path)
    language = translator(assignee.locale)
    link = f"{context.settings.base_url.rstrip('/')}{path}"
    enqueue(
        uow,
        NOTIFICATION_EMAIL,
        {
            "to": assignee.email,
            "subject": language.message(email_subject, {"subject": activity.subject}),
            "text": language.message(
                EMAIL_BODY, {"message": language.message(message, params), "link": link}
            ),
            "message_id": f"<notification-{notification_id}@{_mail_domain(context)}>",
        },
        idempotency_key=f"{NOTIFICATION_EMAIL}:{notification_id}",
    )
    return True


def _mail_domain(context: JobContext) -> str:
    address = parseaddr(context.settings.mail_from)[1]
    return address.rpartition("@")[2] or "loopcrm.local"


def send_notification_email(payload: dict[str, Any], context: JobContext) -> None:
    """The handler of a notification's email: SMTP only, no database."""
    Mailer(context.settings).send(
        OutgoingEmail(
            to=payload["to"],
            subject=payload["subject"],
            text=payload["text"],
            message_id=payload["message_id"],
        )
    )


def enqueue_email_delivery(uow: UnitOfWork, activity: Activity, *, reply_to: str) -> None:
    """Part of ``send_email``'s transaction: the job that sends the activity's email."""
    enqueue(
        uow,
        SEND_EMAIL,
        {
            "activity_id": activity.id,
            "to": list(activity.email_to),
            "cc": list(activity.email_cc),
            "subject": activity.subject,
            "text": activity.body,
            "reply_to": reply_to,
        },
        idempotency_key=f"{SEND_EMAIL}:{activity.id}",
        max_attempts=SEND_EMAIL_MAX_ATTEMPTS,
    )


def deliver_email(uow: UnitOfWork, payload: dict[str, Any], context: JobContext) -> None:
    """The handler of ``activities.send_email``: send over SMTP, then mark the activity sent."""
    message_id = f"<activity-{payload['activity_id']}@{_mail_domain(context)}>"
    email = OutgoingEmail(
        to=", ".join(payload["to"]),
        cc=tuple(payload["cc"]),
        subject=payload["subject"],
        text=payload["text"],
        reply_to=payload["reply_to"] or None,
        message_id=message_id,
    )
    try:
        Mailer(context.settings).send(email)
    except (smtplib.SMTPException, OSError) as error:
        if context.attempt < SEND_EMAIL_MAX_ATTEMPTS:
            raise
        log.error("activity %s: the email could not be sent: %s", payload["activity_id"], error)
        _set_delivery(uow, payload["activity_id"], EmailDelivery.FAILED, context, error=str(error))
        return
    _set_delivery(uow, payload["activity_id"], EmailDelivery.SENT, context, message_id=message_id)


def _set_delivery(
    uow: UnitOfWork,
    activity_id: str,
    delivery: EmailDelivery,
    context: JobContext,
    *,
    message_id: str | None = None,
    error: str | None = None,
) -> None:
    values: dict[str, Any] = {
        "email_delivery": delivery.value,
        "email_error": error[:MAX_ERROR_LENGTH] if error else None,
        "updated_at": context.now,
        "version": Activity.version + 1,  # a changed record gets a new ETag
    }
    if delivery is EmailDelivery.SENT:
        values["email_sent_at"] = context.now
        values["email_message_id"] = message_id
    uow.session.execute(
        update(Activity)
        .where(Activity.id == activity_id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    changes: dict[str, Any] = {"email.delivery": [EmailDelivery.QUEUED.value, delivery.value]}
    if error:
        changes["email.error"] = [None, error[:MAX_ERROR_LENGTH]]
    record_change(
        uow, system_actor("activities.send_email"), AuditAction.UPDATE, "activity", activity_id, changes
    )
