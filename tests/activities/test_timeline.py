"""The timeline: every activity of the records, newest first, each once, filtered by kind, paged by
keyset, with other modules' entries merged in."""

from __future__ import annotations

from datetime import timedelta

import pytest

from loopcrm.modules.activities import service as activities
from loopcrm.modules.activities.schemas import ActivityCreate, TimelineEntry
from loopcrm.platform.db import new_id, utc_now
from loopcrm.platform.errors import NotFound, ValidationFailed

from .conftest import FixedSource

# Another module's entries (orders, say): the source answers for the subjects a test gives it.
ORDERS: dict[tuple[str, str], list[TimelineEntry]] = {}


def order_entries(uow, actor, subjects, *, kinds, before, limit):  # type: ignore[no-untyped-def]
    entries = [entry for subject in subjects for entry in ORDERS.get(tuple(subject), [])]
    return FixedSource(entries, subjects)(uow, actor, subjects, kinds=kinds, before=before, limit=limit)


activities.register_timeline_source("test_orders", order_entries, kinds={"order": "Orders"})


def log(uow_factory, person, kind, subject, when, *records, **details):  # type: ignore[no-untyped-def]
    data = {
        "kind": kind,
        "subject": subject,
        "occurred_at": when.isoformat(),
        "links": [{"subject_type": "user", "subject_id": record} for record in records],
        **details,
    }
    return activities.log_activity(uow_factory(), person.actor, ActivityCreate.model_validate(data))


@pytest.fixture
def history(uow_factory, make_person):  # type: ignore[no-untyped-def]
    """An admin's records: an "account" and its "contact" (two user records), with six
    activities an hour apart; the meeting is linked to both."""
    admin = make_person("admin")
    account = make_person("sales_rep", name="华为技术").user.id
    contact = make_person("sales_rep", name="张伟").user.id
    start = utc_now() - timedelta(days=1)
    call = {"call": {"direction": "outbound", "outcome": "connected"}}
    made = [
        log(uow_factory, admin, "note", "第一次接触", start, account),
        log(uow_factory, admin, "call", "电话跟进", start + timedelta(hours=1), contact, **call),
        log(
            uow_factory,
            admin,
            "meeting",
            "产品演示",
            start + timedelta(hours=2),
            account,
            contact,
            meeting={"ends_at": (start + timedelta(hours=3)).isoformat()},
        ),
        log(uow_factory, admin, "note", "预算确认", start + timedelta(hours=3), contact),
        log(uow_factory, admin, "call", "催款", start + timedelta(hours=4), account, **call),
        log(
            uow_factory,
            admin,
            "note",
            "另一个客户",
            start + timedelta(hours=5),
            make_person("sales_rep").user.id,
        ),
    ]
    return admin, account, contact, start, made


def titles(page) -> list[str]:  # type: ignore[no-untyped-def]
    return [entry.title for entry in page.items]


def test_an_accounts_timeline_has_its_contacts_activities_newest_first_each_once(
    uow_factory, history
) -> None:
    admin, account, contact, _, _ = history

    page = activities.timeline(uow_factory(), admin.actor, [("user", account), ("user", contact)], limit=50)

    assert titles(page) == ["催款", "预算确认", "产品演示", "电话跟进", "第一次接触"]
    assert page.next_cursor is None
    assert [entry.source for entry in page.items] == ["activities"] * 5
    assert page.items[2].activity is not None and page.items[2].path == f"/activities/{page.items[2].id}"


def test_the_kinds_filter_keeps_only_those_kinds(uow_factory, history) -> None:
    admin, account, contact, _, _ = history

    page = activities.timeline(
        uow_factory(),
        admin.actor,
        [("user", account), ("user", contact)],
        kinds={"call", "meeting"},
        limit=50,
    )

    assert titles(page) == ["催款", "产品演示", "电话跟进"]


def test_pages_follow_each_other_without_gaps_or_repeats_even_with_new_entries(uow_factory, history) -> None:
    admin, account, contact, _, _ = history
    subjects = [("user", account), ("user", contact)]

    first = activities.timeline(uow_factory(), admin.actor, subjects, limit=2)
    log(uow_factory, admin, "note", "新的笔记", utc_now(), account)  # arrives between two page loads
    second = activities.timeline(uow_factory(), admin.actor, subjects, limit=2, cursor=first.next_cursor)
    third = activities.timeline(uow_factory(), admin.actor, subjects, limit=2, cursor=second.next_cursor)

    assert (titles(first), titles(second), titles(third)) == (
        ["催款", "预算确认"],
        ["产品演示", "电话跟进"],
        ["第一次接触"],
    )
    assert third.next_cursor is None


def test_deleted_activities_leave_the_timeline(uow_factory, history) -> None:
    admin, account, _, _, made = history

    activities.delete_activity(uow_factory(), admin.actor, made[4].id)

    page = activities.timeline(uow_factory(), admin.actor, [("user", account)], limit=50)
    assert titles(page) == ["产品演示", "第一次接触"]


def test_entries_of_other_sources_are_merged_in_order_and_filtered_by_kind(uow_factory, history) -> None:
    admin, account, contact, start, _ = history
    order_id = new_id()
    ORDERS[("user", account)] = [
        TimelineEntry(
            id=order_id,
            source="test_orders",
            kind="order",
            occurred_at=start + timedelta(minutes=150),
            title="订单 SO-1001",
            path=f"/sales/orders/{order_id}",
        )
    ]

    everything = activities.timeline(
        uow_factory(), admin.actor, [("user", account), ("user", contact)], limit=3
    )
    rest = activities.timeline(
        uow_factory(),
        admin.actor,
        [("user", account), ("user", contact)],
        limit=10,
        cursor=everything.next_cursor,
    )
    orders_only = activities.timeline(
        uow_factory(), admin.actor, [("user", account)], kinds={"order"}, limit=10
    )
    notes_only = activities.timeline(
        uow_factory(), admin.actor, [("user", account)], kinds={"note"}, limit=10
    )

    assert titles(everything) == ["催款", "预算确认", "订单 SO-1001"]
    assert titles(rest) == ["产品演示", "电话跟进", "第一次接触"]
    assert titles(orders_only) == ["订单 SO-1001"]
    assert titles(notes_only) == ["第一次接触"]


def test_a_mangled_cursor_is_a_validation_error(uow_factory, history) -> None:
    admin, account, _, _, _ = history

    with pytest.raises(ValidationFailed):
        activities.timeline(uow_factory(), admin.actor, [("user", account)], cursor="not-a-cursor")


def test_record_timeline_refuses_records_the_reader_may_not_read(uow_factory, history, make_person) -> None:
    _, account, _, _, _ = history
    rep = make_person("sales_rep")

    with pytest.raises(NotFound):
        activities.record_timeline(uow_factory(), rep.actor, [("user", account)])
