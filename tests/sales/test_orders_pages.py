"""The orders' pages, in the reader's language: list with filters, detail with status actions
and payments (refused input kept and marked), the import page with its report, and orders on
the account's timeline."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from zoneinfo import ZoneInfo

from tests.support.web_forms import PASSWORD, csrf_token_of, field_block

from loopcrm.modules.customers import service as customers
from loopcrm.modules.customers.schemas import AccountCreate
from loopcrm.modules.sales.orders import service as orders
from loopcrm.modules.sales.orders.schemas import OrderCreate, OrderFilter

CSV = (
    "external_id,customer_name,email,description,quantity,unit_price\n"
    "YZ-1,Wang,wang@example.com,Tea,2,10\n"
    "YZ-2,Li,li@example.com,Cup,-1,5\n"
)


def _order(uow_factory, person, account_id: str):
    return orders.create_order(
        uow_factory(),
        person.actor,
        OrderCreate.model_validate(
            {
                "account_id": account_id,
                "lines": [
                    {"description": "铁观音", "quantity": "2", "unit_price": "1234.5", "tax_rate": "13"}
                ],
            }
        ),
    )


def test_list_and_detail_pages_in_chinese_with_status_and_payment_actions(client, sign_in, uow_factory, rep):
    account = customers.create_account(uow_factory(), rep.actor, AccountCreate(name="安溪茶厂"))
    order = _order(uow_factory, rep, account.id)
    sign_in(rep.user.email, PASSWORD)
    listing = client.get("/sales/orders")
    assert listing.status_code == 200
    assert order.number in listing.text and "¥2,789.97" in listing.text and "已确认" in listing.text
    assert client.get("/sales/orders?status=fulfilled").text.count(order.number) == 0
    assert client.get("/sales/orders?ordered_from=not-a-date").status_code == 422

    detail = client.get(f"/sales/orders/{order.id}")
    assert detail.status_code == 200
    assert "标记为已履约" in detail.text and "记录收款" in detail.text
    token = csrf_token_of(detail.text)
    # a payment above what is owed is refused, the input kept and the field marked
    refused = client.post(
        f"/sales/orders/{order.id}/payments",
        data={
            "csrf_token": token,
            "version": "1",
            "amount": "5000",
            "method": "alipay",
            "paid_on": "",
            "reference": "R1",
        },
    )
    assert refused.status_code == 422
    assert 'value="5000"' in refused.text and 'aria-invalid="true"' in refused.text
    paid = client.post(
        f"/sales/orders/{order.id}/payments",
        data={
            "csrf_token": token,
            "version": "1",
            "amount": "1000",
            "method": "alipay",
            "paid_on": "2026-03-01",
        },
        follow_redirects=False,
    )
    assert paid.status_code == 303
    fulfilled = client.post(
        f"/sales/orders/{order.id}/status",
        data={"csrf_token": token, "version": "2", "status": "fulfilled"},
        follow_redirects=False,
    )
    assert fulfilled.status_code == 303
    shown = orders.get_order(uow_factory(), rep.actor, order.id)
    assert (shown.status.value, shown.payment_status.value) == ("fulfilled", "partial")
    again = client.post(
        f"/sales/orders/{order.id}/status",
        data={"csrf_token": token, "version": "3", "status": "cancelled"},
        follow_redirects=False,
    )
    assert again.status_code == 422 and "状态为 fulfilled 的订单不能变为 cancelled" in again.text


def test_the_account_timeline_shows_its_orders(client, sign_in, uow_factory, rep):
    account = customers.create_account(uow_factory(), rep.actor, AccountCreate(name="武夷岩茶"))
    order = _order(uow_factory, rep, account.id)
    sign_in(rep.user.email, PASSWORD)
    page = client.get(f"/customers/accounts/{account.id}")
    assert page.status_code == 200
    assert f"订单 {order.number} · ¥2,789.97" in page.text
    assert f'href="/sales/orders/{order.id}"' in page.text


def test_import_page_uploads_and_reports_row_by_row(client, sign_in, uow_factory, make_person):
    person = make_person("sales_rep", email="importer@example.com", password=PASSWORD)
    sign_in(person.user.email, PASSWORD)
    page = client.get("/sales/orders/import")
    assert page.status_code == 200 and "导入订单" in page.text
    token = csrf_token_of(page.text)
    missing = client.post("/sales/orders/import", data={"csrf_token": token, "channel": "youzan"})
    assert missing.status_code == 422
    uploaded = client.post(
        "/sales/orders/import",
        data={"csrf_token": token, "channel": "youzan"},
        files={"file": ("youzan.csv", CSV.encode(), "text/csv")},
        follow_redirects=False,
    )
    assert uploaded.status_code == 303
    report_page = client.get(uploaded.headers["location"])
    assert report_page.status_code == 200
    assert 'id="orders-created">1<' in report_page.text and 'id="orders-rejected">1<' in report_page.text
    report = client.get(uploaded.headers["location"] + "/report.csv")
    assert (
        report.status_code == 200 and report.text.splitlines()[1] == "3,YZ-2,quantity,数量必须是大于 0 的数字"
    )


def test_a_new_order_typed_by_hand_marks_the_bad_row_keeps_the_input_then_lands(
    client, sign_in, post_form, uow_factory, rep
) -> None:
    account = customers.create_account(uow_factory(), rep.actor, AccountCreate(name="安溪茶厂"))
    sign_in(rep.user.email, PASSWORD)
    page = client.get(f"/sales/orders/new?account={account.id}")
    assert page.status_code == 200
    assert f'<option value="{account.id}" selected' in page.text

    typed = [
        ("account_id", account.id),
        ("ordered_on", "2026-11-02"),
        ("lines.0.description", "铁观音"),
        ("lines.0.quantity", "2"),
        ("lines.0.unit_price", "1,234.50"),
        ("lines.0.tax_rate", "13"),
        # row 1 left blank: skipped
        ("lines.2.description", "茶具"),
        ("lines.2.quantity", "-1"),
        ("lines.2.unit_price", "88"),
    ]
    refused = post_form("/sales/orders/new", "/sales/orders/new", typed)
    assert refused.status_code == 422
    # the error of the second filled line is shown on the page's third row, the input kept
    quantity = refused.text.split('id="f-lines.2.quantity"', 1)[1].split(">", 1)[0]
    assert 'aria-invalid="true"' in quantity and 'value="-1"' in quantity
    assert 'value="1,234.50"' in refused.text
    assert orders.list_orders(uow_factory(), rep.actor, OrderFilter()).items == []

    nobody = post_form(
        "/sales/orders/new", "/sales/orders/new", [("lines.0.description", "茶"), ("lines.0.unit_price", "1")]
    )
    assert nobody.status_code == 422
    assert "请选择下单的客户公司或联系人" in field_block(nobody.text, "account_id")
    assert orders.list_orders(uow_factory(), rep.actor, OrderFilter()).items == []

    typed[-2] = ("lines.2.quantity", "3")
    created = post_form("/sales/orders/new", "/sales/orders/new", typed)
    assert created.status_code == 303
    (order,) = orders.list_orders(uow_factory(), rep.actor, OrderFilter()).items
    assert created.headers["location"] == f"/sales/orders/{order.id}"
    assert [(line.description, line.quantity, line.unit_price) for line in order.lines] == [
        ("铁观音", Decimal("2"), Decimal("1234.5")),
        ("茶具", Decimal("3"), Decimal("88")),
    ]
    assert (order.account_id, order.origin.value, order.currency) == (account.id, "manual", "CNY")
    assert order.total == Decimal("2789.97") + Decimal("264")
    assert order.ordered_at.astimezone(ZoneInfo("Asia/Shanghai")).date() == date(2026, 11, 2)
