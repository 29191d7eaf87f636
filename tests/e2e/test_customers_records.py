"""Accounts and contacts in a real browser, in Chinese: create an account and a contact who works
there, find both on their pages and in the lists, and the same pages at phone width."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from tests.support.browser import sign_in

from loopcrm.modules.customers import service as customers
from loopcrm.modules.customers.schemas import ContactCreate, ListQuery
from loopcrm.platform.permissions import system_actor

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"
CREDIT_CODE = "91350100M000100Y43"


def _watch_for_errors(page: Page) -> list[str]:
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    return problems


def test_a_rep_creates_an_account_and_a_contact_in_chinese(
    page: Page, make_person, uow_factory, screenshot_dir: Path
):
    rep = make_person("sales_rep", name="李雷", email="rep@example.com", password=PASSWORD)
    problems = _watch_for_errors(page)
    sign_in(page, rep.user.email)

    # The account, from the navigation.
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="客户", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("客户")
    page.get_by_role("link", name="新建客户").click()
    page.get_by_label("客户名称").fill("福州晨光科技有限公司")
    page.get_by_label("统一社会信用代码").fill(CREDIT_CODE)
    page.get_by_label("行业").select_option(label="制造业")
    page.get_by_label("省份").fill("福建")
    page.get_by_label("城市").fill("福州")
    page.get_by_label("电话 1", exact=True).fill("0591 8765 4321")
    page.get_by_role("button", name="创建客户").click()

    expect(page.locator(".flashes")).to_contain_text("客户 福州晨光科技有限公司 已创建。")
    expect(page.get_by_role("heading", level=1)).to_have_text("福州晨光科技有限公司")
    expect(page.get_by_text(CREDIT_CODE)).to_be_visible()
    expect(page.locator(".facts")).to_contain_text(["制造业"])
    expect(page.locator("#timeline")).to_have_count(1)  # the slot the activities fill
    page.screenshot(path=str(screenshot_dir / "customers-account-detail-zh-desktop.png"), full_page=True)

    # The contact, from the contact list, working at that account.
    page.goto("/customers/accounts")
    page.get_by_role("navigation", name="客户列表").get_by_role("link", name="联系人").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("联系人")
    page.get_by_role("link", name="新建联系人").click()
    page.get_by_label("姓", exact=True).fill("王")
    page.get_by_label("名", exact=True).fill("芳")
    page.get_by_label("性别").select_option(label="女")
    page.get_by_label("电话 1", exact=True).fill("138 1234 5678")
    # The picker's search box refills the account select by pinyin initials (htmx), first match chosen.
    page.get_by_label("查找任职客户 1", exact=True).fill("fzcg")
    employer = page.get_by_label("任职客户 1", exact=True)
    expect(employer.locator("option:checked")).to_have_text("福州晨光科技有限公司 · 福州")
    page.get_by_label("在任职客户 1 的职位").fill("采购经理")
    page.get_by_role("button", name="创建联系人").click()

    expect(page.locator(".flashes")).to_contain_text("联系人 王芳 已创建。")
    expect(page.get_by_role("heading", level=1)).to_have_text("王芳")
    expect(page.locator("#employment")).to_contain_text("福州晨光科技有限公司")
    expect(page.locator("#employment")).to_contain_text("采购经理")
    expect(page.get_by_role("link", name="138 1234 5678")).to_be_visible()
    page.screenshot(path=str(screenshot_dir / "customers-contact-detail-zh-desktop.png"), full_page=True)

    # Both in their lists, and the contact on the account's page.
    page.goto("/customers/contacts")
    row = page.locator("#record-results tbody tr").filter(has_text="王芳")
    expect(row).to_contain_text("福州晨光科技有限公司")
    expect(row).to_contain_text("138 1234 5678")
    page.screenshot(path=str(screenshot_dir / "customers-contact-list-zh-desktop.png"), full_page=True)
    page.goto("/customers/accounts")
    expect(page.locator("#record-results tbody tr").filter(has_text="福州晨光科技有限公司")).to_contain_text(
        "福州"
    )
    page.get_by_role("link", name="福州晨光科技有限公司").click()
    expect(page.locator("#contacts")).to_contain_text("王芳")
    expect(page.locator("#contacts")).to_contain_text("采购经理")

    stored = customers.list_contacts(uow_factory(), system_actor(), ListQuery(q="wf"), limit=5, cursor=None)
    assert [
        (contact.full_name, [phone.value for phone in contact.phones or []]) for contact in stored.items
    ] == [("王芳", ["+8613812345678"])]
    assert [job.account_name for job in stored.items[0].employments] == ["福州晨光科技有限公司"]
    assert problems == []  # no script errors and no Content-Security-Policy violations


def test_a_bad_credit_code_is_marked_in_the_browser_and_the_input_kept(page: Page, make_person):
    rep = make_person("sales_rep", email="rep@example.com", password=PASSWORD)
    sign_in(page, rep.user.email)

    page.goto("/customers/accounts/new")
    page.get_by_label("客户名称").fill("坏代码公司")
    page.get_by_label("统一社会信用代码").fill(CREDIT_CODE[:-1] + "0")
    page.get_by_role("button", name="创建客户").click()

    code = page.get_by_label("统一社会信用代码")
    expect(code).to_have_attribute("aria-invalid", "true")
    expect(code).to_be_focused()
    expect(page.locator('[id="f-credit_code-error"]')).to_have_text("该信用代码校验不通过，请检查是否输错")
    expect(page.get_by_label("客户名称")).to_have_value("坏代码公司")


def test_the_record_pages_fit_a_phone(
    browser: Browser, live_server: str, make_person, uow_factory, screenshot_dir: Path
):
    rep = make_person("sales_rep", name="李雷", email="rep@example.com", password=PASSWORD)
    context = browser.new_context(
        base_url=live_server,
        viewport={"width": 375, "height": 812},
        is_mobile=True,
        has_touch=True,
        locale="zh-CN",
    )
    phone = context.new_page()
    sign_in(phone, rep.user.email)
    phone.goto("/customers/accounts/new")
    phone.get_by_label("客户名称").fill("厦门海鸥贸易有限公司")
    phone.get_by_label("城市").fill("厦门")
    phone.get_by_role("button", name="创建客户").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("厦门海鸥贸易有限公司")
    account_path = urlpath(phone.url)
    contact = customers.create_contact(
        uow_factory(),
        rep.actor,
        ContactCreate.model_validate(
            {
                "family_name": "陈",
                "given_name": "静",
                "phones": [{"number": "139 0000 1234"}],
                "emails": [{"address": "chen.jing@example.com"}],
                "employments": [{"account_id": account_path.rsplit("/", 1)[1], "title": "总经理"}],
            }
        ),
    )

    for name, path in (
        ("account-list", "/customers/accounts?f_field=city&f_op=eq&f_value=厦门"),
        ("account-detail", account_path),
        ("account-form", "/customers/accounts/new"),
        ("contact-form", "/customers/contacts/new"),
        ("contact-list", "/customers/contacts"),
        ("contact-detail", f"/customers/contacts/{contact.id}"),
        ("contact-history", f"/customers/contacts/{contact.id}/history"),
    ):
        phone.goto(path)
        assert phone.evaluate("document.documentElement.scrollWidth") <= 375, name
        phone.screenshot(path=str(screenshot_dir / f"customers-{name}-zh-phone.png"), full_page=True)
    context.close()


def urlpath(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)
