"""Demo data: a year of plausible activities on the demo's accounts and contacts.

The integrator's ``loopcrm/demo.py`` calls :func:`load_demo_activities` once its accounts and
contacts exist, passing ``(subject_type, subject_id, owner_user_id)`` for each record. Rows are
inserted in bulk (no permission checks, no notifications, no reminder jobs): demo data describes
the past; the few open tasks due in the coming weeks show in "My tasks" and the calendar.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, insert

from loopcrm.modules.activities.models import (
    Activity,
    ActivityKind,
    ActivityLink,
    CallDirection,
    CallOutcome,
    EmailDelivery,
    TaskPriority,
    TaskStatus,
)
from loopcrm.modules.activities.service.content import plain_text_to_note_html
from loopcrm.platform.db import new_id, utc_now
from loopcrm.platform.unit_of_work import UnitOfWork

# Most customers see a few touches a year; a few key ones see dozens (a long-tailed spread).
MEAN_ACTIVITIES_PER_RECORD = 6
MAX_ACTIVITIES_PER_RECORD = 60
BATCH_SIZE = 2000

_NOTES = [
    ("客户关注交付周期", "客户希望在季度末之前完成第一期部署，需要确认实施团队的排期。"),
    ("采购流程说明", "对方采购需要三家比价，预计两周内给出结论。决策人是财务总监。"),
    ("竞品情况", "客户目前在用竞品的旧版本，对数据迁移有顾虑，可提供迁移方案。"),
    ("预算确认", "今年预算已批，金额在 50 万以内，下个月可以走合同流程。"),
    ("Renewal risk", "Usage dropped after their reorganisation; schedule a health check with the new owner."),
    (
        "Pricing feedback",
        "They find the per-seat price high compared with last year; consider a volume tier.",
    ),
]
_CALLS = [
    "电话跟进报价单",
    "确认演示时间",
    "回访使用情况",
    "催收第二期款项",
    "Follow-up call about the proposal",
    "Intro call with the new IT lead",
]
_MEETINGS = [
    ("产品演示", "客户总部会议室"),
    ("需求调研", "线上会议"),
    ("商务谈判", "上海办公室"),
    ("季度业务回顾", "客户现场"),
    ("Quarterly business review", "Video call"),
    ("Technical deep dive", "Customer office"),
]
_EMAILS = [
    ("报价单及方案说明", "您好，附件是本次的报价单和实施方案，请查收。如有问题随时联系。"),
    ("会议纪要", "感谢今天的时间，会议纪要如下：一、确认需求范围；二、下周提供测试环境。"),
    ("Proposal and next steps", "Thank you for your time today. As discussed, the proposal is attached."),
    ("Contract draft", "Please find the contract draft for your legal team's review."),
]
_TASKS = [
    "准备合同草稿",
    "发送产品资料",
    "安排技术交流",
    "更新商机阶段",
    "Send the revised quote",
    "Book the onsite workshop",
]


def _count(generator: random.Random) -> int:
    return min(MAX_ACTIVITIES_PER_RECORD, int(generator.expovariate(1 / MEAN_ACTIVITIES_PER_RECORD)))


def _activity(
    generator: random.Random, kind: ActivityKind, owner_id: str, occurred_at: datetime, now: datetime
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": new_id(),
        "kind": kind.value,
        "body": "",
        "occurred_at": occurred_at,
        "owner_id": owner_id,
        "team_id": None,
        "email_to": [],
        "email_cc": [],
        "created_at": min(occurred_at, now),
        "updated_at": min(occurred_at, now),
        "created_by": owner_id,
        "updated_by": owner_id,
        "version": 1,
        "deleted_at": None,
    }
    if kind is ActivityKind.NOTE:
        subject, text = generator.choice(_NOTES)
        row.update(subject=subject, body=plain_text_to_note_html(text))
    elif kind is ActivityKind.CALL:
        row.update(
            subject=generator.choice(_CALLS),
            call_direction=generator.choice(list(CallDirection)).value,
            call_outcome=generator.choices(list(CallOutcome), weights=[60, 20, 8, 10, 2])[0].value,
            call_duration_seconds=generator.randint(30, 1800),
        )
    elif kind is ActivityKind.MEETING:
        subject, location = generator.choice(_MEETINGS)
        row.update(
            subject=subject,
            meeting_location=location,
            meeting_ends_at=occurred_at + timedelta(minutes=generator.choice([30, 60, 90, 120])),
        )
    elif kind is ActivityKind.EMAIL:
        subject, text = generator.choice(_EMAILS)
        row.update(
            subject=subject,
            body=text,
            email_delivery=EmailDelivery.LOGGED.value,
            email_from="sales@example.com",
            email_to=["customer@example.com"],
        )
    else:
        is_future = occurred_at > now
        status = (
            TaskStatus.OPEN
            if is_future
            else generator.choices(
                [TaskStatus.DONE, TaskStatus.OPEN, TaskStatus.CANCELLED], weights=[85, 10, 5]
            )[0]
        )
        row.update(
            subject=generator.choice(_TASKS),
            task_assignee_id=owner_id,
            task_priority=generator.choices(list(TaskPriority), weights=[15, 60, 20, 5])[0].value,
            task_status=status.value,
            task_completed_at=occurred_at if status is TaskStatus.DONE else None,
        )
    return row


def load_demo_activities(
    uow: UnitOfWork,
    records: Sequence[tuple[str, str, str]],
    *,
    seed: int = 20261123,
    now: datetime | None = None,
) -> int:
    """Give each ``(subject_type, subject_id, owner_user_id)`` a year of activities (notes, calls,
    meetings, logged emails, tasks; Chinese and English), newest a few weeks ahead for open
    tasks and planned meetings. Returns how many activities were added. Deterministic per seed."""
    generator = random.Random(seed)  # noqa: S311 -- made-up demo data, reproducible on purpose
    moment = now or utc_now()
    kinds = list(ActivityKind)
    weights = [20, 35, 15, 15, 15]
    activities: list[dict[str, Any]] = []
    links: list[dict[str, Any]] = []
    added = 0
    with uow:
        for subject_type, subject_id, owner_id in records:
            for _ in range(_count(generator)):
                kind = generator.choices(kinds, weights=weights)[0]
                ahead = kind in (ActivityKind.TASK, ActivityKind.MEETING) and generator.random() < 0.15
                offset = (
                    timedelta(minutes=generator.randint(0, 21 * 24 * 60))
                    if ahead
                    else -timedelta(minutes=generator.randint(10, 365 * 24 * 60))
                )
                occurred_at = (moment + offset).replace(second=0, microsecond=0)
                row = _activity(generator, kind, owner_id, occurred_at, moment)
                activities.append(row)
                links.append(
                    {
                        "id": new_id(),
                        "activity_id": row["id"],
                        "subject_type": subject_type,
                        "subject_id": subject_id,
                        "occurred_at": occurred_at,
                        "kind": kind.value,
                        "is_attendee": False,
                        "created_at": row["created_at"],
                    }
                )
            if len(activities) >= BATCH_SIZE:
                added += _flush_batch(uow, activities, links)
        added += _flush_batch(uow, activities, links)
        uow.commit()
    return added


def _flush_batch(uow: UnitOfWork, activities: list[dict[str, Any]], links: list[dict[str, Any]]) -> int:
    count = len(activities)
    if activities:
        columns = {column.key for column in Activity.__table__.columns}
        uow.session.execute(
            insert(cast(Table, Activity.__table__)),
            [{name: row.get(name) for name in columns} for row in activities],
        )
        uow.session.execute(insert(cast(Table, ActivityLink.__table__)), links)
    activities.clear()
    links.clear()
    return count
