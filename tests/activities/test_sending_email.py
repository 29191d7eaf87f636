"""Emails sent from LoopCRM: queued with the activity, sent over real SMTP by a worker, marked sent.

Delivery is at least once (see ``service/scheduling.py``): what can be avoided is avoided — a
failure before the SMTP server accepts the message sends nothing, and the retry sends it once;
the send job exists once per activity; every attempt uses the same Message-ID.
"""

from __future__ import annotations

import socket
from datetime import timedelta
from email import message_from_bytes, policy
from typing import Any

import pytest
from sqlalchemy.orm import sessionmaker

from loopcrm.modules.activities import service as activities
from loopcrm.modules.activities.schemas import EmailSend
from loopcrm.platform.db import utc_now
from loopcrm.platform.jobs.models import Job
from loopcrm.platform.jobs.service import JobOutcome, enqueue
from loopcrm.platform.jobs.worker import Worker
from loopcrm.settings import Settings

from ..support.hand_clock import HandClock
from .conftest import count_rows, run_due_jobs


def email_to_customer(person) -> EmailSend:  # type: ignore[no-untyped-def]
    return EmailSend.model_validate(
        {
            "subject": "报价单及方案说明",
            "body": "您好，附件是本次的报价单，请查收。",
            "to": ["buyer@customer.example.cn"],
            "cc": ["boss@customer.example.cn"],
            "links": [{"subject_type": "user", "subject_id": person.user.id}],
        }
    )


@pytest.fixture
def down_worker(session_factory: sessionmaker[Any], mail_settings: Settings, clock: HandClock) -> Worker:
    """A worker whose mail server is down: nothing listens on its SMTP port, so connections are refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    down_settings = mail_settings.model_copy(update={"smtp_port": closed_port})
    return Worker(session_factory, down_settings, clock=clock, run_scheduler=False)


def test_a_sent_email_is_received_and_the_activity_marked_sent(
    uow_factory, make_person, mail_worker, clock, smtp_server
) -> None:
    rep = make_person("sales_rep", name="李雷", email="li.lei@example.com")

    queued = activities.send_email(uow_factory(), rep.actor, email_to_customer(rep))
    clock.now = utc_now()
    ran = run_due_jobs(mail_worker)
    sent = activities.get_activity(uow_factory(), rep.actor, queued.id)

    assert queued.email is not None and queued.email.delivery == "queued"
    assert ran == 1
    assert sent.email is not None
    assert sent.email.delivery == "sent"
    assert sent.email.sent_at == clock.now
    assert sent.email.message_id == f"<activity-{queued.id}@loopcrm.local>"
    assert sent.version == queued.version + 1
    ((sender, recipients, content),) = smtp_server.messages
    message = message_from_bytes(content, policy=policy.default)
    assert recipients == ["buyer@customer.example.cn", "boss@customer.example.cn"]
    assert sender == "noreply@loopcrm.local"
    assert message["Reply-To"] == "li.lei@example.com"
    assert message["Cc"] == "boss@customer.example.cn"
    assert message["Subject"] == "报价单及方案说明"
    assert message["Message-ID"] == sent.email.message_id
    assert message.get_content().strip() == "您好，附件是本次的报价单，请查收。"


def test_a_mail_server_that_is_down_gets_the_email_once_it_is_back(
    uow_factory, make_person, down_worker, mail_worker, clock, smtp_server
) -> None:
    rep = make_person("sales_rep")
    down, up = down_worker, mail_worker

    queued = activities.send_email(uow_factory(), rep.actor, email_to_customer(rep))
    clock.now = utc_now()
    first = down.run_next()
    still_queued = activities.get_activity(uow_factory(), rep.actor, queued.id)
    clock.advance(timedelta(seconds=2))
    second = up.run_next()
    third = up.run_next()

    assert (first, second, third) == (JobOutcome.RETRY_SCHEDULED, JobOutcome.SUCCEEDED, None)
    assert still_queued.email is not None and still_queued.email.delivery == "queued"
    assert len(smtp_server.messages) == 1
    sent = activities.get_activity(uow_factory(), rep.actor, queued.id)
    assert sent.email is not None and sent.email.delivery == "sent"


def test_an_email_that_cannot_be_sent_on_the_last_attempt_is_marked_failed(
    uow_factory, make_person, down_worker, clock, smtp_server
) -> None:
    rep = make_person("sales_rep")
    down = down_worker
    queued = activities.send_email(uow_factory(), rep.actor, email_to_customer(rep))
    clock.now = utc_now()

    outcomes = []
    for _ in range(20):
        outcome = down.run_next()
        if outcome is not None:
            outcomes.append(outcome)
        clock.advance(timedelta(hours=1))

    failed = activities.get_activity(uow_factory(), rep.actor, queued.id)
    assert outcomes == [JobOutcome.RETRY_SCHEDULED] * 10 + [JobOutcome.SUCCEEDED]
    assert failed.email is not None
    assert failed.email.delivery == "failed"
    assert failed.email.error is not None and "Connection refused" in failed.email.error
    assert smtp_server.messages == []


def test_the_send_job_exists_once_per_activity(uow_factory, make_person, engine) -> None:
    rep = make_person("sales_rep")
    queued = activities.send_email(uow_factory(), rep.actor, email_to_customer(rep))

    with uow_factory() as uow:  # a second enqueue of the same activity's send (a replayed request)
        again = enqueue(
            uow,
            "activities.send_email",
            {"activity_id": queued.id},
            idempotency_key=f"activities.send_email:{queued.id}",
        )
        uow.commit()

    assert count_rows(engine, Job, Job.name == "activities.send_email") == 1
    assert again.payload["activity_id"] == queued.id and "to" in again.payload
