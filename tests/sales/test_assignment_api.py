"""The REST API of assignment: /api/v1/assignment-rules, /api/v1/rep-availability, /api/v1/assignments."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from loopcrm.modules.sales.assignment import service as assignment
from loopcrm.platform.db import new_id
from loopcrm.platform.permissions import system_actor
from loopcrm.platform.unit_of_work import UnitOfWork


def test_a_manager_creates_changes_orders_and_deletes_rules(
    client: TestClient, make_person: Callable[..., Any]
) -> None:
    manager = make_person("sales_manager")
    rep = make_person("sales_rep")
    body = {
        "record_type": "lead",
        "name": "广东线索",
        "conditions": [{"field": "province", "operator": "in", "value": ["广东"]}],
        "method": "load_balanced",
        "user_ids": [rep.user.id],
    }

    created = client.post("/api/v1/assignment-rules", json=body, headers=manager.headers)
    second = client.post(
        "/api/v1/assignment-rules", json=body | {"name": "其他", "conditions": []}, headers=manager.headers
    )

    assert created.status_code == 201
    rule = created.json()
    assert created.headers["Location"] == f"/api/v1/assignment-rules/{rule['id']}"
    assert created.headers["ETag"] == '"1"'
    assert (rule["position"], rule["method"], rule["conditions"]) == (
        0,
        "load_balanced",
        [{"field": "province", "operator": "in", "value": ["广东"]}],
    )
    stale = client.patch(
        f"/api/v1/assignment-rules/{rule['id']}",
        json={"name": "x"},
        headers=manager.headers | {"If-Match": '"9"'},
    )
    assert stale.status_code == 412
    changed = client.patch(
        f"/api/v1/assignment-rules/{rule['id']}",
        json={"is_active": False},
        headers=manager.headers | {"If-Match": '"1"'},
    )
    assert (changed.status_code, changed.json()["is_active"], changed.headers["ETag"]) == (200, False, '"2"')
    order = client.put(
        "/api/v1/assignment-rules/order",
        json={"record_type": "lead", "rule_ids": [second.json()["id"], rule["id"]]},
        headers=manager.headers,
    )
    assert [item["name"] for item in order.json()["items"]] == ["其他", "广东线索"]
    listed = client.get("/api/v1/assignment-rules?record_type=lead", headers=rep.headers)
    assert [(item["name"], item["position"]) for item in listed.json()["items"]] == [
        ("其他", 0),
        ("广东线索", 1),
    ]
    assert client.delete(f"/api/v1/assignment-rules/{rule['id']}", headers=manager.headers).status_code == 204
    assert client.get(f"/api/v1/assignment-rules/{rule['id']}", headers=manager.headers).status_code == 404


def test_bad_rules_get_a_problem_document_and_reps_may_not_write_rules(
    client: TestClient, make_person: Callable[..., Any]
) -> None:
    manager = make_person("sales_manager")
    rep = make_person("sales_rep")
    bad = {
        "record_type": "lead",
        "name": "Big",
        "conditions": [{"field": "amount", "operator": "at_least", "value": "many"}],
        "user_ids": [],
    }

    refused = client.post("/api/v1/assignment-rules", json=bad, headers=manager.headers)
    forbidden = client.post(
        "/api/v1/assignment-rules", json=bad | {"user_ids": [rep.user.id]}, headers=rep.headers
    )

    assert refused.status_code == 422
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert sorted(error["field"] for error in refused.json()["errors"]) == ["conditions.0.value", "user_ids"]
    assert forbidden.status_code == 403
    assert client.get("/api/v1/assignment-rules", headers=manager.headers).json() == {"items": []}


def test_availability_managers_set_capacity_reps_only_their_time_away(
    client: TestClient, make_person: Callable[..., Any]
) -> None:
    admin = make_person("admin")
    rep = make_person("sales_rep")

    set_by_admin = client.patch(
        f"/api/v1/rep-availability/{rep.user.id}",
        json={"capacity": 20, "working_days": [0, 1, 2, 3, 4], "work_start": "09:00", "work_end": "18:00"},
        headers=admin.headers,
    )
    own_away = client.patch(
        f"/api/v1/rep-availability/{rep.user.id}",
        json={"away_from": "2026-12-20T00:00:00Z", "away_until": "2026-12-27T00:00:00Z"},
        headers=rep.headers | {"If-Match": '"1"'},
    )
    own_capacity = client.patch(
        f"/api/v1/rep-availability/{rep.user.id}", json={"capacity": 99}, headers=rep.headers
    )
    backwards = client.patch(
        f"/api/v1/rep-availability/{rep.user.id}",
        json={"away_until": "2026-12-01T00:00:00Z"},
        headers=rep.headers,
    )

    assert set_by_admin.status_code == 200
    assert (set_by_admin.json()["capacity"], set_by_admin.json()["time_zone"]) == (20, "Asia/Shanghai")
    assert (own_away.status_code, own_away.json()["capacity"], own_away.headers["ETag"]) == (200, 20, '"2"')
    assert own_capacity.status_code == 422
    assert [error["field"] for error in own_capacity.json()["errors"]] == ["capacity"]
    assert [error["field"] for error in backwards.json()["errors"]] == ["away_until"]
    mine = client.get("/api/v1/rep-availability", headers=rep.headers).json()["items"]
    assert [(item["user_id"], item["away_until"]) for item in mine] == [(rep.user.id, "2026-12-27T00:00:00Z")]
    assert len(client.get("/api/v1/rep-availability", headers=admin.headers).json()["items"]) == 2


def test_the_history_lists_assignments_in_the_readers_scope(
    client: TestClient, make_person: Callable[..., Any], uow_factory: Callable[[], UnitOfWork]
) -> None:
    admin = make_person("admin")
    first, second = make_person("sales_rep"), make_person("sales_rep")
    record_id = new_id()
    uow = uow_factory()
    with uow:
        assignment.record_manual_assignment_in(
            uow,
            admin.actor,
            record_type="lead",
            record_id=record_id,
            previous_owner_id=None,
            owner_id=first.user.id,
        )
        assignment.record_manual_assignment_in(
            uow,
            admin.actor,
            record_type="lead",
            record_id=record_id,
            previous_owner_id=first.user.id,
            owner_id=second.user.id,
        )
        uow.commit()

    everything = client.get(f"/api/v1/assignments?record_id={record_id}", headers=admin.headers).json()
    seconds = client.get("/api/v1/assignments", headers=second.headers).json()
    page = client.get("/api/v1/assignments?limit=1", headers=admin.headers).json()

    assert [(item["previous_owner_id"], item["owner_id"]) for item in everything["items"]] == [
        (first.user.id, second.user.id),
        (None, first.user.id),
    ]
    assert [item["owner_id"] for item in seconds["items"]] == [second.user.id]
    assert page["next_cursor"] is not None
    assert (
        assignment.list_assignments(uow_factory(), system_actor(), owner_id=first.user.id).items[0].method
        == "manual"
    )
