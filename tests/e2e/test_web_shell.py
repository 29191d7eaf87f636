"""The web shell in a real browser: sign in, switch language, create a user, permissions, phone width."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from tests.support.browser import sign_in

from loopcrm.platform.auth import service as auth
from loopcrm.platform.auth.schemas import ProfileUpdate, UserFilter
from loopcrm.platform.permissions import system_actor

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"


def switch_language(page: Page, name: str) -> None:
    page.locator("details.user-menu > summary").click()
    page.locator(".user-menu .language-switch").get_by_role("button", name=name).click()


def test_an_admin_signs_in_switches_language_and_back_and_creates_a_user(
    page: Page, make_person, uow_factory
):
    admin = make_person("admin", name="管理员 王芳", email="admin@example.com", password=PASSWORD)

    sign_in(page, admin.user.email)
    switch_language(page, "English")
    expect(page.get_by_role("heading", level=1)).to_have_text("Welcome to LoopCRM")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    switch_language(page, "中文")
    expect(page.get_by_role("heading", level=1)).to_have_text("欢迎使用 LoopCRM")

    page.get_by_role("navigation", name="主导航").get_by_role("link", name="用户", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("用户")
    page.get_by_role("link", name="新建用户").click()
    page.get_by_label("姓名").fill("张伟")
    page.get_by_label("邮箱").fill("zhang.wei@example.com")
    page.get_by_label("角色").select_option("sales_manager")
    page.get_by_label("时区").select_option("Asia/Shanghai")
    page.get_by_role("button", name="创建用户").click()

    expect(page.locator(".flashes")).to_contain_text("用户 张伟 已创建。")
    expect(page.get_by_role("heading", level=1)).to_have_text("张伟")
    created = auth.list_users(
        uow_factory(), system_actor(), UserFilter(q="zhang.wei"), limit=5, cursor=None
    ).items
    assert [(user.name, user.role) for user in created] == [("张伟", "sales_manager")]


def test_a_duplicate_email_is_marked_in_the_browser_and_the_input_kept(page: Page, make_person):
    admin = make_person("admin", email="admin@example.com", password=PASSWORD)
    sign_in(page, admin.user.email)

    page.goto("/admin/users/new")
    page.get_by_label("姓名").fill("重复的管理员")
    page.get_by_label("邮箱").fill("admin@example.com")
    page.get_by_role("button", name="创建用户").click()

    email = page.get_by_label("邮箱")
    expect(email).to_have_attribute("aria-invalid", "true")
    expect(email).to_be_focused()
    expect(page.locator("#f-email-error")).to_have_text("已有用户使用该邮箱")
    expect(page.get_by_label("姓名")).to_have_value("重复的管理员")


def test_a_sales_rep_cannot_open_admin_pages(page: Page, make_person):
    rep = make_person("sales_rep", email="rep@example.com", password=PASSWORD)

    sign_in(page, rep.user.email)

    expect(page.get_by_role("heading", name="系统管理")).to_have_count(0)
    for path in ("/admin/users", "/admin/roles", "/admin/audit"):
        response = page.goto(path)
        assert response is not None and response.status == 403
        expect(page.get_by_role("heading", level=1)).to_have_text("无权访问")


def test_the_navigation_is_usable_at_phone_width(phone: Page, make_person, screenshot_dir: Path):
    rep = make_person("sales_rep", email="rep@example.com", password=PASSWORD)
    sign_in(phone, rep.user.email)

    navigation = phone.get_by_role("navigation", name="主导航")
    expect(navigation).to_be_hidden()
    menu = phone.get_by_role("button", name="菜单")
    expect(menu).to_have_attribute("aria-expanded", "false")
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(navigation).to_be_visible()
    phone.screenshot(path=str(screenshot_dir / "phone-navigation-open.png"))
    navigation.get_by_role("link", name="客户服务", exact=True).click()  # a module not built yet

    expect(phone.get_by_role("heading", level=1)).to_have_text("客户服务")
    expect(phone.get_by_text("此模块暂未开放")).to_be_visible()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375  # nothing sticks out sideways
    phone.screenshot(path=str(screenshot_dir / "phone-module-page.png"), full_page=True)


def test_wide_tables_scroll_inside_their_panel_at_phone_width(phone: Page, make_person):
    admin = make_person("admin", email="admin@example.com", password=PASSWORD)
    sign_in(phone, admin.user.email)

    phone.goto("/admin/roles")

    table_wrap = phone.locator(".table-wrap").first
    assert table_wrap.evaluate("element => element.scrollWidth > element.clientWidth")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375


SCREENSHOT_PAGES = {
    "home": "/",
    "users": "/admin/users",
    "new-user": "/admin/users/new",
    "roles": "/admin/roles",
    "audit": "/admin/audit",
    "profile": "/profile",
}


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_key_pages_fit_desktop_and_phone_in_both_languages(
    browser, live_server, make_person, uow_factory, screenshot_dir: Path, locale
):
    admin = make_person("admin", name="管理员 王芳", email="admin@example.com", password=PASSWORD)
    auth.update_profile(uow_factory(), admin.actor, ProfileUpdate(locale=locale))
    people = [("李雷", "sales_rep"), ("韩梅梅", "sales_manager"), ("Lucy Wang", "marketer")]
    for number, (name, role) in enumerate(people):
        make_person(role, name=name, email=f"user{number}@example.com")
    role_id = next(
        role.id for role in auth.list_roles(uow_factory(), system_actor()) if role.key == "sales_manager"
    )
    label = "zh" if locale == "zh_CN" else "en"
    pages = {**SCREENSHOT_PAGES, "role": f"/admin/roles/{role_id}"}
    for width, height, kind in ((1280, 860, "desktop"), (375, 812, "phone")):
        context = browser.new_context(
            base_url=live_server, viewport={"width": width, "height": height}, locale="zh-CN"
        )
        tab = context.new_page()
        tab.goto("/login")
        if locale == "en":
            tab.locator(".language-switch").get_by_role("button", name="English").click()
            expect(tab.get_by_role("heading", level=1)).to_have_text("Sign in to LoopCRM")
        tab.screenshot(path=str(screenshot_dir / f"login-{label}-{kind}.png"), full_page=True)
        tab.locator("#f-email").fill(admin.user.email)
        tab.locator("#f-password").fill(PASSWORD)
        tab.locator("form[action='/login'] button[type=submit]").click()
        tab.wait_for_url(re.compile(r".*/$"))
        for name, path in pages.items():
            tab.goto(path)
            expect(tab.locator("html")).to_have_attribute("lang", "zh-CN" if locale == "zh_CN" else "en")
            assert tab.evaluate("document.documentElement.scrollWidth") <= width, (name, kind)
            tab.screenshot(path=str(screenshot_dir / f"{name}-{label}-{kind}.png"), full_page=True)
        context.close()


def test_the_user_search_filters_in_place_with_htmx_and_pages_log_no_errors(page: Page, make_person):
    admin = make_person("admin", email="admin@example.com", password=PASSWORD)
    make_person("sales_rep", name="赵敏", email="zhao.min@example.com")
    make_person("sales_rep", name="周芷若", email="zhou.zhiruo@example.com")
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    sign_in(page, admin.user.email)
    page.goto("/admin/users")
    page.evaluate("window.notReloaded = true")

    page.get_by_label("搜索", exact=True).fill("赵")

    expect(page.locator("#user-results tbody tr")).to_have_count(1)
    expect(page.locator("#user-results")).to_contain_text("赵敏")
    expect(page).to_have_url(re.compile(r"/admin/users\?q=%E8%B5%B5"))
    assert page.evaluate("window.notReloaded") is True  # swapped by htmx, not a page load
    assert problems == []  # no script errors and no Content-Security-Policy violations
