"""Event sources in a real browser, in Chinese: an admin creates a source and sees its write key
this once, a client sends a batch with the key over HTTP, and the source page's counter rises
without a reload; reloading the page shows the counter but never the key, and creates or rotates
nothing."""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx
import pytest
from playwright.sync_api import Page, expect
from tests.conftest import Person

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"
# Segment-style write keys: the lcw_ prefix, then 32 URL-safe characters (24 random bytes).
WRITE_KEY = re.compile(r"lcw_[A-Za-z0-9_-]{32}")
SOURCE_PAGE = re.compile(r"/cdp/sources/[0-9a-f-]{36}$")


def _send(live_server: str, write_key: str, count: int) -> httpx.Response:
    batch = [
        {"type": "track", "event": "Order Completed", "userId": "buyer-1", "messageId": f"order-{number}"}
        for number in range(count)
    ]
    return httpx.post(f"{live_server}/v1/batch", json={"writeKey": write_key, "batch": batch}, timeout=10)


def test_an_admin_creates_a_source_sees_its_key_once_and_watches_its_counter_rise(
    page: Page, live_server: str, make_person: Callable[..., Person]
) -> None:
    make_person("admin", name="管理员 王芳", email="admin@example.com", password=PASSWORD)
    page.goto("/login")
    page.get_by_label("邮箱").fill("admin@example.com")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("欢迎使用 LoopCRM")

    # Given the admin creates a source through the form
    page.goto("/cdp")
    page.get_by_role("link", name="新建事件源").click()
    page.get_by_label("名称").fill("线上商城")
    page.get_by_label("渠道").select_option(label="电商")
    page.get_by_role("button", name="创建事件源").click()

    # Then the answer shows the write key, and the address becomes the source's page
    expect(page.get_by_role("heading", level=1)).to_have_text("线上商城")
    expect(page.get_by_role("heading", name="线上商城 的写入密钥")).to_be_visible()
    write_key = page.locator("#write-key").inner_text()
    assert WRITE_KEY.fullmatch(write_key), write_key
    expect(page).to_have_url(SOURCE_PAGE)
    expect(page.locator('[data-counter="accepted"]')).to_have_text("0")

    # When a client sends a batch with that key while the page stays open
    page.evaluate("window.stillTheSamePage = true")
    answer = _send(live_server, write_key, 3)

    # Then the counter rises by itself (htmx polling), and the key is still there to copy
    assert (answer.status_code, answer.json()) == (200, {"success": True})
    expect(page.locator('[data-counter="accepted"]')).to_have_text("3", timeout=15_000)
    assert page.evaluate("window.stillTheSamePage") is True  # no full reload happened
    expect(page.locator("#write-key")).to_have_text(write_key)

    # And reloaded, the page shows the counter but not the key, and no second source exists
    page.reload()
    expect(page.get_by_role("heading", level=1)).to_have_text("线上商城")
    expect(page.locator('[data-counter="accepted"]')).to_have_text("3")
    expect(page.locator("#write-key")).to_have_count(0)
    assert write_key not in page.content()
    page.goto("/cdp")
    expect(page.get_by_role("link", name="线上商城")).to_have_count(1)

    # When the admin rotates the key and reloads the answer
    page.get_by_role("link", name="线上商城").click()
    page.get_by_role("button", name="轮换写入密钥").click()
    rotated_key = page.locator("#write-key").inner_text()
    expect(page).to_have_url(SOURCE_PAGE)
    page.reload()

    # Then the reload rotated nothing: the key shown works, the first one no longer does
    expect(page.locator("#write-key")).to_have_count(0)
    assert WRITE_KEY.fullmatch(rotated_key) and rotated_key != write_key
    assert _send(live_server, rotated_key, 1).status_code == 200
    assert _send(live_server, write_key, 1).status_code == 401
