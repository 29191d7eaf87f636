"""The audit log: every change with old and new values, append-only, readable by admins only."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from loopcrm.platform.auth import service as auth
from loopcrm.platform.auth.schemas import UserUpdate


def test_an_update_is_recorded_with_old_and_new_values_actor_request_and_ip(
    client: TestClient, make_person
) -> None:
    admin = make_person("admin")
    rep = make_person("sales_rep", name="张伟")

    client.patch(
        f"/api/v1/users/{rep.user.id}",
        json={"name": "张伟强", "locale": "en"},
        headers={**admin.headers, "X-Request-ID": "req-42"},
    )
    entries = client.get(
        "/api/v1/audit-log",
        params={"object_type": "user", "object_id": rep.user.id, "action": "update"},
        headers=admin.headers,
    ).json()["items"]

    assert len(entries) == 1
    entry = entries[0]
    assert entry["changes"] == {"name": ["张伟", "张伟强"], "locale": ["zh_CN", "en"]}
    assert entry["actor_id"] == admin.user.id
    assert entry["actor_label"] == admin.user.email
    assert entry["request_id"] == "req-42"
    assert entry["ip"] == "testclient"


def test_a_password_change_is_recorded_without_the_password(uow_factory, make_person) -> None:
    from loopcrm.platform.audit.schemas import AuditFilter
    from loopcrm.platform.audit.service import list_entries

    admin = make_person("admin")
    rep = make_person("sales_rep")

    auth.update_user(uow_factory(), admin.actor, rep.user.id, UserUpdate(password="a brand new secret"))
    entries = list_entries(
        uow_factory(), admin.actor, AuditFilter(object_id=rep.user.id, action="update"), limit=10, cursor=None
    )

    assert [entry.changes for entry in entries.items] == [{"password": ["[redacted]", "[redacted]"]}]


def test_an_update_that_changes_nothing_writes_no_entry(client: TestClient, make_person) -> None:
    admin = make_person("admin")
    rep = make_person("sales_rep", name="Same")

    client.patch(f"/api/v1/users/{rep.user.id}", json={"name": "Same"}, headers=admin.headers)
    entries = client.get(
        "/api/v1/audit-log", params={"object_id": rep.user.id, "action": "update"}, headers=admin.headers
    ).json()["items"]

    assert entries == []


@pytest.mark.parametrize(
    "statement", ["UPDATE audit_entries SET actor_label = 'forged'", "DELETE FROM audit_entries"]
)
def test_the_database_refuses_to_change_or_delete_audit_entries(engine, make_person, statement: str) -> None:
    make_person("admin")  # creating a user writes an entry

    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
        connection.execute(text(statement))

    with engine.connect() as connection:
        assert connection.scalar(text("SELECT count(*) FROM audit_entries WHERE actor_label = 'forged'")) == 0
        assert connection.scalar(text("SELECT count(*) FROM audit_entries")) >= 1


def test_only_roles_granted_the_audit_log_can_read_it(client: TestClient, make_person) -> None:
    manager = make_person("sales_manager")

    response = client.get("/api/v1/audit-log", headers=manager.headers)

    assert response.status_code == 403


def test_the_audit_log_filters_by_time(client: TestClient, make_person) -> None:
    admin = make_person("admin")

    future = client.get("/api/v1/audit-log", params={"since": "2999-01-01T00:00:00Z"}, headers=admin.headers)
    past = client.get("/api/v1/audit-log", params={"until": "2999-01-01T00:00:00Z"}, headers=admin.headers)

    assert future.json()["items"] == []
    assert len(past.json()["items"]) >= 1


def test_a_number_is_not_taken_for_a_time(client: TestClient, make_person) -> None:
    admin = make_person("admin")

    response = client.get("/api/v1/audit-log", params={"until": "-559221"}, headers=admin.headers)

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "query.until"
