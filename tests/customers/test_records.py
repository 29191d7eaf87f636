"""Accounts and contacts through the service layer: validation, derived fields, scope, masking,
custom fields, tags, history."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError
from sqlalchemy import func, select

from loopcrm.modules.customers import service as customers
from loopcrm.modules.customers.identifiers import credit_code_check_character
from loopcrm.modules.customers.models import Account, Contact, ContactPoint
from loopcrm.modules.customers.schemas import (
    AccountCreate,
    AccountUpdate,
    BulkAction,
    ContactCreate,
    ContactUpdate,
    CustomFieldCreate,
    ListQuery,
    TagCreate,
)
from loopcrm.platform.errors import NotFound, StaleVersion, ValidationFailed
from loopcrm.platform.notifications import service as notifications

VALID_CODE = "91350100M000100Y43"


def _count(uow_factory, model) -> int:
    with uow_factory() as uow:
        return uow.session.scalar(select(func.count()).select_from(model))


def _valid_code(body: str) -> str:
    return body + credit_code_check_character(body)


def test_an_account_keeps_its_canonical_identifiers(uow_factory, make_person):
    rep = make_person("sales_rep")

    account = customers.create_account(
        uow_factory(),
        rep.actor,
        AccountCreate.model_validate(
            {
                "name": "福州晨光科技有限公司",
                "name_en": "Chenguang Tech",
                "credit_code": " 91350100-m000100y43 ",
                "website": "www.Chenguang.example.cn/about",
                "phones": [{"number": "0591 8765 4321", "label": "work"}],
                "emails": [{"address": "Sales@Chenguang.example.cn"}],
                "industry": "manufacturing",
                "annual_revenue": "1250000.50",
            }
        ),
    )

    assert account.credit_code == VALID_CODE
    assert account.website == "https://www.chenguang.example.cn/about"
    assert account.domain == "chenguang.example.cn"
    assert [phone.value for phone in account.phones] == ["+8659187654321"]
    assert [email.value for email in account.emails] == ["sales@chenguang.example.cn"]
    assert account.owner_id == rep.user.id
    assert account.annual_revenue is None  # confidential: a rep's clearance is internal
    assert account.masked_fields == ["annual_revenue"]
    assert account.version == 1


def test_a_bad_credit_code_is_refused_and_nothing_is_written(uow_factory, make_person):
    rep = make_person("sales_rep")

    with pytest.raises(ValidationError) as refused:
        AccountCreate.model_validate({"name": "坏代码公司", "credit_code": VALID_CODE[:-1] + "0"})

    assert refused.value.errors()[0]["loc"] == ("credit_code",)
    assert "check character does not match" in refused.value.errors()[0]["msg"]
    assert _count(uow_factory, Account) == 0
    del rep


def test_a_bad_phone_is_refused_with_its_position(make_person):
    with pytest.raises(ValidationError) as refused:
        ContactCreate.model_validate(
            {"family_name": "王", "given_name": "芳", "phones": [{"number": "12345"}]}
        )

    assert refused.value.errors()[0]["loc"] == ("phones", 0, "number")
    assert "not a valid phone number" in refused.value.errors()[0]["msg"]


def test_a_contact_is_found_by_hanzi_pinyin_initials_and_phone_suffix(uow_factory, make_person):
    rep = make_person("sales_rep")
    created = customers.create_contact(
        uow_factory(),
        rep.actor,
        ContactCreate.model_validate(
            {"family_name": "王", "given_name": "芳", "phones": [{"number": "138 1234 5678"}]}
        ),
    )
    customers.create_contact(
        uow_factory(), rep.actor, ContactCreate.model_validate({"family_name": "Doe", "given_name": "Jane"})
    )

    assert (created.full_name, created.name_pinyin, created.name_initials) == ("王芳", "wangfang", "wf")

    def found(q: str) -> list[str]:
        page = customers.list_contacts(uow_factory(), rep.actor, ListQuery(q=q), limit=50, cursor=None)
        return [item.full_name for item in page.items]

    assert found("王芳") == ["王芳"]
    assert found("芳") == ["王芳"]
    assert found("wf") == ["王芳"]
    assert found("wangf") == ["王芳"]
    assert found("5678") == ["王芳"]
    assert found("jane") == ["Jane Doe"]
    assert found("李") == []


def test_an_unknown_custom_field_option_is_refused_and_nothing_is_written(uow_factory, make_person):
    admin = make_person("admin")
    customers.create_custom_field(
        uow_factory(),
        admin.actor,
        CustomFieldCreate.model_validate(
            {
                "record_kind": "contact",
                "key": "level",
                "label": "客户等级",
                "label_en": "Level",
                "kind": "select",
                "options": [{"value": "gold", "label": "金牌"}, {"value": "silver", "label": "银牌"}],
            }
        ),
    )

    with pytest.raises(ValidationFailed) as refused:
        customers.create_contact(
            uow_factory(),
            admin.actor,
            ContactCreate.model_validate(
                {"family_name": "李", "custom_fields": {"level": "platinum", "nope": 1}}
            ),
        )

    assert {(error.field, error.code) for error in refused.value.errors} == {
        ("custom_fields.level", "unknown_option"),
        ("custom_fields.nope", "unknown_field"),
    }
    assert _count(uow_factory, Contact) == 0
    assert _count(uow_factory, ContactPoint) == 0


def test_custom_fields_are_typed_filterable_sortable_and_masked(uow_factory, make_person):
    admin = make_person("admin")
    rep = make_person("sales_rep")
    for key, kind, level in (("budget", "money", "public"), ("secret_note", "text", "confidential")):
        customers.create_custom_field(
            uow_factory(),
            admin.actor,
            CustomFieldCreate.model_validate(
                {"record_kind": "account", "key": key, "label": key, "kind": kind, "security_level": level}
            ),
        )
    for name, budget in (("甲公司", "300"), ("乙公司", "1,000.5"), ("丙公司", None)):
        customers.create_account(
            uow_factory(),
            rep.actor,
            AccountCreate.model_validate(
                {"name": name, "custom_fields": {"budget": budget, "secret_note": "内部"} if budget else {}}
            ),
        )

    page = customers.list_accounts(
        uow_factory(), rep.actor, ListQuery(sort="-custom_fields.budget"), limit=2, cursor=None
    )
    assert [(a.name, a.custom_fields.get("budget")) for a in page.items] == [
        ("乙公司", 1000.5),
        ("甲公司", 300),
    ]
    assert page.items[0].masked_fields == ["annual_revenue", "custom_fields.secret_note"]
    assert "secret_note" not in page.items[0].custom_fields
    rest = customers.list_accounts(
        uow_factory(), rep.actor, ListQuery(sort="-custom_fields.budget"), limit=2, cursor=page.next_cursor
    )
    assert [a.name for a in rest.items] == ["丙公司"]  # empty values sort last
    assert rest.next_cursor is None

    over_500 = customers.list_accounts(
        uow_factory(), rep.actor, ListQuery(filters=["custom_fields.budget:gt:500"]), limit=50, cursor=None
    )
    assert [a.name for a in over_500.items] == ["乙公司"]
    with pytest.raises(ValidationFailed) as refused:
        customers.list_accounts(
            uow_factory(),
            rep.actor,
            ListQuery(filters=["custom_fields.secret_note:eq:内部"]),
            limit=50,
            cursor=None,
        )
    assert refused.value.errors[0].code == "field_not_allowed"


def test_record_scope_applies_to_get_list_and_search(uow_factory, make_person):
    alice = make_person("sales_rep")
    bob = make_person("sales_rep")
    mine = customers.create_contact(
        uow_factory(), alice.actor, ContactCreate(family_name="张", given_name="三")
    )

    with pytest.raises(NotFound):
        customers.get_contact(uow_factory(), bob.actor, mine.id)
    with pytest.raises(NotFound):
        customers.update_contact(uow_factory(), bob.actor, mine.id, ContactUpdate(title="CEO"))
    page = customers.list_contacts(uow_factory(), bob.actor, ListQuery(q="zs"), limit=50, cursor=None)
    assert page.items == []
    page = customers.list_contacts(uow_factory(), alice.actor, ListQuery(q="zs"), limit=50, cursor=None)
    assert [item.id for item in page.items] == [mine.id]


def test_a_rep_cannot_give_a_record_to_someone_else(uow_factory, make_person):
    alice = make_person("sales_rep")
    bob = make_person("sales_rep")

    with pytest.raises(ValidationFailed) as refused:
        customers.create_account(
            uow_factory(), alice.actor, AccountCreate(name="某公司", owner_id=bob.user.id)
        )

    assert refused.value.errors[0].code == "owner_not_allowed"
    assert _count(uow_factory, Account) == 0


def test_an_update_with_a_stale_version_is_refused(uow_factory, make_person):
    rep = make_person("sales_rep")
    account = customers.create_account(uow_factory(), rep.actor, AccountCreate(name="旧名"))
    customers.update_account(
        uow_factory(), rep.actor, account.id, AccountUpdate(name="新名"), expected_version=1
    )

    with pytest.raises(StaleVersion):
        customers.update_account(
            uow_factory(), rep.actor, account.id, AccountUpdate(name="再改"), expected_version=1
        )

    assert customers.get_account(uow_factory(), rep.actor, account.id).name == "新名"


def test_employment_history_and_field_history(uow_factory, make_person):
    manager = make_person("sales_manager")
    old = customers.create_account(uow_factory(), manager.actor, AccountCreate(name="旧东家"))
    new = customers.create_account(uow_factory(), manager.actor, AccountCreate(name="新东家"))
    contact = customers.create_contact(
        uow_factory(),
        manager.actor,
        ContactCreate.model_validate(
            {
                "family_name": "赵",
                "given_name": "敏",
                "employments": [{"account_id": old.id, "title": "经理"}],
            }
        ),
    )

    updated = customers.update_contact(
        uow_factory(),
        manager.actor,
        contact.id,
        ContactUpdate.model_validate(
            {
                "title": "总监",
                "employments": [
                    {
                        "account_id": old.id,
                        "title": "经理",
                        "started_on": "2020-01-01",
                        "ended_on": "2025-06-30",
                    },
                    {"account_id": new.id, "title": "总监", "started_on": "2025-07-01"},
                ],
            }
        ),
    )

    assert [(job.account_name, job.is_primary) for job in updated.employments] == [
        ("新东家", True),
        ("旧东家", False),
    ]
    history = customers.field_history(uow_factory(), manager.actor, "contact", contact.id)
    assert next((change.field, change.old, change.new) for change in history if change.field == "title") == (
        "title",
        None,
        "总监",
    )
    fields = {change.field for change in history}
    assert {"family_name", "given_name", "title", "employments", "owner_id"} <= fields
    # Derived from the name (or stamps of every write): never listed as changes of their own.
    derived = {
        "full_name",
        "name_pinyin",
        "name_initials",
        "name_key",
        "search_text",
        "updated_at",
        "version",
    }
    assert fields & derived == set()


def test_field_history_names_a_user_custom_field_and_hides_a_renamed_contacts_pinyin(
    uow_factory, make_person
):
    admin = make_person("admin")
    seller = make_person("sales_rep", name="销售 韩梅梅")
    customers.create_custom_field(
        uow_factory(),
        admin.actor,
        CustomFieldCreate.model_validate(
            {"record_kind": "contact", "key": "key_account_manager", "label": "大客户经理", "kind": "user"}
        ),
    )
    contact = customers.create_contact(
        uow_factory(), admin.actor, ContactCreate.model_validate({"family_name": "赵", "given_name": "敏"})
    )
    customers.update_contact(
        uow_factory(),
        admin.actor,
        contact.id,
        ContactUpdate.model_validate(
            {"given_name": "刚", "custom_fields": {"key_account_manager": seller.user.id}}
        ),
    )

    history = customers.field_history(uow_factory(), admin.actor, "contact", contact.id)

    update = [(c.field, c.old, c.new, c.old_label, c.new_label) for c in history if c.action == "update"]
    assert update == [
        ("custom_fields.key_account_manager", None, seller.user.id, None, "销售 韩梅梅"),
        ("given_name", "敏", "刚", None, None),
    ]


def test_bulk_tagging_is_all_or_nothing(uow_factory, make_person):
    manager = make_person("sales_manager")
    alice = make_person("sales_rep")
    tag = customers.create_tag(uow_factory(), manager.actor, TagCreate(name="重点客户", colour="#FF0000"))
    mine = customers.create_account(uow_factory(), alice.actor, AccountCreate(name="甲"))
    theirs = customers.create_account(uow_factory(), manager.actor, AccountCreate(name="乙"))

    with pytest.raises(ValidationFailed) as refused:
        customers.run_bulk_action(
            uow_factory(),
            alice.actor,
            "account",
            BulkAction(record_ids=[mine.id, theirs.id], action="add_tags", tag_ids=[tag.id]),
        )
    assert refused.value.errors[0].field == "record_ids.1"
    assert customers.get_account(uow_factory(), alice.actor, mine.id).tags == []

    result = customers.run_bulk_action(
        uow_factory(),
        alice.actor,
        "account",
        BulkAction(record_ids=[mine.id], action="add_tags", tag_ids=[tag.id]),
    )
    assert result.changed == 1
    tagged = customers.list_accounts(
        uow_factory(), alice.actor, ListQuery(filters=[f"tag:eq:{tag.id}"]), limit=50, cursor=None
    )
    assert [(a.name, [t.colour for t in a.tags]) for a in tagged.items] == [("甲", ["#ff0000"])]


def test_money_is_stored_with_two_decimals(uow_factory, make_person):
    manager = make_person("sales_manager")
    account = customers.create_account(
        uow_factory(), manager.actor, AccountCreate(name="营收公司", annual_revenue=Decimal("99.5"))
    )

    assert customers.get_account(uow_factory(), manager.actor, account.id).annual_revenue == Decimal("99.50")
    assert _valid_code("91350100M000100Y4") == VALID_CODE


def test_the_new_owner_is_notified_once_when_someone_else_assigns_a_record(uow_factory, make_person):
    manager = make_person("admin", name="李经理")
    rep = make_person("sales_rep")
    account = customers.create_account(uow_factory(), manager.actor, AccountCreate(name="分配公司"))
    customers.run_bulk_action(
        uow_factory(),
        manager.actor,
        "account",
        BulkAction(record_ids=[account.id], action="assign_owner", owner_id=rep.user.id),
    )
    customers.run_bulk_action(  # already the owner: no second notice
        uow_factory(),
        manager.actor,
        "account",
        BulkAction(record_ids=[account.id], action="assign_owner", owner_id=rep.user.id),
    )

    received = notifications.list_notifications(uow_factory(), rep.actor, limit=50, cursor=None).items
    mine = notifications.list_notifications(uow_factory(), manager.actor, limit=50, cursor=None).items

    assert [(n.kind, n.params, n.path) for n in received] == [
        ("assigned_to_you", {"actor": "李经理", "name": "分配公司"}, f"/customers/accounts/{account.id}")
    ]
    assert mine == []


def test_a_job_at_an_account_deleted_since_stays_when_the_contact_is_saved(uow_factory, make_person):
    manager = make_person("sales_manager")
    gone = customers.create_account(uow_factory(), manager.actor, AccountCreate(name="已注销公司"))
    contact = customers.create_contact(
        uow_factory(),
        manager.actor,
        ContactCreate.model_validate(
            {"family_name": "赵", "employments": [{"account_id": gone.id, "started_on": "2019-03-01"}]}
        ),
    )
    customers.delete_account(uow_factory(), manager.actor, gone.id)
    jobs = [job.model_dump(exclude={"account_name"}) for job in contact.employments]

    saved = customers.update_contact(
        uow_factory(),
        manager.actor,
        contact.id,
        ContactUpdate.model_validate({"title": "顾问", "employments": jobs}),
    )
    assert [(job.account_id, str(job.started_on)) for job in saved.employments] == [(gone.id, "2019-03-01")]

    other = make_person("sales_manager")
    with pytest.raises(ValidationFailed) as refused:  # a job new to the contact needs a live account
        customers.update_contact(
            uow_factory(),
            other.actor,
            customers.create_contact(uow_factory(), other.actor, ContactCreate(family_name="钱")).id,
            ContactUpdate.model_validate({"employments": [{"account_id": gone.id}]}),
        )
    assert [error.field for error in refused.value.errors] == ["employments.0.account_id"]
