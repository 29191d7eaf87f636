"""Forecasting's pages and API over HTTP: targets (managers set their team's, nothing is written
on bad input), the model page, the factors fragment, the dashboard page with its chart data."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from fastapi.testclient import TestClient
from httpx import Response

from loopcrm.modules.sales.forecasting import service as forecasting
from loopcrm.modules.sales.forecasting.schemas import TargetFilters
from loopcrm.modules.sales.opportunities.schemas import OpportunityOut, PipelineOut
from loopcrm.platform.permissions import system_actor
from loopcrm.platform.unit_of_work import UnitOfWork

from ..conftest import Person
from .conftest import SalesTeam

UowFactory = Callable[[], UnitOfWork]


def test_a_manager_sets_their_team_targets_through_the_api_but_not_others(
    client: TestClient, sales_team: SalesTeam, standard_pipeline: PipelineOut
) -> None:
    manager = sales_team.manager
    created = client.post(
        "/api/v1/sales/targets",
        json={"user_id": sales_team.member.user.id, "month": "2027-01-17", "amount": "120000.50"},
        headers=manager.headers,
    )
    assert created.status_code == 201
    assert (created.json()["month"], created.json()["amount"], created.headers["ETag"]) == (
        "2027-01-01",
        "120000.50",
        '"1"',
    )
    refused = client.post(
        "/api/v1/sales/targets",
        json={"user_id": sales_team.outsider.user.id, "month": "2027-01-01", "amount": "1"},
        headers=manager.headers,
    )
    assert refused.status_code == 403
    negative = client.post(
        "/api/v1/sales/targets",
        json={"user_id": sales_team.member.user.id, "month": "2027-01-01", "amount": "-5"},
        headers=manager.headers,
    )
    assert negative.status_code == 422
    assert [error["field"] for error in negative.json()["errors"]] == ["amount"]
    stale = client.patch(
        f"/api/v1/sales/targets/{created.json()['id']}",
        json={"amount": "1"},
        headers={**manager.headers, "If-Match": '"7"'},
    )
    assert stale.status_code == 412
    # the rep reads their own target, and cannot change it
    own = client.get("/api/v1/sales/targets", headers=sales_team.member.headers).json()["items"]
    assert [(item["user_id"], item["amount"]) for item in own] == [(sales_team.member.user.id, "120000.50")]
    assert client.get("/api/v1/sales/targets", headers=sales_team.outsider.headers).json()["items"] == []
    assert (
        client.patch(
            f"/api/v1/sales/targets/{created.json()['id']}",
            json={"amount": "1"},
            headers=sales_team.member.headers,
        ).status_code
        == 403
    )


def test_the_targets_page_keeps_bad_input_and_writes_nothing(
    client: TestClient,
    uow_factory: UowFactory,
    admin: Person,
    rep: Person,
    sign_in: Callable[..., Response],
    post_form: Callable[..., Response],
) -> None:
    sign_in(admin.user.email)
    page = client.get("/sales/targets?month=2027-02")
    assert page.status_code == 200
    assert f'name="amount.{rep.user.id}"' in page.text

    refused = post_form(
        "/sales/targets?month=2027-02",
        "/sales/targets",
        {"month": "2027-02", f"amount.{rep.user.id}": "lots", f"amount.{admin.user.id}": "5000"},
    )
    assert refused.status_code == 422
    assert 'value="lots"' in refused.text
    assert forecasting.list_targets(uow_factory(), system_actor(), TargetFilters()).items == []

    saved = post_form(
        "/sales/targets?month=2027-02",
        "/sales/targets",
        {"month": "2027-02", f"amount.{rep.user.id}": "80,000"},
    )
    assert saved.status_code == 303
    targets = forecasting.list_targets(uow_factory(), system_actor(), TargetFilters()).items
    assert [(target.user_id, str(target.month), target.amount) for target in targets] == [
        (rep.user.id, "2027-02-01", Decimal("80000.00"))
    ]


def test_the_dashboard_page_and_the_factors_fragment(
    client: TestClient,
    admin: Person,
    standard_pipeline: PipelineOut,
    create_deal: Callable[..., OpportunityOut],
    sign_in: Callable[..., Response],
) -> None:
    deal = create_deal(admin.actor, amount="5000", expected_close_date="2027-01-10")
    sign_in(admin.user.email)

    page = client.get("/sales/dashboard?period_start=2027-01-01&period_end=2027-03-31")
    assert page.status_code == 200
    assert 'id="dashboard-data"' in page.text
    assert '<script src="/static/vendor/echarts.min.js" defer></script>' in page.text
    assert client.get("/static/js/sales-dashboard.js").status_code == 200
    bad = client.get("/sales/dashboard?period_start=2027-03-01&period_end=2027-01-01")
    assert bad.status_code == 422
    fragment = client.get(f"/sales/opportunities/{deal.id}/win-probability")
    assert fragment.status_code == 200
    assert "10 %" in fragment.text  # Qualification's default: no closed deals yet
    assert client.get("/sales/win-model").status_code == 200
    api = client.get(f"/api/v1/opportunities/{deal.id}/win-probability", headers=admin.headers)
    assert (api.json()["scope"], api.json()["probability"]) == ("stage_default", 10)
