"""The global search in a real browser: find a contact by pinyin initials from the top bar's box,
on a desktop and at phone width, and the results page the box falls back to; and the customers
admin and search pages at phone width."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from loopcrm.modules.customers import service as customers
from loopcrm.modules.customers.schemas import ContactCreate, CustomFieldCreate, TagCreate
from loopcrm.platform.permissions import system_actor

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"


def sign_in(page: Page, email: str) -> None:
    page.goto("/login")
    page.get_by_label("邮箱").fill(email)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("欢迎使用 LoopCRM")


@pytest.fixture
def people(make_person, uow_factory):  # type: ignore[no-untyped-def]
    """A rep with the contact 王芳, and another rep with 王峰 (also "wf") whom the first may not see."""
    rep = make_person("sales_rep", name="销售 李雷", email="rep@example.com", password=PASSWORD)
    other = make_person("sales_rep", name="销售 韩梅梅", email="other@example.com")
    wang_fang = customers.create_contact(
        uow_factory(), rep.actor, ContactCreate(family_name="王", given_name="芳", title="采购经理")
    )
    customers.create_contact(uow_factory(), other.actor, ContactCreate(family_name="王", given_name="峰"))
    return rep, wang_fang


def test_a_rep_finds_a_contact_by_pinyin_initials_in_the_top_bar_and_opens_it(
    page: Page, people, screenshot_dir: Path
):
    rep, wang_fang = people
    sign_in(page, rep.user.email)

    box = page.get_by_role("searchbox", name="搜索客户和联系人")
    box.press_sequentially("wf", delay=40)
    results = page.locator("#global-search-results")
    expect(results.get_by_role("link", name=re.compile("王芳"))).to_be_visible()
    expect(results).to_contain_text("采购经理")
    expect(results).not_to_contain_text("王峰")
    page.screenshot(path=str(screenshot_dir / "customers-search-live-zh.png"))
    results.get_by_role("link", name=re.compile("王芳")).click()

    expect(page).to_have_url(re.compile(rf"/customers/contacts/{wang_fang.id}$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("王芳")


def test_enter_in_the_box_opens_the_results_page(page: Page, people):
    rep, wang_fang = people
    sign_in(page, rep.user.email)

    box = page.get_by_role("searchbox", name="搜索客户和联系人")
    box.fill("wf")
    box.press("Enter")

    expect(page).to_have_url(re.compile(r"/customers/search\?q=wf$"))
    expect(page.locator("main").get_by_role("heading", level=2)).to_have_text("“wf”的搜索结果：1 条")
    expect(page.locator("main").get_by_role("link", name=re.compile("王芳"))).to_have_attribute(
        "href", f"/customers/contacts/{wang_fang.id}"
    )


def test_the_live_results_fit_a_phone(phone: Page, people, screenshot_dir: Path):
    rep, _ = people
    sign_in(phone, rep.user.email)

    box = phone.get_by_role("searchbox", name="搜索客户和联系人")
    expect(box).to_be_visible()
    box.press_sequentially("wf", delay=40)
    hit = phone.locator("#global-search-results").get_by_role("link", name=re.compile("王芳"))
    expect(hit).to_be_visible()

    width = phone.evaluate("document.documentElement.scrollWidth")
    panel = phone.locator("#global-search-results").bounding_box()
    phone.screenshot(path=str(screenshot_dir / "customers-search-live-phone-zh.png"))
    assert width <= 375  # nothing sticks out sideways
    assert panel is not None and panel["x"] >= 0 and panel["x"] + panel["width"] <= 375


def test_the_customers_admin_and_search_pages_fit_a_phone(phone: Page, make_person, uow_factory):
    admin = make_person("admin", email="admin@example.com", password=PASSWORD)
    field = customers.create_custom_field(
        uow_factory(),
        system_actor(),
        CustomFieldCreate.model_validate(
            {
                "record_kind": "account",
                "key": "tier",
                "label": "客户等级",
                "kind": "select",
                "options": [{"value": "a", "label": "A 级"}, {"value": "b", "label": "B 级"}],
            }
        ),
    )
    tag = customers.create_tag(uow_factory(), system_actor(), TagCreate(name="重点客户", colour="#d9480f"))
    sign_in(phone, admin.user.email)

    widths = {}
    for path in (
        "/customers/admin/custom-fields",
        "/customers/admin/custom-fields/new",
        f"/customers/admin/custom-fields/{field.id}",
        "/customers/admin/tags",
        f"/customers/admin/tags/{tag.id}",
        "/customers/search?q=wf",
    ):
        phone.goto(path)
        widths[path] = phone.evaluate("document.documentElement.scrollWidth")

    assert widths == dict.fromkeys(widths, 375)  # tables scroll inside their panel, nothing else does
