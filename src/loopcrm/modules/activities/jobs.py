"""The activities module's background tasks: task reminders, due notifications and email.

Each handler is one call into :mod:`loopcrm.modules.activities.service.scheduling`, which
explains when they are enqueued and why each acts at most once. ``loopcrm.app.register_tasks``
imports this module so that workers know the tasks.
"""

from __future__ import annotations

from typing import Any

from loopcrm.modules.activities.service import scheduling
from loopcrm.platform.jobs.registry import JobContext, task
from loopcrm.platform.unit_of_work import UnitOfWork


@task(scheduling.REMIND_TASK)
def remind_task(uow: UnitOfWork, payload: dict[str, Any], context: JobContext) -> None:
    """At a task's reminder time: notify its assignee in the app and by email, if still due."""
    scheduling.run_task_notification(uow, payload, context, kind=scheduling.REMIND_TASK)


@task(scheduling.TASK_DUE)
def notify_task_due(uow: UnitOfWork, payload: dict[str, Any], context: JobContext) -> None:
    """At a task's due time: tell its assignee it is due, if still unfinished."""
    scheduling.run_task_notification(uow, payload, context, kind=scheduling.TASK_DUE)


@task(scheduling.NOTIFICATION_EMAIL)
def send_notification_email(uow: UnitOfWork, payload: dict[str, Any], context: JobContext) -> None:
    """The email copy of a notification: SMTP only, before (and without) any query."""
    scheduling.send_notification_email(payload, context)


@task(scheduling.SEND_EMAIL, max_attempts=scheduling.SEND_EMAIL_MAX_ATTEMPTS)
def send_email(uow: UnitOfWork, payload: dict[str, Any], context: JobContext) -> None:
    """An email a user sent from LoopCRM: SMTP first, then the activity is marked sent."""
    scheduling.deliver_email(uow, payload, context)
