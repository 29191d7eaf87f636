"""The assignment pages: rules (form with conditions, up/down order), availability, history."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from httpx import Response

from loopcrm.modules.sales.assignment import service as assignment
from loopcrm.platform.permissions import system_actor
from loopcrm.platform.unit_of_work import UnitOfWork

from ..support.web_forms import PASSWORD


def test_a_manager_creates_a_rule_with_conditions_and_orders_rules(
    client: TestClient,
    make_person: Callable[..., Any],
    sign_in: Callable[..., Response],
    post_form: Callable[..., Response],
    uow_factory: Callable[[], UnitOfWork],
) -> None:
    manager = make_person("sales_manager", password=PASSWORD)
    rep = make_person("sales_rep", name="李雷")
    sign_in(manager.user.email)

    created = post_form(
        "/sales/assignment/rules/new?record_type=lead",
        "/sales/assignment/rules",
        [
            ("record_type", "lead"),
            ("name", "华南线索"),
            ("method", "round_robin"),
            ("off_hours", "skip"),
            ("is_active", "on"),
            ("conditions.0.field", "province"),
            ("conditions.0.operator", "in"),
            ("conditions.0.value", "广东, 福建"),
            ("user_ids", rep.user.id),
        ],
    )
    post_form(
        "/sales/assignment/rules/new?record_type=lead",
        "/sales/assignment/rules",
        [("record_type", "lead"), ("name", "其他"), ("method", "load_balanced"), ("user_ids", rep.user.id)],
    )
    listed = client.get("/sales/assignment/rules?record_type=lead")

    assert created.status_code == 303
    rules = assignment.list_rules(uow_factory(), system_actor(), record_type="lead")
    assert [(rule.name, rule.is_active) for rule in rules] == [("华南线索", True), ("其他", False)]
    assert [c.model_dump(mode="json") for c in rules[0].conditions] == [
        {"field": "province", "operator": "in", "value": ["广东", "福建"]}
    ]
    assert listed.status_code == 200
    assert (
        "华南线索" in listed.text
        and "李雷" in listed.text
        and "/static/vendor/Sortable.min.js" in listed.text
    )
    moved = post_form(
        "/sales/assignment/rules?record_type=lead",
        f"/sales/assignment/rules/{rules[1].id}/move",
        {"direction": "up"},
    )
    assert moved.status_code == 303
    reordered = assignment.list_rules(uow_factory(), system_actor(), record_type="lead")
    assert [rule.name for rule in reordered] == ["其他", "华南线索"]
    dragged = post_form(
        "/sales/assignment/rules?record_type=lead",
        "/sales/assignment/order",
        [("record_type", "lead"), ("rule_ids", rules[0].id), ("rule_ids", rules[1].id)],
    )
    assert dragged.status_code == 303
    assert [r.name for r in assignment.list_rules(uow_factory(), system_actor(), record_type="lead")] == [
        "华南线索",
        "其他",
    ]
    assert client.get("/static/js/sales-rule-order.js").headers["content-type"].startswith("text/javascript")


def test_a_bad_rule_is_shown_again_with_the_input_and_the_field_marked(
    client: TestClient,
    make_person: Callable[..., Any],
    sign_in: Callable[..., Response],
    post_form: Callable[..., Response],
    uow_factory: Callable[[], UnitOfWork],
) -> None:
    manager = make_person("sales_manager", password=PASSWORD)
    rep = make_person("sales_rep")
    sign_in(manager.user.email)

    refused = post_form(
        "/sales/assignment/rules/new",
        "/sales/assignment/rules",
        [
            ("record_type", "lead"),
            ("name", "大单"),
            ("method", "weighted"),
            ("conditions.2.field", "amount"),
            ("conditions.2.operator", "at_least"),
            ("conditions.2.value", "很多"),
            ("user_ids", rep.user.id),
        ],
    )

    assert refused.status_code == 422
    # The only filled row moves to the first row, where its error is shown, with the input kept.
    assert 'id="f-conditions.0.value" name="conditions.0.value" value="很多"' in refused.text
    assert 'value="很多" maxlength="500" aria-invalid="true"' in refused.text
    assert "请输入数字" in refused.text
    assert assignment.list_rules(uow_factory(), system_actor()) == []


def test_availability_and_history_pages(
    client: TestClient,
    make_person: Callable[..., Any],
    sign_in: Callable[..., Response],
    post_form: Callable[..., Response],
    uow_factory: Callable[[], UnitOfWork],
) -> None:
    rep = make_person("sales_rep", name="韩梅梅", password=PASSWORD)
    sign_in(rep.user.email)

    page = client.get("/sales/assignment/availability")
    form = client.get(f"/sales/assignment/availability/{rep.user.id}")
    saved = post_form(
        f"/sales/assignment/availability/{rep.user.id}",
        f"/sales/assignment/availability/{rep.user.id}",
        {"away_from": "2026-12-20T09:00", "away_until": "2026-12-27T09:00", "version": "0"},
    )
    history = client.get("/sales/assignment/history")

    assert page.status_code == 200 and "韩梅梅" in page.text
    assert form.status_code == 200 and 'name="capacity"' not in form.text  # a rep sets only time away
    assert saved.status_code == 303
    stored = assignment.get_availability(
        uow_factory(), rep.actor, rep.user.id, company_time_zone="Asia/Shanghai"
    )
    assert stored.away_until is not None and stored.away_until.isoformat() == "2026-12-27T01:00:00+00:00"
    assert history.status_code == 200
