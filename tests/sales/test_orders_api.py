"""Orders over the REST API: create (idempotent per shop order), read with ETag, list with
filters and cursor, status changes with If-Match, payments, and problem documents."""

from __future__ import annotations

from decimal import Decimal

from loopcrm.modules.customers import service as customers
from loopcrm.modules.customers.schemas import AccountCreate, ContactCreate


def _order_body(**values) -> dict:
    return {
        "lines": [
            {
                "description": "乌龙茶 500g",
                "sku": "TEA-500",
                "quantity": "3",
                "unit_price": "33.335",
                "discount_percent": "7.5",
                "tax_rate": "13",
            }
        ],
        **values,
    }


def test_create_read_and_list_orders(client, uow_factory, make_person):
    rep = make_person("sales_rep")
    account = customers.create_account(uow_factory(), rep.actor, AccountCreate(name="福州茶业"))
    # when a rep posts an order
    created = client.post("/api/v1/orders", json=_order_body(account_id=account.id), headers=rep.headers)
    # then it is created with exact totals, an ETag and a Location
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["number"].startswith("SO-")
    assert (Decimal(body["total"]), Decimal(body["tax_total"])) == (Decimal("104.54"), Decimal("12.03"))
    assert body["status"] == "confirmed" and body["payment_status"] == "unpaid"
    assert created.headers["ETag"] == '"1"'
    assert created.headers["Location"] == f"/api/v1/orders/{body['id']}"
    read = client.get(f"/api/v1/orders/{body['id']}", headers=rep.headers)
    assert read.status_code == 200 and read.json()["lines"][0]["sku"] == "TEA-500"
    # the list pages by cursor
    client.post("/api/v1/orders", json=_order_body(account_id=account.id), headers=rep.headers)
    first = client.get("/api/v1/orders?limit=1", headers=rep.headers).json()
    second = client.get(f"/api/v1/orders?limit=1&cursor={first['next_cursor']}", headers=rep.headers).json()
    assert len(first["items"]) == 1 and second["next_cursor"] is None
    assert second["items"][0]["id"] == body["id"]
    filtered = client.get(f"/api/v1/orders?status=fulfilled&account_id={account.id}", headers=rep.headers)
    assert filtered.json() == {"items": [], "next_cursor": None}


def test_the_same_shop_order_posted_again_answers_the_first(client, uow_factory, make_person):
    rep = make_person("sales_rep")
    contact = customers.create_contact(
        uow_factory(), rep.actor, ContactCreate(family_name="李", given_name="娜")
    )
    body = _order_body(contact_id=contact.id, channel="tmall", external_id="TM-88")
    first = client.post("/api/v1/orders", json=body, headers=rep.headers)
    again = client.post("/api/v1/orders", json=body, headers=rep.headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert len(client.get("/api/v1/orders", headers=rep.headers).json()["items"]) == 1


def test_bad_input_is_a_problem_document_and_writes_nothing(client, uow_factory, make_person):
    rep = make_person("sales_rep")
    refused = client.post(
        "/api/v1/orders",
        json={"contact_id": "nope", "lines": [{"description": "x", "quantity": "0", "unit_price": "1"}]},
        headers=rep.headers,
    )
    assert refused.status_code == 422
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert [error["field"] for error in refused.json()["errors"]] == ["lines.0.quantity"]
    unknown = client.post("/api/v1/orders", json=_order_body(contact_id="nope"), headers=rep.headers)
    assert unknown.status_code == 422
    assert [error["field"] for error in unknown.json()["errors"]] == ["contact_id"]
    assert client.get("/api/v1/orders", headers=rep.headers).json()["items"] == []


def test_status_changes_honour_if_match_and_the_transitions(client, uow_factory, make_person):
    rep = make_person("sales_rep")
    account = customers.create_account(uow_factory(), rep.actor, AccountCreate(name="厦门"))
    order = client.post("/api/v1/orders", json=_order_body(account_id=account.id), headers=rep.headers).json()
    path = f"/api/v1/orders/{order['id']}"
    stale = client.patch(path, json={"status": "fulfilled"}, headers={**rep.headers, "If-Match": '"7"'})
    assert stale.status_code == 412
    cancelled = client.patch(path, json={"status": "cancelled"}, headers={**rep.headers, "If-Match": '"1"'})
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert cancelled.headers["ETag"] == '"2"'
    refused = client.patch(path, json={"status": "fulfilled"}, headers=rep.headers)
    assert refused.status_code == 422
    assert [(error["field"], error["code"]) for error in refused.json()["errors"]] == [
        ("status", "transition_not_allowed")
    ]
    paying = client.post(f"{path}/payments", json={"amount": "1.00"}, headers=rep.headers)
    assert paying.status_code == 422 and paying.json()["errors"][0]["code"] == "order_cancelled"


def test_payments_move_the_payment_status(client, uow_factory, make_person):
    rep = make_person("sales_rep")
    account = customers.create_account(uow_factory(), rep.actor, AccountCreate(name="泉州"))
    order = client.post("/api/v1/orders", json=_order_body(account_id=account.id), headers=rep.headers).json()
    path = f"/api/v1/orders/{order['id']}/payments"
    part = client.post(path, json={"amount": "4.54", "method": "wechat_pay"}, headers=rep.headers)
    assert part.status_code == 200 and part.json()["payment_status"] == "partial"
    assert Decimal(part.json()["amount_due"]) == Decimal("100.00")
    too_much = client.post(path, json={"amount": "100.01"}, headers=rep.headers)
    assert too_much.status_code == 422 and too_much.json()["errors"][0]["field"] == "amount"
    rest = client.post(path, json={"amount": "100"}, headers=rep.headers)
    assert rest.json()["payment_status"] == "paid"
    assert [payment["method"] for payment in rest.json()["payments"]] == ["wechat_pay", "bank_transfer"]


def test_an_order_outside_the_readers_scope_is_not_found(client, uow_factory, make_person):
    rep = make_person("sales_rep")
    other = make_person("sales_rep")
    account = customers.create_account(uow_factory(), rep.actor, AccountCreate(name="漳州"))
    order = client.post("/api/v1/orders", json=_order_body(account_id=account.id), headers=rep.headers).json()
    assert client.get(f"/api/v1/orders/{order['id']}", headers=other.headers).status_code == 404
    assert (
        client.patch(
            f"/api/v1/orders/{order['id']}", json={"status": "fulfilled"}, headers=other.headers
        ).status_code
        == 404
    )
    assert client.get("/api/v1/orders", headers=other.headers).json()["items"] == []
    assert client.get("/api/v1/orders").status_code == 401
