"""Merging two duplicate contacts in a real browser, in Chinese: find the pair in the list of
possible duplicates, choose the values to keep on the merge screen, merge, then undo."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from loopcrm.modules.activities import service as activities
from loopcrm.modules.activities.schemas import ActivityCreate
from loopcrm.modules.customers import service as customers
from loopcrm.modules.customers.schemas import ContactCreate
from loopcrm.platform.errors import NotFound

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"


def sign_in(page: Page, email: str) -> None:
    page.goto("/login")
    page.get_by_label("邮箱").fill(email)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("欢迎使用 LoopCRM")


def _state(record):
    return record.model_dump(mode="json", exclude={"version", "updated_at", "updated_by"})


def test_merge_two_duplicate_contacts_and_undo(page: Page, make_person, uow_factory, screenshot_dir: Path):
    manager = make_person("sales_manager", name="韩梅梅", email="manager@example.com", password=PASSWORD)
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    older = customers.create_contact(
        uow_factory(),
        manager.actor,
        ContactCreate.model_validate(
            {
                "family_name": "王",
                "given_name": "芳",
                "title": "采购经理",
                "city": "上海",
                "phones": [{"number": "138 0013 8000"}],
            }
        ),
    )
    newer = customers.create_contact(
        uow_factory(),
        manager.actor,
        ContactCreate.model_validate(
            {
                "family_name": "王",
                "given_name": "芳",
                "title": "采购总监",
                "department": "采购部",
                "city": "上海",
                "phones": [{"number": "+86 138 0013 8000"}],
                "emails": [{"address": "wang.fang@chenguang.example.cn"}],
            }
        ),
    )
    activities.log_activity(
        uow_factory(),
        manager.actor,
        ActivityCreate.model_validate(
            {
                "kind": "note",
                "subject": "展会上交换了名片",
                "links": [{"subject_type": "contact", "subject_id": newer.id}],
            }
        ),
    )
    before = [customers.get_contact(uow_factory(), manager.actor, record.id) for record in (older, newer)]
    sign_in(page, manager.user.email)

    # The pair is in the list of possible duplicates.
    page.goto("/customers/duplicates?kind=contact")
    expect(page.get_by_role("heading", level=1)).to_have_text("可能重复的联系人")
    pair = page.get_by_role("row").filter(has=page.get_by_role("link", name="合并 王芳 和 王芳"))
    expect(pair).to_contain_text("电话相同")
    pair.get_by_role("link", name="合并 王芳 和 王芳").click()

    # The merge screen: the older record stays; take the newer one's job title.
    expect(page.get_by_role("heading", level=1)).to_have_text("合并重复记录")
    title_row = page.get_by_role("row").filter(has_text="采购经理")
    expect(title_row.get_by_role("radio", name="采购经理")).to_be_checked()
    expect(
        page.get_by_role("row").filter(has_text="采购部").get_by_role("radio", name="采购部")
    ).to_be_checked()
    title_row.get_by_role("radio", name="采购总监").check()
    page.screenshot(path=str(screenshot_dir / "customers-merge-screen.png"), full_page=True)
    page.get_by_role("button", name="合并记录").click()

    expect(page.locator(".flashes")).to_contain_text("王芳 已合并到 王芳。")
    expect(page.get_by_role("heading", level=1)).to_have_text("王芳 已合并到 王芳")
    expect(page.locator(".facts")).to_contain_text("活动: 1")
    page.screenshot(path=str(screenshot_dir / "customers-merge-done.png"), full_page=True)
    kept = customers.get_contact(uow_factory(), manager.actor, older.id)
    assert (kept.title, kept.department) == ("采购总监", "采购部")
    assert [email.value for email in kept.emails] == ["wang.fang@chenguang.example.cn"]
    with pytest.raises(NotFound):
        customers.get_contact(uow_factory(), manager.actor, newer.id)

    # Undo: both contacts are back exactly as they were.
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="撤销合并").click()

    expect(page.locator(".flashes")).to_contain_text("合并已撤销：王芳 和 王芳 已恢复原样。")
    expect(page.get_by_role("button", name="撤销合并")).to_have_count(0)
    after = [customers.get_contact(uow_factory(), manager.actor, record.id) for record in (older, newer)]
    assert [_state(record) for record in after] == [_state(record) for record in before]
    page.get_by_role("link", name="王芳").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("王芳")
    page.goto("/customers/merges?kind=contact")
    expect(page.get_by_role("row").filter(has_text="已撤销")).to_have_count(1)
    assert problems == []
