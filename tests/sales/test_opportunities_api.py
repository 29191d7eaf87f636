"""The REST API of opportunities, pipelines, lost reasons and currencies: ETags and If-Match (412),
problem documents for bad input (422 with the field), stage moves, scope (404 outside it) and the
admin-only settings (403 for others)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from tests.conftest import Person
from tests.sales.conftest import SalesTeam, stage_named

from loopcrm.modules.sales.opportunities.schemas import PipelineOut

DEALS = "/api/v1/opportunities"


def _problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem: dict[str, Any] = response.json()
    return problem


def test_create_read_patch_with_if_match(
    client: TestClient, standard_pipeline: PipelineOut, rep: Person
) -> None:
    created = client.post(DEALS, json={"name": "智慧园区", "amount": "88000.50"}, headers=rep.headers)
    assert created.status_code == 201
    deal = created.json()
    assert (created.headers["etag"], created.headers["location"]) == ('"1"', f"{DEALS}/{deal['id']}")
    assert (deal["stage_name"], deal["amount_company"], deal["probability"]) == (
        "Qualification",
        "88000.50",
        10,
    )

    path = f"{DEALS}/{deal['id']}"
    changed = client.patch(path, json={"probability_manual": 30}, headers={**rep.headers, "If-Match": '"1"'})
    assert (changed.status_code, changed.headers["etag"], changed.json()["probability"]) == (200, '"2"', 30)

    stale = client.patch(path, json={"next_step": "拜访"}, headers={**rep.headers, "If-Match": '"1"'})
    assert _problem(stale, 412)["code"] == "stale_version"
    assert client.get(path, headers=rep.headers).json()["next_step"] is None

    page = client.get(DEALS, params={"q": "园区"}, headers=rep.headers).json()
    assert ([item["id"] for item in page["items"]], page["next_cursor"]) == ([deal["id"]], None)


def test_bad_input_gets_problem_documents_and_writes_nothing(
    client: TestClient, standard_pipeline: PipelineOut, rep: Person
) -> None:
    negative = _problem(client.post(DEALS, json={"name": "坏金额", "amount": "-1"}, headers=rep.headers), 422)
    assert [error["field"] for error in negative["errors"]] == ["amount"]

    currency = _problem(
        client.post(DEALS, json={"name": "坏币种", "currency": "XYZ"}, headers=rep.headers), 422
    )
    assert [(error["field"], error["code"]) for error in currency["errors"]] == [
        ("currency", "unknown_currency")
    ]

    stage = _problem(
        client.post(DEALS, json={"name": "坏阶段", "stage_id": "nope"}, headers=rep.headers), 422
    )
    assert [error["field"] for error in stage["errors"]] == ["stage_id"]

    sort = _problem(client.get(DEALS, params={"sort": "owner_id"}, headers=rep.headers), 422)
    assert sort["errors"][0]["field"] == "sort"
    assert client.get(DEALS, headers=rep.headers).json()["items"] == []


def test_stage_moves_follow_the_rules(
    client: TestClient, standard_pipeline: PipelineOut, rep: Person
) -> None:
    deal = client.post(DEALS, json={"name": "数据中台"}, headers=rep.headers).json()
    move = f"{DEALS}/{deal['id']}/stage"
    won = stage_named(standard_pipeline, "Won").id
    lost = stage_named(standard_pipeline, "Lost").id

    refused = _problem(client.post(move, json={"stage_id": won}, headers=rep.headers), 422)
    assert [(e["field"], e["code"]) for e in refused["errors"]] == [("stage_id", "not_orderable")]
    no_reason = _problem(client.post(move, json={"stage_id": lost}, headers=rep.headers), 422)
    assert [(e["field"], e["code"]) for e in no_reason["errors"]] == [
        ("lost_reason_id", "lost_reason_required")
    ]

    negotiation = stage_named(standard_pipeline, "Negotiation").id
    moved = client.post(move, json={"stage_id": negotiation}, headers={**rep.headers, "If-Match": '"1"'})
    assert (moved.status_code, moved.json()["stage_name"], moved.headers["etag"]) == (
        200,
        "Negotiation",
        '"2"',
    )
    stale = client.post(move, json={"stage_id": won}, headers={**rep.headers, "If-Match": '"1"'})
    assert _problem(stale, 412)["code"] == "stale_version"
    assert client.post(move, json={"stage_id": won}, headers=rep.headers).json()["stage_kind"] == "won"

    history = client.get(f"{DEALS}/{deal['id']}/stage-history", headers=rep.headers).json()
    assert [row["to_stage_name"] for row in history] == ["Qualification", "Negotiation", "Won"]


def test_a_deal_outside_the_scope_is_not_found(
    client: TestClient, standard_pipeline: PipelineOut, sales_team: SalesTeam
) -> None:
    deal = client.post(DEALS, json={"name": "成员的商机"}, headers=sales_team.member.headers).json()
    path = f"{DEALS}/{deal['id']}"

    assert _problem(client.get(path, headers=sales_team.colleague.headers), 404)["code"] == "not_found"
    assert client.get(path, headers=sales_team.manager.headers).status_code == 200
    assert client.get(DEALS, headers=sales_team.outsider.headers).json()["items"] == []


def test_settings_are_changed_by_admins_and_read_by_everyone(
    client: TestClient, admin: Person, rep: Person
) -> None:
    assert client.post("/api/v1/pipelines/standard", headers=rep.headers).status_code == 403
    created = client.post("/api/v1/pipelines/standard", params={"locale": "zh_CN"}, headers=admin.headers)
    assert created.status_code == 201
    pipeline = created.json()
    assert [stage["name"] for stage in pipeline["stages"]][:2] == ["资格确认", "需求分析"]
    assert [p["id"] for p in client.get("/api/v1/pipelines", headers=rep.headers).json()] == [pipeline["id"]]

    only_open = {"name": "只有开放阶段", "stages": [{"name": "跟进", "kind": "open"}]}
    problem = _problem(client.post("/api/v1/pipelines", json=only_open, headers=admin.headers), 422)
    assert {error["code"] for error in problem["errors"]} == {"no_won_stage", "no_lost_stage"}

    reasons = client.get("/api/v1/lost-reasons", headers=rep.headers).json()
    assert reasons[0]["name"] == "价格过高"
    added = client.post("/api/v1/lost-reasons", json={"name": "项目取消"}, headers=admin.headers)
    assert added.status_code == 201
    assert client.post("/api/v1/lost-reasons", json={"name": "x"}, headers=rep.headers).status_code == 403

    currencies = client.get("/api/v1/currencies", headers=rep.headers).json()
    assert [(c["code"], c["rate"], c["is_company"]) for c in currencies] == [("CNY", "1.0000000000", True)]
    usd = client.post(
        "/api/v1/currencies", json={"code": "USD", "name": "美元", "rate": "7.2"}, headers=admin.headers
    )
    assert usd.status_code == 201
    company = _problem(client.patch("/api/v1/currencies/CNY", json={"rate": "2"}, headers=admin.headers), 422)
    assert company["errors"][0]["field"] == "rate"


def test_a_new_rate_converts_open_deals_again(
    client: TestClient, standard_pipeline: PipelineOut, admin: Person
) -> None:
    client.post(
        "/api/v1/currencies", json={"code": "USD", "name": "美元", "rate": "7"}, headers=admin.headers
    )
    deal = client.post(
        DEALS, json={"name": "美元单", "amount": "100", "currency": "USD"}, headers=admin.headers
    )
    assert deal.json()["amount_company"] == "700.00"

    changed = client.patch("/api/v1/currencies/USD", json={"rate": "7.25"}, headers=admin.headers)
    assert changed.status_code == 200
    again = client.get(f"{DEALS}/{deal.json()['id']}", headers=admin.headers).json()
    assert (again["amount_company"], again["version"]) == ("725.00", 2)
