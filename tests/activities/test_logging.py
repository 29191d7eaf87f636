"""Logging activities: each kind is stored as given, and refused input changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine

from loopcrm.modules.activities import service as activities
from loopcrm.modules.activities.models import Activity, ActivityLink, ActivityParticipant
from loopcrm.modules.activities.schemas import ActivityCreate, LinkOut
from loopcrm.platform.audit.models import AuditEntry
from loopcrm.platform.db import utc_now
from loopcrm.platform.errors import NotFound, PermissionDenied, ValidationFailed
from loopcrm.platform.jobs.models import Job
from loopcrm.platform.notifications.models import Notification
from loopcrm.platform.unit_of_work import UnitOfWork

from .conftest import count_rows


def link_to(person) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {"subject_type": "user", "subject_id": person.user.id}


def snapshot(engine: Engine) -> tuple[int, ...]:
    return tuple(
        count_rows(engine, model)
        for model in (Activity, ActivityLink, ActivityParticipant, AuditEntry, Job, Notification)
    )


def refused_fields(
    uow_factory: Callable[[], UnitOfWork],
    engine: Engine,
    person: Any,
    activity: ActivityCreate | dict[str, Any],
) -> dict[str, str]:
    """Logs ``activity`` as ``person``, which must be refused as invalid with nothing written (no
    activity, link, participant, audit entry, job or notification); returns the refused fields."""
    data = activity if isinstance(activity, ActivityCreate) else ActivityCreate.model_validate(activity)
    before = snapshot(engine)
    with pytest.raises(ValidationFailed) as refused:
        activities.log_activity(uow_factory(), person.actor, data)
    assert snapshot(engine) == before
    return {item.field: item.code for item in refused.value.errors}


def test_a_logged_call_keeps_its_details_and_links(uow_factory, make_person) -> None:
    rep = make_person("sales_rep")
    when = utc_now() - timedelta(hours=2)

    call = activities.log_activity(
        uow_factory(),
        rep.actor,
        ActivityCreate.model_validate(
            {
                "kind": "call",
                "subject": "  电话跟进报价单 ",
                "body": "客户要求下周再报价",
                "occurred_at": when.isoformat(),
                "links": [link_to(rep)],
                "call": {"direction": "outbound", "duration_seconds": 330, "outcome": "connected"},
            }
        ),
    )

    again = activities.get_activity(uow_factory(), rep.actor, call.id)
    assert again == call
    assert call.kind == "call"
    assert call.subject == "电话跟进报价单"
    assert call.body == "客户要求下周再报价"
    assert call.occurred_at == when
    assert call.owner_id == rep.user.id
    assert call.links == [LinkOut(subject_type="user", subject_id=rep.user.id)]
    assert call.call is not None
    assert (call.call.direction, call.call.duration_seconds, call.call.outcome) == (
        "outbound",
        330,
        "connected",
    )
    assert (call.meeting, call.email, call.task) == (None, None, None)
    assert call.version == 1


def test_a_note_is_sanitised_and_titled_by_its_first_words(uow_factory, make_person) -> None:
    rep = make_person("sales_rep")

    note = activities.log_activity(
        uow_factory(),
        rep.actor,
        ActivityCreate.model_validate(
            {
                "kind": "note",
                "body": '<p onclick="steal()">Budget <b>approved</b><script>alert(1)</script></p>'
                '<img src=x onerror=alert(1)><a href="javascript:alert(1)">bad</a> <a href="https://example.com">ok</a>',
                "links": [link_to(rep)],
            }
        ),
    )

    assert note.body == (
        '<p>Budget <b>approved</b></p><a rel="noopener">bad</a> '
        '<a href="https://example.com" rel="noopener">ok</a>'
    )
    assert note.subject == "Budget approved bad ok"


def test_a_plain_text_note_becomes_paragraphs_with_its_text_escaped(uow_factory, make_person) -> None:
    rep = make_person("sales_rep")

    note = activities.log_activity(
        uow_factory(),
        rep.actor,
        ActivityCreate(kind="note", subject="纪要", body="第一行 a < b & c\n第二行\n\n第二段"),
    )

    assert note.body == "<p>第一行 a &lt; b &amp; c<br>第二行</p><p>第二段</p>"


def test_a_meeting_ending_before_it_starts_is_refused_and_nothing_is_written(
    uow_factory, make_person, engine
) -> None:
    rep = make_person("sales_rep")
    start = utc_now() + timedelta(days=1)

    refused = refused_fields(
        uow_factory,
        engine,
        rep,
        {
            "kind": "meeting",
            "subject": "产品演示",
            "occurred_at": start.isoformat(),
            "links": [link_to(rep)],
            "meeting": {"ends_at": (start - timedelta(minutes=30)).isoformat(), "location": "上海"},
        },
    )

    assert refused == {"meeting.ends_at": "ends_before_start"}


def test_a_task_without_an_assignee_or_due_time_is_refused_and_nothing_is_written(
    uow_factory, make_person, engine
) -> None:
    rep = make_person("sales_rep")

    refused = refused_fields(
        uow_factory, engine, rep, ActivityCreate(kind="task", subject="准备合同", links=[])
    )

    assert refused == {"task.assignee_id": "required", "occurred_at": "required"}


def test_details_of_another_kind_and_unknown_users_are_refused(uow_factory, make_person, engine) -> None:
    rep = make_person("sales_rep")

    refused = refused_fields(
        uow_factory,
        engine,
        rep,
        {
            "kind": "task",
            "subject": "回访",
            "occurred_at": (utc_now() + timedelta(days=2)).isoformat(),
            "task": {"assignee_id": "no-such-user"},
            "call": {"direction": "inbound", "outcome": "busy"},
        },
    )

    assert refused == {"call": "not_allowed", "task.assignee_id": "unknown_user"}


def test_an_unknown_kind_of_record_is_a_field_error(uow_factory, make_person, engine) -> None:
    rep = make_person("sales_rep")

    refused = refused_fields(
        uow_factory,
        engine,
        rep,
        {"kind": "note", "subject": "x", "links": [{"subject_type": "spaceship", "subject_id": "1"}]},
    )

    assert refused == {"links.0.subject_type": "unknown_subject_type"}


def test_linking_a_record_the_actor_cannot_read_is_not_found_like_a_missing_one(
    uow_factory, make_person, engine
) -> None:
    rep = make_person("sales_rep")
    colleague = make_person("sales_rep")
    before = snapshot(engine)

    for subject_id in (colleague.user.id, "0190aaaa-0000-7000-8000-000000000000"):
        with pytest.raises(NotFound) as refused:
            activities.log_activity(
                uow_factory(),
                rep.actor,
                ActivityCreate.model_validate(
                    {
                        "kind": "note",
                        "subject": "x",
                        "links": [{"subject_type": "user", "subject_id": subject_id}],
                    }
                ),
            )
        assert refused.value.message == "Record not found"

    assert snapshot(engine) == before


def test_a_role_without_create_scope_cannot_log(uow_factory, make_person) -> None:
    reader = make_person("read_only")

    with pytest.raises(PermissionDenied):
        activities.log_activity(uow_factory(), reader.actor, ActivityCreate(kind="note", subject="x"))


def test_a_task_for_someone_else_notifies_them_and_a_mention_notifies_the_mentioned(
    uow_factory, make_person
) -> None:
    manager = make_person("sales_manager", name="王经理")
    rep = make_person("sales_rep", email="li.lei@example.com")
    other = make_person("sales_rep", email="han.mei@example.com")

    task = activities.log_activity(
        uow_factory(),
        manager.actor,
        ActivityCreate.model_validate(
            {
                "kind": "task",
                "subject": "准备合同草稿",
                "occurred_at": (utc_now() + timedelta(days=1)).isoformat(),
                "task": {"assignee_id": rep.user.id, "priority": "high"},
            }
        ),
    )
    note = activities.log_activity(
        uow_factory(),
        manager.actor,
        ActivityCreate(
            kind="note", subject="预算", body="<p>@li.lei@example.com 和 @HAN.MEI@example.com 请跟进</p>"
        ),
    )

    from loopcrm.platform.notifications import service as notifications

    rep_inbox = notifications.list_notifications(uow_factory(), rep.actor, limit=10, cursor=None).items
    other_inbox = notifications.list_notifications(uow_factory(), other.actor, limit=10, cursor=None).items
    assert [(item.kind, item.text, item.path) for item in rep_inbox] == [
        ("mentioned", "王经理 在笔记中提到了你：预算", f"/activities/{note.id}"),
        ("assigned_to_you", "王经理 给你分配了任务：准备合同草稿", f"/activities/{task.id}"),
    ]
    assert [item.kind for item in other_inbox] == ["mentioned"]
    assert note.mentioned_user_ids == sorted([rep.user.id, other.user.id])
