"""Choosing the columns of the account and contact lists: which columns are offered (never one
above the reader's clearance), how saved views keep and check them over the API, and the list
page that shows, moves, saves and exports them."""

from __future__ import annotations

import csv
import io
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

from fastapi.testclient import TestClient
from httpx import Response

from loopcrm.modules.customers import service as customers
from loopcrm.modules.customers.schemas import (
    ContactCreate,
    CustomFieldCreate,
    CustomFieldUpdate,
)
from loopcrm.modules.customers.service import exports, list_columns

from ..support.web_forms import PASSWORD
from .conftest import create_account, names_in_list

DEFAULT_ACCOUNT_HEADERS = ["客户名称", "城市", "行业", "负责人", "标签", "电话", "邮箱", "最近修改"]


def _budget_field(uow_factory, admin, *, level: str = "internal"):  # type: ignore[no-untyped-def]
    """A money custom field of accounts, 预算 / Budget, at ``level``."""
    return customers.create_custom_field(
        uow_factory(),
        admin.actor,
        CustomFieldCreate.model_validate(
            {
                "record_kind": "account",
                "key": "budget",
                "label": "预算",
                "label_en": "Budget",
                "kind": "money",
                "security_level": level,
            }
        ),
    )


def _save_view_over_api(client: TestClient, person: Any, view: dict[str, Any]) -> Response:
    """POSTs ``view`` to the saved-views API as ``person`` (a ``make_person`` result)."""
    return client.post("/api/v1/saved-views", json=view, headers=person.headers)


def _account_views_over_api(client: TestClient, person: Any) -> Response:
    """The account views ``person`` may open, as the saved-views API lists them."""
    return client.get("/api/v1/saved-views", params={"record_kind": "account"}, headers=person.headers)


def _headers(html: str) -> list[str]:
    """The column headers of a list page's table, as shown (sort marks left out)."""
    head = html.split("<thead>", 1)[1].split("</thead>", 1)[0]
    cells = re.findall(r"<th scope=\"col\"[^>]*>(.*?)</th>", head, flags=re.S)
    texts = [re.sub(r"<span class=\"sort-mark\".*?</span>|<[^>]+>", "", cell).strip() for cell in cells]
    return [text for text in texts if text and text != "勾选"]


def _first_row(html: str) -> list[str]:
    """The cells of the first row of a list page's table, as text."""
    row = html.split("<tbody>", 1)[1].split("</tr>", 1)[0]
    cells = re.findall(r"<td(?! class=\"cell-check\")[^>]*>(.*?)</td>", row, flags=re.S)
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", cell)).strip() for cell in cells]


# ---------------------------------------------------------------- the API


def test_the_columns_offered_leave_out_every_field_above_the_readers_clearance(
    client: TestClient, make_person, uow_factory, admin
):
    _budget_field(uow_factory, admin, level="confidential")
    manager = make_person("sales_manager")  # confidential clearance
    rep = make_person("sales_rep")  # internal
    reader = make_person("read_only")  # public

    def offered(person) -> dict[str, Any]:  # type: ignore[no-untyped-def]
        response = client.get(
            "/api/v1/saved-views/columns", params={"record_kind": "account"}, headers=person.headers
        )
        assert response.status_code == 200, response.text
        return response.json()

    for_manager, for_rep, for_reader = offered(manager), offered(rep), offered(reader)

    assert for_manager["columns"][:3] == ["name", "name_en", "credit_code"]
    assert {"annual_revenue", "custom_fields.budget", "phones"} <= set(for_manager["columns"])
    assert set(for_manager["columns"]) - set(for_rep["columns"]) == {"annual_revenue", "custom_fields.budget"}
    assert set(for_rep["columns"]) - set(for_reader["columns"]) == {"phones", "emails"}
    assert for_rep["default"] == [
        "name",
        "city",
        "industry",
        "owner_id",
        "tags",
        "phones",
        "emails",
        "updated_at",
    ]
    # Contacts: their employer column is governed by the employments, at no level of its own.
    contact_columns = client.get(
        "/api/v1/saved-views/columns", params={"record_kind": "contact"}, headers=rep.headers
    ).json()
    assert contact_columns["default"][:3] == ["full_name", "account_id", "title"]
    assert "birthday" not in contact_columns["columns"]  # confidential


def test_a_view_keeps_its_columns_in_order_with_the_name_first(
    client: TestClient, make_person, uow_factory, admin
):
    _budget_field(uow_factory, admin)
    rep = make_person("sales_rep")

    created = _save_view_over_api(
        client,
        rep,
        {
            "record_kind": "account",
            "name": "预算视图",
            "columns": ["custom_fields.budget", "city", "name", "city"],
        },
    )
    listed = _account_views_over_api(client, rep)

    assert created.status_code == 201, created.text
    assert created.json()["columns"] == ["name", "custom_fields.budget", "city"]
    assert [view["columns"] for view in listed.json()] == [["name", "custom_fields.budget", "city"]]


def test_a_column_named_as_the_filters_or_the_export_name_it_is_kept_under_its_own_key(
    client: TestClient, make_person
):
    rep = make_person("sales_rep")

    created = _save_view_over_api(
        client, rep, {"record_kind": "contact", "name": "标签视图", "columns": ["tag", "owner", "company"]}
    )
    refused = _save_view_over_api(
        client, rep, {"record_kind": "account", "name": "公司视图", "columns": ["company"]}
    )

    assert created.status_code == 201, created.text
    assert created.json()["columns"] == ["full_name", "tags", "owner_id", "account_id"]
    assert [(error["field"], error["code"]) for error in refused.json()["errors"]] == [
        ("columns.0", "unknown_column")
    ]  # an account works nowhere


def test_unknown_and_hidden_columns_are_refused_each_with_its_error_and_nothing_is_saved(
    client: TestClient, make_person, uow_factory, admin
):
    _budget_field(uow_factory, admin, level="confidential")
    rep = make_person("sales_rep")

    refused = _save_view_over_api(
        client,
        rep,
        {
            "record_kind": "account",
            "name": "看不到的列",
            "columns": ["city", "revenue", "annual_revenue", "custom_fields.budget"],
        },
    )

    assert refused.status_code == 422
    problem = refused.json()
    assert problem["status"] == 422
    assert [(error["field"], error["code"]) for error in problem["errors"]] == [
        ("columns.1", "unknown_column"),
        ("columns.2", "column_not_allowed"),
        ("columns.3", "column_not_allowed"),
    ]
    assert _account_views_over_api(client, rep).json() == []


def test_a_shared_view_gives_each_reader_only_the_columns_they_may_see(
    client: TestClient, make_person, uow_factory, admin
):
    budget = _budget_field(uow_factory, admin)
    manager = make_person("sales_manager")
    rep = make_person("sales_rep")
    _save_view_over_api(
        client,
        manager,
        {
            "record_kind": "account",
            "name": "大客户",
            "is_shared": True,
            "columns": ["annual_revenue", "custom_fields.budget", "city"],
        },
    )

    def columns(person) -> list[str]:  # type: ignore[no-untyped-def]
        views = _account_views_over_api(client, person)
        return list(views.json()[0]["columns"])

    assert columns(manager) == ["name", "annual_revenue", "custom_fields.budget", "city"]
    assert columns(rep) == ["name", "custom_fields.budget", "city"]

    # An archived custom field leaves every view quietly.
    customers.update_custom_field(uow_factory(), admin.actor, budget.id, CustomFieldUpdate(is_active=False))

    assert columns(manager) == ["name", "annual_revenue", "city"]


def test_the_list_columns_are_the_export_columns():
    # "Export this view" gives the view's columns: both name the same columns, in the same order.
    for kind, export_columns in (("account", exports.ACCOUNT_COLUMNS), ("contact", exports.CONTACT_COLUMNS)):
        assert {
            column.key: column.masked_field for column in export_columns
        } == list_columns.STANDARD_COLUMNS[kind]
        assert list(list_columns.STANDARD_COLUMNS[kind]) == [column.key for column in export_columns]


# ---------------------------------------------------------------- the list page


def test_the_list_shows_the_default_columns_then_the_chosen_ones_in_their_order(
    client: TestClient, rep, sign_in, uow_factory, admin
):
    _budget_field(uow_factory, admin)
    create_account(
        uow_factory,
        rep.actor,
        name="福州晨光科技有限公司",
        city="福州",
        industry="manufacturing",
        employee_count=1200,
        custom_fields={"budget": 5000},
    )
    sign_in(rep.user.email)

    default = client.get("/customers/accounts")
    chosen = client.get(
        "/customers/accounts",
        params=[("column", "custom_fields.budget"), ("column", "industry"), ("column", "employee_count")],
    )

    assert _headers(default.text) == DEFAULT_ACCOUNT_HEADERS
    assert chosen.status_code == 200
    assert _headers(chosen.text) == ["客户名称", "预算", "行业", "员工人数"]
    assert _first_row(chosen.text) == ["福州晨光科技有限公司", "¥5,000.00", "制造业", "1,200"]
    # Sorting keeps the columns, and the export link asks for the same ones.
    sort_link = re.search(r'href="(/customers/accounts\?[^"]*sort=industry[^"]*)"', chosen.text)
    export_link = re.search(r'href="(/customers/accounts/export\?[^"]+format=csv)"', chosen.text)
    assert sort_link and export_link
    for link in (sort_link.group(1), export_link.group(1)):
        query = parse_qs(urlsplit(link.replace("&amp;", "&")).query)
        assert query["column"] == ["name", "custom_fields.budget", "industry", "employee_count"]


def test_an_unknown_or_hidden_column_in_the_link_shows_a_message_and_the_default_columns(
    client: TestClient, rep, sign_in, uow_factory
):
    create_account(uow_factory, rep.actor, name="福州晨光科技有限公司", annual_revenue=900)
    sign_in(rep.user.email)

    answer = client.get(
        "/customers/accounts",
        params=[("column", "city"), ("column", "revenue"), ("column", "annual_revenue")],
    )

    assert answer.status_code == 200
    assert "未知的列 revenue" in answer.text
    assert "您无权查看列 annual_revenue" in answer.text
    assert _headers(answer.text) == DEFAULT_ACCOUNT_HEADERS
    assert names_in_list(answer.text) == ["福州晨光科技有限公司"]
    export_link = re.search(r'href="(/customers/accounts/export\?[^"]+)"', answer.text)
    assert export_link and "column=" not in export_link.group(1)  # links drop the refused columns


def test_the_chooser_offers_no_column_above_the_readers_clearance(
    client: TestClient, rep, sign_in, uow_factory, admin
):
    _budget_field(uow_factory, admin, level="confidential")
    sign_in(rep.user.email)

    html = client.get("/customers/accounts").text

    chooser = html.split('class="save-view-form column-form"', 1)[1].split("</form>", 1)[0]
    offered = re.findall(r'name="column" value="([^"]+)"', chooser)
    assert offered[:2] == ["name", "name"]  # the name's ticked box is disabled; a hidden input sends it
    assert offered[2:9] == ["city", "industry", "owner_id", "tags", "phones", "emails", "updated_at"]
    assert "annual_revenue" not in offered
    assert "custom_fields.budget" not in offered
    assert "name_en" in offered


def test_moving_a_column_up_reorders_the_chosen_columns_and_keeps_the_chooser_open(
    client: TestClient, rep, sign_in, uow_factory
):
    create_account(uow_factory, rep.actor, name="福州晨光科技有限公司", city="福州")
    sign_in(rep.user.email)

    moved = client.get(
        "/customers/accounts",
        params=[("q", "福州"), ("column", "city"), ("column", "industry"), ("column_up", "industry")],
        follow_redirects=False,
    )
    top = client.get(
        "/customers/accounts", params=[("column", "city"), ("column_up", "city")], follow_redirects=False
    )

    assert moved.status_code == 303
    query = parse_qs(urlsplit(moved.headers["location"]).query)
    assert query == {"q": ["福州"], "column": ["name", "industry", "city"], "choose": ["columns"]}
    reopened = client.get(moved.headers["location"])
    assert '<details class="save-view column-chooser" name="list-panel" open>' in reopened.text
    assert _headers(reopened.text) == ["客户名称", "行业", "城市"]
    # Nothing moves above the name.
    assert parse_qs(urlsplit(top.headers["location"]).query)["column"] == ["name", "city"]


def test_a_view_saved_with_columns_opens_with_them_and_exports_them(
    client: TestClient, rep, sign_in, post_form, uow_factory
):
    create_account(uow_factory, rep.actor, name="福州晨光科技有限公司", city="福州", industry="manufacturing")
    create_account(uow_factory, rep.actor, name="上海远景软件有限公司", city="上海")
    sign_in(rep.user.email)
    list_path = "/customers/accounts?column=industry&column=city&filter=city:eq:福州"

    saved = post_form(
        list_path,
        "/customers/accounts/views",
        {"view_name": "福州行业", "filter": ["city:eq:福州"], "column": ["name", "industry", "city"]},
    )
    opened = client.get(saved.headers["location"])

    views = customers.list_views(uow_factory(), rep.actor, "account")
    assert [(view.name, view.columns) for view in views] == [("福州行业", ["name", "industry", "city"])]
    assert _headers(opened.text) == ["客户名称", "行业", "城市"]
    assert names_in_list(opened.text) == ["福州晨光科技有限公司"]
    export_link = re.search(r'href="(/customers/accounts/export\?[^"]+format=csv)"', opened.text)
    assert export_link
    exported = client.get(export_link.group(1).replace("&amp;", "&"))
    assert exported.status_code == 200
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert rows == [["客户名称", "行业", "城市"], ["福州晨光科技有限公司", "制造业", "福州"]]


def test_a_contact_list_shows_where_the_contact_works_when_chosen(
    client: TestClient, make_person, sign_in, uow_factory
):
    rep = make_person("sales_rep", email="rep2@example.com", password=PASSWORD)
    account = create_account(uow_factory, rep.actor, name="福州晨光科技有限公司")
    customers.create_contact(
        uow_factory(),
        rep.actor,
        ContactCreate.model_validate(
            {
                "family_name": "王",
                "given_name": "芳",
                "gender": "female",
                "department": "采购部",
                "employments": [{"account_id": account.id, "title": "经理"}],
            }
        ),
    )
    sign_in(rep.user.email)

    html = client.get(
        "/customers/contacts",
        params=[("column", "department"), ("column", "account_id"), ("column", "gender")],
    ).text

    assert _headers(html) == ["姓名", "部门", "任职于", "性别"]
    assert _first_row(html) == ["王芳", "采购部", "福州晨光科技有限公司", "女"]
