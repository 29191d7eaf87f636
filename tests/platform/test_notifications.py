"""The notification centre: any module notifies a user; users see, count and mark only their own."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

from loopcrm.platform.errors import NotFound, PermissionDenied
from loopcrm.platform.notifications import service as notifications
from loopcrm.platform.notifications.models import NotificationKind
from loopcrm.platform.permissions import TokenScope, system_actor


def tell(uow_factory, person, message="{actor} assigned a task to you: {subject}", **params):  # type: ignore[no-untyped-def]
    # Ids (UUIDv7) order by the millisecond; one apart keeps "newest first" exact in the assertions.
    time.sleep(0.002)
    with uow_factory() as uow:
        notification_id = notifications.notify(
            uow,
            person.user.id,
            NotificationKind.ASSIGNED_TO_YOU,
            message,
            params or {"actor": "王经理", "subject": "准备合同"},
            "/activities/1",
        )
        uow.commit()
    return notification_id


def test_a_notification_exists_only_once_its_callers_transaction_commits(uow_factory, make_person) -> None:
    rep = make_person("sales_rep")

    with uow_factory() as uow:
        notifications.notify(uow, rep.user.id, NotificationKind.MENTIONED, "Hello", {}, None)
        # leaving without commit(), as a failing service does

    assert notifications.unread_count(uow_factory(), rep.actor) == 0


def test_a_user_lists_counts_and_marks_their_notifications_in_their_language(
    uow_factory, make_person
) -> None:
    rep = make_person("sales_rep")
    first = tell(uow_factory, rep)
    second = tell(uow_factory, rep, actor="王经理", subject="发送报价")

    unread_before = notifications.unread_count(uow_factory(), rep.actor)
    marked = notifications.mark_read(uow_factory(), rep.actor, first)
    marked_again = notifications.mark_read(uow_factory(), rep.actor, first)
    unread_only = notifications.list_notifications(
        uow_factory(), rep.actor, unread_only=True, limit=10, cursor=None
    )
    everything = notifications.list_notifications(uow_factory(), rep.actor, limit=10, cursor=None)

    assert unread_before == 2
    assert marked.is_read and marked_again.read_at == marked.read_at
    assert [item.id for item in unread_only.items] == [second]
    assert [item.id for item in everything.items] == [second, first]
    assert everything.items[1].text == "王经理 给你分配了任务：准备合同"
    assert everything.items[1].message == "{actor} assigned a task to you: {subject}"
    assert everything.items[1].params == {"actor": "王经理", "subject": "准备合同"}
    assert notifications.mark_all_read(uow_factory(), rep.actor) == 1
    assert notifications.unread_count(uow_factory(), rep.actor) == 0


def test_nobody_sees_or_marks_another_users_notification(uow_factory, make_person) -> None:
    rep = make_person("sales_rep")
    admin = make_person("admin")
    theirs = tell(uow_factory, rep)

    with pytest.raises(NotFound):
        notifications.mark_read(uow_factory(), admin.actor, theirs)
    with pytest.raises(NotFound):
        notifications.get_notification(uow_factory(), admin.actor, theirs)
    assert notifications.list_notifications(uow_factory(), admin.actor, limit=10, cursor=None).items == []
    assert notifications.mark_all_read(uow_factory(), admin.actor) == 0
    assert notifications.unread_count(uow_factory(), rep.actor) == 1
    with pytest.raises(PermissionDenied):
        notifications.unread_count(uow_factory(), system_actor())


def test_paths_must_be_local_and_kinds_declared(uow_factory, make_person) -> None:
    rep = make_person("sales_rep")

    with uow_factory() as uow, pytest.raises(ValueError):
        notifications.notify(
            uow, rep.user.id, NotificationKind.MENTIONED, "Hi", {}, "https://evil.example.com/"
        )
    with uow_factory() as uow, pytest.raises(ValueError):
        notifications.notify(uow, rep.user.id, "no_such_kind", "Hi", {}, None)  # type: ignore[arg-type]


def test_the_api_shows_each_user_only_their_own_notifications(
    client: TestClient, uow_factory, make_person
) -> None:
    rep = make_person("sales_rep")
    other = make_person("sales_rep")
    mine = tell(uow_factory, rep)

    listed = client.get("/api/v1/notifications", headers=rep.headers)
    count = client.get("/api/v1/notifications/unread-count", headers=rep.headers)
    others_view = client.get(f"/api/v1/notifications/{mine}", headers=other.headers)
    others_mark = client.post(f"/api/v1/notifications/{mine}/read", headers=other.headers)
    marked = client.post(f"/api/v1/notifications/{mine}/read", headers=rep.headers)
    anonymous = client.get("/api/v1/notifications")

    assert listed.status_code == 200
    assert [(item["id"], item["kind"], item["is_read"]) for item in listed.json()["items"]] == [
        (mine, "assigned_to_you", False)
    ]
    assert listed.json()["next_cursor"] is None
    assert count.json() == {"unread": 1}
    assert (others_view.status_code, others_mark.status_code) == (404, 404)
    assert others_mark.headers["content-type"] == "application/problem+json"
    assert marked.status_code == 200 and marked.json()["is_read"] is True
    assert anonymous.status_code == 401
    assert client.get("/api/v1/notifications/unread-count", headers=rep.headers).json() == {"unread": 0}


def test_a_read_only_token_reads_but_does_not_mark(client: TestClient, uow_factory, make_person) -> None:
    reader = make_person("sales_rep", token_scope=TokenScope.READ)
    tell(uow_factory, reader)

    listed = client.get("/api/v1/notifications?unread=true", headers=reader.headers)
    refused = client.post("/api/v1/notifications/read-all", headers=reader.headers)

    assert len(listed.json()["items"]) == 1
    assert refused.status_code == 403
    assert client.get("/api/v1/notifications/unread-count", headers=reader.headers).json() == {"unread": 1}


def test_pages_of_notifications_follow_each_other(client: TestClient, uow_factory, make_person) -> None:
    rep = make_person("sales_rep")
    made = [tell(uow_factory, rep, subject=f"任务 {number}") for number in range(5)]

    first = client.get("/api/v1/notifications?limit=2", headers=rep.headers).json()
    second = client.get(
        f"/api/v1/notifications?limit=2&cursor={first['next_cursor']}", headers=rep.headers
    ).json()
    third = client.get(
        f"/api/v1/notifications?limit=2&cursor={second['next_cursor']}", headers=rep.headers
    ).json()

    assert [item["id"] for page in (first, second, third) for item in page["items"]] == made[::-1]
    assert third["next_cursor"] is None
