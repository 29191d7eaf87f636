"""The opportunities pages over HTTP as a browser uses them: the empty board's "create the standard
pipeline" button, the board's columns and totals, the create form keeping the input on a refusal,
the deal page with its stage history, moves from the deal page and from the board's script (JSON),
the list with filters, and the settings pages."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from httpx import Response
from tests.conftest import Person
from tests.sales.conftest import stage_named
from tests.support.web_forms import csrf_token_of, field_block

from loopcrm.modules.sales.opportunities import service as opportunities
from loopcrm.modules.sales.opportunities.schemas import PipelineOut

PostForm = Callable[[str, str, Any], Response]


def test_an_admin_creates_the_standard_pipeline_from_the_empty_board(
    client: TestClient, admin: Person, sign_in: Callable[..., Response], post_form: PostForm, uow_factory: Any
) -> None:
    sign_in(admin.user.email)
    empty = client.get("/sales/opportunities/kanban")
    assert empty.status_code == 200
    assert "创建标准销售流程" in empty.text  # the admin reads Chinese by default

    created = post_form("/sales/opportunities/kanban", "/sales/opportunities/admin/pipelines/standard", {})
    assert created.status_code == 303
    board = client.get(created.headers["location"])
    columns = re.findall(r'<h2 id="stage-[^"]+">([^<]+) <span', board.text)
    assert [name.strip() for name in columns] == ["资格确认", "需求分析", "方案报价", "谈判", "赢单", "输单"]
    assert len(opportunities.list_lost_reasons(uow_factory(), admin.actor)) == 6


def test_the_board_shows_totals_and_cards_and_moves_by_script(
    client: TestClient,
    standard_pipeline: PipelineOut,
    rep: Person,
    sign_in: Callable[..., Response],
    create_deal: Callable[..., Any],
) -> None:
    first = create_deal(rep.actor, name="甲项目", amount="100000", expected_close_date="2026-01-10")
    create_deal(rep.actor, name="乙项目", amount="50000")
    sign_in(rep.user.email)

    board = client.get(f"/sales/opportunities/kanban?pipeline={standard_pipeline.id}")
    qualification = stage_named(standard_pipeline, "Qualification")
    totals = board.text.split(f'data-totals="{qualification.id}"', 1)[1].split("</p>", 1)[0]
    assert re.search(r'class="kanban-count"[^>]*>2<', totals)
    assert "150,000.00" in totals and "15,000.00" in totals  # amount and weighted (10 %)
    assert "甲项目" in board.text and "is-overdue" in board.text

    token = csrf_token_of(board.text)
    proposal = stage_named(standard_pipeline, "Proposal")
    moved = client.post(
        f"/sales/opportunities/{first.id}/stage",
        data={"stage_id": proposal.id, "version": "1"},
        headers={"X-CSRF-Token": token, "Accept": "application/json"},
    )
    assert moved.status_code == 200
    answer = moved.json()
    assert (answer["ok"], answer["version"]) == (True, 2)
    assert answer["totals"][proposal.id]["count"] == 1
    assert answer["totals"][qualification.id]["count"] == 1

    lost = stage_named(standard_pipeline, "Lost")
    refused = client.post(
        f"/sales/opportunities/{first.id}/stage",
        data={"stage_id": lost.id, "version": "2"},
        headers={"X-CSRF-Token": token, "Accept": "application/json"},
    )
    assert refused.status_code == 422
    assert refused.json() == {"ok": False, "error": "请选择输单原因"}


def test_the_create_form_keeps_the_input_on_a_refusal(
    client: TestClient, standard_pipeline: PipelineOut, rep: Person, sign_in: Callable[..., Response]
) -> None:
    sign_in(rep.user.email)
    page = client.get("/sales/opportunities/new")
    assert page.status_code == 200
    token = csrf_token_of(page.text)
    refused = client.post(
        "/sales/opportunities/new",
        data={"csrf_token": token, "name": "新商机", "amount": "-5", "next_step": "约见CIO"},
    )
    assert refused.status_code == 422
    assert 'aria-invalid="true"' in field_block(refused.text, "amount")
    assert 'value="约见CIO"' in field_block(refused.text, "next_step")
    assert "新商机" not in client.get("/sales/opportunities").text

    created = client.post(
        "/sales/opportunities/new",
        data={"csrf_token": token, "name": "新商机", "amount": "12000", "expected_close_date": "2030-05-01"},
        follow_redirects=False,
    )
    assert created.status_code == 303
    detail = client.get(created.headers["location"])
    assert detail.status_code == 200
    assert "新商机" in detail.text
    assert "Qualification" in detail.text  # the stage history's first row


def test_moving_to_lost_from_the_deal_page_needs_a_reason(
    client: TestClient,
    standard_pipeline: PipelineOut,
    rep: Person,
    sign_in: Callable[..., Response],
    create_deal: Callable[..., Any],
    post_form: PostForm,
    lost_reasons: list[Any],
) -> None:
    deal = create_deal(rep.actor, name="丙项目")
    sign_in(rep.user.email)
    path = f"/sales/opportunities/{deal.id}"
    lost = stage_named(standard_pipeline, "Lost")

    refused = post_form(path, f"{path}/stage", {"stage_id": lost.id, "version": "1"})
    assert refused.status_code == 422
    assert 'aria-invalid="true"' in field_block(refused.text, "lost_reason_id")

    moved = post_form(
        path, f"{path}/stage", {"stage_id": lost.id, "version": "1", "lost_reason_id": lost_reasons[0].id}
    )
    assert moved.status_code == 303
    page = client.get(path)
    assert "Price too high" in page.text


def test_the_list_filters_and_the_settings_pages(
    client: TestClient,
    standard_pipeline: PipelineOut,
    admin: Person,
    sign_in: Callable[..., Response],
    create_deal: Callable[..., Any],
) -> None:
    create_deal(admin.actor, name="丁项目", amount="10")
    create_deal(admin.actor, name="戊项目", amount="20")
    sign_in(admin.user.email)

    found = client.get("/sales/opportunities", params={"q": "丁"})
    assert "丁项目" in found.text and "戊项目" not in found.text
    for path in (
        "/sales/opportunities/admin/pipelines",
        f"/sales/opportunities/admin/pipelines/{standard_pipeline.id}",
        "/sales/opportunities/admin/pipelines/new",
        "/sales/opportunities/admin/lost-reasons",
        "/sales/opportunities/admin/currencies",
        "/static/js/sales-kanban.js",
        "/static/css/sales.css",
    ):
        assert client.get(path).status_code == 200, path
