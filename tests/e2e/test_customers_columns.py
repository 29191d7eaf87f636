"""Choosing the columns of the account list in a real browser, in Chinese: untick and tick columns,
move one up, save the view, open it again from the view picker and see the same columns."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from loopcrm.modules.customers import service as customers
from loopcrm.modules.customers.schemas import AccountCreate

from .test_customers_records import PASSWORD, sign_in

pytestmark = pytest.mark.browser


def _headers(page: Page) -> list[str]:
    """The column headers of the list, as read (sort marks are hidden from readers)."""
    cells = page.locator(".record-table thead th")
    texts = [cells.nth(index).inner_text() for index in range(cells.count())]
    return [
        text.replace("↕", "").replace("▲", "").replace("▼", "").strip()
        for text in texts
        if text.strip() != "勾选"
    ]


def test_a_rep_chooses_columns_saves_the_view_and_gets_them_back(
    page: Page, make_person, uow_factory, screenshot_dir: Path
):
    rep = make_person("sales_rep", name="李雷", email="rep@example.com", password=PASSWORD)
    customers.create_account(
        uow_factory(),
        rep.actor,
        AccountCreate.model_validate(
            {"name": "福州晨光科技有限公司", "province": "福建", "city": "福州", "industry": "manufacturing"}
        ),
    )
    sign_in(page, rep.user.email)
    page.goto("/customers/accounts")
    expect(page.locator(".record-table thead")).to_contain_text("电话")

    # Choose: no phones, emails, tags or owner; add the province; then move it up above the city.
    page.get_by_text("列", exact=True).click()
    chooser = page.locator(".column-form")
    for label in ("电话", "邮箱", "标签", "负责人"):
        chooser.get_by_label(label, exact=True).uncheck()
    chooser.get_by_label("省份", exact=True).check()
    chooser.get_by_role("button", name="应用列设置").click()

    expect(page.locator(".record-table thead")).not_to_contain_text("电话")
    assert _headers(page) == ["客户名称", "城市", "行业", "最近修改", "省份"]

    page.get_by_text("列", exact=True).click()
    for _ in range(3):
        page.get_by_role("button", name="上移 省份").click()
    expect(page.locator(".column-chooser")).to_have_attribute("open", "")
    assert _headers(page) == ["客户名称", "省份", "城市", "行业", "最近修改"]
    expect(page.locator(".record-table tbody tr").first).to_contain_text("福建")
    page.screenshot(path=screenshot_dir / "customers-columns-chooser.png", full_page=True)

    # Save the view, leave it, and open it again.
    page.get_by_text("保存当前视图").click()
    page.get_by_label("视图名称").fill("按省份看")
    page.get_by_role("button", name="保存视图").click()
    expect(page.locator(".flashes")).to_contain_text("按省份看")

    page.goto("/customers/accounts")
    assert _headers(page) == ["客户名称", "城市", "行业", "负责人", "标签", "电话", "邮箱", "最近修改"]
    page.get_by_label("已保存的视图").select_option(label="按省份看")
    page.get_by_role("button", name="打开视图").click()

    assert _headers(page) == ["客户名称", "省份", "城市", "行业", "最近修改"]
    expect(page.locator(".record-table tbody tr").first).to_contain_text("福州晨光科技有限公司")
