"""The timeline of an account with 10,000 activities: first page, filtered pages, deeper pages.

Seeds a fresh database (migrated to the newest revision) with users, ``--background`` contacts
and a tenth as many accounts (the seeding of ``bench/customers_search.py``) and a year of
activities on a fraction of them in bulk (``load_demo_activities``), so the timeline's index
holds other records' entries too. Then one account, owned by a rep, gets ``--contacts`` contacts
working there and ``--activities`` activities logged through ``log_activity`` as the API logs
them — notes in rich text, calls, meetings with contacts attending, logged emails and tasks —
linked to the account, to one of its contacts, or to both; spread over three years, a few tasks
still ahead.

The measured calls are what the API and the account page call, in process:
``customers.timeline`` (the account's own activities and its contacts', checked against the
reader's scope), first page at the page's size (20) and at the API's default (50), filtered by
kind, and deeper pages through the cursor; as the owning rep, their manager and an admin.

    .venv/bin/python bench/activities_timeline.py --activities 10000
    .venv/bin/python bench/activities_timeline.py --activities 10000 \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/loopcrm_bench_timeline

``--database-url`` must name a database of its own: its public schema is dropped first.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select

sys.path.insert(0, str(Path(__file__).resolve().parent))

import customers_search as seeding

from loopcrm.app import register_tasks
from loopcrm.modules.activities import service as activities
from loopcrm.modules.activities.models import Activity, ActivityLink
from loopcrm.modules.activities.schemas import ActivityCreate
from loopcrm.modules.activities.service.panels import TIMELINE_PAGE_SIZE
from loopcrm.modules.customers import service as customers
from loopcrm.modules.customers.models import Account, Contact, Employment
from loopcrm.modules.customers.schemas import AccountCreate, ContactCreate
from loopcrm.platform.db import create_database_engine, create_session_factory
from loopcrm.platform.migrations import upgrade
from loopcrm.platform.permissions import Actor
from loopcrm.platform.unit_of_work import UnitOfWork

NOTES = (
    "<p>客户关注交付周期，希望在<strong>季度末</strong>之前完成第一期部署。</p><ul><li>确认实施排期</li>"
    "<li>准备迁移方案</li></ul>",
    "<p>采购需要三家比价，预计两周内给出结论。决策人是财务总监。</p>",
    "<p>Usage dropped after their reorganisation; schedule a <em>health check</em> with the new owner.</p>",
    "<p>今年预算已批，金额在 50 万以内，下个月可以走合同流程。</p>",
)
CALLS = ("电话跟进报价单", "确认演示时间", "回访使用情况", "Follow-up call about the proposal")
MEETINGS = (
    ("产品演示", "客户总部会议室"),
    ("季度业务回顾", "线上会议"),
    ("Technical deep dive", "Customer office"),
)
EMAILS = (
    ("报价单及方案说明", "您好，附件是本次的报价单和实施方案，请查收。"),
    ("Contract draft", "Please find the draft."),
)
TASKS = ("准备合同草稿", "发送产品资料", "安排技术交流", "Send the revised quote")
NOW = datetime.now(UTC).replace(microsecond=0)
ACCOUNT_NAME = "上海晨光文具股份有限公司"
SPAN = timedelta(days=3 * 365)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def uow_factory(engine: Engine) -> Callable[[], UnitOfWork]:
    session_factory = create_session_factory(engine)
    return lambda: UnitOfWork(session_factory)


def background(engine: Engine, share: float, rng: random.Random) -> int:
    """A year of demo activities on ``share`` of the seeded accounts and contacts."""
    with engine.connect() as connection:
        rows = [
            (kind, record_id, owner_id)
            for kind, model in (("account", Account), ("contact", Contact))
            for record_id, owner_id in connection.execute(select(model.id, model.owner_id))
            if rng.random() < share
        ]
    return activities.load_demo_activities(uow_factory(engine)(), rows, seed=20261125, now=NOW)


def activity_input(
    rng: random.Random, account_id: str, contact_ids: list[str], assignee_id: str, number: int, count: int
) -> ActivityCreate:
    """One activity of the account's history: the older the number, the longer ago."""
    occurred_at = NOW - SPAN * (1 - number / count) + timedelta(seconds=rng.randrange(3600))
    contact = rng.choice(contact_ids)
    draw = rng.random()
    if draw < 0.3:
        links = [{"subject_type": "account", "subject_id": account_id}]
    elif draw < 0.9:
        links = [{"subject_type": "contact", "subject_id": contact}]
    else:
        links = [
            {"subject_type": "account", "subject_id": account_id},
            {"subject_type": "contact", "subject_id": contact},
        ]
    kind = rng.choices(("note", "call", "meeting", "email", "task"), weights=(20, 35, 15, 15, 15))[0]
    data: dict[str, Any] = {"kind": kind, "links": links, "occurred_at": occurred_at.isoformat()}
    if kind == "note":
        data["body"] = rng.choice(NOTES)
    elif kind == "call":
        data["subject"] = rng.choice(CALLS)
        data["body"] = "客户对价格有疑问，约定下周再沟通。"
        data["call"] = {
            "direction": rng.choice(("inbound", "outbound")),
            "duration_seconds": rng.randrange(30, 1800),
            "outcome": rng.choice(("connected", "connected", "no_answer", "voicemail")),
        }
    elif kind == "meeting":
        subject, location = rng.choice(MEETINGS)
        data["subject"] = subject
        data["meeting"] = {
            "ends_at": (occurred_at + timedelta(hours=1)).isoformat(),
            "location": location,
            "attendee_records": [
                {"subject_type": "contact", "subject_id": person}
                for person in rng.sample(contact_ids, min(2, len(contact_ids)))
            ],
        }
    elif kind == "email":
        subject, body = rng.choice(EMAILS)
        data.update(subject=subject, body=body)
        data["email"] = {"from_address": "rep@example.com", "to": ["buyer@example.com"]}
    else:
        data["subject"] = rng.choice(TASKS)
        is_done = occurred_at < NOW - timedelta(days=7)
        data["task"] = {
            "assignee_id": assignee_id,
            "priority": rng.choice(("low", "normal", "normal", "high")),
            "status": "done" if is_done else "open",
        }
    return ActivityCreate.model_validate(data)


def seed_account(
    engine: Engine, rep: Actor, contact_count: int, activity_count: int, rng: random.Random
) -> tuple[str, list[str], float]:
    """The busy account, its contacts and its activities; returns their ids and seconds per activity."""
    make = uow_factory(engine)
    account = customers.create_account(
        make(), rep, AccountCreate(name=ACCOUNT_NAME, city="上海", province="上海")
    )
    contact_ids = []
    for number in range(contact_count):
        family = seeding.SURNAMES[number % len(seeding.SURNAMES)][0]
        given = seeding.GIVEN_CHARACTERS[number % len(seeding.GIVEN_CHARACTERS)]
        contact = customers.create_contact(
            make(),
            rep,
            ContactCreate.model_validate(
                {
                    "family_name": family,
                    "given_name": given,
                    "city": "上海",
                    "employments": [{"account_id": account.id, "is_primary": True}],
                }
            ),
        )
        contact_ids.append(contact.id)
    assignee_id = rep.user_id or ""
    started = time.perf_counter()
    for number in range(activity_count):
        activities.log_activity(
            make(), rep, activity_input(rng, account.id, contact_ids, assignee_id, number, activity_count)
        )
        if (number + 1) % 2000 == 0:
            print(f"  {number + 1} activities logged", flush=True)
    return account.id, contact_ids, (time.perf_counter() - started) / max(activity_count, 1)


def seeded_account(engine: Engine) -> tuple[str, list[str], float]:
    """The busy account of an earlier run and its contacts (``--reuse``)."""
    with engine.connect() as connection:
        account_id = connection.execute(
            select(Account.id).where(Account.name == ACCOUNT_NAME).order_by(Account.id.desc()).limit(1)
        ).scalar_one()
        contact_ids = list(
            connection.scalars(select(Employment.contact_id).where(Employment.account_id == account_id))
        )
    return account_id, contact_ids, float("nan")


def measure(call: Callable[[], Any], repeats: int) -> list[float]:
    call()  # warm the caches
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def report(label: str, timings: list[float], items: int) -> None:
    print(
        f"{label:<58}{len(timings):>6}{statistics.median(timings):>9.1f}"
        f"{percentile(timings, 0.95):>9.1f}{percentile(timings, 0.99):>9.1f}{items:>7}",
        flush=True,
    )


def run(engine: Engine, account_id: str, contact_ids: list[str], repeats: int) -> None:
    make = uow_factory(engine)
    readers = {
        "rep": seeding.actor_by_email(engine, "rep0_0@example.com"),
        "manager": seeding.actor_by_email(engine, "manager0@example.com"),
        "admin": seeding.actor_by_email(engine, "admin@example.com"),
    }
    print(f"{'measurement':<58}{'count':>6}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'items':>7}")
    for who, actor in readers.items():
        for label, kinds, limit in (
            (f"first page ({TIMELINE_PAGE_SIZE}, the account page)", None, TIMELINE_PAGE_SIZE),
            ("first page (50, the API default)", None, 50),
            ("first page of calls", {"call"}, TIMELINE_PAGE_SIZE),
            ("first page of tasks", {"task"}, TIMELINE_PAGE_SIZE),
        ):
            found: list[int] = []

            def page(
                actor: Actor = actor,
                kinds: set[str] | None = kinds,
                limit: int = limit,
                found: list[int] = found,
            ) -> None:
                result = customers.timeline(make(), actor, "account", account_id, kinds=kinds, limit=limit)
                found.append(len(result.items))

            report(f"account: {label} ({who})", measure(page, repeats), found[-1])
    rep = readers["rep"]
    cursors: list[str | None] = [None]
    while len(cursors) < 50:
        result = customers.timeline(
            make(), rep, "account", account_id, limit=TIMELINE_PAGE_SIZE, cursor=cursors[-1]
        )
        if result.next_cursor is None:
            break
        cursors.append(result.next_cursor)
    for number in (2, 10, 50):
        if number > len(cursors):
            continue
        cursor = cursors[number - 1]

        def deeper(cursor: str | None = cursor) -> int:
            return len(
                customers.timeline(
                    make(), rep, "account", account_id, limit=TIMELINE_PAGE_SIZE, cursor=cursor
                ).items
            )

        report(
            f"account: page {number} ({TIMELINE_PAGE_SIZE} a page) (rep)",
            measure(deeper, repeats),
            deeper(),
        )
    with engine.connect() as connection:
        busiest = connection.execute(
            select(ActivityLink.subject_id)
            .where(ActivityLink.subject_type == "contact", ActivityLink.subject_id.in_(contact_ids))
            .group_by(ActivityLink.subject_id)
            .order_by(func.count().desc())
            .limit(1)
        ).scalar_one()
        linked = connection.execute(
            select(func.count()).select_from(ActivityLink).where(ActivityLink.subject_id == busiest)
        ).scalar_one()

    def contact_page() -> int:
        return len(customers.timeline(make(), rep, "contact", busiest, limit=TIMELINE_PAGE_SIZE).items)

    report(
        f"contact with {linked} activities: first page (rep)",
        measure(contact_page, repeats),
        contact_page(),
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--activities", type=int, default=10_000, help="activities on the account's timeline")
    parser.add_argument("--contacts", type=int, default=30, help="contacts working at the account")
    parser.add_argument("--background", type=int, default=50_000, help="other contacts (accounts: a tenth)")
    parser.add_argument(
        "--background-share", type=float, default=0.5, help="share of other records with demo activities"
    )
    parser.add_argument("--repeats", type=int, default=200, help="calls per measurement")
    parser.add_argument(
        "--database-url", default="", help="default: a fresh SQLite file in a temporary directory"
    )
    parser.add_argument("--reuse", action="store_true", help="measure the data already in --database-url")
    arguments = parser.parse_args()
    rng = random.Random(20261125)

    url = (
        arguments.database_url
        or f"sqlite:///{Path(tempfile.mkdtemp(prefix='loopcrm-timeline-')) / 'bench.sqlite3'}"
    )
    engine = create_database_engine(url)
    if engine.dialect.name == "postgresql" and not arguments.reuse:
        with engine.begin() as connection:
            connection.exec_driver_sql("DROP SCHEMA public CASCADE")
            connection.exec_driver_sql("CREATE SCHEMA public")
    upgrade(engine)
    register_tasks()
    if arguments.reuse:
        account_id, contact_ids, per_activity = seeded_account(engine)
    else:
        started = time.perf_counter()
        seeding.seed(engine, arguments.background, rng)
        added = background(engine, arguments.background_share, rng)
        print(f"background: {added} activities in {time.perf_counter() - started:.0f} s", flush=True)
        rep = seeding.actor_by_email(engine, "rep0_0@example.com")
        account_id, contact_ids, per_activity = seed_account(
            engine, rep, arguments.contacts, arguments.activities, rng
        )
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:  # statistics as autovacuum would gather them (committed)
            connection.exec_driver_sql("ANALYZE")
    with engine.connect() as connection:
        total = connection.execute(select(func.count()).select_from(Activity)).scalar_one()
        links = connection.execute(select(func.count()).select_from(ActivityLink)).scalar_one()
    print(
        f"database: {engine.dialect.name}; activities: {total}, links: {links}; the account: "
        f"{arguments.activities} activities on it and its {len(contact_ids)} contacts"
        + ("" if arguments.reuse else f", logged at {per_activity * 1000:.1f} ms each")
        + f"; cores: {os.cpu_count()}",
        flush=True,
    )
    print(
        f"load average before measuring: {' / '.join(f'{load:.1f}' for load in os.getloadavg())}", flush=True
    )
    run(engine, account_id, contact_ids, arguments.repeats)
    print(f"load average after: {' / '.join(f'{load:.1f}' for load in os.getloadavg())}", flush=True)
    engine.dispose()


if __name__ == "__main__":
    main()
