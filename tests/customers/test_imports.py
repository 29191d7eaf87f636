"""Imports of accounts and contacts through the service layer, run by a real job worker: bad rows
are reported and good ones land, re-running changes nothing, undo restores exactly, GBK and XLSX
files, remembered mappings, and the importer's scope."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import func, select, update

import loopcrm.modules.customers.jobs  # noqa: F401  (registers the import tasks)
from loopcrm.modules.customers import service as customers
from loopcrm.modules.customers.identifiers import credit_code_check_character
from loopcrm.modules.customers.models import Account, Contact, RecordKind
from loopcrm.modules.customers.schemas import (
    ContactCreate,
    ContactUpdate,
    CustomFieldCreate,
    ListQuery,
    TagCreate,
)
from loopcrm.modules.customers.service import imports
from loopcrm.modules.customers.service.imports import steps
from loopcrm.platform.audit.models import AuditEntry
from loopcrm.platform.errors import Conflict, NotFound, ValidationFailed
from loopcrm.platform.i18n import translator
from loopcrm.platform.jobs.models import Job

GOOD_CODE = "91350100M000100Y43"


def _code(body: str) -> str:
    return body + credit_code_check_character(body)


def csv_file(rows: list[list[str]], encoding: str = "utf-8") -> io.BytesIO:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return io.BytesIO(buffer.getvalue().encode(encoding))


def xlsx_file(rows: list[list[object]]) -> io.BytesIO:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    buffer.seek(0)
    return buffer


@pytest.fixture
def data_dir(settings) -> Path:
    return settings.data_dir


@pytest.fixture
def run_import(uow_factory, data_dir, work):
    """Upload, start and finish an import; returns the finished run."""

    def run(
        actor,
        kind: RecordKind,
        source: io.BytesIO,
        *,
        upsert_key: str = "none",
        mapping: list[str] | None = None,
        file_name: str = "customers.csv",
    ) -> imports.ImportRunOut:
        uploaded = imports.upload_import(uow_factory(), actor, data_dir, kind, file_name, source)
        start = imports.ImportStart(mapping=mapping or uploaded.mapping, upsert_key=upsert_key)
        imports.start_import(uow_factory(), actor, uploaded.id, start)
        work()
        return imports.get_import(uow_factory(), actor, uploaded.id)

    return run


def report_rows(uow_factory, actor, run_id: str, locale: str = "en") -> list[list[str]]:
    download = imports.import_report(uow_factory(), actor, run_id, translator(locale))
    content = b"".join(download.chunks)
    assert content.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM, so Excel reads the Chinese
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


def contact_names(uow_factory, actor) -> list[str]:
    page = customers.list_contacts(uow_factory(), actor, ListQuery(sort="full_name"), limit=500, cursor=None)
    return [item.full_name for item in page.items]


@pytest.fixture
def level_field(uow_factory, make_person):
    admin = make_person("admin")
    return customers.create_custom_field(
        uow_factory(),
        admin.actor,
        CustomFieldCreate.model_validate(
            {
                "record_kind": "contact",
                "key": "level",
                "label": "客户等级",
                "label_en": "Level",
                "kind": "select",
                "options": [
                    {"value": "gold", "label": "金牌", "label_en": "Gold"},
                    {"value": "silver", "label": "银牌", "label_en": "Silver"},
                ],
            }
        ),
    )


CONTACT_HEADER = ["姓名", "手机", "邮箱", "职位", "客户等级", "城市"]


def test_an_import_with_bad_rows_lands_the_good_ones_and_reports_each_bad_one(
    uow_factory, make_person, run_import, level_field
):
    rep = make_person("sales_rep")
    rows = [
        CONTACT_HEADER,
        ["王芳", "138 1234 5678", "wang.fang@example.cn", "采购经理", "金牌", "福州"],
        ["李雷", "12345", "li.lei@example.cn", "工程师", "银牌", "厦门"],
        ["韩梅梅", "139 0000 1111", "han@example.cn", "", "钻石", ""],
        ["", "137 0000 2222", "nobody@example.cn", "", "", ""],
        ["Jane Doe", "+1 650 253 0000", "JANE@example.com", "CTO", "Silver", "Shanghai"],
    ]

    run = run_import(rep.actor, RecordKind.CONTACT, csv_file(rows))

    assert (run.status, run.total_rows, run.processed_rows) == ("completed", 5, 5)
    assert (run.created_count, run.updated_count, run.unchanged_count, run.rejected_count) == (2, 0, 0, 3)
    assert contact_names(uow_factory, rep.actor) == ["Jane Doe", "王芳"]
    page = customers.list_contacts(uow_factory(), rep.actor, ListQuery(q="王芳"), limit=5, cursor=None)
    wang = page.items[0]
    assert (wang.family_name, wang.given_name, wang.title, wang.city) == ("王", "芳", "采购经理", "福州")
    assert [(phone.value, phone.label.value) for phone in wang.phones] == [("+8613812345678", "mobile")]
    assert [email.value for email in wang.emails] == ["wang.fang@example.cn"]
    assert wang.custom_fields == {"level": "gold"}
    assert wang.owner_id == rep.user.id

    report = report_rows(uow_factory, rep.actor, run.id)
    assert report == [
        ["Row", *CONTACT_HEADER, "Outcome", "Reasons", "Warnings"],
        ["3", *rows[2], "Rejected", "手机: 12345 is not a valid phone number", ""],
        ["4", *rows[3], "Rejected", "客户等级: 钻石 is not an option of this field", ""],
        ["5", *rows[4], "Rejected", "姓名: A contact needs a name", ""],
    ]


def test_the_report_speaks_the_readers_language(uow_factory, make_person, run_import, level_field):
    rep = make_person("sales_rep")
    rows = [CONTACT_HEADER, ["李雷", "12345", "", "", "", ""]]

    run = run_import(rep.actor, RecordKind.CONTACT, csv_file(rows))

    report = report_rows(uow_factory, rep.actor, run.id, locale="zh_CN")
    assert report[0] == ["行号", *CONTACT_HEADER, "结果", "原因", "警告"]
    assert report[1] == ["2", "李雷", "12345", "", "", "", "", "已拒绝", "手机: 12345 不是有效的电话号码", ""]


def test_a_bad_credit_code_is_rejected_and_the_rest_of_the_accounts_land(
    uow_factory, make_person, run_import
):
    rep = make_person("sales_rep")
    rows = [
        ["公司名称", "统一社会信用代码", "行业", "员工人数", "年营业额", "网站"],
        ["福州晨光科技有限公司", GOOD_CODE, "制造业", "1,200人", "125万", "www.chenguang.example.cn"],
        ["厦门坏代码公司", GOOD_CODE[:-1] + "0", "批发零售", "", "", ""],
        ["泉州无效行业公司", "", "宇宙探索", "", "", ""],
    ]

    run = run_import(rep.actor, RecordKind.ACCOUNT, csv_file(rows))

    assert (run.created_count, run.rejected_count) == (1, 2)
    with uow_factory() as uow:
        account = uow.session.scalars(select(Account)).one()
        assert (account.credit_code, account.industry, account.employee_count) == (
            GOOD_CODE,
            "manufacturing",
            1200,
        )
        assert (str(account.annual_revenue), account.domain) == ("1250000.00", "chenguang.example.cn")
    reasons = [row[-2] for row in report_rows(uow_factory, rep.actor, run.id)[1:]]
    assert reasons == [
        "统一社会信用代码: The credit code's check character does not match",
        "行业: 宇宙探索 is not one of the offered values",
    ]


def test_re_running_the_same_file_changes_nothing(uow_factory, make_person, run_import, level_field):
    rep = make_person("sales_rep")
    rows = [
        CONTACT_HEADER,
        ["王芳", "138 1234 5678", "wang.fang@example.cn", "采购经理", "金牌", "福州"],
        ["Jane Doe", "+1 650 253 0000", "jane@example.com", "CTO", "Silver", "Shanghai"],
        ["李雷", "12345", "li.lei@example.cn", "", "", ""],
    ]
    first = run_import(rep.actor, RecordKind.CONTACT, csv_file(rows), upsert_key="email")
    with uow_factory() as uow:
        versions = dict(uow.session.execute(select(Contact.id, Contact.version)).all())
        audit_entries = uow.session.scalar(select(func.count()).select_from(AuditEntry))

    second = run_import(rep.actor, RecordKind.CONTACT, csv_file(rows), upsert_key="email")

    assert (first.created_count, first.rejected_count) == (2, 1)
    assert (second.created_count, second.updated_count, second.unchanged_count, second.rejected_count) == (
        0,
        0,
        2,
        1,
    )
    with uow_factory() as uow:
        assert dict(uow.session.execute(select(Contact.id, Contact.version)).all()) == versions
        # the second run's own entries only: its upload and its start
        assert uow.session.scalar(select(func.count()).select_from(AuditEntry)) == audit_entries + 2


def test_a_row_without_the_upsert_key_is_rejected_so_re_runs_never_duplicate(
    uow_factory, make_person, run_import
):
    rep = make_person("sales_rep")
    rows = [["姓名", "邮箱"], ["王芳", "wang.fang@example.cn"], ["李雷", ""]]

    run = run_import(rep.actor, RecordKind.CONTACT, csv_file(rows), upsert_key="email")

    assert (run.created_count, run.rejected_count) == (1, 1)
    assert (
        report_rows(uow_factory, rep.actor, run.id)[1][-2]
        == "邮箱: The row has no Email to find its record by"
    )


def test_an_existing_record_gets_only_the_filled_in_fields_and_undo_restores_it_exactly(
    uow_factory, make_person, run_import, work
):
    rep = make_person("sales_rep")
    vip = customers.create_tag(uow_factory(), make_person("admin").actor, TagCreate(name="VIP"))
    existing = customers.create_contact(
        uow_factory(),
        rep.actor,
        ContactCreate.model_validate(
            {
                "family_name": "王",
                "given_name": "芳",
                "title": "采购",
                "department": "采购部",
                "emails": [{"address": "wang.fang@example.cn"}],
                "phones": [{"number": "138 1234 5678"}],
            }
        ),
    )
    before = customers.get_contact(uow_factory(), rep.actor, existing.id)
    rows = [
        ["邮箱", "职位", "部门", "手机", "标签", "姓名"],
        ["wang.fang@example.cn", "采购总监", "", "139 8765 4321", "VIP", ""],
        ["new.one@example.cn", "工程师", "研发部", "", "", "赵新"],
    ]

    run = run_import(rep.actor, RecordKind.CONTACT, csv_file(rows), upsert_key="email")

    assert (run.created_count, run.updated_count) == (1, 1)
    updated = customers.get_contact(uow_factory(), rep.actor, existing.id)
    assert (updated.title, updated.department, updated.full_name) == ("采购总监", "采购部", "王芳")
    assert [phone.value for phone in updated.phones] == ["+8613812345678", "+8613987654321"]
    assert [tag.name for tag in updated.tags] == ["VIP"]
    assert updated.version == before.version + 1
    assert contact_names(uow_factory, rep.actor) == ["王芳", "赵新"]

    undone = imports.undo_import(uow_factory(), rep.actor, run.id)
    assert undone.status == "undoing"
    work()

    finished = imports.get_import(uow_factory(), rep.actor, run.id)
    assert (finished.status, finished.reversed_count, finished.undo_skipped_count) == ("undone", 2, 0)
    assert contact_names(uow_factory, rep.actor) == ["王芳"]
    restored = customers.get_contact(uow_factory(), rep.actor, existing.id)
    ignored = {"version", "updated_at", "updated_by"}
    assert restored.model_dump(exclude=ignored) == before.model_dump(exclude=ignored)
    assert vip.id not in [tag.id for tag in restored.tags]
    history = customers.field_history(uow_factory(), rep.actor, "contact", existing.id)
    changes = [(change.field, change.old, change.new) for change in history]
    assert ("title", "采购总监", "采购") in changes
    assert ("tags", ["VIP"], []) in changes
    with pytest.raises(Conflict):
        imports.undo_import(uow_factory(), rep.actor, run.id)


def test_undo_skips_records_changed_since_the_import(uow_factory, make_person, run_import, work):
    rep = make_person("sales_rep")
    rows = [["姓名", "邮箱"], ["王芳", "wang.fang@example.cn"], ["李雷", "li.lei@example.cn"]]
    run = run_import(rep.actor, RecordKind.CONTACT, csv_file(rows))
    page = customers.list_contacts(uow_factory(), rep.actor, ListQuery(q="李雷"), limit=5, cursor=None)
    customers.update_contact(
        uow_factory(), rep.actor, page.items[0].id, ContactUpdate.model_validate({"title": "经理"})
    )

    imports.undo_import(uow_factory(), rep.actor, run.id)
    work()

    finished = imports.get_import(uow_factory(), rep.actor, run.id)
    assert (finished.reversed_count, finished.undo_skipped_count) == (1, 1)
    assert contact_names(uow_factory, rep.actor) == ["李雷"]


def test_an_undo_asked_for_again_after_one_gave_up_runs_to_the_end(
    engine, uow_factory, make_person, run_import, work
):
    # Given an import whose undo gave up (its step failed its last attempt),
    rep = make_person("sales_rep")
    rows = [["姓名", "邮箱"], ["王芳", "wang.fang@example.cn"], ["李雷", "li.lei@example.cn"]]
    run = run_import(rep.actor, RecordKind.CONTACT, csv_file(rows))
    imports.undo_import(uow_factory(), rep.actor, run.id)
    with engine.begin() as connection:
        [(job_id, payload)] = connection.execute(
            select(Job.id, Job.payload).where(Job.name == imports.UNDO_TASK, Job.status == "queued")
        ).all()
        connection.execute(update(Job).where(Job.id == job_id).values(status="failed"))
    with uow_factory() as uow:
        imports.give_up_undo(uow, payload)
        uow.commit()
    gave_up = imports.get_import(uow_factory(), rep.actor, run.id)

    # when the user asks for the undo again,
    imports.undo_import(uow_factory(), rep.actor, run.id)
    work()

    # then a new chain of steps runs, and the run is undone.
    finished = imports.get_import(uow_factory(), rep.actor, run.id)
    assert gave_up.status == "completed"
    assert (finished.status, finished.reversed_count) == ("undone", 2)
    assert contact_names(uow_factory, rep.actor) == []


def test_gbk_csv_utf8_bom_csv_and_xlsx_all_read_alike(uow_factory, make_person, data_dir):
    rep = make_person("sales_rep")
    rows = [["公司名称", "城市", "电话"], ["福州晨光科技有限公司", "福州", "0591 8765 4321"]]
    gbk = imports.upload_import(
        uow_factory(), rep.actor, data_dir, RecordKind.ACCOUNT, "a.csv", csv_file(rows, "gbk")
    )
    bom = imports.upload_import(
        uow_factory(), rep.actor, data_dir, RecordKind.ACCOUNT, "b.csv", csv_file(rows, "utf-8-sig")
    )
    workbook = imports.upload_import(
        uow_factory(), rep.actor, data_dir, RecordKind.ACCOUNT, "c.xlsx", xlsx_file(rows)
    )

    assert [(run.file_format, run.encoding) for run in (gbk, bom, workbook)] == [
        ("csv", "gb18030"),
        ("csv", "utf-8-sig"),
        ("xlsx", None),
    ]
    for run in (gbk, bom, workbook):
        assert run.headers == ["公司名称", "城市", "电话"]
        assert run.mapping == ["name", "city", "phone"]
        setup = imports.import_setup(uow_factory(), rep.actor, data_dir, run.id)
        assert setup.sample_rows == [["福州晨光科技有限公司", "福州", "0591 8765 4321"]]


def test_an_xlsx_file_with_numbers_and_dates_lands(uow_factory, make_person, run_import):
    from datetime import datetime

    rep = make_person("sales_rep")
    rows: list[list[object]] = [
        ["Name", "Mobile", "Birthday", "Email marketing allowed"],
        ["Jane Doe", 13812345678, datetime(1990, 5, 17), "yes"],
        ["John Roe", 13912345678, "1991/6/1", "否"],
    ]

    run = run_import(rep.actor, RecordKind.CONTACT, xlsx_file(rows), file_name="people.xlsx")

    assert (run.created_count, run.rejected_count) == (2, 0)
    jane = customers.list_contacts(uow_factory(), rep.actor, ListQuery(q="jane"), limit=5, cursor=None).items[
        0
    ]
    assert [phone.value for phone in jane.phones] == ["+8613812345678"]
    assert jane.email_opt_in is True
    assert jane.birthday is None and jane.masked_fields == ["birthday"]  # confidential for a rep
    with uow_factory() as uow:
        birthdays = dict(uow.session.execute(select(Contact.full_name, Contact.birthday)).all())
    assert {name: day.isoformat() for name, day in birthdays.items()} == {
        "Jane Doe": "1990-05-17",
        "John Roe": "1991-06-01",
    }


def test_the_mapping_is_guessed_from_chinese_and_english_headers_and_remembered(
    uow_factory, make_person, data_dir, level_field
):
    rep = make_person("sales_rep")
    header = ["Full Name", "手机号码", "E-mail", "公司", "Level", "备注(选填)", "随便什么"]
    first = imports.upload_import(
        uow_factory(), rep.actor, data_dir, RecordKind.CONTACT, "a.csv", csv_file([header, ["x"] * 7])
    )
    assert first.mapping == [
        "full_name",
        "phone",
        "email",
        "company",
        "custom_fields.level",
        "description",
        "ignore",
    ]
    chosen = ["full_name", "phone", "email", "ignore", "custom_fields.level", "title", "ignore"]
    imports.start_import(
        uow_factory(), rep.actor, first.id, imports.ImportStart(mapping=chosen, upsert_key="email")
    )

    again = imports.upload_import(
        uow_factory(),
        rep.actor,
        data_dir,
        RecordKind.CONTACT,
        "b.csv",
        csv_file([[" full name ", *header[1:]]]),
    )
    colleague = imports.upload_import(
        uow_factory(),
        make_person("sales_rep").actor,
        data_dir,
        RecordKind.CONTACT,
        "c.csv",
        csv_file([header]),
    )

    assert (again.mapping, again.upsert_key) == (chosen, "email")
    assert imports.import_setup(uow_factory(), rep.actor, data_dir, again.id).is_remembered is True
    assert colleague.mapping == first.mapping  # remembered per user


def test_a_mapping_that_does_not_fit_is_refused(uow_factory, make_person, data_dir):
    rep = make_person("sales_rep")
    run = imports.upload_import(
        uow_factory(), rep.actor, data_dir, RecordKind.CONTACT, "a.csv", csv_file([["姓名", "手机", "电话"]])
    )

    with pytest.raises(ValidationFailed) as refused:
        imports.start_import(
            uow_factory(),
            rep.actor,
            run.id,
            imports.ImportStart(mapping=["title", "nonsense", "title"], upsert_key="credit_code"),
        )

    assert {(error.field, error.code) for error in refused.value.errors} == {
        ("mapping.1", "unknown_field"),
        ("mapping.2", "duplicate"),
        ("upsert_key", "not_allowed"),
    }


def test_an_unreadable_file_is_refused_and_nothing_is_kept(uow_factory, make_person, data_dir):
    rep = make_person("sales_rep")

    with pytest.raises(ValidationFailed) as refused:
        imports.upload_import(
            uow_factory(), rep.actor, data_dir, RecordKind.CONTACT, "a.xlsx", io.BytesIO(b"PK\x03\x04broken")
        )
    with pytest.raises(ValidationFailed) as empty:
        imports.upload_import(
            uow_factory(), rep.actor, data_dir, RecordKind.CONTACT, "b.csv", io.BytesIO(b"")
        )

    assert refused.value.errors[0].code == "unreadable_file"
    assert empty.value.errors[0].code == "unreadable_file"
    assert list((data_dir / "imports").iterdir()) == []


def test_the_preview_shows_each_rows_outcome_and_writes_nothing(
    uow_factory, make_person, data_dir, level_field
):
    rep = make_person("sales_rep")
    existing = customers.create_contact(
        uow_factory(),
        rep.actor,
        ContactCreate.model_validate(
            {"family_name": "王", "given_name": "芳", "emails": [{"address": "w@x.cn"}]}
        ),
    )
    rows = [
        ["姓名", "邮箱", "客户等级"],
        ["王芳", "w@x.cn", "金牌"],
        ["李雷", "l@x.cn", "钻石"],
        ["韩梅", "h@x.cn", ""],
    ]
    run = imports.upload_import(
        uow_factory(), rep.actor, data_dir, RecordKind.CONTACT, "a.csv", csv_file(rows)
    )

    preview = imports.preview_import(
        uow_factory(),
        rep.actor,
        data_dir,
        run.id,
        imports.ImportStart(mapping=run.mapping, upsert_key="email"),
    )

    assert [(row.row_number, row.outcome.value, row.record_id) for row in preview.rows] == [
        (2, "updated", existing.id),
        (3, "rejected", None),
        (4, "created", preview.rows[2].record_id),
    ]
    assert [(m.column, m.message) for m in preview.rows[1].problems] == [
        (2, "钻石 is not an option of this field")
    ]
    assert contact_names(uow_factory, rep.actor) == ["王芳"]
    assert customers.get_contact(uow_factory(), rep.actor, existing.id).version == existing.version


def test_a_rep_cannot_update_a_colleagues_customer_nor_see_their_import(
    uow_factory, make_person, run_import, data_dir
):
    rep = make_person("sales_rep")
    colleague = make_person("sales_rep")
    theirs = customers.create_contact(
        uow_factory(),
        colleague.actor,
        ContactCreate.model_validate(
            {"family_name": "王", "given_name": "芳", "emails": [{"address": "w@x.cn"}]}
        ),
    )
    rows = [["姓名", "邮箱", "职位"], ["王芳", "w@x.cn", "老板"], ["李雷", "l@x.cn", "工程师"]]

    run = run_import(rep.actor, RecordKind.CONTACT, csv_file(rows), upsert_key="email")

    assert (run.created_count, run.updated_count, run.rejected_count) == (1, 0, 1)
    assert report_rows(uow_factory, rep.actor, run.id)[1][-2] == (
        "邮箱: A record with this Email exists, but you may not change it"
    )
    assert customers.get_contact(uow_factory(), colleague.actor, theirs.id).title is None
    with pytest.raises(NotFound):
        imports.get_import(uow_factory(), colleague.actor, run.id)
    assert imports.list_imports(uow_factory(), colleague.actor, limit=50, cursor=None).items == []
    manager_page = imports.list_imports(uow_factory(), make_person("admin").actor, limit=50, cursor=None)
    assert [item.id for item in manager_page.items] == [run.id]


def test_an_owner_outside_the_reps_reach_is_refused_per_row(uow_factory, make_person, run_import):
    rep = make_person("sales_rep", email="rep@example.com")
    make_person("sales_rep", email="other@example.com")
    rows = [
        ["姓名", "负责人"],
        ["王芳", "rep@example.com"],
        ["李雷", "other@example.com"],
        ["韩梅", "nobody@x.cn"],
    ]

    run = run_import(rep.actor, RecordKind.CONTACT, csv_file(rows))

    assert (run.created_count, run.rejected_count) == (1, 2)
    assert [row[-2] for row in report_rows(uow_factory, rep.actor, run.id)[1:]] == [
        "负责人: You may not give a record to this owner or team",
        "负责人: No active user is called nobody@x.cn",
    ]


def test_a_large_file_lands_chunk_by_chunk_and_later_rows_update_earlier_ones(
    uow_factory, make_person, run_import, monkeypatch
):
    monkeypatch.setattr(steps, "CHUNK_ROWS", 3)
    rep = make_person("sales_rep")
    rows = [["姓名", "邮箱", "职位"]] + [[f"联系人{n}", f"c{n}@example.cn", "职员"] for n in range(1, 8)]
    rows.append(["联系人1", "c1@example.cn", "主管"])  # row 9, three chunks after row 2

    run = run_import(rep.actor, RecordKind.CONTACT, csv_file(rows), upsert_key="email")

    assert (run.total_rows, run.processed_rows, run.created_count, run.updated_count) == (8, 8, 7, 1)
    first = customers.list_contacts(
        uow_factory(), rep.actor, ListQuery(q="c1@example.cn"), limit=5, cursor=None
    )
    assert [(item.full_name, item.title) for item in first.items] == [("联系人1", "主管")]


def test_tags_are_found_by_name_and_made_when_the_importer_may(uow_factory, make_person, run_import):
    manager = make_person("sales_manager")
    rep = make_person("sales_rep")
    customers.create_tag(uow_factory(), manager.actor, TagCreate(name="VIP"))
    rows = [["姓名", "标签"], ["王芳", "vip、重点客户"]]

    made = run_import(manager.actor, RecordKind.CONTACT, csv_file(rows))
    refused = run_import(rep.actor, RecordKind.CONTACT, csv_file([["姓名", "标签"], ["李雷", "新标签"]]))

    assert made.created_count == 1
    assert sorted(tag.name for tag in customers.list_tags(uow_factory(), manager.actor)) == [
        "VIP",
        "重点客户",
    ]
    assert refused.rejected_count == 1
    assert report_rows(uow_factory, rep.actor, refused.id)[1][-2] == "标签: No tag is called 新标签"


def test_a_possible_duplicate_is_a_warning_in_the_report(uow_factory, make_person, run_import):
    rep = make_person("sales_rep")
    customers.create_contact(
        uow_factory(),
        rep.actor,
        ContactCreate.model_validate(
            {"family_name": "王", "given_name": "芳", "phones": [{"number": "13812345678"}]}
        ),
    )
    rows = [["姓名", "手机"], ["王芳芳", "138 1234 5678"]]

    run = run_import(rep.actor, RecordKind.CONTACT, csv_file(rows))

    assert (run.created_count, run.warning_count) == (1, 1)
    report = report_rows(uow_factory, rep.actor, run.id)
    assert report[1][:4] == ["2", "王芳芳", "138 1234 5678", "Created"]
    assert report[1][-1] == "Possible duplicate of 王芳"


def test_an_exported_list_imports_again_without_changing_anything(
    uow_factory, make_person, run_import, level_field
):
    from loopcrm.modules.customers.service import exports

    admin = make_person("admin", name="Ann Admin")
    vip = customers.create_tag(uow_factory(), admin.actor, TagCreate(name="VIP"))
    customers.create_contact(
        uow_factory(),
        admin.actor,
        ContactCreate.model_validate(
            {
                "family_name": "王",
                "given_name": "芳",
                "gender": "female",
                "title": "采购经理",
                "emails": [{"address": "wang@x.cn"}],
                "phones": [{"number": "13812345678"}, {"number": "0591 8765 4321", "label": "work"}],
                "birthday": "1990-05-17",
                "email_opt_in": True,
                "tag_ids": [vip.id],
                "custom_fields": {"level": "gold"},
                "source": "referral",
            }
        ),
    )
    for locale in ("zh_CN", "en"):
        download = exports.export_records(
            uow_factory(),
            admin.actor,
            RecordKind.CONTACT,
            ListQuery(),
            exports.ExportFormat.CSV,
            translator(locale),
        )

        run = run_import(
            admin.actor, RecordKind.CONTACT, io.BytesIO(b"".join(download.chunks)), upsert_key="email"
        )

        assert "ignore" in run.mapping  # created and changed times are not imported
        assert (run.unchanged_count, run.created_count, run.updated_count, run.rejected_count) == (1, 0, 0, 0)


def test_a_step_that_keeps_failing_ends_the_run_failed_and_keeps_no_file(
    uow_factory, make_person, settings, data_dir
):
    from loopcrm.platform.db import utc_now
    from loopcrm.platform.jobs.registry import JobContext, registry

    rep = make_person("sales_rep")
    uploaded = imports.upload_import(
        uow_factory(), rep.actor, data_dir, RecordKind.CONTACT, "c.csv", csv_file([["姓名"], ["李雷"]])
    )
    imports.start_import(uow_factory(), rep.actor, uploaded.id, imports.ImportStart(mapping=["full_name"]))
    kept_before = [path for path in data_dir.rglob("*") if uploaded.id in str(path)]
    give_up = registry.get(imports.IMPORT_TASK).on_give_up
    assert give_up is not None
    context = JobContext(settings=settings, job_id="job-1", attempt=5, now=utc_now())

    with uow_factory() as uow:  # what the worker does after the step's last attempt failed
        give_up(uow, {"run_id": uploaded.id}, context)
        uow.commit()
    failed = imports.get_import(uow_factory(), rep.actor, uploaded.id)
    with uow_factory() as uow:  # a second give-up (a duplicate step) changes nothing
        give_up(uow, {"run_id": uploaded.id}, context)
        uow.commit()

    assert kept_before != []
    assert failed.status == "failed"
    assert (
        failed.error
        == "The import stopped after repeated errors; the rows landed before stay and can be undone"
    )
    assert [path for path in data_dir.rglob("*") if uploaded.id in str(path)] == []
    assert imports.get_import(uow_factory(), rep.actor, uploaded.id) == failed


def test_uploads_never_started_are_forgotten_after_a_week_with_their_files(
    uow_factory, make_person, data_dir
):
    from datetime import timedelta

    rep = make_person("sales_rep")

    def upload(name: str) -> str:
        source = csv_file([["姓名"], [name]])
        return imports.upload_import(
            uow_factory(), rep.actor, data_dir, RecordKind.CONTACT, "c.csv", source
        ).id

    abandoned, started = upload("李雷"), upload("韩梅梅")
    imports.start_import(uow_factory(), rep.actor, started, imports.ImportStart(mapping=["full_name"]))
    uploaded_at = imports.get_import(uow_factory(), rep.actor, abandoned).created_at

    def sweep(days: float) -> int:
        with uow_factory() as uow:
            removed = imports.remove_abandoned_uploads(uow, data_dir, uploaded_at + timedelta(days=days))
            uow.commit()
        return removed

    assert sweep(6.9) == 0
    assert sweep(7.1) == 1
    with pytest.raises(NotFound):
        imports.get_import(uow_factory(), rep.actor, abandoned)
    assert [path for path in data_dir.rglob("*") if abandoned in str(path)] == []
    assert imports.get_import(uow_factory(), rep.actor, started).status == "queued"
    assert [path for path in data_dir.rglob("*") if started in str(path)] != []


def test_a_row_updating_a_contact_created_earlier_in_its_chunk_lands_and_undo_removes_it(
    uow_factory, make_person, run_import, work
):
    rep = make_person("sales_rep")
    rows = [
        ["姓名", "邮箱", "职位", "手机"],
        ["王芳", "wang.fang@example.cn", "采购", "138 1234 5678"],
        ["", "wang.fang@example.cn", "采购总监", "139 8765 4321"],
    ]

    run = run_import(rep.actor, RecordKind.CONTACT, csv_file(rows), upsert_key="email")

    assert (run.created_count, run.updated_count, run.rejected_count) == (1, 1, 0)
    page = customers.list_contacts(uow_factory(), rep.actor, ListQuery(q="王芳"), limit=5, cursor=None)
    contact = customers.get_contact(uow_factory(), rep.actor, page.items[0].id)
    assert (contact.full_name, contact.title) == ("王芳", "采购总监")
    assert [phone.value for phone in contact.phones] == ["+8613812345678", "+8613987654321"]
    history = customers.field_history(uow_factory(), rep.actor, "contact", contact.id)
    assert ("title", "采购", "采购总监") in [(change.field, change.old, change.new) for change in history]

    imports.undo_import(uow_factory(), rep.actor, run.id)
    work()

    finished = imports.get_import(uow_factory(), rep.actor, run.id)
    assert (finished.reversed_count, finished.undo_skipped_count) == (1, 0)
    assert contact_names(uow_factory, rep.actor) == []


def test_a_possible_duplicate_created_earlier_in_the_same_chunk_is_a_warning(
    uow_factory, make_person, run_import
):
    rep = make_person("sales_rep")
    rows = [["姓名", "手机"], ["张伟", "13812345678"], ["李雷", "13900001111"], ["张伟伟", "138 1234 5678"]]

    run = run_import(rep.actor, RecordKind.CONTACT, csv_file(rows))

    assert (run.created_count, run.warning_count) == (3, 1)
    report = report_rows(uow_factory, rep.actor, run.id)
    assert [(line[0], line[-1]) for line in report[1:]] == [("4", "Possible duplicate of 张伟")]


def test_duplicate_warnings_see_what_earlier_rows_of_the_chunk_changed(uow_factory, make_person, run_import):
    rep = make_person("sales_rep")
    customers.create_contact(
        uow_factory(),
        rep.actor,
        ContactCreate.model_validate(
            {"family_name": "王", "given_name": "芳", "city": "北京", "emails": [{"address": "a@example.cn"}]}
        ),
    )
    rows = [
        ["姓名", "邮箱", "城市"],
        ["李雷", "a@example.cn", ""],  # renames 王芳 of 北京
        ["王芳", "b@example.cn", "北京"],  # nobody is called 王芳 any more
        ["李雷", "c@example.cn", "北京"],  # the renamed contact
    ]

    run = run_import(rep.actor, RecordKind.CONTACT, csv_file(rows), upsert_key="email")

    assert (run.created_count, run.updated_count, run.warning_count) == (2, 1, 1)
    report = report_rows(uow_factory, rep.actor, run.id)
    assert [(line[0], line[-1]) for line in report[1:]] == [("4", "Possible duplicate of 李雷")]
