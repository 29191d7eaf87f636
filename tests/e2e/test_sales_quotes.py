"""Quotes in a real browser, in Chinese: a rep writes a quote with a large discount, the team's
manager approves it from the approval queue, and the customer accepts it through the public link."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect
from tests.support.browser import new_tab, sign_in

from loopcrm.modules.customers import service as customers
from loopcrm.modules.customers.schemas import AccountCreate, ContactCreate, EmailIn
from loopcrm.modules.sales.opportunities import service as opportunities
from loopcrm.modules.sales.opportunities.schemas import OpportunityContactIn, OpportunityCreate
from loopcrm.modules.sales.quotes import service as quotes
from loopcrm.modules.sales.quotes.schemas import PriceEntryIn, PriceListCreate, ProductCreate, QuoteFilters
from loopcrm.platform.auth import service as auth
from loopcrm.platform.auth.schemas import TeamCreate
from loopcrm.platform.permissions import system_actor

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"


def test_a_large_discount_is_approved_by_the_manager_and_the_customer_accepts(
    browser: Browser,
    live_server: str,
    make_person: Callable[..., object],
    uow_factory: Callable[..., object],
    screenshot_dir: Path,
) -> None:
    system = system_actor()
    opportunities.create_standard_pipeline(uow_factory(), system, "zh_CN")
    manager = make_person("sales_manager", name="经理 韩梅梅", email="han@example.com", password=PASSWORD)
    rep = make_person("sales_rep", name="销售 张伟", email="zhang@example.com", password=PASSWORD)
    auth.create_team(
        uow_factory(),
        system,
        TeamCreate(name="华东销售", manager_id=manager.user.id, member_ids=[rep.user.id]),
    )
    rep_actor = auth.actor_for_user(uow_factory(), rep.user.id)
    account = customers.create_account(
        uow_factory(), system, AccountCreate(name="上海云杉科技有限公司", owner_id=rep.user.id)
    )
    contact = customers.create_contact(
        uow_factory(),
        system,
        ContactCreate(
            family_name="李",
            given_name="娜",
            owner_id=rep.user.id,
            emails=[EmailIn(address="li.na@example.com")],
        ),
    )
    deal = opportunities.create_opportunity(
        uow_factory(),
        rep_actor,
        OpportunityCreate(
            name="云平台采购",
            account_id=account.id,
            contacts=[
                OpportunityContactIn(contact_id=contact.id, buying_role="decision_maker", is_primary=True)
            ],
        ),
    )
    product = quotes.create_product(
        uow_factory(),
        system,
        ProductCreate(sku="SVC-01", name="实施服务", unit="人天", default_tax_rate=Decimal(6)),
    )
    quotes.create_price_list(
        uow_factory(),
        system,
        PriceListCreate(
            name="标准价",
            currency="CNY",
            is_default=True,
            entries=[PriceEntryIn(product_id=product.id, unit_price=Decimal(2000))],
        ),
    )

    # The rep writes the quote with a 40 % discount and submits it.
    rep_context, rep_page = new_tab(browser, live_server)
    sign_in(rep_page, rep.user.email)
    rep_page.goto(f"/sales/quotes/new?opportunity={deal.id}")
    expect(rep_page.get_by_role("heading", level=1)).to_have_text("新建报价单")
    rep_page.locator("#f-lines\\.0\\.product_id").select_option(product.id)
    rep_page.locator("#f-lines\\.0\\.quantity").fill("5")
    rep_page.locator("#f-lines\\.0\\.discount_percent").fill("40")
    rep_page.get_by_role("button", name="保存报价单").click()
    expect(rep_page.locator(".flashes")).to_contain_text("已创建")
    # 5 × 2000 = 10,000 − 40 % = 6,000 + 6 % = 6,360.00
    expect(rep_page.locator("[data-total=total]")).to_have_text("6,360.00")
    rep_page.get_by_role("button", name="提交").click()
    expect(rep_page.locator("h1 .badge")).to_have_text("待审批")
    rep_context.close()

    # The manager approves it from the approval queue.
    manager_context, manager_page = new_tab(browser, live_server)
    sign_in(manager_page, manager.user.email)
    manager_page.goto("/sales/quotes/approvals")
    expect(manager_page.get_by_role("heading", level=1)).to_have_text("审批队列")
    manager_page.locator("tbody tr").first.get_by_role("link").click()
    manager_page.locator("#f-note").fill("大客户，同意")
    manager_page.screenshot(path=str(screenshot_dir / "sales-quote-approval.png"), full_page=True)
    manager_page.get_by_role("button", name="批准").click()
    expect(manager_page.locator("h1 .badge")).to_have_text("已批准")
    manager_page.get_by_role("button", name="复制公开链接").click()
    public_url = manager_page.locator("#public-link-url").input_value()
    assert "/q/" in public_url
    manager_context.close()

    # The customer, not signed in, accepts it.
    customer_context, customer_page = new_tab(browser, live_server)
    customer_page.goto(public_url)
    expect(customer_page.get_by_role("heading", level=1)).to_contain_text("报价单")
    expect(customer_page.locator("[data-total=total]")).to_have_text("6,360.00")
    customer_page.get_by_role("button", name="接受报价").click()
    expect(customer_page.locator(".flashes")).to_contain_text("您已接受此报价")
    customer_page.screenshot(path=str(screenshot_dir / "sales-quote-accepted.png"), full_page=True)
    customer_context.close()

    accepted = quotes.list_quotes(uow_factory(), system, QuoteFilters(opportunity_id=deal.id)).items
    assert [(quote.status.value, quote.total) for quote in accepted] == [("accepted", Decimal("6360.00"))]
    # The orders area's acceptance listener took the order, which won the deal.
    assert opportunities.get_opportunity(uow_factory(), system, deal.id).stage_kind.value == "won"
