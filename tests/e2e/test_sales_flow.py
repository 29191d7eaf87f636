"""The whole sales flow in a real browser, in Chinese (issue 4's must-show): a visitor sends the
public web form → the lead is assigned to a rep by rule → the rep converts it → drags the deal
across the kanban → writes a quote with a large discount → the team's manager approves it → the
customer accepts through the public link → the order is created → the deal shows won."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, expect
from tests.support.browser import new_tab, sign_in
from tests.support.kanban import column, drag

from loopcrm.modules.sales.assignment import service as assignment
from loopcrm.modules.sales.assignment.schemas import RuleCreate
from loopcrm.modules.sales.leads import service as leads
from loopcrm.modules.sales.leads.schemas import LeadFormIn, LeadListQuery
from loopcrm.modules.sales.opportunities import service as opportunities
from loopcrm.modules.sales.orders import service as orders
from loopcrm.modules.sales.quotes import service as quotes
from loopcrm.modules.sales.quotes.schemas import PriceEntryIn, PriceListCreate, ProductCreate
from loopcrm.platform.auth import service as auth
from loopcrm.platform.auth.schemas import TeamCreate
from loopcrm.platform.permissions import system_actor

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"


def test_from_the_web_form_to_a_won_deal(
    browser: Browser,
    live_server: str,
    make_person: Callable[..., Any],
    uow_factory: Callable[..., Any],
    screenshot_dir: Path,
) -> None:
    system = system_actor()
    pipeline = opportunities.create_standard_pipeline(uow_factory(), system, "zh_CN")
    admin = make_person("admin", name="管理员", email="admin@example.com")
    manager = make_person("sales_manager", name="韩梅梅", email="han@example.com", password=PASSWORD)
    rep = make_person("sales_rep", name="张伟", email="zhang@example.com", password=PASSWORD)
    team = auth.create_team(
        uow_factory(),
        system,
        TeamCreate(name="华东销售", manager_id=manager.user.id, member_ids=[rep.user.id]),
    )
    assignment.create_rule(
        uow_factory(),
        admin.actor,
        RuleCreate.model_validate(
            {
                "record_type": "lead",
                "name": "华东官网线索",
                "conditions": [{"field": "source", "operator": "equals", "value": "website"}],
                "method": "round_robin",
                "team_ids": [team.id],
                "off_hours": "assign",
            }
        ),
    )
    form = leads.create_form(
        uow_factory(),
        admin.actor,
        LeadFormIn(
            name="官网咨询",
            title="预约演示",
            fields=["family_name", "given_name", "email", "phone", "company_name"],
            required_fields=["email"],
            thank_you_message="感谢您的咨询。",
        ),
    )
    product = quotes.create_product(
        uow_factory(),
        system,
        ProductCreate(sku="LIC-01", name="年度订阅", unit="套", default_tax_rate=Decimal(6)),
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

    # 1. A visitor sends the public web form, signed in nowhere.
    visitor_context, visitor = new_tab(browser, live_server)
    visitor.goto(form.public_path)
    visitor.locator("#f-family_name").fill("王")
    visitor.locator("#f-given_name").fill("芳")
    visitor.locator("#f-email").fill("wang.fang@chenguang.example")
    visitor.locator("#f-phone").fill("138 0013 8000")
    visitor.locator("#f-company_name").fill("上海晨光文具股份有限公司")
    visitor.get_by_role("button", name="提交").click()
    expect(visitor.locator(".thank-you")).to_have_text("感谢您的咨询。")
    visitor_context.close()

    # 2. The lead is the rep's by the rule; the rep finds it in the list and converts it.
    rep_context, rep_page = new_tab(browser, live_server)
    sign_in(rep_page, rep.user.email)
    rep_page.goto("/sales/leads")
    row = rep_page.locator("tbody tr", has_text="王芳")
    expect(row).to_contain_text("张伟")
    row.get_by_role("link", name="王芳").click()
    rep_page.get_by_role("link", name="转化").click()
    rep_page.get_by_label("创建商机").check()
    rep_page.locator("#f-opportunity_name").fill("晨光 2027 订阅")
    rep_page.locator("#f-amount").fill("10000")
    rep_page.get_by_role("button", name="转化").click()
    expect(rep_page.locator(".flashes")).to_contain_text("线索已转化")
    [lead] = leads.list_leads(uow_factory(), rep.actor, LeadListQuery(), limit=10, cursor=None).items
    assert lead.owner_id == rep.user.id
    deal_id = lead.converted_opportunity_id
    assert deal_id is not None

    # 3. The rep drags the deal from the first stage into the proposal stage on the kanban.
    stages = {stage.name: stage for stage in pipeline.stages}
    rep_page.goto(f"/sales/opportunities/kanban?pipeline={pipeline.id}")
    card = rep_page.locator(f'.kanban-card[data-id="{deal_id}"]')
    expect(rep_page.locator(f'.kanban-cards[data-stage-id="{stages["资格确认"].id}"]')).to_contain_text(
        "晨光 2027 订阅"
    )
    proposal = column(rep_page, "方案报价")
    drag(rep_page, card, proposal)
    # The server's answer names the move and updates both columns' totals.
    expect(rep_page.locator("#kanban-status")).to_have_text("晨光 2027 订阅 → 方案报价")
    expect(rep_page.locator(f'[data-totals="{stages["方案报价"].id}"] .kanban-count')).to_have_text("1")
    expect(rep_page.locator(f'[data-totals="{stages["资格确认"].id}"] .kanban-count')).to_have_text("0")
    rep_page.screenshot(path=str(screenshot_dir / "sales-flow-kanban.png"), full_page=True)
    assert opportunities.get_opportunity(uow_factory(), rep.actor, deal_id).stage_id == stages["方案报价"].id

    # 4. The rep writes a quote with a 40 % discount and submits it for approval.
    rep_page.goto(f"/sales/quotes/new?opportunity={deal_id}")
    rep_page.locator("#f-lines\\.0\\.product_id").select_option(product.id)
    rep_page.locator("#f-lines\\.0\\.quantity").fill("5")
    rep_page.locator("#f-lines\\.0\\.discount_percent").fill("40")
    rep_page.get_by_role("button", name="保存报价单").click()
    # 5 × 2,000 = 10,000 − 40 % = 6,000 + 6 % tax = 6,360.00
    expect(rep_page.locator("[data-total=total]")).to_have_text("6,360.00")
    rep_page.get_by_role("button", name="提交").click()
    expect(rep_page.locator("h1 .badge")).to_have_text("待审批")
    rep_context.close()

    # 5. The team's manager approves it and hands out the public link.
    manager_context, manager_page = new_tab(browser, live_server)
    sign_in(manager_page, manager.user.email)
    manager_page.goto("/sales/quotes/approvals")
    manager_page.locator("tbody tr").first.get_by_role("link").click()
    manager_page.locator("#f-note").fill("战略客户，同意")
    manager_page.get_by_role("button", name="批准").click()
    expect(manager_page.locator("h1 .badge")).to_have_text("已批准")
    manager_page.get_by_role("button", name="复制公开链接").click()
    public_url = manager_page.locator("#public-link-url").input_value()
    manager_context.close()

    # 6. The customer accepts it, signed in nowhere.
    customer_context, customer_page = new_tab(browser, live_server)
    customer_page.goto(public_url)
    customer_page.get_by_role("button", name="接受报价").click()
    expect(customer_page.locator(".flashes")).to_contain_text("您已接受此报价")
    customer_context.close()

    # 7. The order exists with the quote's total, and the deal shows won.
    [order] = orders.purchase_history(uow_factory(), system, account_id=lead.converted_account_id)
    assert (order.opportunity_id, order.total) == (deal_id, Decimal("6360.00"))
    rep_context, rep_page = new_tab(browser, live_server)
    sign_in(rep_page, rep.user.email)
    rep_page.goto(f"/sales/opportunities/{deal_id}")
    expect(rep_page.locator(".stage-bar .is-current")).to_have_text("赢单")
    rep_page.screenshot(path=str(screenshot_dir / "sales-flow-won.png"), full_page=True)
    rep_context.close()
    won = opportunities.get_opportunity(uow_factory(), system, deal_id)
    assert (won.stage_kind.value, won.probability) == ("won", 100)
