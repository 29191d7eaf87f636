"""Quotes over HTTP: the REST API (problem documents, ETags, the approval flow, the PDF) and the
pages (editor, detail, approval queue, admin pages, the customer's public page in zh-CN and en)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.conftest import Person
from tests.sales.test_quotes_service import COMPANY, QuoteWorld, build_world, new_quote
from tests.support.web_forms import PASSWORD

from loopcrm.modules.sales.quotes import service as quotes
from loopcrm.modules.sales.quotes.schemas import QuoteLineIn, QuoteStatus
from loopcrm.platform.unit_of_work import UnitOfWork

UowFactory = Callable[[], UnitOfWork]


@pytest.fixture
def world(uow_factory: UowFactory, make_person: Callable[..., Person]) -> QuoteWorld:
    return build_world(uow_factory, make_person)


# ---------------------------------------------------------------- API


def test_products_through_the_api(client: TestClient, world: QuoteWorld):
    created = client.post(
        "/api/v1/products",
        json={"sku": "LIC-01", "name": "年度许可", "unit": "年", "default_tax_rate": "6"},
        headers=world.manager.headers,
    )
    assert created.status_code == 201, created.text
    assert created.headers["ETag"] == '"1"'
    product = created.json()
    assert (product["sku"], product["default_tax_rate"]) == ("LIC-01", "6.00")

    stale = client.patch(
        f"/api/v1/products/{product['id']}",
        json={"name": "x"},
        headers={**world.manager.headers, "If-Match": '"9"'},
    )
    assert stale.status_code == 412

    duplicate = client.post(
        "/api/v1/products", json={"sku": "lic-01", "name": "x"}, headers=world.manager.headers
    )
    assert duplicate.status_code == 422
    assert [error["field"] for error in duplicate.json()["errors"]] == ["sku"]

    forbidden = client.post("/api/v1/products", json={"sku": "R", "name": "x"}, headers=world.rep.headers)
    assert forbidden.status_code == 403

    listed = client.get("/api/v1/products?q=lic", headers=world.rep.headers)
    assert [item["sku"] for item in listed.json()["items"]] == ["LIC-01"]


def test_price_lists_and_the_applicable_price_through_the_api(client: TestClient, world: QuoteWorld):
    created = client.post(
        "/api/v1/price-lists",
        json={
            "name": "VIP 价",
            "currency": "CNY",
            "customer_tag_id": world.vip_tag_id,
            "entries": [{"product_id": world.server.id, "unit_price": "30.5"}],
        },
        headers=world.manager.headers,
    )
    assert created.status_code == 201, created.text

    price = client.get(
        "/api/v1/price-lists/price",
        params={"product_id": world.server.id, "currency": "CNY", "account_id": world.account_id},
        headers=world.rep.headers,
    )
    assert price.json()["unit_price"] == "30.5000"
    assert price.json()["price_list_name"] == "VIP 价"

    unknown_currency = client.post(
        "/api/v1/price-lists", json={"name": "x", "currency": "XYZ"}, headers=world.manager.headers
    )
    assert unknown_currency.status_code == 422
    assert [error["field"] for error in unknown_currency.json()["errors"]] == ["currency"]


def test_the_quote_flow_through_the_api(client: TestClient, world: QuoteWorld):
    created = client.post(
        "/api/v1/quotes",
        json={
            "opportunity_id": world.deal_id,
            "lines": [{"product_id": world.server.id, "quantity": "3", "discount_percent": "25"}],
        },
        headers=world.rep.headers,
    )
    assert created.status_code == 201, created.text
    quote = created.json()
    # 100.01 − 25.00 (25.0025 → 25.00) = 75.01 + 13 % 9.75 (9.7513 → 9.75) = 84.76
    assert (quote["subtotal"], quote["discount_total"], quote["tax_total"], quote["total"]) == (
        "100.01",
        "25.00",
        "9.75",
        "84.76",
    )
    quote_id = quote["id"]

    submitted = client.post(f"/api/v1/quotes/{quote_id}/submit", headers=world.rep.headers)
    assert submitted.json()["status"] == "pending_approval"
    own = client.post(f"/api/v1/quotes/{quote_id}/approve", json={}, headers=world.rep.headers)
    assert own.status_code == 403
    queue = client.get("/api/v1/quotes/approvals", headers=world.manager.headers)
    assert [item["id"] for item in queue.json()] == [quote_id]
    approved = client.post(
        f"/api/v1/quotes/{quote_id}/approve", json={"note": "可以"}, headers=world.manager.headers
    )
    assert approved.json()["status"] == "approved"

    link = client.post(f"/api/v1/quotes/{quote_id}/public-link", headers=world.rep.headers)
    assert link.status_code == 201
    assert link.json()["path"] == "/q/" + link.json()["token"]

    pdf = client.get(f"/api/v1/quotes/{quote_id}/pdf?locale=en", headers=world.rep.headers)
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-")

    revised = client.post(f"/api/v1/quotes/{quote_id}/revise", headers=world.rep.headers)
    assert revised.status_code == 201
    assert revised.json()["version_number"] == 2
    accept_old = client.post(f"/api/v1/quotes/{quote_id}/accept", headers=world.rep.headers)
    assert accept_old.status_code == 409
    assert accept_old.json()["detail"]

    latest = client.get(
        f"/api/v1/quotes?opportunity_id={world.deal_id}&latest=true", headers=world.rep.headers
    )
    assert [item["version_number"] for item in latest.json()["items"]] == [2]


def test_bad_quote_input_is_a_problem_document_per_field(client: TestClient, world: QuoteWorld):
    answer = client.post(
        "/api/v1/quotes",
        json={"opportunity_id": world.deal_id, "lines": [{"quantity": "0", "discount_percent": "120"}]},
        headers=world.rep.headers,
    )

    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("application/problem+json")
    fields = sorted(error["field"] for error in answer.json()["errors"])
    assert fields == ["lines.0.discount_percent", "lines.0.quantity"]


# ---------------------------------------------------------------- pages


def _signed_in(
    client: TestClient, sign_in: Callable[..., Any], make_person: Callable[..., Person], role: str
) -> Person:
    person = make_person(role, password=PASSWORD)
    sign_in(person.user.email)
    return person


def test_a_quote_is_written_in_the_editor_and_its_errors_stay_on_their_rows(
    client: TestClient,
    world: QuoteWorld,
    sign_in: Callable[..., Any],
    make_person: Callable[..., Person],
    post_form: Callable[..., Any],
):
    _signed_in(client, sign_in, make_person, "admin")
    page = f"/sales/quotes/new?opportunity={world.deal_id}"
    assert client.get(page).status_code == 200

    refused = post_form(
        page,
        "/sales/quotes/new",
        {
            "opportunity_id": world.deal_id,
            "title": "云平台报价",
            "lines.0.product_id": world.service.id,
            "lines.0.quantity": "2",
            "lines.1.product_id": "",
            "lines.1.description": "",
            "lines.2.description": "定制开发",
            "lines.2.quantity": "1",
        },
    )
    assert refused.status_code == 422
    assert 'id="f-lines.2.unit_price"' in refused.text and 'aria-invalid="true"' in refused.text
    assert "定制开发" in refused.text  # the input is kept

    created = post_form(
        page,
        "/sales/quotes/new",
        {
            "opportunity_id": world.deal_id,
            "title": "云平台报价",
            "lines.0.product_id": world.service.id,
            "lines.0.quantity": "2",
            "lines.0.discount_percent": "30",
            "lines.2.description": "定制开发",
            "lines.2.unit_price": "5000",
            "lines.2.tax_rate": "6",
        },
    )
    assert created.status_code == 303
    detail = client.get(created.headers["location"])
    assert detail.status_code == 200
    # 2 × 2000 − 30 % = 2800 + 6 % = 2968.00; 5000 + 6 % = 5300.00
    assert "2,968.00" in detail.text and "5,300.00" in detail.text and "8,268.00" in detail.text


def test_the_manager_approves_from_the_queue_and_the_customer_accepts_on_the_public_page(
    client: TestClient,
    world: QuoteWorld,
    uow_factory: UowFactory,
    sign_in: Callable[..., Any],
    make_person: Callable[..., Person],
    post_form: Callable[..., Any],
):
    quote = new_quote(
        uow_factory, world, QuoteLineIn(product_id=world.service.id, discount_percent=Decimal(40))
    )
    quote = quotes.submit_quote(uow_factory(), world.rep.actor, quote.id)
    _signed_in(client, sign_in, make_person, "admin")

    queue = client.get("/sales/quotes/approvals")
    assert quote.number in queue.text
    detail_path = f"/sales/quotes/{quote.id}"
    approved = post_form(detail_path, f"{detail_path}/approve", {"note": "特批"})
    assert approved.status_code == 303
    with_link = post_form(detail_path, f"{detail_path}/public-link", {})
    assert with_link.status_code == 200
    token = with_link.text.split("/q/", 1)[1].split('"', 1)[0].split("<", 1)[0]

    client.cookies.clear()  # the customer has no account
    public = client.get(f"/q/{token}", headers={"Accept-Language": "en"})
    assert public.status_code == 200
    assert COMPANY in public.text and "Accept the quote" in public.text
    chinese = client.get(f"/q/{token}", headers={"Accept-Language": "zh-CN"})
    assert "接受报价" in chinese.text
    accepted = post_form(f"/q/{token}", f"/q/{token}/accept", {})
    assert accepted.status_code == 303
    assert quotes.get_quote(uow_factory(), world.rep.actor, quote.id).status is QuoteStatus.ACCEPTED

    again = post_form(f"/q/{token}", f"/q/{token}/accept", {})
    assert again.status_code == 409
    assert "已被答复" in again.text or "already been answered" in again.text


def test_declining_on_the_public_page_asks_for_a_reason(
    client: TestClient, world: QuoteWorld, uow_factory: UowFactory, post_form: Callable[..., Any]
):
    quote = quotes.submit_quote(
        uow_factory(),
        world.rep.actor,
        new_quote(uow_factory, world, QuoteLineIn(product_id=world.service.id)).id,
    )
    token = quotes.create_public_link(uow_factory(), world.rep.actor, quote.id).token

    without = post_form(f"/q/{token}", f"/q/{token}/reject", {"reason": ""})
    assert without.status_code == 422
    declined = post_form(f"/q/{token}", f"/q/{token}/reject", {"reason": "价格偏高"})
    assert declined.status_code == 303
    final = quotes.get_quote(uow_factory(), world.rep.actor, quote.id)
    assert (final.status, final.rejection_reason) == (QuoteStatus.REJECTED, "价格偏高")


def test_an_unknown_public_link_is_not_found(client: TestClient, world: QuoteWorld):
    assert client.get("/q/no-such-token").status_code == 404


def test_the_admin_pages_of_products_price_lists_and_the_threshold(
    client: TestClient,
    world: QuoteWorld,
    uow_factory: UowFactory,
    sign_in: Callable[..., Any],
    make_person: Callable[..., Person],
    post_form: Callable[..., Any],
):
    admin = _signed_in(client, sign_in, make_person, "admin")

    created = post_form(
        "/sales/admin/products",
        "/sales/admin/products",
        {"sku": "HW-9", "name": "边缘网关", "unit": "台", "default_tax_rate": "13", "is_active": "on"},
    )
    assert created.status_code == 303
    assert "边缘网关" in client.get("/sales/admin/products").text
    taken = post_form("/sales/admin/products", "/sales/admin/products", {"sku": "HW-9", "name": "again"})
    assert taken.status_code == 422 and 'value="again"' in taken.text

    price_list = post_form(
        "/sales/admin/price-lists/new",
        "/sales/admin/price-lists/new",
        {
            "name": "VIP 价",
            "currency": "CNY",
            "customer_tag_id": world.vip_tag_id,
            "is_active": "on",
            "entries.0.product_id": world.server.id,
            "entries.0.unit_price": "31",
        },
    )
    assert price_list.status_code == 303, price_list.text
    assert "VIP 价" in client.get("/sales/admin/price-lists").text

    saved = post_form(
        "/sales/admin/quote-settings",
        "/sales/admin/quote-settings",
        {"approval_threshold_percent": "15", "default_validity_days": "45"},
    )
    assert saved.status_code == 303
    assert quotes.get_quote_settings(uow_factory(), admin.actor).approval_threshold_percent == Decimal(15)
