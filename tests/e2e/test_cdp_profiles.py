"""The 360° profile in a real browser, in Chinese: a marketer finds a profile by email from the CDP
page, sees its identities and timeline (and filters it without a reload), merges a second profile
into it by phone number, sees the merged events on the timeline, and undoes the merge."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect
from tests.conftest import Person

from loopcrm.modules.cdp import service as cdp
from loopcrm.modules.cdp.identity import service as identity
from loopcrm.modules.cdp.models import ChannelType
from loopcrm.modules.cdp.schemas import SourceCreate
from loopcrm.platform.permissions import system_actor
from loopcrm.platform.unit_of_work import UnitOfWork

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"
MESSAGES: list[dict[str, Any]] = [
    {"type": "page", "anonymousId": "anon-li", "name": "首页", "timestamp": "2026-12-01T08:00:00Z"},
    {
        "type": "identify",
        "anonymousId": "anon-li",
        "userId": "u-li",
        "traits": {"email": "li.lei@example.com", "name": "李雷"},
        "timestamp": "2026-12-01T08:01:00Z",
    },
    {
        "type": "track",
        "userId": "u-li",
        "event": "Order Completed",
        "properties": {"total": 199.5},
        "timestamp": "2026-12-01T08:02:00Z",
    },
    {
        "type": "track",
        "anonymousId": "anon-phone",
        "event": "Phone Order",
        "context": {"traits": {"phone": "139 0000 0001"}},
        "timestamp": "2026-12-02T09:00:00Z",
    },
]


def _ingest(live_server: str, uow_factory: Callable[[], UnitOfWork]) -> None:
    source = cdp.create_source(
        uow_factory(), system_actor(), SourceCreate(name="商城", channel=ChannelType.WEB)
    )
    answer = httpx.post(
        f"{live_server}/v1/batch", json={"writeKey": source.write_key, "batch": MESSAGES}, timeout=10
    )
    assert answer.status_code == 200, answer.text
    identity.resolve_pending_events(uow_factory())


def test_a_marketer_finds_a_profile_by_email_merges_another_into_it_and_undoes_the_merge(
    page: Page, live_server: str, make_person: Callable[..., Person], uow_factory: Callable[[], UnitOfWork]
) -> None:
    _ingest(live_server, uow_factory)
    make_person("marketer", name="市场 张敏", email="marketer@example.com", password=PASSWORD)
    page.goto("/login")
    page.get_by_label("邮箱").fill("marketer@example.com")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("欢迎使用 LoopCRM")

    # Given the profiles page, reached from the CDP page, and a search by email in other case
    page.goto("/cdp")
    page.get_by_role("link", name="客户档案").click()
    page.get_by_label("按任意标识查找档案").fill(" Li.Lei@Example.com ")
    page.get_by_role("button", name="查找").click()
    page.get_by_role("link", name="李雷").click()

    # Then the 360° page shows the identities and the timeline, newest first
    expect(page.get_by_role("heading", level=1)).to_have_text("李雷")
    identities = page.locator("#identities tbody tr")
    expect(identities).to_have_count(3)
    expect(identities.filter(has_text="email")).to_contain_text("li.lei@example.com")
    entries = page.locator("#timeline .timeline-title")
    expect(entries).to_have_count(3)
    expect(entries.first).to_contain_text("Order Completed")
    expect(page.locator("#timeline .timeline-summary").first).to_have_text("total: 199.5")

    # When the reader keeps only tracked events (htmx: the page stays)
    page.evaluate("window.stillTheSamePage = true")
    page.get_by_role("link", name="行为事件").click()
    expect(entries).to_have_count(1)
    assert page.evaluate("window.stillTheSamePage") is True
    page.get_by_role("link", name="全部").click()
    expect(entries).to_have_count(3)

    # When the marketer merges the phone buyer's profile into this one, naming it by its phone
    page.get_by_label("另一个档案").fill("13900000001")
    page.get_by_label("为何是同一个人").fill("电话下单的是同一位买家")
    page.get_by_role("button", name="合并到此档案").click()

    # Then the merge is listed, the phone is among the identities and the order on the timeline
    expect(page.get_by_text("档案已合并。")).to_be_visible()
    expect(page.locator("#merges tbody tr")).to_have_count(1)
    expect(page.locator("#merges")).to_contain_text("电话下单的是同一位买家")
    expect(identities).to_have_count(5)
    expect(identities.filter(has_text="+8613900000001")).to_contain_text("phone")
    expect(entries).to_have_count(4)
    expect(entries.first).to_contain_text("Phone Order")

    # When the merge is undone
    page.get_by_role("button", name="撤销合并").click()

    # Then both profiles are back as they were, and the merged one stands on its own again
    expect(page.get_by_text("合并已撤销：两个档案均已恢复原状。")).to_be_visible()
    expect(identities).to_have_count(3)
    expect(entries).to_have_count(3)
    expect(page.locator("#merges")).to_contain_text("已撤销")
    expect(page.get_by_role("button", name="撤销合并")).to_have_count(0)
    page.goto("/cdp/profiles?q=%2B86%20139%200000%200001")
    page.locator("table a").first.click()
    expect(page.locator("#merged-notice")).to_have_count(0)
    expect(page.locator("#timeline .timeline-title").first).to_contain_text("Phone Order")
