"""The account and contact lists over HTTP, signed in as a browser is: filters typed as names,
sort, pages, saved views, bulk actions, deleted records, masked values."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient

from loopcrm.modules.customers import service as customers
from loopcrm.modules.customers.models import (
    ContactPointLabel,
    CustomerSource,
    Gender,
    Industry,
    OperatingStatus,
    RelationshipKind,
)
from loopcrm.modules.customers.schemas import (
    ListQuery,
    TagCreate,
)
from loopcrm.modules.customers.views.labels import (
    CONTACT_POINT_LABEL_NAMES,
    GENDER_NAMES,
    INDUSTRY_NAMES,
    OPERATING_STATUS_NAMES,
    RELATIONSHIP_INVERSE_NAMES,
    RELATIONSHIP_NAMES,
    SOURCE_NAMES,
)

from ..support.web_forms import PASSWORD
from .conftest import create_account, names_in_list

VALID_CODE = "91350100M000100Y43"


# ---------------------------------------------------------------- vocabularies


@pytest.mark.parametrize(
    ("names", "enum"),
    [
        (INDUSTRY_NAMES, Industry),
        (OPERATING_STATUS_NAMES, OperatingStatus),
        (SOURCE_NAMES, CustomerSource),
        (GENDER_NAMES, Gender),
        (RELATIONSHIP_NAMES, RelationshipKind),
        (RELATIONSHIP_INVERSE_NAMES, RelationshipKind),
        (CONTACT_POINT_LABEL_NAMES, ContactPointLabel),
    ],
)
def test_every_value_of_a_vocabulary_has_a_name_on_the_pages(names, enum):
    assert set(names) == {member.value for member in enum}


# ---------------------------------------------------------------- lists


def test_the_module_entry_opens_the_account_list(client: TestClient, rep, sign_in):
    sign_in(rep.user.email)

    answer = client.get("/customers", follow_redirects=False)

    assert answer.status_code == 303
    assert answer.headers["location"] == "/customers/accounts"


def test_the_account_list_filters_sorts_and_shows_names_of_values(
    client: TestClient, rep, sign_in, uow_factory
):
    for name, city, industry in (
        ("福州晨光科技有限公司", "福州", "manufacturing"),
        ("上海远景软件有限公司", "上海", "information_technology"),
        ("福州海峡物流有限公司", "福州", "transport_logistics"),
    ):
        create_account(uow_factory, rep.actor, name=name, city=city, industry=industry)
    sign_in(rep.user.email)

    by_city = client.get(
        "/customers/accounts", params={"f_field": "city", "f_op": "eq", "f_value": "福州", "sort": "name"}
    )
    # A value typed as its name (制造业) is matched as its stored value (manufacturing).
    by_industry = client.get(
        "/customers/accounts", params={"f_field": "industry", "f_op": "eq", "f_value": "制造业"}
    )
    descending = client.get("/customers/accounts", params={"sort": "-name"})

    assert by_city.status_code == 200
    assert names_in_list(by_city.text) == ["福州晨光科技有限公司", "福州海峡物流有限公司"]
    assert 'aria-sort="ascending"' in by_city.text
    assert names_in_list(by_industry.text) == ["福州晨光科技有限公司"]
    assert names_in_list(descending.text) == sorted(names_in_list(descending.text), reverse=True)
    assert len(names_in_list(descending.text)) == 3
    # The export link carries the same conditions, as stored values.
    export = re.search(r'href="(/customers/accounts/export\?[^"]+format=csv)"', by_industry.text)
    assert export
    query = parse_qs(urlsplit(export.group(1).replace("&amp;", "&")).query)
    assert query == {"filter": ["industry:eq:manufacturing"], "format": ["csv"]}


def test_masked_phones_show_as_hidden_in_the_list_never_as_empty(
    client: TestClient, make_person, sign_in, uow_factory, admin
):
    reader = make_person("read_only", email="reader@example.com", password=PASSWORD)
    create_account(
        uow_factory, admin.actor, name="福州晨光科技有限公司", phones=[{"number": "0591 8765 4321"}]
    )
    sign_in(reader.user.email)

    html = client.get("/customers/accounts").text

    row = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    assert row.count('class="masked-value"') == 2  # phones and emails
    assert "8765" not in row
    assert "已隐藏" in row


def test_a_saved_view_keeps_the_conditions_and_opens_them_again(
    client: TestClient, rep, sign_in, post_form, uow_factory
):
    create_account(uow_factory, rep.actor, name="福州晨光科技有限公司", city="福州", industry="manufacturing")
    create_account(uow_factory, rep.actor, name="上海远景软件有限公司", city="上海")
    sign_in(rep.user.email)
    list_path = "/customers/accounts?f_field=city&f_op=eq&f_value=福州&sort=-name"

    saved = post_form(
        list_path,
        "/customers/accounts/views",
        {"view_name": "福州客户", "is_shared": "on", "filter": ["city:eq:福州"], "sort": "-name"},
    )

    assert saved.status_code == 303
    views = customers.list_views(uow_factory(), rep.actor, "account")
    assert [(view.name, view.is_shared, view.filters, view.sort) for view in views] == [
        ("福州客户", True, ["city:eq:福州"], "-name")
    ]
    assert saved.headers["location"] == f"/customers/accounts?view_id={views[0].id}"
    opened = client.get(saved.headers["location"])
    assert "视图 福州客户 已保存。" in opened.text
    assert names_in_list(opened.text) == ["福州晨光科技有限公司"]
    assert f'<option value="{views[0].id}" selected>福州客户 · 共享</option>' in opened.text
    # The bar shows the view's condition, so it can be changed and applied.
    assert 'id="f-value-1" name="f_value" type="text" value="福州"' in opened.text
    assert 'aria-sort="descending"' in opened.text

    deleted = post_form(saved.headers["location"], f"/customers/accounts/views/{views[0].id}/delete", {})

    assert deleted.status_code == 303
    assert customers.list_views(uow_factory(), rep.actor, "account") == []


def test_a_tag_is_added_in_bulk_to_the_checked_records_only(
    client: TestClient, admin, sign_in, post_form, uow_factory
):
    tag = customers.create_tag(uow_factory(), admin.actor, TagCreate(name="重点客户", colour="#e03131"))
    first = create_account(uow_factory, admin.actor, name="甲公司")
    second = create_account(uow_factory, admin.actor, name="乙公司")
    third = create_account(uow_factory, admin.actor, name="丙公司")
    sign_in(admin.user.email)

    answer = post_form(
        "/customers/accounts",
        "/customers/accounts/bulk",
        {
            "record_ids": [first.id, third.id],
            "bulk_action": "add_tags",
            "tag_id": tag.id,
            "back": "/customers/accounts?sort=name",
        },
    )

    assert answer.status_code == 303
    assert answer.headers["location"] == "/customers/accounts?sort=name"
    tagged = customers.list_accounts(
        uow_factory(),
        admin.actor,
        ListQuery(filters=[f"tag:eq:{tag.id}"], sort="name"),
        limit=10,
        cursor=None,
    )
    assert sorted(account.name for account in tagged.items) == ["丙公司", "甲公司"]
    assert customers.get_account(uow_factory(), admin.actor, second.id).tags == []
    page = client.get(answer.headers["location"])
    assert "已修改 2 条记录。" in page.text
    assert page.text.count('<circle cx="5" cy="5" r="5" fill="#e03131">') == 2
    # Filtering by the tag's name finds them too.
    by_name = client.get(
        "/customers/accounts", params={"f_field": "tag", "f_op": "eq", "f_value": "重点客户"}
    )
    assert sorted(names_in_list(by_name.text)) == ["丙公司", "甲公司"]


def test_a_bulk_delete_asks_first_then_deletes_and_a_record_is_restored(
    client: TestClient, admin, sign_in, post_form, uow_factory
):
    doomed = create_account(uow_factory, admin.actor, name="待删除公司")
    sign_in(admin.user.email)

    asked = post_form(
        "/customers/accounts",
        "/customers/accounts/bulk",
        {"record_ids": [doomed.id], "bulk_action": "delete", "back": "/customers/accounts"},
    )

    assert asked.status_code == 200
    assert "删除已勾选的 1 条记录？" in asked.text
    assert customers.get_account(uow_factory(), admin.actor, doomed.id).deleted_at is None

    confirmed = post_form(
        "/customers/accounts",
        "/customers/accounts/bulk",
        {
            "record_ids": [doomed.id],
            "bulk_action": "delete",
            "confirmed": "yes",
            "back": "/customers/accounts",
        },
    )

    assert confirmed.status_code == 303
    deleted_list = client.get("/customers/accounts?deleted=1").text
    assert (
        "待删除公司" in deleted_list and f'action="/customers/accounts/{doomed.id}/restore"' in deleted_list
    )

    restored = post_form("/customers/accounts?deleted=1", f"/customers/accounts/{doomed.id}/restore", {})

    assert restored.status_code == 303
    assert restored.headers["location"] == f"/customers/accounts/{doomed.id}"
    assert "客户 待删除公司 已恢复。" in client.get(restored.headers["location"]).text


def test_a_bad_filter_is_explained_above_the_list(client: TestClient, rep, sign_in):
    sign_in(rep.user.email)

    answer = client.get("/customers/accounts", params={"filter": "employee_count:gt:many"})

    assert answer.status_code == 200
    assert 'role="alert"' in answer.text
    assert "<tbody>" not in answer.text


def test_the_pager_goes_on_and_back_to_the_first_page(client: TestClient, rep, sign_in, uow_factory):
    for number in range(52):
        create_account(uow_factory, rep.actor, name=f"公司{number:02d}", city="福州")
    sign_in(rep.user.email)

    first = client.get("/customers/accounts", params={"filter": "city:eq:福州", "sort": "name"})
    next_link = re.search(r'href="([^"]+)" rel="next"', first.text)
    assert next_link
    second = client.get(next_link.group(1).replace("&amp;", "&"))

    assert len(names_in_list(first.text)) == 50
    assert names_in_list(second.text) == ["公司50", "公司51"]
    assert (
        'href="/customers/accounts?filter=city%3Aeq%3A%E7%A6%8F%E5%B7%9E&amp;sort=name">回到第一页'
        in second.text
    )
