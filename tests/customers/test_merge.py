"""Merging duplicates and undoing merges through the service layer: what moves, exact undo,
permissions, and the refusals that keep an undo from losing later work."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import select

from loopcrm.modules.activities import service as activities
from loopcrm.modules.activities.schemas import ActivityCreate
from loopcrm.modules.customers import service as customers
from loopcrm.modules.customers.models import Account, Contact
from loopcrm.modules.customers.schemas import (
    AccountCreate,
    ContactCreate,
    ContactUpdate,
    CustomFieldCreate,
    CustomFieldUpdate,
    MergeIn,
    RelationshipIn,
    TagCreate,
)
from loopcrm.platform.audit.models import AuditEntry
from loopcrm.platform.errors import Conflict, NotFound, PermissionDenied, StaleVersion, ValidationFailed
from loopcrm.platform.permissions import Action, Actor, can_reach_record
from loopcrm.platform.unit_of_work import UnitOfWork

VALID_CODE = "91350100M000100Y43"


def _resolver(model: Any, kind: str) -> Any:
    def resolve(uow: UnitOfWork, actor: Actor, record_id: str) -> activities.SubjectRef:
        record = uow.session.get(model, record_id)
        if record is None or not can_reach_record(actor, kind, Action.READ, owner_id=record.owner_id):
            raise NotFound("Record not found")
        label = record.name if model is Account else record.full_name
        return activities.SubjectRef(kind, record.id, label, f"/customers/{kind}s/{record.id}")

    return resolve


# Until the customers module registers its records with the activities module, these tests do.
for _kind, _model in (("account", Account), ("contact", Contact)):
    if _kind not in activities.subject_types():
        activities.register_subject_type(_kind, _resolver(_model, _kind))


def _contact(uow_factory, person, **fields):
    return customers.create_contact(uow_factory(), person.actor, ContactCreate.model_validate(fields))


def _account(uow_factory, person, **fields):
    return customers.create_account(uow_factory(), person.actor, AccountCreate.model_validate(fields))


def _note(uow_factory, person, kind: str, record_id: str, subject: str) -> str:
    created = activities.log_activity(
        uow_factory(),
        person.actor,
        ActivityCreate.model_validate(
            {"kind": "note", "subject": subject, "links": [{"subject_type": kind, "subject_id": record_id}]}
        ),
    )
    return created.id


def _timeline(uow_factory, person, kind: str, record_id: str) -> list[str]:
    page = activities.timeline(uow_factory(), person.actor, [(kind, record_id)], limit=50)
    return [entry.title for entry in page.items]


def _merge(uow_factory, person, kind: str, survivor_id: str, merged_id: str, **chosen: str):
    data = MergeIn(
        survivor_id=survivor_id,
        merged_id=merged_id,
        chosen={k.replace("__", "."): v for k, v in chosen.items()},
    )
    return customers.merge_records(uow_factory(), person.actor, kind, data)


def _audit(uow_factory, object_type: str, object_id: str) -> list[tuple[str, dict[str, Any]]]:
    with uow_factory() as uow:
        entries = uow.session.scalars(
            select(AuditEntry)
            .where(
                AuditEntry.object_type == object_type,
                AuditEntry.object_id == object_id,
                AuditEntry.action != "read",  # the admin's reads of birthdays are audited too
            )
            .order_by(AuditEntry.id)
        )
        return [(entry.action, entry.changes) for entry in entries]


# Compared before the merge and after its undo: everything but the stamp of the last write. The
# undo is itself a change: ``version`` must move on (a client holding the version it read before
# the merge must get 412, not overwrite the restored record), and ``updated_at``/``updated_by``
# say when and by whom the record was last written — by the undo.
LAST_WRITE = {"version", "updated_at", "updated_by"}


def _state(record: Any) -> dict[str, Any]:
    return record.model_dump(mode="json", exclude=LAST_WRITE)


@pytest.fixture
def tags(uow_factory, make_person) -> dict[str, str]:
    admin = make_person("admin")
    return {
        name: customers.create_tag(uow_factory(), admin.actor, TagCreate(name=name)).id
        for name in ("VIP", "展会", "渠道")
    }


@pytest.fixture
def level_field(uow_factory, make_person) -> None:
    admin = make_person("admin")
    customers.create_custom_field(
        uow_factory(),
        admin.actor,
        CustomFieldCreate.model_validate(
            {
                "record_kind": "contact",
                "key": "level",
                "label": "等级",
                "kind": "select",
                "options": [{"value": "gold", "label": "金"}, {"value": "silver", "label": "银"}],
            }
        ),
    )
    customers.create_custom_field(
        uow_factory(),
        admin.actor,
        CustomFieldCreate.model_validate(
            {"record_kind": "contact", "key": "hobby", "label": "爱好", "kind": "text"}
        ),
    )


def _two_wang_fangs(uow_factory, person, tags):
    employer = _account(uow_factory, person, name="晨光文具")
    old_employer = _account(uow_factory, person, name="得力集团")
    survivor = _contact(
        uow_factory,
        person,
        family_name="王",
        given_name="芳",
        title="采购经理",
        city="上海",
        phones=[{"number": "13800000001", "is_primary": True}],
        emails=[{"address": "wang.fang@chenguang.example.cn"}],
        tag_ids=[tags["VIP"]],
        employments=[
            {"account_id": employer.id, "title": "采购经理", "started_on": "2022-03-01", "is_primary": True}
        ],
        custom_fields={"level": "gold"},
    )
    merged = _contact(
        uow_factory,
        person,
        family_name="王",
        given_name="芳",
        department="采购部",
        city="上海",
        birthday="1988-05-04",
        phones=[{"number": "13800000002", "is_primary": True}, {"number": "138 0000 0001"}],
        emails=[{"address": "wangfang@deli.example.cn"}],
        tag_ids=[tags["VIP"], tags["展会"]],
        employments=[
            {
                "account_id": old_employer.id,
                "title": "采购",
                "started_on": "2018-01-01",
                "ended_on": "2022-02-28",
            }
        ],
        custom_fields={"level": "silver", "hobby": "羽毛球"},
        email_opt_in=True,
    )
    return survivor, merged, employer, old_employer


def test_merging_two_contacts_moves_everything_to_the_survivor(uow_factory, make_person, tags, level_field):
    admin = make_person("admin")
    survivor, merged, _, _ = _two_wang_fangs(uow_factory, admin, tags)
    _note(uow_factory, admin, "contact", merged.id, "展会上认识")
    _note(uow_factory, admin, "contact", survivor.id, "第一次拜访")

    done = _merge(uow_factory, admin, "contact", survivor.id, merged.id, custom_fields__level="merged")

    kept = customers.get_contact(uow_factory(), admin.actor, survivor.id)
    assert (kept.title, kept.department, kept.birthday) == ("采购经理", "采购部", date(1988, 5, 4))
    assert kept.custom_fields == {"level": "silver", "hobby": "羽毛球"}
    assert [(p.value, p.is_primary) for p in kept.phones] == [
        ("+8613800000001", True),
        ("+8613800000002", False),
    ]
    assert [e.value for e in kept.emails] == ["wang.fang@chenguang.example.cn", "wangfang@deli.example.cn"]
    assert [t.name for t in kept.tags] == ["VIP", "展会"]
    assert [(job.account_name, job.is_primary) for job in kept.employments] == [
        ("晨光文具", True),
        ("得力集团", False),
    ]
    assert kept.email_opt_in is False  # consent is never assumed: the survivor's stays unless chosen
    assert kept.version == survivor.version + 1
    assert _timeline(uow_factory, admin, "contact", survivor.id) == ["第一次拜访", "展会上认识"]
    with pytest.raises(NotFound):
        customers.get_contact(uow_factory(), admin.actor, merged.id)

    assert done.chosen == {
        "department": "merged",
        "title": "survivor",
        "birthday": "merged",
        "email_opt_in": "survivor",
        "custom_fields.hobby": "merged",
        "custom_fields.level": "merged",
    }
    assert done.moved == {
        "phones": 1,
        "emails": 1,
        "tags": 1,
        "employments": 1,
        "relationships": 0,
        "children": 0,
        "activities": 1,
    }
    assert done.is_undoable is True
    survivor_log = _audit(uow_factory, "contact", survivor.id)[-1]
    assert survivor_log[0] == "update"
    assert survivor_log[1]["merged_from"] == [None, f"王芳 ({merged.id})"]
    assert survivor_log[1]["phones"] == [["+8613800000001"], ["+8613800000001", "+8613800000002"]]
    merged_log = _audit(uow_factory, "contact", merged.id)[-1]
    assert merged_log[0] == "delete"
    assert merged_log[1]["merged_into"] == [None, f"王芳 ({survivor.id})"]


def test_contact_merge_then_undo_restores_both_records_exactly(uow_factory, make_person, tags, level_field):
    admin = make_person("admin")
    survivor, merged, _, _ = _two_wang_fangs(uow_factory, admin, tags)
    _note(uow_factory, admin, "contact", merged.id, "展会上认识")
    _note(uow_factory, admin, "contact", survivor.id, "第一次拜访")
    before = [customers.get_contact(uow_factory(), admin.actor, record.id) for record in (survivor, merged)]

    done = _merge(
        uow_factory,
        admin,
        "contact",
        survivor.id,
        merged.id,
        given_name="merged",
        title="merged",
        email_opt_in="merged",
        custom_fields__level="merged",
    )
    undone = customers.undo_merge(uow_factory(), admin.actor, done.id)

    after = [customers.get_contact(uow_factory(), admin.actor, record.id) for record in (survivor, merged)]
    assert [_state(record) for record in after] == [_state(record) for record in before]
    assert [record.version for record in after] == [before[0].version + 2, before[1].version + 2]
    assert _timeline(uow_factory, admin, "contact", survivor.id) == ["第一次拜访"]
    assert _timeline(uow_factory, admin, "contact", merged.id) == ["展会上认识"]
    assert undone.undone_at is not None and undone.undone_by == admin.user.id
    assert undone.is_undoable is False
    assert _audit(uow_factory, "contact", merged.id)[-1] == (
        "restore",
        {
            "deleted_at": [_audit(uow_factory, "contact", merged.id)[-2][1]["deleted_at"][1], None],
            "merged_into": [f"王芳 ({survivor.id})", None],
        },
    )


def test_account_merge_then_undo_restores_both_records_exactly(uow_factory, make_person):
    admin = make_person("admin")
    group = _account(uow_factory, admin, name="晨光集团")
    survivor = _account(uow_factory, admin, name="上海晨光文具有限公司", city="上海", parent_id=group.id)
    merged = _account(
        uow_factory,
        admin,
        name="上海晨光文具股份有限公司",
        city="上海",
        credit_code=VALID_CODE,
        annual_revenue="1250000.50",
        phones=[{"number": "021 6123 4567"}],
    )
    subsidiary = _account(uow_factory, admin, name="晨光文具（福州）", parent_id=merged.id)
    supplier = _account(uow_factory, admin, name="纸业供应商")
    customers.add_relationship(
        uow_factory(), admin.actor, supplier.id, RelationshipIn(to_account_id=merged.id, kind="supplier_of")
    )
    customers.add_relationship(
        uow_factory(), admin.actor, merged.id, RelationshipIn(to_account_id=survivor.id, kind="partner_of")
    )
    buyer = _contact(
        uow_factory,
        admin,
        family_name="李",
        given_name="雷",
        employments=[{"account_id": merged.id, "title": "采购", "started_on": "2020-01-01"}],
    )
    _note(uow_factory, admin, "account", merged.id, "年度合同")
    records = (survivor, merged, subsidiary, supplier)
    before = [customers.get_account(uow_factory(), admin.actor, r.id) for r in records]
    before_buyer = customers.get_contact(uow_factory(), admin.actor, buyer.id)
    before_relationships = {
        r.id: customers.list_relationships(uow_factory(), admin.actor, r.id) for r in records
    }

    done = _merge(uow_factory, admin, "account", survivor.id, merged.id, credit_code="merged", name="merged")

    kept = customers.get_account(uow_factory(), admin.actor, survivor.id)
    assert (kept.name, kept.credit_code, kept.parent_id) == ("上海晨光文具股份有限公司", VALID_CODE, group.id)
    assert kept.annual_revenue is not None and str(kept.annual_revenue) == "1250000.50"
    assert customers.get_account(uow_factory(), admin.actor, subsidiary.id).parent_id == survivor.id
    assert [
        (r.from_account_name, r.kind.value)
        for r in customers.list_relationships(uow_factory(), admin.actor, survivor.id)
    ] == [("纸业供应商", "supplier_of")]
    assert [
        job.account_id for job in customers.get_contact(uow_factory(), admin.actor, buyer.id).employments
    ] == [survivor.id]
    assert _timeline(uow_factory, admin, "account", survivor.id) == ["年度合同"]
    assert done.moved == {
        "phones": 1,
        "emails": 0,
        "tags": 0,
        "employments": 1,
        "relationships": 1,
        "children": 1,
        "activities": 1,
    }

    customers.undo_merge(uow_factory(), admin.actor, done.id)

    after = [customers.get_account(uow_factory(), admin.actor, r.id) for r in records]
    assert [_state(r) for r in after] == [_state(r) for r in before]
    assert _state(customers.get_contact(uow_factory(), admin.actor, buyer.id)) == _state(before_buyer)
    assert {
        r.id: customers.list_relationships(uow_factory(), admin.actor, r.id) for r in records
    } == before_relationships
    assert _timeline(uow_factory, admin, "account", merged.id) == ["年度合同"]
    assert _timeline(uow_factory, admin, "account", survivor.id) == []


def test_a_subsidiary_merged_into_its_parent_leaves_no_loop(uow_factory, make_person):
    admin = make_person("admin")
    holding = _account(uow_factory, admin, name="控股公司")
    parent = _account(uow_factory, admin, name="晨光", parent_id=holding.id)
    child = _account(uow_factory, admin, name="晨光文具", parent_id=parent.id)

    _merge(uow_factory, admin, "account", child.id, parent.id)

    assert customers.get_account(uow_factory(), admin.actor, child.id).parent_id == holding.id


def test_a_rep_may_not_merge_and_a_manager_only_within_reach(uow_factory, make_person):
    rep = make_person("sales_rep")
    manager = make_person("sales_manager")
    other_manager = make_person("sales_manager")
    mine = _contact(uow_factory, rep, given_name="Jane", emails=[{"address": "jane@example.com"}])
    also_mine = _contact(uow_factory, rep, given_name="Jane", emails=[{"address": "jane@example.com"}])
    managed = _contact(uow_factory, manager, given_name="Jane")
    elsewhere = _contact(uow_factory, other_manager, given_name="Jane")

    with pytest.raises(PermissionDenied):  # reps may not delete, and a merge deletes a record
        _merge(uow_factory, rep, "contact", mine.id, also_mine.id)
    with pytest.raises(NotFound):  # another manager's record is not even visible
        _merge(uow_factory, manager, "contact", managed.id, elsewhere.id)
    with pytest.raises(NotFound):
        _merge(uow_factory, manager, "contact", elsewhere.id, managed.id)

    assert customers.get_contact(uow_factory(), other_manager.actor, elsewhere.id).deleted_at is None
    assert customers.get_contact(uow_factory(), manager.actor, managed.id).version == 1


def test_a_rep_cannot_undo_someone_elses_merge(uow_factory, make_person):
    admin = make_person("admin")
    rep = make_person("sales_rep")
    first = _contact(uow_factory, admin, given_name="Jane", owner_id=rep.user.id)
    second = _contact(uow_factory, admin, given_name="Jane", owner_id=rep.user.id)
    done = _merge(uow_factory, admin, "contact", first.id, second.id)

    assert customers.get_merge(uow_factory(), rep.actor, done.id).survivor_id == first.id
    with pytest.raises(PermissionDenied):
        customers.undo_merge(uow_factory(), rep.actor, done.id)


def test_undo_is_refused_once_the_survivor_changed(uow_factory, make_person):
    admin = make_person("admin")
    first = _contact(uow_factory, admin, given_name="Jane", title="CEO")
    second = _contact(uow_factory, admin, given_name="Jane", department="Sales")
    done = _merge(uow_factory, admin, "contact", first.id, second.id)
    customers.update_contact(uow_factory(), admin.actor, first.id, ContactUpdate(title="CFO"))

    with pytest.raises(Conflict) as refused:
        customers.undo_merge(uow_factory(), admin.actor, done.id)

    assert "was changed after the merge" in str(refused.value)
    kept = customers.get_contact(uow_factory(), admin.actor, first.id)
    assert (kept.title, kept.department) == ("CFO", "Sales")
    with pytest.raises(NotFound):
        customers.get_contact(uow_factory(), admin.actor, second.id)
    assert customers.get_merge(uow_factory(), admin.actor, done.id).is_undoable is False


def test_undo_is_refused_twice_and_after_the_merged_record_was_restored(uow_factory, make_person):
    admin = make_person("admin")
    first = _account(uow_factory, admin, name="甲公司")
    second = _account(uow_factory, admin, name="甲公司")
    third = _account(uow_factory, admin, name="甲公司")
    once = _merge(uow_factory, admin, "account", first.id, second.id)
    customers.undo_merge(uow_factory(), admin.actor, once.id)
    with pytest.raises(Conflict):
        customers.undo_merge(uow_factory(), admin.actor, once.id)

    again = _merge(uow_factory, admin, "account", first.id, third.id)
    customers.restore_account(uow_factory(), admin.actor, third.id)
    with pytest.raises(Conflict) as refused:
        customers.undo_merge(uow_factory(), admin.actor, again.id)
    assert "restored or changed after the merge" in str(refused.value)


def test_later_merges_are_undone_first(uow_factory, make_person):
    admin = make_person("admin")
    first, second, third = (_contact(uow_factory, admin, given_name=f"Jane {n}") for n in "ABC")
    earlier = _merge(uow_factory, admin, "contact", first.id, second.id)
    later = _merge(uow_factory, admin, "contact", first.id, third.id)

    with pytest.raises(Conflict):
        customers.undo_merge(uow_factory(), admin.actor, earlier.id)
    customers.undo_merge(uow_factory(), admin.actor, later.id)
    customers.undo_merge(uow_factory(), admin.actor, earlier.id)

    assert [
        customers.get_contact(uow_factory(), admin.actor, r.id).given_name for r in (first, second, third)
    ] == ["Jane A", "Jane B", "Jane C"]


def test_a_merge_refuses_what_a_manual_edit_would(uow_factory, make_person, level_field):
    admin = make_person("admin")
    manager = make_person("sales_manager")
    first = _contact(uow_factory, manager, given_name="Jane")
    second = _contact(uow_factory, manager, given_name="Jane", custom_fields={"hobby": "chess"})
    hobby = next(
        f for f in customers.list_custom_fields(uow_factory(), admin.actor, "contact") if f.key == "hobby"
    )
    customers.update_custom_field(
        uow_factory(), admin.actor, hobby.id, CustomFieldUpdate(security_level="secret")
    )

    with pytest.raises(ValidationFailed) as refused:
        _merge(uow_factory, manager, "contact", first.id, second.id, custom_fields__hobby="merged")
    assert [(e.field, e.code) for e in refused.value.errors] == [
        ("chosen.custom_fields.hobby", "field_not_allowed")
    ]
    with pytest.raises(ValidationFailed) as refused:
        _merge(uow_factory, manager, "contact", first.id, second.id, colour="merged")
    assert [(e.field, e.code) for e in refused.value.errors] == [("chosen.colour", "unknown_field")]
    with pytest.raises(ValidationFailed):
        _merge(uow_factory, manager, "contact", first.id, first.id)
    with pytest.raises(StaleVersion):
        customers.merge_records(
            uow_factory(),
            manager.actor,
            "contact",
            MergeIn(survivor_id=first.id, merged_id=second.id, survivor_version=7),
        )
    assert customers.list_merges(uow_factory(), admin.actor, "contact", limit=10, cursor=None).items == []


def test_the_preview_shows_differing_fields_and_what_moves(uow_factory, make_person, tags, level_field):
    admin = make_person("admin")
    survivor, merged, _, _ = _two_wang_fangs(uow_factory, admin, tags)
    _note(uow_factory, admin, "contact", merged.id, "展会上认识")
    _note(uow_factory, admin, "contact", merged.id, "寄样品")
    _note(uow_factory, admin, "contact", survivor.id, "第一次拜访")  # already the survivor's: stays put

    preview = customers.merge_preview(uow_factory(), admin.actor, "contact", survivor.id, merged.id)

    assert [(f.field, f.survivor_value, f.merged_value, f.default) for f in preview.fields] == [
        ("title", "采购经理", None, "survivor"),
        ("department", None, "采购部", "merged"),
        ("birthday", None, date(1988, 5, 4), "merged"),
        ("email_opt_in", False, True, "survivor"),
        ("custom_fields.hobby", None, "羽毛球", "merged"),
        ("custom_fields.level", "gold", "silver", "survivor"),
    ]
    assert preview.moves == {
        "phones": 1,
        "emails": 1,
        "tags": 1,
        "employments": 1,
        "relationships": 0,
        "children": 0,
        "activities": 2,
    }
    # What the screen announced is what the merge does.
    assert _merge(uow_factory, admin, "contact", survivor.id, merged.id).moved == preview.moves


def test_merges_are_listed_newest_first_within_scope(uow_factory, make_person):
    admin = make_person("admin")
    manager = make_person("sales_manager")
    a, b, c, d = (
        _account(uow_factory, admin, name=f"公司{n}", owner_id=owner)
        for n, owner in (
            ("A", manager.user.id),
            ("B", manager.user.id),
            ("C", admin.user.id),
            ("D", admin.user.id),
        )
    )
    first = _merge(uow_factory, admin, "account", a.id, b.id)
    second = _merge(uow_factory, admin, "account", c.id, d.id)

    assert [
        m.id
        for m in customers.list_merges(uow_factory(), admin.actor, "account", limit=10, cursor=None).items
    ] == [second.id, first.id]
    mine = customers.list_merges(uow_factory(), manager.actor, "account", limit=10, cursor=None).items
    assert [(m.survivor_label, m.merged_label) for m in mine] == [("公司A", "公司B")]
    with pytest.raises(NotFound):
        customers.get_merge(uow_factory(), manager.actor, second.id)
    assert customers.get_merge(uow_factory(), admin.actor, first.id).chosen == {"name": "survivor"}
