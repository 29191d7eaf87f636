"""Driving LoopCRM in a browser test: a fresh tab and signing in through the login form (zh-CN)."""

from __future__ import annotations

from playwright.sync_api import Browser, BrowserContext, Page, expect
from tests.support.web_forms import PASSWORD


def sign_in(page: Page, email: str, password: str = PASSWORD) -> None:
    """Sign in through the login form in Chinese and wait for the home page."""
    page.goto("/login")
    page.get_by_label("邮箱").fill(email)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("欢迎使用 LoopCRM")


def new_tab(browser: Browser, live_server: str) -> tuple[BrowserContext, Page]:
    """A tab with its own cookies (another person at another computer), in a desktop window."""
    context = browser.new_context(
        base_url=live_server, viewport={"width": 1400, "height": 900}, locale="zh-CN"
    )
    context.set_default_timeout(10_000)
    return context, context.new_page()
