"""Importing shop orders from CSV and XLSX: good orders land, bad rows are reported row by row,
contacts are matched by email or phone (or created), and running the file again changes nothing."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from openpyxl import Workbook

from loopcrm.modules.customers import service as customers
from loopcrm.modules.customers.schemas import ContactCreate, EmailIn, ListQuery
from loopcrm.modules.sales.orders import service as orders
from loopcrm.platform.errors import ValidationFailed
from loopcrm.platform.i18n import translator

CSV = (
    "订单号,下单时间,客户姓名,邮箱,手机,商品编码,商品名称,数量,单价,折扣,税率\n"
    "TM-1,2026-03-01 10:00,王小明,xiaoming@example.com,,TEA-1,乌龙茶,2,50,,13\n"
    "TM-1,2026-03-01 10:00,王小明,xiaoming@example.com,,CUP-1,茶杯,1,19.9,10,13\n"
    "TM-2,2026-03-02 11:30,陈红,,13800138000,TEA-2,红茶,1,88,,\n"
    "TM-3,2026-03-03 09:00,刘强,liu@example.com,,TEA-3,绿茶,abc,10,,\n"
    "TM-3,2026-03-03 09:00,刘强,liu@example.com,,TEA-4,白茶,1,10,,\n"
    "TM-4,2026-03-04 09:00,赵六,,,TEA-5,花茶,1,10,,\n"
)


def test_good_orders_land_bad_rows_are_reported_and_a_rerun_changes_nothing(uow_factory, make_person):
    # given a rep and an existing contact with the first order's email
    rep = make_person("sales_rep")
    existing = customers.create_contact(
        uow_factory(),
        rep.actor,
        ContactCreate(family_name="王", given_name="小明", emails=[EmailIn(address="xiaoming@example.com")]),
    )
    # when the shop's export is imported (GBK, as Excel in China saves CSV)
    run = orders.import_orders(
        uow_factory(), rep.actor, file_name="tmall.csv", content=CSV.encode("gbk"), channel="tmall"
    )
    # then the two good orders land and the bad ones are reported row by row
    assert (
        run.row_count,
        run.orders_created,
        run.orders_unchanged,
        run.orders_rejected,
        run.rows_rejected,
    ) == (
        6,
        2,
        0,
        2,
        3,
    )
    assert [
        (problem.row, problem.external_id, problem.field, problem.message) for problem in run.problems
    ] == [
        (5, "TM-3", "quantity", "{value} is not a number"),
        (6, "TM-3", None, "Another row of this order was rejected"),
        (7, "TM-4", "email", "Give the customer's email or phone"),
    ]
    landed = orders.list_orders(uow_factory(), rep.actor).items
    by_external = {order.external_id: order for order in landed}
    assert sorted(by_external) == ["TM-1", "TM-2"]
    first = by_external["TM-1"]
    # the first order's customer is the existing contact, matched by email
    assert (first.contact_id, first.account_id, first.channel) == (existing.id, None, "tmall")
    # 2 × 50 + 13 % = 113.00; 19.90 − 10 % = 17.91 + 13 % (2.33) = 20.24
    assert [line.total for line in first.lines] == [Decimal("113.00"), Decimal("20.24")]
    assert first.total == Decimal("133.24")
    assert first.ordered_at.isoformat() == "2026-03-01T02:00:00+00:00"  # 10:00 in Shanghai
    # the second customer was unknown: a contact was created with the phone
    second = by_external["TM-2"]
    created_contact = customers.get_contact(uow_factory(), rep.actor, second.contact_id)
    assert (created_contact.family_name, created_contact.given_name) == ("陈", "红")
    assert [phone.value for phone in created_contact.phones] == ["+8613800138000"]
    # the report reads in the reader's language
    report = orders.import_report_csv(run, translator("en"))
    assert report.splitlines()[1:] == [
        "5,TM-3,quantity,abc is not a number",
        "6,TM-3,,Another row of this order was rejected",
        "7,TM-4,email,Give the customer's email or phone",
    ]

    # when the same file is imported again
    again = orders.import_orders(
        uow_factory(), rep.actor, file_name="tmall.csv", content=CSV.encode("gbk"), channel="tmall"
    )
    # then nothing changes: the landed orders are "already there", no contact is added
    assert (again.orders_created, again.orders_unchanged, again.orders_rejected) == (0, 2, 2)
    assert sorted(order.id for order in orders.list_orders(uow_factory(), rep.actor).items) == sorted(
        order.id for order in landed
    )
    assert (
        len(customers.list_contacts(uow_factory(), rep.actor, ListQuery(), limit=50, cursor=None).items) == 2
    )


def test_an_excel_workbook_imports_like_a_csv(uow_factory, make_person):
    rep = make_person("sales_rep")
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(
        [
            "external_id",
            "ordered_at",
            "customer_name",
            "email",
            "sku",
            "description",
            "quantity",
            "unit_price",
        ]
    )
    sheet.append(["JD-9", "2026-04-01 08:00:00", "Alice Wong", "alice@example.com", "MUG", "Mug", 3, 12.5])
    content = io.BytesIO()
    workbook.save(content)
    run = orders.import_orders(
        uow_factory(), rep.actor, file_name="jd.xlsx", content=content.getvalue(), channel="JD"
    )
    assert (run.orders_created, run.problems) == (1, [])
    order = orders.list_orders(uow_factory(), rep.actor).items[0]
    assert (order.channel, order.external_id, order.total, order.customer_name) == (
        "jd",
        "JD-9",
        Decimal("37.50"),
        "Alice Wong",
    )


def test_a_file_without_the_needed_columns_is_refused_whole(uow_factory, make_person):
    rep = make_person("sales_rep")
    with pytest.raises(ValidationFailed) as refused:
        orders.import_orders(
            uow_factory(), rep.actor, file_name="x.csv", content=b"a,b\n1,2\n", channel="tmall"
        )
    assert refused.value.params == {"columns": "external_id, description, quantity, unit_price"}
    assert orders.list_imports(uow_factory(), rep.actor).items == []


def test_the_import_over_http_with_its_report(client, uow_factory, make_person):
    rep = make_person("sales_rep")
    answer = client.post(
        "/api/v1/orders/imports",
        files={"file": ("tmall.csv", CSV.encode("utf-8"), "text/csv")},
        data={"channel": "tmall"},
        headers=rep.headers,
    )
    assert answer.status_code == 201, answer.text
    run = answer.json()
    assert (run["orders_created"], run["orders_rejected"]) == (2, 2)
    report = client.get(f"/api/v1/orders/imports/{run['id']}/report", headers=rep.headers)
    assert report.status_code == 200 and report.headers["content-type"].startswith("text/csv")
    assert report.text.splitlines()[1] == "5,TM-3,quantity,abc 不是数字"
    other = make_person("sales_rep")
    assert client.get(f"/api/v1/orders/imports/{run['id']}", headers=other.headers).status_code == 404
