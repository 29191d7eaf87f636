"""Importing leads: valid rows land, every rejected row is reported with its reason, and running
the same file again creates nothing."""

from __future__ import annotations

import io
from collections.abc import Callable

from openpyxl import Workbook

from loopcrm.modules.sales.leads import service as leads
from loopcrm.modules.sales.leads.schemas import LeadListQuery
from loopcrm.platform.unit_of_work import UnitOfWork

from ..conftest import Person

UowFactory = Callable[[], UnitOfWork]

CSV = (
    "family_name,given_name,email,phone,company_name,industry\n"
    "王,芳,wang.fang@example.com,138 0013 8000,晨光文具,manufacturing\n"
    "李,雷,not-an-email,,华为,information_technology\n"
    "张,伟,,13900139000,腾讯,finance\n"
).encode()


def _names(uow_factory: UowFactory, person: Person) -> list[str]:
    page = leads.list_leads(
        uow_factory(), person.actor, LeadListQuery(sort="full_name"), limit=50, cursor=None
    )
    return [lead.full_name for lead in page.items]


def test_a_bad_row_is_reported_the_good_ones_land_and_a_rerun_creates_nothing(
    uow_factory: UowFactory, admin: Person, client
) -> None:
    first = leads.import_leads(uow_factory(), admin.actor, "leads.csv", CSV)

    assert (first.total_rows, first.created_count, first.rejected_count) == (3, 2, 1)
    assert [(row.row, [error["field"] for error in row.errors]) for row in first.rejected_rows] == [
        (3, ["email"])
    ]
    assert _names(uow_factory, admin) == ["张伟", "王芳"]
    report = client.get(f"/api/v1/lead-imports/{first.id}/report", headers=admin.headers)
    assert report.status_code == 200
    lines = report.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("row,errors,")
    assert lines[1].startswith("3,email:") and "not-an-email" in lines[1]

    again = leads.import_leads(uow_factory(), admin.actor, "leads.csv", CSV)

    assert (again.created_count, again.updated_count, again.unchanged_count, again.rejected_count) == (
        0,
        0,
        2,
        1,
    )
    assert _names(uow_factory, admin) == ["张伟", "王芳"]


def test_an_xlsx_file_with_chinese_headers_updates_the_lead_with_the_same_phone(
    uow_factory: UowFactory, admin: Person, client
) -> None:
    leads.import_leads(uow_factory(), admin.actor, "leads.csv", CSV)
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["姓", "名", "电话", "城市"])
    sheet.append(["张", "伟", "+86 139 0013 9000", "深圳"])
    content = io.BytesIO()
    workbook.save(content)

    answer = client.post(
        "/api/v1/lead-imports",
        files={"file": ("leads.xlsx", content.getvalue(), "application/octet-stream")},
        headers=admin.headers,
    )

    assert answer.status_code == 201
    assert (answer.json()["created_count"], answer.json()["updated_count"]) == (0, 1)
    cities = {
        lead.full_name: lead.city
        for lead in leads.list_leads(uow_factory(), admin.actor, LeadListQuery(), limit=50, cursor=None).items
    }
    assert cities == {"张伟": "深圳", "王芳": None}


def test_the_import_page_lists_the_runs_and_links_each_report(
    uow_factory: UowFactory, admin: Person, client, sign_in
) -> None:
    run = leads.import_leads(uow_factory(), admin.actor, "展会名单.csv", CSV)
    sign_in(admin.user.email)

    page = client.get("/sales/leads/imports")  # not taken for a lead's page (/sales/leads/{id})

    assert page.status_code == 200
    assert "展会名单.csv" in page.text and f"/sales/leads/imports/{run.id}" in page.text
    detail = client.get(f"/sales/leads/imports/{run.id}")
    assert detail.status_code == 200 and "<td>3</td><td>email: " in detail.text  # the refused row
