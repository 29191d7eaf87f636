"""Leads in a real browser, in Chinese: a visitor sends the public web form, the lead appears in the
list with its score, and a rep converts it into an account, a contact and an opportunity."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from loopcrm.modules.sales.leads import service as leads
from loopcrm.modules.sales.leads.schemas import LeadFormIn, LeadListQuery, ScoringRuleIn
from loopcrm.modules.sales.opportunities import service as opportunities
from loopcrm.platform.permissions import system_actor

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"


def test_a_visitor_sends_the_web_form_and_the_rep_converts_the_lead(
    page: Page, make_person, uow_factory, screenshot_dir: Path
) -> None:
    admin = make_person("admin", name="管理员", email="admin@example.com", password=PASSWORD)
    opportunities.create_standard_pipeline(uow_factory(), system_actor(), "zh_CN")
    leads.create_rule(
        uow_factory(),
        admin.actor,
        ScoringRuleIn.model_validate({"kind": "presence", "field": "email", "points": 5}),
    )
    form = leads.create_form(
        uow_factory(),
        admin.actor,
        LeadFormIn(
            name="官网咨询",
            title="预约演示",
            fields=["family_name", "given_name", "email", "phone", "company_name"],
            required_fields=["email"],
            thank_you_message="感谢您的咨询，我们会尽快联系您。",
        ),
    )

    # The visitor: no sign-in.
    page.goto(form.public_path)
    expect(page.get_by_role("heading", level=1)).to_have_text("预约演示")
    page.locator("#f-family_name").fill("王")
    page.locator("#f-given_name").fill("芳")
    page.locator("#f-email").fill("wang.fang@chenguang.example")
    page.locator("#f-phone").fill("138 0013 8000")
    page.locator("#f-company_name").fill("上海晨光文具股份有限公司")
    page.get_by_role("button", name="提交").click()
    expect(page.locator(".thank-you")).to_have_text("感谢您的咨询，我们会尽快联系您。")

    # The admin finds the lead with its score and converts it.
    page.goto("/login")
    page.get_by_label("邮箱").fill(admin.user.email)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.goto("/sales/leads")
    expect(page.get_by_role("heading", level=1)).to_have_text("线索")
    row = page.locator("tbody tr", has_text="王芳")
    expect(row.locator(".lead-score")).to_have_text("5")
    row.get_by_role("link", name="王芳").click()
    page.get_by_role("link", name="转化").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("转化线索")
    page.get_by_label("创建商机").check()
    page.locator("#f-opportunity_name").fill("晨光 2027 文具采购")
    page.locator("#f-amount").fill("120000")
    page.screenshot(path=str(screenshot_dir / "sales-lead-convert.png"), full_page=True)
    page.get_by_role("button", name="转化").click()

    expect(page.locator(".flashes")).to_contain_text("线索已转化")
    converted = leads.list_leads(uow_factory(), admin.actor, LeadListQuery(), limit=10, cursor=None).items
    assert [(lead.status.value, lead.converted_opportunity_id is not None) for lead in converted] == [
        ("qualified", True)
    ]
