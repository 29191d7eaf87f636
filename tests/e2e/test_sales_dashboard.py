"""The sales dashboard in a real browser, in Chinese: an admin opens /sales/dashboard and every
chart is drawn by ECharts (served from static/vendor, no CDN) next to its table; a rep sees only
their own deals in the leaderboard."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect
from tests.conftest import Person
from tests.support.browser import sign_in

from loopcrm.modules.sales.opportunities import service as opportunities
from loopcrm.modules.sales.opportunities.schemas import OpportunityCreate
from loopcrm.platform.permissions import system_actor
from loopcrm.platform.unit_of_work import UnitOfWork

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"


def test_the_dashboard_draws_its_charts(
    page: Page, uow_factory: Callable[[], UnitOfWork], make_person: Callable[..., Person]
) -> None:
    admin = make_person("admin", name="管理员 王芳", email="boss@example.com", password=PASSWORD)
    rep = make_person("sales_rep", name="销售 李雷", email="lilei@example.com", password=PASSWORD)
    pipeline = opportunities.create_standard_pipeline(uow_factory(), system_actor(), "zh_CN")
    won = next(stage for stage in pipeline.stages if stage.kind.value == "won")
    for owner, amount in ((admin, "80000"), (rep, "30000"), (rep, "12000")):
        deal = opportunities.create_opportunity(
            uow_factory(),
            system_actor(),
            OpportunityCreate(name="云平台采购", amount=amount, owner_id=owner.user.id, source="web"),
        )
    opportunities.change_stage(uow_factory(), system_actor(), deal.id, pipeline.stages[2].id)
    opportunities.change_stage(uow_factory(), system_actor(), deal.id, won.id)
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)

    sign_in(page, admin.user.email)
    page.goto("/sales/dashboard")

    expect(page.get_by_role("heading", level=1)).to_have_text("销售仪表盘")
    charts = page.locator("[data-chart].is-drawn")
    expect(charts).to_have_count(5)
    expect(page.locator("[data-chart='forecast'] canvas")).to_have_count(1)
    expect(page.get_by_role("heading", name="销售排行榜")).to_be_visible()
    expect(page.get_by_role("row", name="销售 李雷")).to_be_visible()
    assert errors == []

    page.context.clear_cookies()
    sign_in(page, rep.user.email)
    page.goto("/sales/dashboard")
    expect(page.locator("[data-chart].is-drawn")).to_have_count(5)
    leaderboard = page.locator("section", has=page.get_by_role("heading", name="销售排行榜"))
    expect(leaderboard.get_by_role("row", name="销售 李雷")).to_be_visible()
    expect(leaderboard.get_by_role("row", name="管理员 王芳")).to_have_count(0)
