"""Orders in a real browser, in Chinese: a rep imports a shop's export (one bad row reported),
opens an imported order from the list, records a partial payment and marks it fulfilled, then
types an order taken by phone for the same customer (a refused line kept and marked first)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"
EXPORT = (
    "订单号,下单时间,客户姓名,手机,商品名称,数量,单价,税率\n"
    "YZ-100,2026-03-01 10:00,陈红,13800138000,铁观音 礼盒,2,300,13\n"
    "YZ-101,2026-03-01 11:00,刘强,13900139000,大红袍,一盒,200,13\n"
)


def test_a_rep_imports_orders_and_follows_one_to_fulfilment(
    browser: Browser,
    live_server: str,
    make_person: Callable[..., object],
    tmp_path: Path,
    screenshot_dir: Path,
) -> None:
    make_person("sales_rep", name="销售 张伟", email="zhang@example.com", password=PASSWORD)
    export = tmp_path / "youzan.csv"
    export.write_bytes(EXPORT.encode("gbk"))
    context = browser.new_context(
        base_url=live_server, viewport={"width": 1280, "height": 900}, locale="zh-CN"
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto("/login")
    page.get_by_label("邮箱").fill("zhang@example.com")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page).not_to_have_url("/login")

    # the rep imports the shop's export
    page.goto("/sales/orders/import")
    page.get_by_label("店铺").fill("youzan")
    page.get_by_label("文件").set_input_files(str(export))
    page.get_by_role("button", name="导入").click()
    expect(page.locator("#orders-created")).to_have_text("1")
    expect(page.locator("#orders-rejected")).to_have_text("1")
    expect(page.get_by_role("cell", name="一盒 不是数字")).to_be_visible()

    # the imported order is in the list; its page shows the exact total
    page.goto("/sales/orders")
    page.get_by_role("link", name="SO-2026-000001").click()
    expect(page.locator("#order-total")).to_have_text("¥678.00")

    # a partial payment, then fulfilment
    page.get_by_label("金额").fill("78")
    page.get_by_label("方式").select_option("wechat_pay")
    page.get_by_role("button", name="记录收款").click()
    expect(page.get_by_text("已记录收款。")).to_be_visible()
    expect(page.locator(".facts").get_by_text("部分付款")).to_be_visible()
    page.get_by_role("button", name="标记为已履约").click()
    expect(page.locator(".facts .badge-success")).to_have_text("已履约")
    expect(page.get_by_role("button", name="取消订单")).to_have_count(0)
    page.screenshot(path=str(screenshot_dir / "sales-order-detail.png"), full_page=True)

    # the same customer orders again by phone: the rep types the order
    page.goto("/sales/orders")
    page.get_by_role("link", name="新建订单").click()
    page.get_by_label("联系人", exact=True).select_option(label="陈红")
    page.get_by_label("下单日期").fill("2026-03-02")  # the number's year is the order's
    page.get_by_role("button", name="添加一行").click()
    expect(page.locator('input[name$=".description"]')).to_have_count(4)
    page.locator('input[name="lines.0.description"]').fill("紫砂壶")
    page.locator('input[name="lines.0.unit_price"]').fill("480")
    page.locator('input[name="lines.0.tax_rate"]').fill("13")
    page.locator('input[name="lines.3.description"]').fill("茶盘")
    page.locator('input[name="lines.3.quantity"]').fill("零")
    page.locator('input[name="lines.3.unit_price"]').fill("60")
    page.get_by_role("button", name="创建订单").click()
    expect(page.locator('input[name="lines.3.quantity"]')).to_have_attribute("aria-invalid", "true")
    expect(page.locator('input[name="lines.0.description"]')).to_have_value("紫砂壶")
    page.locator('input[name="lines.3.quantity"]').fill("2")
    page.get_by_role("button", name="创建订单").click()
    expect(page.get_by_text("订单 SO-2026-000002 已创建。")).to_be_visible()
    expect(page.locator("#order-total")).to_have_text("¥662.40")  # 480 × 1.13 + 2 × 60
    context.close()
