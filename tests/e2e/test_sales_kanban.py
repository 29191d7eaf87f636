"""The kanban board in a real browser, in Chinese: a rep drags a deal to another stage (the totals
follow), drags it into the lost stage and gives the reason in the dialog, and a move the rules
refuse (won from a stage where no order may be taken) snaps back with the reason shown."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from tests.support.kanban import column, drag

from loopcrm.modules.sales.opportunities import service as opportunities
from loopcrm.modules.sales.opportunities.schemas import OpportunityCreate
from loopcrm.platform.permissions import system_actor

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"


def test_a_rep_drags_deals_between_stages_and_into_lost_with_a_reason(
    page: Page, make_person: Any, uow_factory: Any, screenshot_dir: Path
) -> None:
    rep = make_person("sales_rep", name="销售 李雷", email="rep@example.com", password=PASSWORD)
    pipeline = opportunities.create_standard_pipeline(uow_factory(), system_actor(), "zh_CN")
    deal = opportunities.create_opportunity(
        uow_factory(), rep.actor, OpportunityCreate(name="智慧园区项目", amount="200000")
    )
    opportunities.create_opportunity(
        uow_factory(), rep.actor, OpportunityCreate(name="数据中台项目", amount="80000")
    )

    page.goto("/login")
    page.get_by_label("邮箱").fill(rep.user.email)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.goto(f"/sales/opportunities/kanban?pipeline={pipeline.id}")
    expect(page.get_by_role("heading", level=1)).to_have_text("商机")
    proposal = next(stage for stage in pipeline.stages if stage.name == "方案报价")
    qualification = pipeline.stages[0]
    expect(page.locator(f'[data-totals="{qualification.id}"] .kanban-count')).to_have_text("2")

    # To the proposal stage: the card moves and the totals follow.
    card = page.locator(".kanban-card", has_text="智慧园区项目")
    drag(page, card, column(page, "方案报价"))
    expect(page.locator("#kanban-status")).to_contain_text("智慧园区项目 → 方案报价")
    expect(page.locator(f'[data-totals="{proposal.id}"] .kanban-count')).to_have_text("1")
    expect(page.locator(f'[data-totals="{qualification.id}"] .kanban-count')).to_have_text("1")
    assert opportunities.get_opportunity(uow_factory(), rep.actor, deal.id).stage_name == "方案报价"

    # A refused move snaps back with the reason.
    other = page.locator(".kanban-card", has_text="数据中台项目")
    drag(page, other, column(page, "赢单"))
    expect(page.locator("#kanban-status")).to_contain_text("只有在可下单的阶段才能手动标记赢单")
    expect(column(page, "资格确认").locator(".kanban-card", has_text="数据中台项目")).to_be_visible()

    # Into the lost stage: the dialog asks why.
    drag(page, page.locator(".kanban-card", has_text="智慧园区项目"), column(page, "输单"))
    dialog = page.locator("#lost-dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_label("输单原因").select_option(label="输给竞争对手")
    dialog.locator("#lost-note").fill("客户选择了友商的方案")
    page.screenshot(path=str(screenshot_dir / "sales-kanban-lost-dialog.png"))
    dialog.get_by_role("button", name="标记为输单").click()
    expect(page.locator("#kanban-status")).to_contain_text("智慧园区项目 → 输单")
    lost = opportunities.get_opportunity(uow_factory(), rep.actor, deal.id)
    assert (lost.stage_kind.value, lost.lost_reason_name, lost.lost_note) == (
        "lost",
        "输给竞争对手",
        "客户选择了友商的方案",
    )
    page.screenshot(path=str(screenshot_dir / "sales-kanban.png"), full_page=True)
