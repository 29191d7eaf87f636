"""The customers admin pages over HTTP: custom fields (options editor, read-only key and kind,
archive) and tags (swatches, usage counts, rename, delete), and who may open them."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from loopcrm.modules.customers import service as customers
from loopcrm.modules.customers.schemas import ContactCreate, CustomFieldCreate, CustomFieldUpdate, TagCreate
from loopcrm.platform.permissions import system_actor

from ..support import web_forms
from ..support.web_forms import PASSWORD, field_block

FIELDS = "/customers/admin/custom-fields"
TAGS = "/customers/admin/tags"


@pytest.fixture
def admin(make_person):  # type: ignore[no-untyped-def]
    """Another admin's name than the shared fixture's: the English tags page is checked for Chinese
    text other than this name."""
    return make_person("admin", name="管理员 周静", email="admin@example.com", password=PASSWORD)


NEW_SELECT_FIELD = {
    "record_kind": "contact",
    "key": "buying_stage",
    "label": "采购阶段",
    "label_en": "Buying stage",
    "kind": "select",
    "security_level": "internal",
    "position": "5",
    "help_text": "客户当前所处的采购阶段",
    "options.0.value": "research",
    "options.0.label": "调研",
    "options.0.label_en": "Research",
    "options.1.value": "shortlist",
    "options.1.label": "入围",
    "options.1.label_en": "",
}


# ---------------------------------------------------------------- custom fields


def test_an_admin_creates_a_select_field_with_options_and_sees_it_in_the_list(
    client: TestClient, admin, uow_factory
):
    web_forms.sign_in(client, admin.user.email)
    # "Add another option" brings the form back with one more row and the typed values kept.
    grown = web_forms.post_form(client, f"{FIELDS}/new", FIELDS, {**NEW_SELECT_FIELD, "add_option": "1"})
    assert grown.status_code == 200
    assert 'name="options.2.value"' in grown.text
    assert 'value="shortlist"' in grown.text and 'value="采购阶段"' in grown.text

    saved = web_forms.post_form(
        client, f"{FIELDS}/new", FIELDS, {**NEW_SELECT_FIELD, "options.2.value": "", "options.2.label": ""}
    )

    assert saved.status_code == 303
    assert saved.headers["location"] == FIELDS
    listed = client.get(FIELDS).text
    assert "字段 采购阶段 已创建。" in listed
    contacts_section = listed[listed.index('id="fields-contact"') :]
    assert "<code>buying_stage</code>" in contacts_section
    assert "单选" in contacts_section and "(2 个选项)" in contacts_section
    assert "内部" in contacts_section  # the security level
    stored = customers.list_custom_fields(uow_factory(), system_actor(), "contact")
    assert [(field.key, field.kind.value, field.security_level, field.position) for field in stored] == [
        ("buying_stage", "select", "internal", 5)
    ]
    assert [option.model_dump() for option in stored[0].options] == [
        {"value": "research", "label": "调研", "label_en": "Research"},
        {"value": "shortlist", "label": "入围", "label_en": None},
    ]


def test_removing_an_option_row_keeps_the_other_rows_in_order(client: TestClient, admin):
    web_forms.sign_in(client, admin.user.email)

    answer = web_forms.post_form(client, f"{FIELDS}/new", FIELDS, {**NEW_SELECT_FIELD, "remove_option": "0"})

    assert answer.status_code == 200
    assert 'name="options.1.value"' not in answer.text
    assert 'value="shortlist"' in field_block(answer.text, "options.0.value")
    assert 'value="research"' not in answer.text


def test_a_bad_option_value_keeps_the_input_and_marks_that_option(client: TestClient, admin, uow_factory):
    web_forms.sign_in(client, admin.user.email)

    answer = web_forms.post_form(
        client, f"{FIELDS}/new", FIELDS, {**NEW_SELECT_FIELD, "options.1.value": "Short List"}
    )

    assert answer.status_code == 422
    bad = field_block(answer.text, "options.1.value")
    assert 'aria-invalid="true"' in bad and 'value="Short List"' in bad
    assert 'aria-invalid="true"' not in field_block(answer.text, "options.0.value")
    assert 'value="采购阶段"' in answer.text
    assert re.search(r'<option value="select" selected>', answer.text)
    assert customers.list_custom_fields(uow_factory(), system_actor()) == []


def test_a_select_field_without_options_is_refused_under_the_options(client: TestClient, admin, uow_factory):
    web_forms.sign_in(client, admin.user.email)
    data = {name: value for name, value in NEW_SELECT_FIELD.items() if not name.startswith("options.")}

    answer = web_forms.post_form(client, f"{FIELDS}/new", FIELDS, data)

    assert answer.status_code == 422
    assert 'id="f-options-error"' in answer.text
    assert 'name="options.0.value"' in answer.text  # an empty row to type into
    assert customers.list_custom_fields(uow_factory(), system_actor()) == []


def test_a_taken_key_is_marked_on_the_key_field(client: TestClient, admin, uow_factory):
    customers.create_custom_field(
        uow_factory(),
        system_actor(),
        CustomFieldCreate.model_validate(
            {"record_kind": "contact", "key": "buying_stage", "label": "阶段", "kind": "text"}
        ),
    )
    web_forms.sign_in(client, admin.user.email)

    answer = web_forms.post_form(client, f"{FIELDS}/new", FIELDS, NEW_SELECT_FIELD)

    assert answer.status_code == 422
    key = field_block(answer.text, "key")
    assert 'aria-invalid="true"' in key and 'value="buying_stage"' in key


def _stored_field(uow_factory, **values):  # type: ignore[no-untyped-def]
    data = {"record_kind": "account", "key": "tier", "label": "客户等级", "kind": "select"}
    data["options"] = [{"value": "a", "label": "A 级"}, {"value": "b", "label": "B 级"}]
    data.update(values)
    return customers.create_custom_field(
        uow_factory(), system_actor(), CustomFieldCreate.model_validate(data)
    )


def test_the_edit_form_keeps_key_and_kind_read_only_and_saves_labels_and_options(
    client: TestClient, admin, uow_factory
):
    field = _stored_field(uow_factory)
    web_forms.sign_in(client, admin.user.email)
    form = client.get(f"{FIELDS}/{field.id}")
    assert form.status_code == 200
    assert 'name="key"' not in form.text and 'name="kind"' not in form.text
    assert "<code>tier</code>" in form.text and "单选" in form.text
    assert 'name="options.2.value"' in form.text  # an empty row for a new option

    answer = client.post(
        f"{FIELDS}/{field.id}",
        data={
            "csrf_token": web_forms.csrf_token_of(form.text),
            "version": str(field.version),
            "label": "客户分级",
            "label_en": "Tier",
            "security_level": "public",
            "position": "2",
            "is_required": "on",
            "options.0.value": "a",
            "options.0.label": "A 级",
            "options.1.value": "c",
            "options.1.label": "C 级",
            "options.2.value": "",
        },
        follow_redirects=False,
    )

    assert answer.status_code == 303
    saved = customers.get_custom_field(uow_factory(), system_actor(), field.id)
    assert (saved.key, saved.kind.value, saved.label, saved.label_en, saved.is_required, saved.position) == (
        "tier",
        "select",
        "客户分级",
        "Tier",
        True,
        2,
    )
    assert [option.value for option in saved.options] == ["a", "c"]


def test_a_stale_edit_keeps_the_input_and_explains(client: TestClient, admin, uow_factory):
    field = _stored_field(uow_factory)
    web_forms.sign_in(client, admin.user.email)
    form = client.get(f"{FIELDS}/{field.id}")
    # Someone else saves first.
    customers.update_custom_field(
        uow_factory(), system_actor(), field.id, CustomFieldUpdate.model_validate({"label": "别人改过"})
    )

    answer = client.post(
        f"{FIELDS}/{field.id}",
        data={
            "csrf_token": web_forms.csrf_token_of(form.text),
            "version": str(field.version),
            "label": "我的名称",
            "security_level": "public",
            "position": "0",
            "options.0.value": "a",
            "options.0.label": "A 级",
        },
        follow_redirects=False,
    )

    assert answer.status_code == 409
    assert 'value="我的名称"' in answer.text
    assert "在您编辑期间，其他人修改了这条记录。" in answer.text
    assert customers.get_custom_field(uow_factory(), system_actor(), field.id).label == "别人改过"


def test_an_admin_archives_and_reactivates_a_field(client: TestClient, admin, uow_factory):
    field = _stored_field(uow_factory)
    web_forms.sign_in(client, admin.user.email)

    archived = web_forms.post_form(
        client, FIELDS, f"{FIELDS}/{field.id}/archive", {"version": str(field.version)}
    )
    listed = client.get(FIELDS).text
    is_active_after_archive = customers.get_custom_field(uow_factory(), system_actor(), field.id).is_active
    reactivated = web_forms.post_form(
        client, FIELDS, f"{FIELDS}/{field.id}/reactivate", {"version": str(field.version + 1)}
    )

    assert archived.status_code == 303 and reactivated.status_code == 303
    assert is_active_after_archive is False
    assert "字段 客户等级 已归档。" in listed and "已归档" in listed and "重新启用" in listed
    assert customers.get_custom_field(uow_factory(), system_actor(), field.id).is_active is True


# ---------------------------------------------------------------- who may open them


@pytest.mark.parametrize("path", [FIELDS, f"{FIELDS}/new", TAGS])
def test_a_sales_rep_gets_403_on_the_admin_pages(client: TestClient, rep, path):
    web_forms.sign_in(client, rep.user.email)

    answer = client.get(path)

    assert answer.status_code == 403
    assert "无权访问" in answer.text


def test_a_sales_rep_cannot_create_a_tag_by_posting(client: TestClient, rep, uow_factory):
    web_forms.sign_in(client, rep.user.email)
    home = client.get("/")

    answer = client.post(
        TAGS, data={"csrf_token": web_forms.csrf_token_of(home.text), "name": "偷偷加的", "colour": "#ff0000"}
    )

    assert answer.status_code == 403
    assert customers.list_tags(uow_factory(), system_actor()) == []


def test_the_admin_menu_shows_custom_fields_to_admins_and_tags_to_managers(
    client: TestClient, admin, rep, make_person
):
    manager = make_person("sales_manager", email="manager@example.com", password=PASSWORD)
    seen = {}
    for person in (admin, manager, rep):
        client.cookies.clear()
        web_forms.sign_in(client, person.user.email)
        html = client.get("/").text
        seen[person.user.role] = (f'href="{FIELDS}"' in html, f'href="{TAGS}"' in html)

    assert seen == {"admin": (True, True), "sales_manager": (False, True), "sales_rep": (False, False)}


# ---------------------------------------------------------------- tags


def test_an_admin_creates_renames_recolours_and_deletes_a_tag(client: TestClient, admin, uow_factory):
    web_forms.sign_in(client, admin.user.email)

    created = web_forms.post_form(
        client, TAGS, TAGS, {"name": " 重点客户 ", "colour": "#D9480F", "description": "今年必须拿下"}
    )
    listed = client.get(TAGS).text
    tag = customers.list_tags(uow_factory(), system_actor())[0]
    form = client.get(f"{TAGS}/{tag.id}")
    renamed = client.post(
        f"{TAGS}/{tag.id}",
        data={
            "csrf_token": web_forms.csrf_token_of(form.text),
            "version": str(tag.version),
            "name": "战略客户",
            "colour": "#2b8a3e",
        },
        follow_redirects=False,
    )
    after_rename = customers.list_tags(uow_factory(), system_actor())
    deleted = web_forms.post_form(client, f"{TAGS}/{tag.id}", f"{TAGS}/{tag.id}/delete", {})

    assert created.status_code == 303
    assert "标签 重点客户 已创建。" in listed
    assert '<rect width="16" height="16" rx="4" fill="#d9480f"/>' in listed
    assert 'type="color"' in form.text and 'value="#d9480f"' in form.text
    assert renamed.status_code == 303
    assert [(t.name, t.colour, t.description) for t in after_rename] == [("战略客户", "#2b8a3e", None)]
    assert deleted.status_code == 303
    assert "标签 战略客户 已删除。" in client.get(TAGS).text
    assert customers.list_tags(uow_factory(), system_actor()) == []


def test_a_duplicate_tag_name_is_marked_and_the_input_kept(client: TestClient, admin, uow_factory):
    customers.create_tag(uow_factory(), system_actor(), TagCreate(name="VIP"))
    web_forms.sign_in(client, admin.user.email)

    answer = web_forms.post_form(
        client, TAGS, TAGS, {"name": "vip", "colour": "#123456", "description": "重复"}
    )

    assert answer.status_code == 422
    name = field_block(answer.text, "name")
    assert 'aria-invalid="true"' in name and 'value="vip"' in name
    assert 'value="#123456"' in field_block(answer.text, "colour")
    assert [tag.name for tag in customers.list_tags(uow_factory(), system_actor())] == ["VIP"]


def test_the_tag_list_counts_the_accounts_and_contacts_carrying_each_tag(
    client: TestClient, admin, rep, uow_factory
):
    tag = customers.create_tag(uow_factory(), system_actor(), TagCreate(name="展会线索", colour="#1971c2"))
    for given_name in ("芳", "磊"):
        customers.create_contact(
            uow_factory(), rep.actor, ContactCreate(family_name="王", given_name=given_name, tag_ids=[tag.id])
        )
    web_forms.sign_in(client, admin.user.email)

    listed = client.get(TAGS).text
    form = client.get(f"{TAGS}/{tag.id}").text

    row = listed[listed.index("展会线索") :]
    row = row[: row.index("</tr>")]
    assert re.findall(r'<td class="numeric">([^<]*)</td>', row) == ["0", "2"]
    assert "用于 0 个客户和 2 个联系人。" in form
    assert "将从 2 条记录上移除" in form  # the delete confirmation names what it changes


def test_an_english_reader_sees_the_admin_pages_in_english(client: TestClient, admin, uow_factory):
    field = _stored_field(uow_factory, label_en="Tier")
    web_forms.sign_in(client, admin.user.email)
    web_forms.post_form(client, "/", "/language", {"locale": "en", "next": "/"})

    listed = client.get(FIELDS).text
    form = client.get(f"{FIELDS}/{field.id}").text
    tags = client.get(TAGS).text

    assert '<html lang="en">' in listed
    assert "<h1>Custom fields</h1>" in listed and "Fields of accounts" in listed
    assert "Single choice" in listed and "(2 options)" in listed
    assert "<h1>Tier</h1>" in form  # the English label for an English reader
    assert "Add another option" in form
    assert "<h1>Tags</h1>" in tags and "Create tag" in tags
    assert not re.search(r"[\u4e00-\u9fff]", tags.split("<main", 1)[1].replace("管理员 周静", ""))
