"""The record pages of accounts and contacts over HTTP, signed in as a browser is: forms that keep
the input and mark the field at fault, custom fields, stale versions, detail pages with masked
fields, hierarchy, relationships, field history, the duplicates notice and the account picker."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from loopcrm.modules.customers import service as customers
from loopcrm.modules.customers.schemas import (
    AccountCreate,
    AccountUpdate,
    ContactCreate,
    ContactUpdate,
    CustomFieldCreate,
    ListQuery,
    RelationshipIn,
)
from loopcrm.platform.auth import service as auth
from loopcrm.platform.auth.schemas import TeamCreate
from loopcrm.platform.permissions import system_actor

from ..support.web_forms import field_block
from .conftest import names_in_list

VALID_CODE = "91350100M000100Y43"


def _account(uow_factory, actor, **values):  # type: ignore[no-untyped-def]
    return customers.create_account(uow_factory(), actor, AccountCreate.model_validate(values))


def _contact(uow_factory, actor, **values):  # type: ignore[no-untyped-def]
    return customers.create_contact(uow_factory(), actor, ContactCreate.model_validate(values))


# ---------------------------------------------------------------- forms


def test_a_bad_credit_code_comes_back_422_with_the_input_kept_and_the_field_marked(
    client: TestClient, rep, sign_in, post_form, uow_factory
):
    sign_in(rep.user.email)

    answer = post_form(
        "/customers/accounts/new",
        "/customers/accounts",
        {
            "name": "坏代码公司",
            "credit_code": VALID_CODE[:-1] + "0",
            "city": "福州",
            "owner_id": rep.user.id,
            "operating_status": "active",
            "phones.0.number": "0591 8765 4321",
            "phones.0.label": "work",
        },
    )

    assert answer.status_code == 422
    block = field_block(answer.text, "credit_code")
    assert 'aria-invalid="true"' in block
    assert "该信用代码校验不通过，请检查是否输错" in block
    assert f'value="{VALID_CODE[:-1]}0"' in block
    assert 'value="坏代码公司"' in answer.text
    assert 'value="0591 8765 4321"' in answer.text
    assert customers.list_accounts(uow_factory(), rep.actor, ListQuery(), limit=5, cursor=None).items == []


def test_a_bad_phone_is_marked_on_its_own_row_after_blank_rows_are_dropped(
    client: TestClient, rep, sign_in, post_form
):
    sign_in(rep.user.email)

    answer = post_form(
        "/customers/contacts/new",
        "/customers/contacts",
        {
            "family_name": "王",
            "given_name": "芳",
            "owner_id": rep.user.id,
            "phones.0.number": "",
            "phones.1.number": "138 1234 5678",
            "phones.2.number": "12345",
            "phones_primary": "1",
        },
    )

    assert answer.status_code == 422
    # Row 1 (blank) is gone: the good number is row 0 and primary, the bad one row 1.
    assert 'value="138 1234 5678"' in field_block(answer.text, "phones.0.number")
    bad = field_block(answer.text, "phones.1.number")
    assert 'aria-invalid="true"' in bad and "请输入有效的电话号码" in bad
    assert 'name="phones_primary" value="0" checked' in answer.text


def test_a_contact_without_a_name_is_refused_at_the_family_name(client: TestClient, rep, sign_in, post_form):
    sign_in(rep.user.email)

    answer = post_form(
        "/customers/contacts/new", "/customers/contacts", {"owner_id": rep.user.id, "title": "经理"}
    )

    assert answer.status_code == 422
    assert "联系人至少需要姓或名" in field_block(answer.text, "family_name")
    assert 'value="经理"' in answer.text


def test_a_custom_field_is_filled_validated_shown_and_filtered(
    client: TestClient, admin, sign_in, post_form, uow_factory
):
    customers.create_custom_field(
        uow_factory(),
        admin.actor,
        CustomFieldCreate.model_validate(
            {
                "record_kind": "account",
                "key": "level",
                "label": "客户等级",
                "label_en": "Customer level",
                "kind": "select",
                "options": [{"value": "gold", "label": "金牌"}, {"value": "silver", "label": "银牌"}],
            }
        ),
    )
    customers.create_custom_field(
        uow_factory(),
        admin.actor,
        CustomFieldCreate.model_validate(
            {"record_kind": "account", "key": "budget", "label": "预算", "kind": "money"}
        ),
    )
    sign_in(admin.user.email)
    form = {"name": "金牌公司", "owner_id": admin.user.id, "operating_status": "active"}

    refused = post_form(
        "/customers/accounts/new",
        "/customers/accounts",
        {**form, "custom_fields.level": "gold", "custom_fields.budget": "很多"},
    )
    created = post_form(
        "/customers/accounts/new",
        "/customers/accounts",
        {**form, "custom_fields.level": "gold", "custom_fields.budget": "1200.5"},
    )

    assert refused.status_code == 422
    assert "请输入金额" in field_block(refused.text, "custom_fields.budget")
    assert '<option value="gold" selected>金牌</option>' in refused.text
    assert created.status_code == 303
    detail = client.get(created.headers["location"]).text
    assert "客户等级" in detail and "金牌" in detail and "¥1,200.50" in detail
    filtered = client.get(
        "/customers/accounts", params={"f_field": "custom_fields.level", "f_op": "eq", "f_value": "金牌"}
    )
    assert names_in_list(filtered.text) == ["金牌公司"]


def test_an_edit_keeps_hidden_fields_and_a_stale_version_is_explained(
    client: TestClient, admin, rep, sign_in, post_form, uow_factory
):
    account = _account(uow_factory, rep.actor, name="晨光公司", annual_revenue="1000000", city="福州")
    sign_in(rep.user.email)
    edit_path = f"/customers/accounts/{account.id}/edit"
    edit_page = client.get(edit_path).text
    assert 'name="annual_revenue"' not in edit_page  # confidential: shown as hidden, not sent back
    assert "已隐藏" in edit_page
    form = {
        "name": "晨光科技公司",
        "city": "福州",
        "owner_id": rep.user.id,
        "operating_status": "active",
        "version": str(account.version),
    }

    saved = post_form(edit_path, f"/customers/accounts/{account.id}", form)
    stale = post_form(edit_path, f"/customers/accounts/{account.id}", {**form, "city": "厦门"})

    assert saved.status_code == 303
    stored = customers.get_account(uow_factory(), admin.actor, account.id)
    assert (stored.name, stored.annual_revenue) == ("晨光科技公司", 1000000)
    assert stale.status_code == 409
    assert "在您编辑期间，其他人修改了这条记录。" in stale.text
    assert 'value="厦门"' in stale.text


# ---------------------------------------------------------------- detail pages


def test_a_rep_sees_a_hidden_marker_for_confidential_fields_on_the_detail_page(
    client: TestClient, rep, sign_in, uow_factory, admin
):
    customers.create_custom_field(
        uow_factory(),
        admin.actor,
        CustomFieldCreate.model_validate(
            {
                "record_kind": "account",
                "key": "margin",
                "label": "毛利率",
                "kind": "number",
                "security_level": "confidential",
            }
        ),
    )
    account = _account(
        uow_factory,
        rep.actor,
        name="福州晨光科技有限公司",
        annual_revenue="2500000",
        custom_fields={"margin": 31.5},
    )
    sign_in(rep.user.email)

    html = client.get(f"/customers/accounts/{account.id}").text

    revenue = html.split("年营业额", 1)[1].split("</dd>", 1)[0]
    margin = html.split("毛利率", 1)[1].split("</dd>", 1)[0]
    assert 'class="masked-value"' in revenue and "已隐藏" in revenue
    assert 'class="masked-value"' in margin
    assert "2,500,000" not in html and "31.5" not in html


def test_an_account_page_shows_hierarchy_relationships_contacts_and_the_timeline(
    client: TestClient, admin, sign_in, post_form, uow_factory
):
    parent = _account(uow_factory, admin.actor, name="晨光集团")
    account = _account(uow_factory, admin.actor, name="福州晨光科技有限公司", parent_id=parent.id)
    supplier = _account(uow_factory, admin.actor, name="海峡物流")
    _contact(
        uow_factory,
        admin.actor,
        family_name="王",
        given_name="芳",
        employments=[{"account_id": account.id, "title": "采购经理"}],
    )
    sign_in(admin.user.email)
    path = f"/customers/accounts/{account.id}"

    added = post_form(
        path, f"{path}/relationships", {"to_account_id": supplier.id, "kind": "customer_of", "note": "年框"}
    )
    html = client.get(path).text
    parent_html = client.get(f"/customers/accounts/{parent.id}").text
    supplier_html = client.get(f"/customers/accounts/{supplier.id}").text

    assert added.status_code == 303
    assert f'<a href="/customers/accounts/{parent.id}">晨光集团</a>' in html
    assert f'<a href="/customers/accounts/{account.id}">福州晨光科技有限公司</a>' in parent_html
    assert "是以下客户的客户：" in html and "海峡物流" in html and "年框" in html
    assert "的客户有：" in supplier_html  # the same relationship read from the other side
    contacts = html.split('id="contacts"', 1)[1].split("</section>", 1)[0]
    assert "王芳" in contacts and "采购经理" in contacts
    assert '<section class="panel timeline" id="timeline"' in html
    assert "这里还没有任何记录。" in html.split('id="timeline"', 1)[1]
    relationship_id = customers.list_relationships(uow_factory(), admin.actor, account.id)[0].id

    removed = post_form(path, f"{path}/relationships/{relationship_id}/delete", {})

    assert removed.status_code == 303
    assert customers.list_relationships(uow_factory(), admin.actor, account.id) == []


def test_the_field_history_page_names_fields_and_values(
    client: TestClient, rep, sign_in, post_form, uow_factory
):
    account = _account(uow_factory, rep.actor, name="晨光公司", industry="manufacturing", city="福州")
    sign_in(rep.user.email)
    post_form(
        f"/customers/accounts/{account.id}/edit",
        f"/customers/accounts/{account.id}",
        {
            "name": "晨光公司",
            "industry": "finance",
            "city": "厦门",
            "owner_id": rep.user.id,
            "operating_status": "active",
            "version": str(account.version),
        },
    )

    html = client.get(f"/customers/accounts/{account.id}/history").text

    assert "字段历史" in html
    assert "<del>制造业</del>" in html and "<ins>金融业</ins>" in html
    assert "<del>福州</del>" in html and "<ins>厦门</ins>" in html
    actions = re.findall(r'<td rowspan="\d+">([^<]*)</td>\s*(?:<td>|</tr>)', _history_table(html))
    assert actions == ["修改", "创建"]  # the action, not the "created" date column (创建时间)
    assert "创建时间" not in _history_table(html)


def _history_table(html: str) -> str:
    return html.split('id="history-heading"', 1)[1].split("</section>", 1)[0]


def test_the_field_history_names_team_owner_and_parent_and_leaves_out_derived_keys(
    client: TestClient, admin, make_person, sign_in, uow_factory
):
    team = auth.create_team(uow_factory(), system_actor(), TeamCreate(name="华东销售部"))
    seller = make_person("sales_rep", name="销售 韩梅梅")
    group = _account(uow_factory, admin.actor, name="晨光集团")
    account = _account(uow_factory, admin.actor, name="晨光公司", website="https://chenguang.example.cn")
    customers.update_account(
        uow_factory(),
        admin.actor,
        account.id,
        AccountUpdate.model_validate(
            {
                "name": "晨光科技",
                "website": "https://cgtech.example.cn",
                "team_id": team.id,
                "owner_id": seller.user.id,
                "parent_id": group.id,
            }
        ),
    )
    contact = _contact(uow_factory, admin.actor, family_name="赵", given_name="敏")
    customers.update_contact(
        uow_factory(), admin.actor, contact.id, ContactUpdate.model_validate({"given_name": "刚"})
    )
    sign_in(admin.user.email)

    account_history = _history_table(client.get(f"/customers/accounts/{account.id}/history").text)
    contact_history = _history_table(client.get(f"/customers/contacts/{contact.id}/history").text)

    assert "<ins>华东销售部</ins>" in account_history and team.id not in account_history
    assert "<del>管理员 王芳</del>" in account_history and "<ins>销售 韩梅梅</ins>" in account_history
    assert "<ins>晨光集团</ins>" in account_history and group.id not in account_history
    assert admin.user.id not in account_history and seller.user.id not in account_history
    assert "<del>晨光公司</del>" in account_history and "<ins>晨光科技</ins>" in account_history
    for internal in ("name_key", "search_text", "domain", "域名", "<ins>cgtech.example.cn</ins>"):
        assert internal not in account_history
    assert "<del>敏</del>" in contact_history and "<ins>刚</ins>" in contact_history
    for internal in (
        "name_pinyin",
        "name_initials",
        "name_key",
        "search_text",
        "拼音",
        "zhaogang",
        "<ins>zg</ins>",
    ):
        assert internal not in contact_history


def test_a_new_contact_from_an_account_page_works_there_and_duplicates_are_named(
    client: TestClient, admin, sign_in, post_form, uow_factory
):
    account = _account(uow_factory, admin.actor, name="福州晨光科技有限公司")
    existing = _contact(
        uow_factory, admin.actor, family_name="王", given_name="芳", phones=[{"number": "13812345678"}]
    )
    sign_in(admin.user.email)
    new_page = client.get(f"/customers/contacts/new?account_id={account.id}").text
    assert f'<option value="{account.id}" selected>福州晨光科技有限公司</option>' in new_page

    created = post_form(
        f"/customers/contacts/new?account_id={account.id}",
        "/customers/contacts",
        {
            "family_name": "王",
            "given_name": "芳",
            "owner_id": admin.user.id,
            "phones.0.number": "138 1234 5678",
            "employments.0.account_id": account.id,
            "employments.0.title": "采购经理",
        },
    )

    assert created.status_code == 303
    page = client.get(created.headers["location"]).text
    assert "联系人 王芳 已创建。" in page
    assert "该记录可能已存在：" in page
    assert f'<a href="/customers/contacts/{existing.id}">' in page
    assert "采购经理" in page and "福州晨光科技有限公司" in page
    # The warning is signed: an edited parameter shows nothing.
    tampered = client.get(created.headers["location"].split("?")[0] + "?duplicates=abc").text
    assert "该记录可能已存在：" not in tampered


def test_a_relationship_refused_by_the_service_comes_back_with_the_field_marked(
    client: TestClient, admin, sign_in, post_form, uow_factory
):
    account = _account(uow_factory, admin.actor, name="福州晨光科技有限公司")
    other = _account(uow_factory, admin.actor, name="海峡物流")
    customers.add_relationship(
        uow_factory(), admin.actor, account.id, RelationshipIn(to_account_id=other.id, kind="partner_of")
    )
    sign_in(admin.user.email)
    form_path = f"/customers/accounts/{account.id}/relationships/new"

    answer = post_form(
        form_path,
        f"/customers/accounts/{account.id}/relationships",
        {"to_account_id": other.id, "kind": "partner_of"},
    )

    assert answer.status_code == 422
    assert "该关系已存在" in field_block(answer.text, "to_account_id")


def test_the_account_picker_offers_the_accounts_a_search_finds(client: TestClient, rep, sign_in, uow_factory):
    wanted = _account(uow_factory, rep.actor, name="福州晨光科技有限公司", city="福州")
    _account(uow_factory, rep.actor, name="上海远景软件有限公司", city="上海")
    sign_in(rep.user.email)

    found = client.get(
        "/customers/accounts/picker", params={"picker_q": "晨光"}, headers={"HX-Request": "true"}
    )
    nothing = client.get(
        "/customers/accounts/picker", params={"picker_q": "不存在"}, headers={"HX-Request": "true"}
    )

    assert found.status_code == 200
    assert re.findall(r'<option value="([^"]*)"', found.text) == ["", wanted.id]
    assert f'<option value="{wanted.id}" selected>福州晨光科技有限公司 · 福州</option>' in found.text
    assert re.findall(r'<option value="([^"]*)"', nothing.text) == [""]
    assert "<html" not in found.text  # a fragment for htmx, not a page


def test_a_call_logged_on_a_contact_page_shows_on_its_timeline_and_its_accounts(
    client: TestClient, rep, sign_in, post_form, uow_factory
):
    account = _account(uow_factory, rep.actor, name="福州晨光科技有限公司")
    contact = _contact(
        uow_factory, rep.actor, family_name="王", given_name="芳", employments=[{"account_id": account.id}]
    )
    sign_in(rep.user.email)
    contact_path = f"/customers/contacts/{contact.id}"

    logged = post_form(
        contact_path,
        "/activities",
        {
            "kind": "call",
            "next": contact_path,
            "subject_type": "contact",
            "subject_id": contact.id,
            "subject": "确认报价",
            "call.direction": "outbound",
            "call.outcome": "connected",
            "call.duration_seconds": "300",
        },
    )
    contact_html = client.get(contact_path).text
    account_html = client.get(f"/customers/accounts/{account.id}").text

    assert (logged.status_code, logged.headers["location"]) == (303, contact_path)
    assert 'id="activity-panel"' in contact_html
    for html in (contact_html, account_html):
        timeline = html.split('id="timeline"', 1)[1]
        assert "确认报价" in timeline


def test_an_account_timeline_pages_and_filters_on_its_own_route(
    client: TestClient, rep, sign_in, uow_factory
):
    from loopcrm.modules.activities import service as activities
    from loopcrm.modules.activities.schemas import ActivityCreate

    account = _account(uow_factory, rep.actor, name="分页公司")
    for number in range(22):
        activities.log_activity(
            uow_factory(),
            rep.actor,
            ActivityCreate.model_validate(
                {
                    "kind": "note" if number % 2 else "task",
                    "subject": f"第{number:02d}条",
                    "occurred_at": f"2026-11-{number + 1:02d}T09:00:00+08:00",
                    "links": [{"subject_type": "account", "subject_id": account.id}],
                    **({} if number % 2 else {"task": {"assignee_id": rep.user.id}}),
                }
            ),
        )
    sign_in(rep.user.email)
    path = f"/customers/accounts/{account.id}"

    html = client.get(path).text
    more = re.search(r'hx-get="([^"]*fragment=entries[^"]*)"', html)
    assert more is not None
    next_entries = client.get(more.group(1).replace("&amp;", "&"), headers={"HX-Request": "true"})
    notes = client.get(f"{path}/timeline?kind=note&fragment=section", headers={"HX-Request": "true"})

    assert more.group(1).startswith(f"{path}/timeline?")
    assert html.count('class="timeline-entry') == 20
    assert re.findall(r"第(\d\d)条", next_entries.text) == ["01", "00"]
    assert "<html" not in next_entries.text
    assert len(re.findall(r'class="timeline-entry timeline-note"', notes.text)) == 11
    assert 'class="timeline-entry timeline-task"' not in notes.text


def test_a_timeline_route_is_not_found_outside_the_readers_scope(
    client: TestClient, rep, make_person, sign_in, uow_factory
):
    other = make_person("sales_rep")
    account = _account(uow_factory, other.actor, name="别人的公司")
    sign_in(rep.user.email)

    answer = client.get(f"/customers/accounts/{account.id}/timeline?fragment=section")

    assert answer.status_code == 404


def test_detail_pages_offer_a_merge_to_who_may_merge_and_lists_link_the_duplicates(
    client: TestClient, admin, rep, sign_in, uow_factory
):
    contact = _contact(uow_factory, admin.actor, family_name="王", given_name="芳", owner_id=rep.user.id)
    merge_link = f'href="/customers/merge?kind=contact&amp;survivor={contact.id}"'
    sign_in(rep.user.email)
    rep_page = client.get(f"/customers/contacts/{contact.id}").text
    sign_in(admin.user.email)
    admin_page = client.get(f"/customers/contacts/{contact.id}").text
    picker = client.get(f"/customers/merge?kind=contact&survivor={contact.id}")
    contact_list = client.get("/customers/contacts").text

    assert merge_link not in rep_page  # a rep may not delete, and a merge deletes one record
    assert merge_link in admin_page and "合并…" in admin_page
    assert picker.status_code == 200
    assert '<a href="/customers/duplicates?kind=contact">' in contact_list
