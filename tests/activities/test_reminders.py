"""Reminders and due tasks: the assignee is told once, at the time, in the app and by real email."""

from __future__ import annotations

from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage

from sqlalchemy import Engine

from loopcrm.modules.activities import service as activities
from loopcrm.modules.activities.schemas import ActivityCreate, ActivityUpdate
from loopcrm.platform.db import utc_now
from loopcrm.platform.jobs.models import Job, JobStatus
from loopcrm.platform.notifications import service as notifications
from loopcrm.platform.notifications.models import Notification

from .conftest import count_rows, run_due_jobs


def received(smtp_server) -> list[EmailMessage]:  # type: ignore[no-untyped-def]
    return [message_from_bytes(content, policy=policy.default) for _, _, content in smtp_server.messages]  # type: ignore[misc]


def reminders_of(engine: Engine, kind: str) -> int:
    return count_rows(engine, Notification, Notification.kind == kind)


def new_task(uow_factory, author, assignee, *, due, reminder=None, subject="准备合同草稿"):  # type: ignore[no-untyped-def]
    return activities.log_activity(
        uow_factory(),
        author.actor,
        ActivityCreate.model_validate(
            {
                "kind": "task",
                "subject": subject,
                "occurred_at": due.isoformat(),
                "task": {
                    "assignee_id": assignee.user.id,
                    "reminder_at": reminder.isoformat() if reminder else None,
                },
            }
        ),
    )


def test_a_reminder_fires_once_at_its_time_in_the_app_and_by_email(
    uow_factory, make_person, mail_worker, clock, smtp_server, engine
) -> None:
    # Given a task for Li Lei due in two hours, with a reminder in one,
    manager = make_person("sales_manager", name="王经理")
    assignee = make_person("sales_rep", name="李雷", email="li.lei@example.com")
    reminder_at = clock.now + timedelta(hours=1)
    task = new_task(uow_factory, manager, assignee, due=clock.now + timedelta(hours=2), reminder=reminder_at)

    # when the worker runs until just before the reminder, at the reminder, and again after it,
    early = run_due_jobs(mail_worker)
    clock.now = reminder_at - timedelta(microseconds=1)
    just_before = run_due_jobs(mail_worker)
    clock.now = reminder_at
    on_time = run_due_jobs(mail_worker)
    clock.advance(timedelta(minutes=30))
    later = run_due_jobs(mail_worker)

    # then the reminder and its email ran once, at the reminder time,
    assert (early, just_before, on_time, later) == (0, 0, 2, 0)
    inbox = notifications.list_notifications(uow_factory(), assignee.actor, limit=10, cursor=None).items
    assert [item.kind for item in inbox] == ["task_reminder", "assigned_to_you"]
    due_text = inbox[0].params["due"]
    assert inbox[0].text == f"提醒：你的任务“准备合同草稿”将于 {due_text} 到期"
    assert inbox[0].path == f"/activities/{task.id}"
    # and Li Lei received exactly one email, in Chinese, linking to the task.
    (email,) = received(smtp_server)
    assert email["To"] == "li.lei@example.com"
    assert email["Subject"] == "提醒：准备合同草稿"
    assert email["Message-ID"] == f"<notification-{inbox[0].id}@loopcrm.local>"
    body = email.get_content()
    assert f"提醒：你的任务“准备合同草稿”将于 {due_text} 到期" in body
    assert f"https://crm.example.com/activities/{task.id}" in body


def test_a_moved_reminder_fires_once_at_its_new_time(
    uow_factory, make_person, mail_worker, clock, smtp_server, engine
) -> None:
    rep = make_person(
        "sales_rep",
        email="rep@example.com",
    )
    first_time = clock.now + timedelta(hours=1)
    new_time = clock.now + timedelta(hours=3)
    task = new_task(uow_factory, rep, rep, due=clock.now + timedelta(hours=4), reminder=first_time)

    activities.update_activity(
        uow_factory(),
        rep.actor,
        task.id,
        ActivityUpdate.model_validate({"task": {"reminder_at": new_time.isoformat()}}),
        expected_version=task.version,
    )
    clock.now = first_time
    at_the_old_time = run_due_jobs(mail_worker)
    reminders_after_old_time = reminders_of(engine, "task_reminder")
    clock.now = new_time
    at_the_new_time = run_due_jobs(mail_worker)
    clock.advance(timedelta(minutes=59))
    afterwards = run_due_jobs(mail_worker)

    assert (at_the_old_time, at_the_new_time, afterwards) == (1, 2, 0)  # the old job ran and did nothing
    assert reminders_after_old_time == 0
    assert reminders_of(engine, "task_reminder") == 1
    assert [email["Subject"] for email in received(smtp_server)] == ["提醒：准备合同草稿"]
    assert (
        count_rows(engine, Job, Job.name == "activities.remind_task", Job.status == JobStatus.SUCCEEDED.value)
        == 2
    )


def test_a_completed_or_deleted_task_does_not_remind(
    uow_factory, make_person, mail_worker, clock, smtp_server, engine
) -> None:
    rep = make_person("sales_rep")
    reminder_at = clock.now + timedelta(hours=1)
    completed = new_task(uow_factory, rep, rep, due=clock.now + timedelta(hours=2), reminder=reminder_at)
    deleted = new_task(uow_factory, rep, rep, due=clock.now + timedelta(hours=2), reminder=reminder_at)

    activities.complete_task(uow_factory(), rep.actor, completed.id)
    activities.delete_activity(uow_factory(), rep.actor, deleted.id)
    clock.now = reminder_at + timedelta(hours=2)
    ran = run_due_jobs(mail_worker)

    assert ran == 4  # two reminder jobs and two due jobs, each finding nothing to do
    assert count_rows(engine, Notification) == 0
    assert smtp_server.messages == []


def test_a_task_falling_due_tells_its_assignee_once_and_a_past_due_time_tells_nobody(
    uow_factory, make_person, mail_worker, clock, smtp_server, engine
) -> None:
    owner = make_person("sales_manager", name="王经理")
    assignee = make_person("sales_rep", email="han.mei@example.com")
    due = clock.now + timedelta(days=1)
    task = new_task(uow_factory, owner, assignee, due=due, subject="Send the revised quote")
    new_task(uow_factory, owner, assignee, due=utc_now() - timedelta(days=1), subject="已经逾期的任务")

    clock.now = due
    ran = run_due_jobs(mail_worker)
    clock.advance(timedelta(days=1))
    ran_later = run_due_jobs(mail_worker)

    assert (ran, ran_later) == (2, 0)
    inbox = notifications.list_notifications(uow_factory(), assignee.actor, limit=10, cursor=None).items
    assert [(item.kind, item.path) for item in inbox if item.kind == "task_due"] == [
        ("task_due", f"/activities/{task.id}")
    ]
    (email,) = received(smtp_server)
    assert (email["To"], email["Subject"]) == ("han.mei@example.com", "任务到期：Send the revised quote")
