"""Activities in a real browser, in Chinese, on a contact's page: log a call through the "log an
activity" panel and find it at the top of the timeline; schedule a task with a reminder a few
seconds ahead and see the reminder arrive, once, in the notification centre of the top bar.

The reminder is a job. The live server here runs the job worker the way ``loopcrm serve`` does
on the embedded default (a thread of the web process), and sends the reminder's email copy to a
real SMTP server on a loopback port.
"""

from __future__ import annotations

import email
import re
import time
from datetime import datetime, timedelta
from email.header import decode_header, make_header
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from babel import dates
from playwright.sync_api import Page, expect
from tests.support.browser import sign_in

from loopcrm.modules.customers import service as customers
from loopcrm.modules.customers.schemas import ContactCreate
from loopcrm.platform.jobs import service as jobs
from loopcrm.platform.permissions import system_actor
from loopcrm.settings import Settings

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"
REMINDER_LEAD = timedelta(seconds=6)  # time to fill in and send the form before the reminder is due


@pytest.fixture
def settings(settings: Settings, smtp_server) -> Settings:
    """The test settings with the worker embedded in the web process and mail to ``smtp_server``."""
    return settings.model_copy(
        update={
            "embedded_worker": True,
            "worker_poll_seconds": 0.1,
            "smtp_host": smtp_server.host,
            "smtp_port": smtp_server.port,
        }
    )


def _wait_for(condition, *, seconds: float, step: float = 0.5) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"still not true after {seconds} s")
        time.sleep(step)


def _subject(message: bytes) -> str:
    return str(make_header(decode_header(email.message_from_bytes(message)["Subject"])))


def test_a_rep_logs_a_call_and_gets_the_reminder_of_a_task_once(
    page: Page, make_person, uow_factory, smtp_server, screenshot_dir: Path
):
    rep = make_person("sales_rep", name="陈静", email="rep@example.com", password=PASSWORD)
    contact = customers.create_contact(
        uow_factory(),
        rep.actor,
        ContactCreate.model_validate(
            {
                "family_name": "王",
                "given_name": "芳",
                "title": "采购经理",
                "phones": [{"number": "138 1234 5678"}],
            }
        ),
    )
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    sign_in(page, rep.user.email)
    contact_path = f"/customers/contacts/{contact.id}"
    page.goto(contact_path)
    expect(page.get_by_role("heading", level=1)).to_have_text("王芳")
    timeline = page.locator("section.timeline")
    expect(timeline).to_contain_text("这里还没有任何记录。")

    # A call, from the panel's call tab (htmx swaps the form in).
    panel = page.get_by_role("region", name="记录活动")
    panel.get_by_role("navigation", name="活动类型").get_by_role("link", name="电话").click()
    expect(panel.get_by_role("button", name="记录电话")).to_be_visible()
    panel.get_by_label("主题").fill("电话确认报价")
    panel.get_by_label("时长").fill("12:30")
    panel.get_by_label("方向").select_option(label="呼入")
    panel.get_by_label("结果").select_option(label="已接通")
    panel.get_by_label("备注").fill("王经理希望下周收到正式报价。")
    panel.get_by_role("button", name="记录电话").click()

    expect(page.locator(".flashes")).to_contain_text("电话已记录。")
    expect(page).to_have_url(re.compile(re.escape(contact_path) + "$"))
    first = timeline.locator(".timeline-entry").first
    expect(first.locator(".timeline-title")).to_contain_text("电话确认报价")
    expect(first.locator(".timeline-title")).to_contain_text("已接通")
    expect(first.locator(".timeline-meta")).to_contain_text("电话 · 陈静 ·")
    expect(first.locator(".timeline-meta")).to_contain_text("12:30")
    expect(first.locator(".timeline-summary")).to_have_text("王经理希望下周收到正式报价。")
    page.screenshot(path=str(screenshot_dir / "activities-call-logged.png"), full_page=True)
    first.get_by_role("link", name="电话确认报价").click()
    facts = page.locator(".facts")
    expect(facts).to_contain_text("方向呼入")
    expect(facts).to_contain_text("结果已接通")
    expect(facts).to_contain_text("时长12:30")
    page.goto(contact_path)

    # A task for tomorrow morning, reminding its assignee (the rep, the default) in a few seconds.
    zone = ZoneInfo(rep.user.timezone)
    due = (datetime.now(zone) + timedelta(days=1)).replace(hour=10, minute=0, second=0, microsecond=0)
    panel.get_by_role("navigation", name="活动类型").get_by_role("link", name="任务").click()
    expect(panel.get_by_role("button", name="创建任务")).to_be_visible()
    panel.get_by_role("textbox", name="任务", exact=True).fill("给王芳发正式报价单")
    panel.get_by_label("截止时间").fill(due.strftime("%Y-%m-%dT%H:%M"))
    expect(panel.get_by_label("负责人")).to_have_value(rep.user.id)
    panel.get_by_label("优先级").select_option(label="高")
    reminder = datetime.now(zone).replace(microsecond=0) + REMINDER_LEAD
    panel.get_by_label("提醒时间").fill(reminder.strftime("%Y-%m-%dT%H:%M:%S"))
    panel.get_by_role("button", name="创建任务").click()

    expect(page.locator(".flashes")).to_contain_text("任务已创建。")
    assert datetime.now(zone) < reminder, "the form took longer than the reminder's lead"
    bell = page.locator("#notification-bell")
    expect(bell).to_have_attribute("aria-label", "通知")  # nothing yet: the reminder is still ahead
    expect(page).to_have_url(re.compile(re.escape(contact_path) + "$"))
    # Due tomorrow, the task is the newest entry; the call comes after it.
    entries = timeline.locator(".timeline-entry")
    expect(entries.nth(0).locator(".timeline-title")).to_contain_text("给王芳发正式报价单")
    expect(entries.nth(0).locator(".timeline-title")).to_contain_text("未开始")
    expect(entries.nth(1).locator(".timeline-title")).to_contain_text("电话确认报价")

    # The worker fires the reminder at its time; the next page shows it on the bell.
    def bell_rings() -> bool:
        page.reload()
        return bell.get_attribute("aria-label") == "1 条未读通知"

    _wait_for(bell_rings, seconds=REMINDER_LEAD.total_seconds() + 10)
    assert datetime.now(zone) >= reminder
    expect(bell.locator(".bell-count")).to_have_text("1")
    page.screenshot(path=str(screenshot_dir / "activities-reminder-bell.png"))
    _wait_for(lambda: len(smtp_server.messages) >= 1, seconds=5, step=0.1)
    time.sleep(1.5)  # a dozen more polls of the worker: nothing else may arrive

    bell.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("通知")
    items = page.locator(".notification-item")
    expect(items).to_have_count(1)
    due_text = dates.format_datetime(due, "medium", tzinfo=zone, locale="zh_CN")
    expect(items.first.locator(".notification-text")).to_have_text(
        f"未读： 提醒：你的任务“给王芳发正式报价单”将于 {due_text} 到期"
    )
    page.screenshot(path=str(screenshot_dir / "activities-reminder-notification.png"), full_page=True)
    assert [(to, _subject(message)) for _, to, message in smtp_server.messages] == [
        (["rep@example.com"], "提醒：给王芳发正式报价单")
    ]
    ran = jobs.list_jobs(uow_factory(), system_actor(), limit=50, cursor=None).items
    assert sorted(
        (job.name, job.status.value, job.attempts) for job in ran if job.name.startswith("activities.")
    ) == [
        ("activities.notification_email", "succeeded", 1),
        ("activities.remind_task", "succeeded", 1),
        ("activities.task_due", "queued", 0),  # tomorrow at ten
    ]

    # Opening it leads to the task and marks it read; the bell goes quiet.
    items.first.get_by_role("button").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("给王芳发正式报价单")
    expect(bell).to_have_attribute("aria-label", "通知")
    page.goto("/notifications")
    expect(page.locator(".notification-item")).to_have_count(1)
    expect(page.locator(".notification-item.is-unread")).to_have_count(0)
    assert problems == []
