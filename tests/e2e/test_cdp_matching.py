"""Probabilistic matching in a real browser, in Chinese: an admin goes from the CDP page to the
matching page, starts a run, watches the progress bar reach the end (htmx polling; the queue the
run wrote arrives with the last poll), reads a pair's evidence, rejects one pair — it leaves the
queue and the next run does not bring it back — and accepts another: the survivor's profile page
shows the identities of both.

The run is a job. The live server runs the job worker the way ``loopcrm serve`` does on the
embedded default (a thread of the web process), so the bar follows a real worker. The profiles
are 150 generated fragments (the benchmark's generator) and three crafted pairs, each made
through the identity graph's ``resolve_many``, as ``tests/cdp/matching`` does.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect
from tests.conftest import Person
from tests.support.matching_fragments import matching_bench

from loopcrm.modules.cdp.identity import service as identity
from loopcrm.modules.cdp.identity.schemas import Identifier, Observation
from loopcrm.platform.unit_of_work import UnitOfWork
from loopcrm.settings import Settings

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"
AT = datetime(2026, 12, 1, tzinfo=UTC)
# One person each, written two ways (anonymous id: traits); the model scores each pair between
# the review threshold (0.5) and the auto-merge threshold (0.99), so all three wait for a person.
CRAFTED: dict[str, dict[str, Any]] = {
    "e2e-chen-hanzi": {"name": "陈静怡", "phone": "139 8765 4321", "city": "杭州"},
    "e2e-chen-pinyin": {"name": "Jingyi Chen", "email": "jingyi.chen@example.cn", "city": "杭州市"},
    "e2e-sun-hanzi": {"name": "孙志强", "phone": "186 0000 1234", "city": "南京"},
    "e2e-sun-pinyin": {"name": "Zhiqiang Sun", "phone": "+86 186 0000 1234", "city": "北京"},
    "e2e-zhao-hanzi": {
        "name": "赵海燕",
        "email": "zhao.haiyan@163.com",
        "city": "成都",
        "birthday": "1985-06-12",
    },
    "e2e-zhao-pinyin": {"name": "Haiyan Zhao", "email": "zhao.haiyan@qq.com", "city": "成都市"},
}
# Other people, for the model to learn what agreement by chance looks like.
BACKGROUND_FRAGMENTS = 150
# A run of ~150 profiles takes a few seconds on a quiet machine (Splink and DuckDB start up);
# generous for a loaded one.
RUN_TIMEOUT_MS = 60_000


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The test settings with the worker embedded in the web process, polling often."""
    return settings.model_copy(update={"embedded_worker": True, "worker_poll_seconds": 0.1})


def _profiles(uow_factory: Callable[[], UnitOfWork]) -> dict[str, str]:
    """Every fragment its own profile; the crafted ones' profile ids by anonymous id."""
    fragments = [(anonymous_id, traits) for anonymous_id, traits in CRAFTED.items()]
    background = matching_bench().generate_fragments(BACKGROUND_FRAGMENTS, seed=9).traits
    fragments += [(f"e2e-background-{index}", traits) for index, traits in enumerate(background)]
    observations = [
        Observation((Identifier("anonymous_id", anonymous_id),), AT, traits)
        for anonymous_id, traits in fragments
    ]
    resolutions = identity.resolve_many(uow_factory(), observations)
    assert all(resolution is not None for resolution in resolutions)
    return {
        anonymous_id: resolution.profile_id
        for (anonymous_id, _), resolution in zip(fragments, resolutions, strict=True)
        if resolution is not None and anonymous_id in CRAFTED
    }


def _sign_in(page: Page, email: str) -> None:
    page.goto("/login")
    page.get_by_label("邮箱").fill(email)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("欢迎使用 LoopCRM")


def _run_to_the_end(page: Page) -> Locator:
    """Start a run from the page and wait, without reloading, until the bar is full."""
    page.evaluate("window.stillTheSamePage = undefined")
    page.get_by_role("button", name="开始匹配").click()
    expect(page.get_by_text("匹配已开始，本页会跟踪进度。")).to_be_visible()
    page.evaluate("window.stillTheSamePage = true")
    progress = page.locator("#matching-progress")
    expect(progress).to_have_attribute("data-status", "succeeded", timeout=RUN_TIMEOUT_MS)
    expect(page.locator("#matching-bar")).to_have_attribute("value", "100")
    expect(progress.locator("#matching-status")).to_have_text("已完成")
    expect(progress.locator('[data-count="percent"]')).to_have_text("100%")
    assert page.evaluate("window.stillTheSamePage") is True  # htmx polled; no reload
    return progress


def _card(page: Page, name: str) -> Locator:
    return page.locator("#review-queue .match-candidate").filter(has_text=name)


def test_an_admin_runs_matching_reviews_the_evidence_rejects_one_pair_and_accepts_another(
    page: Page,
    live_server: str,
    make_person: Callable[..., Person],
    uow_factory: Callable[[], UnitOfWork],
    screenshot_dir: Path,
) -> None:
    profiles = _profiles(uow_factory)
    make_person("admin", name="管理员 王芳", email="admin@example.com", password=PASSWORD)
    _sign_in(page, "admin@example.com")

    # Given the matching page, reached from the CDP page, with no run yet
    page.goto("/cdp")
    page.get_by_role("link", name="档案匹配").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("档案匹配")
    expect(page.locator("#matching-progress")).to_have_count(0)
    expect(page.get_by_text("没有等待决定的档案对。")).to_be_visible()

    # When the admin starts a run, the bar follows the worker to the end
    progress = _run_to_the_end(page)

    # Then the counts are shown and the queue the run wrote has arrived with the last poll
    expect(progress.locator('[data-count="profiles"]')).to_have_text(f"{BACKGROUND_FRAGMENTS + len(CRAFTED)}")
    pending = page.locator('#review-queue [data-count="pending"]')
    queued = int(progress.locator('[data-count="queued"]').inner_text())
    assert queued >= 3
    expect(pending).to_have_text(str(queued))
    expect(page.locator("#review-queue .match-candidate")).to_have_count(queued)
    expect(page.get_by_text("没有等待决定的档案对。")).to_have_count(0)

    # And a pair shows its evidence: which fields agreed and how much each weighs
    chen = _card(page, "陈静怡")
    expect(chen).to_have_count(1)
    expect(chen.get_by_role("heading", level=3)).to_have_text(
        re.compile(r"^匹配概率 9\d\.\d% · 匹配权重 \d+\.\d\d$")
    )
    expect(chen).to_contain_text("低于自动合并阈值")
    name_row = chen.locator('tr[data-comparison="name"]')
    expect(name_row.locator("th")).to_have_text("姓名")
    expect(name_row.locator("td").nth(2)).to_have_text("相近 姓名相同（拼音或拉丁字母）")
    expect(name_row.locator("td").nth(3)).to_have_text(re.compile(r"^\+\d+\.\d$"))
    city_row = chen.locator('tr[data-comparison="city"]')
    expect(city_row).to_have_attribute("data-agreement", "agrees")
    expect(city_row.locator("td").nth(2)).to_have_text("一致 城市相同")
    expect(chen.locator('tr[data-comparison="birthday"] td').nth(2)).to_have_text("未知")
    expect(chen.locator('tr[data-comparison="birthday"] td').nth(3)).to_have_text("+0.0")
    sun = _card(page, "孙志强")
    expect(sun.locator('tr[data-comparison="phone"]')).to_have_attribute("data-agreement", "agrees")
    expect(sun.locator('tr[data-comparison="phone"] td').nth(2)).to_have_text("一致 电话相同")
    expect(sun.locator('tr[data-comparison="city"] td').nth(2)).to_have_text("不同")
    expect(sun.locator('tr[data-comparison="city"] td').nth(3)).to_have_text(re.compile(r"^-\d+\.\d$"))
    page.screenshot(path=str(screenshot_dir / "cdp-matching-queue.png"), full_page=True)

    # When the admin says 孙志强 and Zhiqiang Sun are two people
    sun.get_by_role("button", name="不是同一人").click()

    # Then the pair leaves the queue
    expect(page.get_by_text("已保持分开：以后不会再推荐这一对。")).to_be_visible()
    expect(_card(page, "孙志强")).to_have_count(0)
    expect(pending).to_have_text(str(queued - 1))

    # When the admin says 陈静怡 and Jingyi Chen are one person
    _card(page, "陈静怡").get_by_role("button", name="是同一人：合并").click()

    # Then they are merged and the pair leaves the queue too
    expect(page.get_by_text("两个档案已合并。")).to_be_visible()
    expect(_card(page, "陈静怡")).to_have_count(0)
    expect(pending).to_have_text(str(queued - 2))

    # When matching runs again, the rejected pair is remembered and stays out of the queue
    progress = _run_to_the_end(page)
    expect(progress.locator('[data-count="remembered"]')).to_have_text("1")
    expect(_card(page, "赵海燕")).to_have_count(1)
    expect(_card(page, "孙志强")).to_have_count(0)
    expect(_card(page, "Zhiqiang Sun")).to_have_count(0)
    expect(_card(page, "陈静怡")).to_have_count(0)

    # And the survivor's profile page shows the identities of both fragments of 陈静怡
    survivor = identity.current_profile_id(uow_factory(), profiles["e2e-chen-hanzi"])
    assert identity.current_profile_id(uow_factory(), profiles["e2e-chen-pinyin"]) == survivor
    page.goto(f"/cdp/profiles/{survivor}")
    identities = page.locator("#identities tbody tr")
    expect(identities.filter(has_text="e2e-chen-hanzi")).to_have_count(1)
    expect(identities.filter(has_text="e2e-chen-pinyin")).to_have_count(1)
    expect(page.locator("#merges tbody tr")).to_have_count(1)
    expect(page.locator("#merges")).to_contain_text("概率匹配")
    page.screenshot(path=str(screenshot_dir / "cdp-matching-survivor.png"), full_page=True)
